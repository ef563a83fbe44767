import { realpathSync } from 'node:fs';
import fc from 'fast-check';
import { freePort, startWithConfigFile } from '@valkey-tools/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { BINARY_SAFE_STRINGS, canonicalName, serializeConfig, type ValkeyConfigInput } from '../src/index.js';
import { makeDir, pool, removeDir } from './helpers.js';

/** String directives with no content rules; the binary-safe ones also keep NUL bytes. */
const TEXT_ONLY = [
  'masteruser',
  'replica-announce-ip',
  'syslog-ident',
  'tls-key-file-pass',
  'tls-client-key-file-pass',
];
const RUNS = 32;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
/** Directives that differ between any two servers by construction. */
const PER_SERVER = new Set(['port', 'dir']);

async function liveConfig(extra: ValkeyConfigInput, i: number): Promise<Map<string, string>> {
  const dir = realpathSync(makeDir(`vt-config-bytes${i}-`));
  dirs.push(dir);
  const port = await freePort();
  const server = await startWithConfigFile(
    serializeConfig({ port, bind: '127.0.0.1', dir, daemonize: false, logfile: '', save: '', ...extra }),
    { dir, port },
  );
  try {
    return await server.configGet('*');
  } finally {
    await server.stop();
  }
}

describe('random bytes in string directives on a real valkey-server', () => {
  it(`${RUNS} seeded samples round-trip exactly and change no other directive`, {
    timeout: 120_000,
  }, async () => {
    const anyBytes = fc.uint8Array({ maxLength: 48 });
    const noNul = fc.uint8Array({ minLength: 1, maxLength: 48 }).map((b) => b.map((x) => (x === 0 ? 1 : x)));
    const sampleArb = fc.record({
      binary: fc.tuple(...BINARY_SAFE_STRINGS.map(() => anyBytes)),
      text: fc.tuple(...TEXT_ONLY.map(() => noNul)),
    });
    const samples = fc.sample(sampleArb, { seed: 7, numRuns: RUNS });
    // the all-NUL and all-0xFF edge cases are always in
    samples[0]!.binary = BINARY_SAFE_STRINGS.map(() => new Uint8Array([0, 0, 10, 13, 34, 92, 0]));
    samples[1]!.binary = BINARY_SAFE_STRINGS.map(() => new Uint8Array(40).fill(0xff));
    const baseline = await liveConfig({}, -1);
    const failures: string[] = [];
    await pool(samples, 4, async (sample, i) => {
      const written = new Map<string, Uint8Array>();
      for (const [j, name] of BINARY_SAFE_STRINGS.entries()) written.set(name, sample.binary[j]!);
      for (const [j, name] of TEXT_ONLY.entries()) written.set(name, sample.text[j]!);
      const live = await liveConfig(Object.fromEntries(written), i);
      for (const [name, value] of live) {
        if (PER_SERVER.has(name)) continue;
        // aliases (masterauth for primaryauth) report the same value
        const canonical = canonicalName(name);
        const set =
          written.get(name) ??
          written.get(canonical) ??
          [...written].find(([w]) => canonicalName(w) === canonical)?.[1];
        const want = set ? latin1(set) : baseline.get(name);
        if (value !== want)
          failures.push(`#${i} ${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(value)}`);
      }
    });
    expect(failures).toEqual([]);
  });
});
