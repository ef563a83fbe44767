import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ValkeyToolsError } from '@valkey-tools/core';
import { withinMemory } from '@valkey-tools/test-utils';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractTarGz } from '../src/tar.js';
import { extractZip, writeZip } from '../src/zip.js';
import { writeTarGz } from '../src/tar.js';

/**
 * Hostile archives beyond the hand-written cases of src/tar.test.ts: mutated real archives either
 * extract or fail with BinariesError, never write outside the destination, and a header claiming
 * a 2^33-byte entry is refused under the default limits without writing it.
 */
const SEED = Number(process.env.VT_FUZZ_SEED ?? 20261122);
const RUNS = Math.min(Number(process.env.VT_FUZZ_RUNS ?? 400), 3000);
const root = mkdtempSync(join(tmpdir(), 'vt-fuzz-archives-'));
/** The sandbox every extraction goes into; anything appearing next to it is an escape. */
const sandbox = join(root, 'sandbox');
let tar: Buffer;
let zip: Buffer;

function listAll(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    out.push(join(dir, e.name));
    if (e.isDirectory()) out.push(...listAll(join(dir, e.name)));
  }
  return out;
}

beforeAll(async () => {
  mkdirSync(sandbox);
  const src = join(root, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'server'), '#!/bin/sh\necho valkey\n'.repeat(50));
  writeFileSync(join(src, 'cli'), Buffer.alloc(3000, 7));
  await writeTarGz(join(root, 'real.tar.gz'), [
    { type: 'dir', name: 'valkey/bin' },
    {
      type: 'file',
      name: 'valkey/bin/valkey-server',
      content: Buffer.from('#!/bin/sh\n'.repeat(80)),
      mode: 0o755,
    },
    { type: 'symlink', name: 'valkey/bin/redis-server', target: 'valkey-server' },
    { type: 'file', name: 'valkey/README', content: Buffer.alloc(2000, 65) },
  ]);
  tar = gunzipSync(readFileSync(join(root, 'real.tar.gz')));
  await writeZip(join(root, 'real.zip'), [
    { name: 'valkey/valkey-server.exe', sourcePath: join(src, 'server') },
    { name: 'valkey/valkey-cli.exe', sourcePath: join(src, 'cli') },
  ]);
  zip = readFileSync(join(root, 'real.zip'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const mutation = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), pos: fc.nat(), value: fc.nat({ max: 255 }) }),
    fc.record({
      op: fc.constant('text' as const),
      pos: fc.nat(),
      text: fc.constantFrom('../', '/etc/', '..', '\0', '77777777777', '/'),
    }),
    fc.record({ op: fc.constant('cut' as const), pos: fc.nat() }),
  ),
  { minLength: 1, maxLength: 4 },
);

function mutate(
  base: Buffer,
  ops: Array<{ op: string; pos: number; value?: number; text?: string }>,
): Buffer {
  let b = Buffer.from(base);
  for (const m of ops) {
    const p = m.pos % b.length;
    if (m.op === 'set') b[p] = m.value!;
    else if (m.op === 'text') b.write(m.text!, p, 'latin1');
    else b = b.subarray(0, Math.max(1, p));
  }
  return b;
}

async function extractOne(kind: 'tar' | 'zip', bytes: Buffer, i: number): Promise<void> {
  const file = join(root, `in-${i}.${kind === 'tar' ? 'tar.gz' : 'zip'}`);
  writeFileSync(file, kind === 'tar' ? gzipSync(bytes) : bytes);
  const dest = join(sandbox, `d${i}`);
  mkdirSync(dest);
  try {
    await (kind === 'tar' ? extractTarGz(file, dest) : extractZip(file, dest));
  } catch (err) {
    expect(ValkeyToolsError.isInstance(err), String((err as Error)?.stack ?? err)).toBe(true);
  } finally {
    rmSync(file, { force: true });
  }
  // Nothing appeared outside the destination.
  const escaped = listAll(root).filter(
    (p) =>
      !p.startsWith(sandbox) &&
      !['src', 'real.tar.gz', 'real.zip'].includes(relative(root, p).split('/')[0]!),
  );
  expect(escaped).toEqual([]);
  const outside = readdirSync(sandbox).filter((n) => !/^d\d+$/.test(n));
  expect(outside).toEqual([]);
  rmSync(dest, { recursive: true, force: true });
}

describe('fuzz: archive extraction', () => {
  it('mutated tar.gz and zip archives extract or fail with BinariesError, writing nothing outside', async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), mutation, async (isTar, ops) => {
        await extractOne(isTar ? 'tar' : 'zip', mutate(isTar ? tar : zip, ops), i++);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  });

  it('a tar header claiming an 8 GiB entry is refused under the default limits, nothing written', async () => {
    const header = Buffer.alloc(512);
    header.write('valkey/huge', 0, 'latin1');
    header.write('0000644\0', 100, 'latin1');
    header.write('0000000\0', 108, 'latin1');
    header.write('0000000\0', 116, 'latin1');
    header.write('77777777777\0', 124, 'latin1'); // 8 GiB - 1
    header.write('00000000000\0', 136, 'latin1');
    header[156] = 0x30; // regular file
    header.write('ustar\0' + '00', 257, 'latin1');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const file = join(root, 'huge.tar.gz');
    writeFileSync(file, gzipSync(Buffer.concat([header, Buffer.alloc(4096, 1)])));
    const dest = join(sandbox, 'huge');
    mkdirSync(dest);
    const err = await withinMemory('extracting an entry that claims 8 GiB', 64 * 2 ** 20, () =>
      extractTarGz(file, dest).then(
        () => null,
        (e: unknown) => e,
      ),
    );
    expect(ValkeyToolsError.isInstance(err), String(err)).toBe(true);
    expect(String(err)).toMatch(/limit|truncat|size|archive/i);
    // Whatever was started is not left behind as a complete-looking file.
    expect(listAll(dest).filter((p) => p.endsWith('huge'))).toEqual([]);
  });
});
