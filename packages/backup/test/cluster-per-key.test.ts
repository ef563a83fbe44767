/**
 * Restores into a cluster judged key by key on its primaries (type, DEBUG DIGEST-VALUE,
 * PEXPIRETIME, XINFO STREAM FULL), for every file format a standalone source can be backed up to:
 * each key lands on the primary owning its slot, exactly as the source's db held it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  countTypes,
  type KeyspaceOptions,
  type KeyspaceState,
  keyspaceName,
  keyspaceState,
  startTestCluster,
  startTestServer,
  type TestCluster,
  type TestServer,
  buildDataset,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupOptions, backup } from '../src/live/backup.js';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-cluster-per-key-'));
let cluster: TestCluster;
let source: TestServer;

beforeAll(async () => {
  [cluster, source] = await Promise.all([
    startTestCluster({ primaries: 3, replicasPerPrimary: 0 }),
    startTestServer({ config: { 'repl-diskless-sync-delay': 0 } }),
  ]);
  await buildDataset(source.url, { big: 200, dbs: [0, 2], functions: false });
});

afterAll(async () => {
  await Promise.all([cluster?.stop(), source?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

/** A state's keys moved to db `to` (a cluster has db 0 only), everything else as it was. */
function inDb(state: KeyspaceState, to: number): KeyspaceState {
  const moved = Object.values(state).map((k) => [keyspaceName(to, k.key), { ...k, db: to }] as const);
  return Object.fromEntries(moved.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const formats: Array<{
  name: string;
  file: string;
  options: Omit<BackupOptions, 'url' | 'output'>;
  view: KeyspaceOptions;
}> = [
  // Plain commands re-create consumers with XCLAIM / XGROUP CREATECONSUMER: seen/active time = now.
  {
    name: 'plain commands (.valkey, values: commands)',
    file: 'plain.valkey',
    options: { mode: 'scan', values: 'commands' },
    view: { ignoreConsumerTimes: true },
  },
  { name: 'RESTORE payloads (.valkey)', file: 'dump.valkey', options: { mode: 'scan' }, view: {} },
  { name: 'readable text (.txt)', file: 'text.txt', options: { mode: 'scan' }, view: {} },
  { name: 'JSONL by replication', file: 'repl.jsonl', options: { mode: 'replication' }, view: {} },
];

describe('restore into a cluster, judged per key on its primaries', () => {
  for (const f of formats) {
    it(`${f.name}: db 2 of a standalone server into the cluster's db 0`, async () => {
      const output = join(work, f.file);
      await backup({ url: source.url, output, ...f.options });
      await Promise.all(cluster.primaries.map((n) => n.command('FLUSHALL')));
      const r = await restore({ input: output, url: cluster.seeds[1]!, db: 2, targetDb: 0 });
      const want = inDb(await keyspaceState(source, { ...f.view, dbs: [2] }), 0);
      expect(Object.keys(countTypes(want)).sort()).toEqual([
        'hash',
        'list',
        'set',
        'stream',
        'string',
        'zset',
      ]);
      expect(r).toMatchObject({ keys: Object.keys(want).length, errorCount: 0 });
      const got = await keyspaceState(cluster.primaries, f.view);
      expect(got).toEqual(want);
      // The keys really are spread: every primary holds some (a restore into one node would fail above
      // on MOVED, but this says the cluster is the one being read).
      for (const node of cluster.primaries) expect(await node.command('DBSIZE')).not.toBe(':0\r\n');
    });
  }
});
