import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ValkeyToolsError } from '@valkey-tools/core';
import { checkLimit, LIMITS_CHECKED, rawCommandSync, serverGroup } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestoreProgress } from '../src/restore/restore.js';
import { restore } from '../src/restore/restore.js';
import { encodeCommand } from '../src/resp/encode.js';

/**
 * Faults during restore, on real servers: a stalled server (DEBUG SLEEP, CLIENT PAUSE) only slows
 * a restore down (nothing lost; under `npm run fuzz`, memory flat with the bounded in-flight
 * window); a dropped connection or a killed server is reported as a typed error, and re-running
 * converges to the same DEBUG DIGEST. VT_LOAD_KEYS sets the size (`npm run fuzz` restores millions).
 * Faults are injected from the progress callback, synchronously, a quarter of the way in: they
 * have happened before the restore goes on, whatever the machine's load.
 */
const KEYS = Number(process.env.VT_LOAD_KEYS ?? 100_000);
const SMALL = Math.min(KEYS, 40_000);
const work = mkdtempSync(join(tmpdir(), 'vt-faults-restore-'));
const servers = serverGroup();
let loadFile: string;
let smallFile: string;

/** ~1 KB values: ~100 MB per 100k keys, so buffering the file would show in memory (shorter for the long run). */
const PAD = 'x'.repeat(KEYS > 300_000 ? 100 : 1000);
const value = (i: number) => `v${i}:${(i * 2654435761) % 1000003}:${PAD}`;

/** A .valkey (RESP) file of `n` SET commands written as a stream (never the whole file in memory). */
async function writeKeys(file: string, n: number): Promise<void> {
  await pipeline(
    (function* () {
      const batch: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        batch.push(encodeCommand(['SET', `key:${i}`, value(i)]));
        if (batch.length === 1000) yield Buffer.concat(batch.splice(0));
      }
      if (batch.length) yield Buffer.concat(batch);
    })(),
    createWriteStream(file),
  );
}

const start = () => servers.start({ config: { save: '', appendonly: 'no' } });

/** Calls `fn` once, the first time progress passes `count` commands (a plain-command file counts commands, not keys). */
function at(count: number, fn: () => void): (p: RestoreProgress) => void {
  let done = false;
  return (p) => {
    if (!done && !p.done && p.commands >= count) {
      done = true;
      fn();
    }
  };
}

beforeAll(async () => {
  loadFile = join(work, 'load.valkey');
  smallFile = join(work, 'small.valkey');
  await Promise.all([writeKeys(loadFile, KEYS), writeKeys(smallFile, SMALL)]);
});

afterAll(async () => {
  await servers.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('restore under load', () => {
  it(`${KEYS} keys through DEBUG SLEEP and CLIENT PAUSE: nothing lost, memory flat`, {
    timeout: 600_000,
  }, async () => {
    const server = await start();
    const stalls: Promise<string>[] = [];
    const rss: number[] = [];
    const sleepAt = at(KEYS / 3, () => stalls.push(server.command('DEBUG', 'SLEEP', '1')));
    const pauseAt = at((2 * KEYS) / 3, () =>
      stalls.push(Promise.resolve(rawCommandSync(server.port, ['CLIENT', 'PAUSE', '1000', 'WRITE']))),
    );
    const result = await restore({
      input: loadFile,
      url: server.url,
      maxInFlight: 2000,
      progressIntervalMs: 50,
      onProgress: (p) => {
        rss.push(process.memoryUsage().rss);
        sleepAt(p);
        pauseAt(p);
      },
    });
    expect(await Promise.all(stalls)).toEqual(['+OK\r\n', '+OK\r\n']);
    expect(result.errorCount).toBe(0);
    expect(result.commands).toBe(KEYS);
    expect(await server.command('DBSIZE')).toBe(`:${KEYS}\r\n`);
    for (const i of [0, 1, Math.floor(KEYS / 3), Math.floor(KEYS / 2), KEYS - 1]) {
      expect(await server.command('GET', `key:${i}`)).toBe(`$${value(i).length}\r\n${value(i)}\r\n`);
    }
    // Memory stays flat (checked by `npm run fuzz`): the growth from the first quarter of the run
    // to the end is small (the window bounds what is in flight; a restore that buffered the file
    // would grow with it).
    if (LIMITS_CHECKED) {
      expect(rss.length, 'progress reports to sample memory from').toBeGreaterThan(4);
      const early = Math.max(...rss.slice(0, Math.ceil(rss.length / 4)));
      const peak = Math.max(...rss);
      console.log(
        `restore ${KEYS} keys: ${result.elapsedMs} ms, rss early ${(early / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB`,
      );
      checkLimit(`restore of ${KEYS} keys, rss growth`, peak - early, 96 * 2 ** 20, 'bytes');
    }
  });
});

describe.concurrent('restore under faults', () => {
  it('a connection killed mid-restore is reported; a re-run with replace converges (DEBUG DIGEST)', async () => {
    const [victim, reference] = await Promise.all([start(), start()]);
    const full = await restore({ input: smallFile, url: reference.url });
    expect(full.errorCount).toBe(0);
    let killed: string | undefined;
    const outcome = await restore({
      input: smallFile,
      url: victim.url,
      progressIntervalMs: 20,
      onProgress: at(SMALL / 4, () => {
        killed = rawCommandSync(victim.port, ['CLIENT', 'KILL', 'TYPE', 'normal']);
      }),
    }).then(
      (r) => r,
      (e: unknown) => e,
    );
    expect(killed, 'the kill was sent mid-restore').toBeDefined();
    expect(killed, 'the restore connection was killed').toMatch(/^:[1-9]/);
    if (ValkeyToolsError.isInstance(outcome)) {
      expect(outcome.message).toMatch(/connection|closed|lost|reset/i);
      expect(outcome.message).toContain(`${victim.port}`);
    } else {
      // Reported as failed keys, never as a clean success.
      expect((outcome as { errorCount: number }).errorCount).toBeGreaterThan(0);
    }
    const partial = Number((await victim.command('DBSIZE')).slice(1));
    expect(partial).toBeLessThan(SMALL);
    const rerun = await restore({ input: smallFile, url: victim.url, replace: true });
    expect(rerun.errorCount).toBe(0);
    expect(await victim.command('DEBUG', 'DIGEST')).toBe(await reference.command('DEBUG', 'DIGEST'));
  });

  it('a server killed with SIGKILL mid-restore fails the restore with a typed error, without hanging', async () => {
    const victim = await start();
    const outcome = await restore({
      input: smallFile,
      url: victim.url,
      progressIntervalMs: 20,
      onProgress: at(SMALL / 4, () => victim.process.kill('SIGKILL')),
    }).then(
      (r) => r,
      (e: unknown) => e,
    );
    expect(ValkeyToolsError.isInstance(outcome), String(outcome)).toBe(true);
    expect((outcome as Error).message).toContain(`${victim.port}`);
  });

  it('a target demoted to a replica mid-restore stops it at the first READONLY, even with onError continue', async () => {
    const [victim, primary] = await Promise.all([start(), start()]);
    let demoted: string | undefined;
    const outcome = await restore({
      input: smallFile,
      url: victim.url,
      onError: 'continue',
      progressIntervalMs: 20,
      onProgress: at(SMALL / 4, () => {
        demoted = rawCommandSync(victim.port, ['REPLICAOF', '127.0.0.1', String(primary.port)]);
      }),
    }).then(
      (r) => r,
      (e: unknown) => e,
    );
    expect(demoted, 'REPLICAOF was sent mid-restore').toMatch(/^\+OK/);
    expect(ValkeyToolsError.isInstance(outcome), String(outcome)).toBe(true);
    const err = outcome as ValkeyToolsError;
    expect(err.message).toMatch(/READONLY/);
    // Stopped at the first refusal instead of collecting one failure per remaining key.
    expect((err.details as { errors?: unknown[] }).errors?.length ?? 0).toBeLessThan(SMALL / 2);
  });
});
