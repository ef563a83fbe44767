import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clusterDigest,
  FAR_EXPIRY_MS,
  serverState,
  startTestCluster,
  startTestServer,
  type TestCluster,
  type TestServer,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import { restore } from '../src/restore/restore.js';

// The merged RDB of a cluster copies each snapshot's records as the snapshot has them, many at a
// time (a run of records that follow each other in the window), and frames a record anew when
// its first bytes (the expiry) already left the window. Megabytes of keys with and without
// expiries, LFU counters and a few values bigger than the window cross both paths many times.
const work = mkdtempSync(join(tmpdir(), 'vt-cluster-merge-'));
let source: TestServer;
let cluster: TestCluster;
let back: TestServer;

beforeAll(async () => {
  [source, cluster, back] = await Promise.all([
    startTestServer(),
    startTestCluster({ primaries: 3, replicasPerPrimary: 0, config: { 'maxmemory-policy': 'allkeys-lfu' } }),
    startTestServer(),
  ]);
  const client = new Redis(source.url);
  try {
    for (let from = 0; from < 60_000; from += 5_000) {
      const p = client.pipeline();
      for (let i = from; i < from + 5_000; i++) {
        const value = `${i}:${'v'.repeat(60 + (i % 90))}`;
        if (i % 3 === 0) p.set(`key:${i}`, value, 'PXAT', FAR_EXPIRY_MS - i);
        else p.set(`key:${i}`, value);
        if (i % 20_000 === 7) p.set(`big:${i}`, randomBytes(1_500_000 + i));
      }
      await p.exec();
    }
  } finally {
    client.disconnect();
  }
});

afterAll(async () => {
  await Promise.all([source?.stop(), cluster?.stop(), back?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

async function expiryTimes(url: string): Promise<Array<[string, unknown]>> {
  const client = new Redis(url);
  try {
    const keys = (await client.keys('*')).sort();
    const p = client.pipeline();
    for (const k of keys) p.pexpiretime(k);
    const times = (await p.exec())!.map(([err, t]) => err ?? t);
    return keys.map((k, i) => [k, times[i]]);
  } finally {
    client.disconnect();
  }
}

describe('backup of a cluster into one RDB', () => {
  it('holds every key, expiry and value of every primary (megabytes across many windows)', async () => {
    const fromSource = join(work, 'source.rdb');
    await backup({ url: source.url, output: fromSource });
    const into = await restore({ input: fromSource, url: cluster.seeds[0]! });
    expect(into).toMatchObject({ keys: 60_003, errorCount: 0 });

    const merged = join(work, 'merged.rdb');
    const r = await backup({ url: cluster.seeds[1]!, output: merged });
    expect(r).toMatchObject({ mode: 'replication', keys: 60_003 });
    expect(r.perNode!.every((n) => n.keys > 15_000)).toBe(true);

    const out = await restore({ input: merged, url: back.url });
    expect(out).toMatchObject({ keys: 60_003, errorCount: 0 });
    expect(await serverState(back.url)).toEqual(await serverState(source.url));
    // DEBUG DIGEST tells that a key expires, not when: every expiry time, read in one pipeline each
    const times = await expiryTimes(source.url);
    expect(await expiryTimes(back.url)).toEqual(times);

    // The merged file holds each slot's keys together: back into the cluster, its plain strings
    // go out many to an MSET (a slot at a time), every key and expiry where it was. (Not with the
    // LFU counters: those keys go one RESTORE each, to keep them.)
    await Promise.all(
      cluster.primaries.map((n) => n.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')),
    );
    const plain = join(work, 'merged-plain.rdb');
    await backup({ url: cluster.seeds[0]!, output: plain });
    await Promise.all(cluster.primaries.map((n) => n.command('FLUSHALL')));
    const again = await restore({ input: plain, url: cluster.seeds[2]! });
    expect(again).toMatchObject({ keys: 60_003, errorCount: 0 });
    const commands = again.nodes!.reduce((n, x) => n + x.commands, 0);
    // 20,001 keys with an expiry go one RESTORE each; the 40,002 others share MSETs
    expect(commands).toBeLessThan(20_001 + 40_002 / 2);
    expect(await clusterDigest(cluster.primaries)).toBe((await serverState(source.url)).digest);
    const inCluster = (await Promise.all(cluster.primaries.map((n) => expiryTimes(n.url)))).flat();
    expect(inCluster.sort((a, b) => (a[0] < b[0] ? -1 : 1))).toEqual(times);
  });
});
