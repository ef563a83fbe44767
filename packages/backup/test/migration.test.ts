import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startTestServer,
  type TestServer,
  buildDataset,
  type ServerState,
  serverState,
  loadRdb,
  serverPool,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import { migrate } from '../src/migrate/migrate.js';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-migrate-'));
let redis: TestServer;
/** Redis 7.0 has no consumer active-time; everything else must match. */
const view = { ignoreConsumerTimes: true };
/** What Valkey 8 itself holds after loading the Redis snapshot: the reference for DEBUG DIGEST. */
let want: ServerState;
let redisKeys: Record<string, string>;

/**
 * Per key: DEBUG DIGEST-VALUE and expiry, except sorted sets, compared by content: Redis 7.0
 * digests scores as "%.17g" and Valkey 8 as shortest round-trip digits, so their digests differ
 * for the same doubles.
 */
/** The double a score reply means, spelled one way (Redis writes "%.17g", Valkey shortest digits). */
function canonicalScore(s: string): string {
  const n = Number(s.replace(/^(-?)inf$/, '$1Infinity'));
  return Object.is(n, -0) ? '-0' : String(n);
}

async function keyView(url: string): Promise<Record<string, string>> {
  const c = new Redis(url);
  const out: Record<string, string> = {};
  try {
    for (const db of [0, 1, 5, 15]) {
      await c.select(db);
      for (const k of await c.keysBuffer('*')) {
        const type = await c.type(k);
        const body =
          type === 'zset'
            ? JSON.stringify(
                (await c.zrange(k, 0, -1, 'WITHSCORES')).map((x, i) => (i % 2 ? canonicalScore(x) : x)),
              )
            : String(await c.call('DEBUG', 'DIGEST-VALUE', k));
        out[`${db}:${k.toString('latin1')}`] = `${type} ${await c.pexpiretime(k)} ${body}`;
      }
    }
  } finally {
    c.disconnect();
  }
  return out;
}

let pool: Awaited<ReturnType<typeof serverPool>>;

beforeAll(async () => {
  [redis, pool] = await Promise.all([
    startTestServer({ flavor: 'redis', config: { 'repl-diskless-sync-delay': 0 } }),
    serverPool(6),
  ]);
  await buildDataset(redis.url, { big: 500 });
  redisKeys = await keyView(redis.url);
  await redis.command('SAVE');
  const native = pool.take();
  await loadRdb(native, join(redis.dir, 'dump.rdb'));
  want = await serverState(native.url, view);
  // The Redis source agrees with Valkey's own load on everything but the digest algorithm.
  expect(await serverState(redis.url, view)).toEqual({ ...want, digest: expect.any(String) });
});

afterAll(async () => {
  await Promise.all([redis?.stop(), pool?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const valkey = async (): Promise<TestServer> => pool.take();

describe('Redis 7.0 -> Valkey 8', () => {
  it('live replication backup of Redis restores into Valkey with the same DEBUG DIGEST and streams', async () => {
    expect(await redis.command('INFO', 'server')).toMatch(/redis_version:7\.0\./);
    const out = join(work, 'redis.rdb');
    const r = await backup({ url: redis.url, output: out });
    expect(readFileSync(out).subarray(0, 9).toString()).toBe('REDIS0010');
    expect(r.mode).toBe('replication');
    const target = await valkey();
    const restored = await restore({ input: out, url: target.url });
    expect(restored).toMatchObject({ keys: 100, errorCount: 0, functions: 1, usedRestore: true });
    const got = await serverState(target.url, view);
    expect(got.digest).toBe(want.digest);
    expect(got).toEqual(want);
    expect(await keyView(target.url)).toEqual(redisKeys);
  });

  it('scan backup of Redis (DUMP payloads of RDB 10) restores into Valkey', async () => {
    const out = join(work, 'redis.valkey');
    await backup({ url: redis.url, output: out, mode: 'scan' });
    const target = await valkey();
    const restored = await restore({ input: out, url: target.url });
    expect(restored).toMatchObject({ keys: 100, errorCount: 0, usedRestore: true });
    expect(await serverState(target.url, view)).toEqual(want);
    expect(await keyView(target.url)).toEqual(redisKeys);
  });

  it('decoded plain commands from Redis restore into Valkey too', async () => {
    const out = join(work, 'redis-plain.valkey');
    await backup({ url: redis.url, output: out, mode: 'scan', values: 'commands' });
    const target = await valkey();
    const restored = await restore({ input: out, url: target.url });
    // Into an empty Valkey, the file's small collections go as RESTOREs of payloads built here.
    expect(restored).toMatchObject({ keys: 100, errorCount: 0, usedRestore: true });
    const layout = { ignoreConsumerTimes: true, ignoreLayout: true };
    const got = await serverState(target.url, layout);
    expect(got.digest).toBe(want.digest);
    expect(got.streams).toEqual((await serverState(redis.url, layout)).streams);
    expect(await keyView(target.url)).toEqual(redisKeys);
  });

  it('migrates live from Redis to Valkey through replication (snapshot file deleted) and through scan', async () => {
    for (const mode of ['replication', 'scan'] as const) {
      const target = await valkey();
      const tempDir = mkdtempSync(join(work, 'migrate-'));
      const phases = new Set<string>();
      const r = await migrate({
        from: redis.url,
        to: target.url,
        mode,
        tempDir,
        progressIntervalMs: 0,
        onProgress: (p) => phases.add(p.phase),
      });
      expect(readdirSync(tempDir)).toEqual([]);
      expect(phases.has('restoring')).toBe(true);
      expect(r).toMatchObject({ keys: 100, errorCount: 0, functions: 1, usedRestore: true });
      expect(await serverState(target.url, view)).toEqual(want);
      expect(await keyView(target.url)).toEqual(redisKeys);
    }
  });
});
