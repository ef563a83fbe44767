import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startTestCluster,
  startTestServer,
  type TestCluster,
  type TestServer,
  buildClusterDataset,
  buildDataset,
  FUNCTION_LIBRARY,
  keyState,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupProgress, backup } from '../src/live/backup.js';
import { BackupError } from '../src/errors.js';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-cluster-'));
let source: TestCluster;
let target: TestCluster;
let single: TestServer;
let multiDb: TestServer;

beforeAll(async () => {
  [source, target, single, multiDb] = await Promise.all([
    startTestCluster({ primaries: 3, replicasPerPrimary: 0 }),
    startTestCluster({ primaries: 2, replicasPerPrimary: 0 }),
    startTestServer(),
    startTestServer(),
  ]);
  await buildClusterDataset(source.primaries, { big: 500 });
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop(), single?.stop(), multiDb?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

async function flushCluster(c: TestCluster) {
  await Promise.all(c.primaries.map((n) => n.command('FLUSHALL')));
}

describe('cluster backup and restore', () => {
  it('backs up every primary into one file (scan) and restores into a cluster of another shape', async () => {
    const out = join(work, 'cluster.valkey');
    const r = await backup({ url: source.seeds[0]!, output: out, mode: 'scan' });
    expect(r.nodes).toHaveLength(3);
    expect(r.keys).toBe(25);
    await flushCluster(target);
    const restored = await restore({ input: out, url: target.seeds[1]! });
    expect(restored).toMatchObject({ keys: 25, errorCount: 0, functions: 1 });
    // One pipeline per primary of the target, each reported with the keys it holds.
    expect(restored.nodes).toHaveLength(2);
    expect(restored.nodes.reduce((n, x) => n + x.keysHeld, 0)).toBe(25);
    expect(restored.nodes.every((n) => n.commands > 0)).toBe(true);
    const want = await keyState(source.primaries);
    expect(Object.keys(want.keys)).toHaveLength(25);
    expect(await keyState(target.primaries)).toEqual(want);
    // Functions reach every primary.
    for (const n of target.primaries) expect(await n.command('FUNCTION', 'LIST')).toContain('vtlib');
  });

  it('backs up a cluster through replication (one merged RDB) and restores into a single server', async () => {
    const out = join(work, 'cluster.rdb');
    const events: BackupProgress[] = [];
    const r = await backup({ url: source.seeds[2]!, output: out, onProgress: (p) => events.push(p) });
    expect(r).toMatchObject({ mode: 'replication', keys: 25 });
    // Every primary's snapshot is read at once and reported on its own.
    const last = events.at(-1)!;
    expect(last.nodes).toHaveLength(3);
    expect(last.nodes!.every((n) => n.done && n.bytesReceived > 0)).toBe(true);
    expect(last.nodes!.reduce((n, x) => n + x.keys!, 0)).toBe(25);
    // ...and in the result.
    expect(r.perNode!.map((n) => n.node).sort()).toEqual(last.nodes!.map((n) => n.node).sort());
    expect(r.perNode!.reduce((n, x) => n + x.keys, 0)).toBe(25);
    expect(r.perNode!.every((n) => n.bytesReceived > 0)).toBe(true);
    expect(readFileSync(out).subarray(0, 5).toString()).toBe('REDIS');
    await single.command('FLUSHALL');
    const restored = await restore({ input: out, url: single.url });
    expect(restored).toMatchObject({ keys: 25, errorCount: 0, usedRestore: true });
    expect(await keyState(single.url)).toEqual(await keyState(source.primaries));
    // ...and the merged RDB also goes back into a cluster.
    await flushCluster(target);
    await restore({ input: out, url: target.seeds[0]!, replace: true });
    expect(await keyState(target.primaries)).toEqual(await keyState(source.primaries));
  });

  it('stopped by its signal while the primaries prepare their snapshots: ERR_ABORTED and no file', async () => {
    // The primaries wait 5 s before sending (diskless sync delay): the abort surely lands before any byte.
    for (const n of source.primaries) await n.command('CONFIG', 'SET', 'repl-diskless-sync-delay', '5');
    try {
      const out = join(work, 'aborted.rdb');
      const stop = new AbortController();
      const err = await backup({
        url: source.seeds[0]!,
        output: out,
        signal: stop.signal,
        onProgress: () => stop.abort(),
      }).catch((e: unknown) => e);
      expect(BackupError.hasCode(err, 'ERR_ABORTED'), String(err)).toBe(true);
      expect(readdirSync(work).filter((f) => f.includes('aborted'))).toEqual([]);
    } finally {
      for (const n of source.primaries) await n.command('CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
    }
  });

  it('restores plain commands into a cluster (MOVED handled) and refuses other dbs with a clear hint', async () => {
    await buildDataset(multiDb.url, { big: 200, dbs: [0, 2], functions: false });
    const out = join(work, 'multi.valkey');
    await backup({ url: multiDb.url, output: out, mode: 'scan', values: 'commands' });
    await flushCluster(target);
    const err = await restore({ input: out, url: target.seeds[0]! }).catch((e) => e);
    expect(BackupError.hasCode(err, 'ERR_UNSUPPORTED')).toBe(true);
    expect(String(err)).toContain('a cluster only has db 0');
    await flushCluster(target);
    const r = await restore({ input: out, url: target.seeds[0]!, db: 2, targetDb: 0 });
    expect(r).toMatchObject({ keys: 25, errorCount: 0 });
    const c = new Redis(multiDb.url);
    await c.select(2);
    // db 2's keys, in the cluster's db 0
    const keys = (await c.keysBuffer('*')).map((k) => `0:${k.toString('latin1')}`).sort();
    c.disconnect();
    const state = await keyState(target.primaries, { ignoreConsumerTimes: true, ignoreLayout: true });
    expect(Object.keys(state.keys).sort()).toEqual(keys);
    expect(FUNCTION_LIBRARY).toContain('vtlib');
  });
});
