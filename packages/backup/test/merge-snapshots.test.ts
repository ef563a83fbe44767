import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConnectionUrl } from '@valkey-tools/core';
import {
  buildClusterDataset,
  clusterDigest,
  loadRdb,
  seededRandom,
  serverState,
  startTestCluster,
  startTestServer,
  type TestCluster,
  type TestServer,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup, nodeFilePath } from '../src/live/backup.js';
import { MERGE_GAVE_UP, type MergeOptions, mergeSnapshots } from '../src/live/merge.js';
import { syncRdb } from '../src/live/replication.js';
import { verifyRdb } from '../src/rdb/inspect.js';

// The merged RDB of a cluster is each primary's snapshot from its first SELECTDB to its EOF, laid
// end to end after a header of its own, with a CRC-64 combined from the snapshots'. These tests
// feed mergeSnapshots the real snapshots of a cluster's primaries (and of an empty server) in odd
// pieces, with everything but the first snapshot spilled to files, and judge the file by a real
// server loading it.
const work = mkdtempSync(join(tmpdir(), 'vt-merge-snapshots-'));
let cluster: TestCluster;
let empty: TestServer;
let back: TestServer;
/** Each primary's snapshot, as its replication stream sent it. */
let snapshots: Buffer[];
let emptySnapshot: Buffer;

async function snapshotOf(url: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of syncRdb(parseConnectionUrl(url))) parts.push(b);
  return Buffer.concat(parts);
}

/** `bytes` in pieces of 1 to `max` bytes (pieces shorter than the 9-byte trailer included). */
async function* pieces(bytes: Buffer, seed: number, max: number): AsyncGenerator<Buffer> {
  const random = seededRandom(seed);
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + Math.floor(random() * max);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function merge(
  inputs: Buffer[],
  options: MergeOptions & { max?: number } = {},
): Promise<{ file: string; aborted: boolean; spillDir: string }> {
  const spillDir = mkdtempSync(join(work, 'spill-'));
  let n = 0;
  let aborted = false;
  const out: Buffer[] = [];
  const file = join(work, `merged-${Date.now()}-${Math.random().toString(16).slice(2)}.rdb`);
  const result = { file, spillDir, aborted };
  try {
    for await (const b of mergeSnapshots(
      inputs.map((bytes, i) => ({ name: `node${i}`, bytes: pieces(bytes, i + 1, options.max ?? 70_000) })),
      {
        holdBytes: 0,
        spillPath: () => join(spillDir, `spill-${n++}`),
        abort: () => {
          aborted = true;
        },
        ...options,
      },
    ))
      out.push(Buffer.from(b));
  } finally {
    result.aborted = aborted;
  }
  writeFileSync(file, Buffer.concat(out));
  return result;
}

beforeAll(async () => {
  [cluster, empty, back] = await Promise.all([
    startTestCluster({ primaries: 3, replicasPerPrimary: 0 }),
    startTestServer(),
    startTestServer(),
  ]);
  await buildClusterDataset(cluster.primaries);
  // Megabytes per primary: a snapshot spans many pieces and several spill writes.
  const client = new Redis.Cluster([{ host: '127.0.0.1', port: cluster.primaries[0]!.port }]);
  try {
    for (let from = 0; from < 30_000; from += 5_000) {
      await Promise.all(
        Array.from({ length: 5_000 }, (_, k) =>
          client.set(`s:${from + k}`, `${from + k}:${'x'.repeat(100)}`),
        ),
      );
    }
  } finally {
    client.disconnect();
  }
  snapshots = await Promise.all(cluster.primaries.map((n) => snapshotOf(n.url)));
  emptySnapshot = await snapshotOf(empty.url);
});

afterAll(async () => {
  await Promise.all([cluster?.stop(), empty?.stop(), back?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

describe('mergeSnapshots', () => {
  it('lays the snapshots end to end into a file a server loads as the whole cluster', async () => {
    const done: Array<[number, number]> = [];
    // Pieces of 1 to 40 bytes (a trailer often arrives over several), every snapshot but the
    // first spilled; an empty server's snapshot (no keys, straight to EOF) among them.
    const { file, spillDir } = await merge([...snapshots, emptySnapshot], {
      max: 40,
      aux: { 'redis-ver': '8.0.1', 'valkey-ver': '8.0.1' },
      onNodeDone: (i, keys) => done.push([i, keys]),
    });
    const v = await verifyRdb(file);
    expect(v.error).toBeUndefined();
    expect(v.checksum).toBe('ok');
    const sizes = await Promise.all(cluster.primaries.map((n) => n.command('DBSIZE')));
    const perNode = sizes.map((s) => Number(s.slice(1)));
    expect(v.keys).toBe(perNode.reduce((a, b) => a + b, 0));
    // Each node's count, told as its snapshot ended (the empty server's: 0).
    expect(done.sort((a, b) => a[0] - b[0])).toEqual([...perNode.map((k, i) => [i, k]), [3, 0]]);
    // Spill files are removed at the end.
    expect(readdirSync(spillDir)).toEqual([]);

    await loadRdb(back, file);
    expect((await serverState(back.url)).digest).toBe(await clusterDigest(cluster.primaries));
    // The functions are there once.
    const libs = (await back.command('FUNCTION', 'LIST')).match(/library_name/g) ?? [];
    expect(libs.length).toBe(1);
  });

  it('refuses a snapshot whose bytes were damaged on the way, and removes its spill files', async () => {
    const damaged = Buffer.from(snapshots[1]!);
    // A byte in the middle of the keys (a key name or a value: no walk would see it).
    const at = Math.floor(damaged.length / 2);
    damaged[at] = damaged[at]! ^ 0x20;
    const spillDir = mkdtempSync(join(work, 'spill-damaged-'));
    let aborted = false;
    const run = async () => {
      for await (const _ of mergeSnapshots(
        [snapshots[0]!, damaged, snapshots[2]!].map((bytes, i) => ({
          name: `node${i}`,
          bytes: pieces(bytes, 9 + i, 70_000),
        })),
        {
          holdBytes: 0,
          spillPath: () => join(spillDir, `s-${Math.random()}`),
          abort: () => (aborted = true),
        },
      )) {
        // the output goes nowhere
      }
    };
    await expect(run()).rejects.toMatchObject({
      code: 'ERR_REPLICATION',
      message: expect.stringContaining('node1 fails its CRC-64 check'),
    });
    expect(aborted).toBe(true);
    expect(readdirSync(spillDir)).toEqual([]);
  });

  it('refuses a snapshot cut short', async () => {
    const cut = snapshots[2]!.subarray(0, snapshots[2]!.length - 4);
    await expect(merge([snapshots[0]!, snapshots[1]!, cut])).rejects.toMatchObject({
      code: 'ERR_REPLICATION',
      message: expect.stringContaining('node2 does not end with an RDB trailer'),
    });
  });

  it('gives up (the caller merges by records) on module data before the keys', async () => {
    // A MODULE_AUX opcode right after the header: what the merge does not copy.
    const withModule = Buffer.concat([
      snapshots[1]!.subarray(0, 9),
      Buffer.from([0xf7]),
      snapshots[1]!.subarray(9),
    ]);
    await expect(merge([snapshots[0]!, withModule])).rejects.toBe(MERGE_GAVE_UP);
  });
});

describe('backup with perNode', () => {
  it("writes each primary's snapshot into a file of its own, which loads as that node", async () => {
    const output = join(work, 'nodes', 'backup.rdb');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(work, 'nodes'));
    const r = await backup({ url: cluster.seeds[1]!, output, perNode: true });
    expect(r.files).toHaveLength(3);
    expect(r.keys).toBe(r.files!.reduce((n, f) => n + f.keys, 0));
    for (const node of cluster.primaries) {
      const file = r.files!.find((f) => f.node === `127.0.0.1:${node.port}`)!;
      expect(file.path).toBe(nodeFilePath(output, `127.0.0.1:${node.port}`));
      expect(file.path).toMatch(new RegExp(`backup\\.127\\.0\\.0\\.1-${node.port}\\.rdb$`));
      await loadRdb(back, file.path);
      expect(await back.command('DEBUG', 'DIGEST')).toBe(await node.command('DEBUG', 'DIGEST'));
      expect(await back.command('DBSIZE')).toBe(`:${file.keys}\r\n`);
    }
    expect(readdirSync(join(work, 'nodes')).sort()).toEqual(
      r.files!.map((f) => f.path.split('/').pop()).sort(),
    );
  });

  it('replaces none of the files when one primary fails, and refuses scan mode', async () => {
    const dir = mkdtempSync(join(work, 'fail-'));
    const output = join(dir, 'b.rdb');
    const first = await backup({ url: cluster.seeds[0]!, output, perNode: true });
    const before = first.files!.map((f) => readFileSync(f.path));
    // The same user on every node; on the last one it may not SYNC.
    for (const [i, node] of cluster.primaries.entries()) {
      const rules = i === 2 ? ['+@all', '-sync', '-psync'] : ['+@all'];
      await node.command('ACL', 'SETUSER', 'bk', 'on', '>bkpw', '~*', '&*', ...rules);
    }
    const url = `redis://bk:bkpw@127.0.0.1:${cluster.primaries[0]!.port}`;
    // Every node changes after the first backup (a key of a slot it owns), so a replaced file shows.
    const changed: Array<[TestCluster['primaries'][number], string]> = [];
    for (const node of cluster.primaries) {
      for (let n = 0; ; n++) {
        if ((await node.command('SET', `changed:${n}`, 'after the first backup')).startsWith('+OK')) {
          changed.push([node, `changed:${n}`]);
          break;
        }
      }
    }
    await expect(backup({ url, output, perNode: true })).rejects.toMatchObject({ code: 'ERR_REPLICATION' });
    expect(first.files!.map((f) => readFileSync(f.path))).toEqual(before);
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
    // A primary whose snapshot breaks after the others are complete (its save slowed down, its
    // replica link killed once two files are checked): those two wait, and are not renamed either.
    const slow = cluster.primaries[2]!;
    await slow.command('CONFIG', 'SET', 'rdb-key-save-delay', '200');
    let killed = false;
    try {
      const late = backup({
        url: cluster.seeds[0]!,
        output,
        perNode: true,
        progressIntervalMs: 0,
        onProgress: (p) => {
          if (!killed && (p.nodes ?? []).filter((n) => n.done).length === 2) {
            killed = true;
            void slow.command('CLIENT', 'KILL', 'TYPE', 'replica');
          }
        },
      });
      await expect(late).rejects.toMatchObject({ code: 'ERR_REPLICATION' });
    } finally {
      await slow.command('CONFIG', 'SET', 'rdb-key-save-delay', '0');
    }
    expect(killed).toBe(true);
    expect(first.files!.map((f) => readFileSync(f.path))).toEqual(before);
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
    await expect(
      backup({ url: cluster.seeds[0]!, output, perNode: true, mode: 'scan' }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
    for (const [node, key] of changed) await node.command('DEL', key);
  });
});
