/**
 * A `.valkey` file into an empty cluster goes out as the file has it (pass-through), each command
 * to the primary owning its key's slot and plain SETs gathered one MSET per slot: judged per key
 * (type, DEBUG DIGEST-VALUE, PEXPIRETIME, XINFO STREAM FULL) against the source; a file that
 * writes a key twice keeps its order; an input with keys in another db than 0 writes nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'iovalkey';
import {
  buildDataset,
  countTypes,
  keyspaceState,
  startTestCluster,
  startTestServer,
  type TestCluster,
  type TestServer,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import { restore } from '../src/restore/restore.js';
import { decodeCommandAt, encodeCommand, encodedLength } from '../src/resp/encode.js';

const work = mkdtempSync(join(tmpdir(), 'vt-cluster-pass-'));
let cluster: TestCluster;
let source: TestServer;
/** 3 MB: its SET spans input chunks (the path for commands split across chunks). */
const BIG = Buffer.alloc(3 << 20, 'b');

beforeAll(async () => {
  [cluster, source] = await Promise.all([
    startTestCluster({ primaries: 3, replicasPerPrimary: 0 }),
    startTestServer({ config: { 'repl-diskless-sync-delay': 0 } }),
  ]);
  await buildDataset(source.url, { big: 300, dbs: [0] });
  const c = new Redis(source.url);
  try {
    await c.set('big:string', BIG);
    await c.set('ttl:string', 'v', 'PX', 3_600_000);
    // Plain strings of one slot (a hash tag): many go to one MSET.
    const pairs: string[] = [];
    for (let i = 0; i < 2000; i++) pairs.push(`{same}:${i}`, `value-${i}`);
    await c.mset(...pairs);
  } finally {
    c.disconnect();
  }
});

afterAll(async () => {
  await Promise.all([cluster?.stop(), source?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const flushCluster = () => Promise.all(cluster.primaries.map((n) => n.command('FLUSHALL')));
const dbsizes = async () =>
  Promise.all(cluster.primaries.map(async (n) => String(await n.command('DBSIZE'))));

/** The header command (ECHO) of a .valkey file our backup wrote. */
function headerOf(file: string): Buffer {
  const bytes = readFileSync(file);
  return bytes.subarray(0, encodedLength(decodeCommandAt(bytes, 0)));
}

describe('.valkey into a cluster, as the file has it', () => {
  it('every key lands on its primary as the source holds it, strings many to an MSET', async () => {
    const file = join(work, 'source.valkey');
    await backup({ url: source.url, output: file });
    await flushCluster();
    const r = await restore({ input: file, url: cluster.seeds[0]! });
    // Commands re-create stream consumers: their seen/active times are the restore's (documented).
    const view = { ignoreConsumerTimes: true };
    const want = await keyspaceState(source, view);
    expect(Object.keys(countTypes(want)).sort()).toEqual(['hash', 'list', 'set', 'stream', 'string', 'zset']);
    expect(r).toMatchObject({ keys: Object.keys(want).length, errorCount: 0 });
    // The 2,000 strings of one slot went many to a command (the record path sends one a key).
    expect(r.commands).toBeLessThan(r.keys - 1500);
    expect(await keyspaceState(cluster.primaries, view)).toEqual(want);
    for (const size of await dbsizes()) expect(size).not.toBe(':0\r\n');
    // Functions are loaded on every primary.
    for (const node of cluster.primaries)
      expect(String(await node.command('FUNCTION', 'LIST'))).toContain('library_name');
  });

  it('a file that writes a key twice, apart, ends with the second value (MSET batches keep order)', async () => {
    const file = join(work, 'twice.valkey');
    await backup({ url: source.url, output: join(work, 'for-header.valkey') });
    const later = Date.now() + 3_600_000;
    const big = 'B'.repeat(3000);
    writeFileSync(
      file,
      Buffer.concat([
        headerOf(join(work, 'for-header.valkey')),
        encodeCommand(['SET', 'twice:a', 'first']),
        encodeCommand(['SET', 'twice:b', 'first']),
        encodeCommand(['SET', 'other', 'x']),
        // a pair too big for a slot's share goes out alone: after what the slot gathered
        encodeCommand(['SET', 'twice:a', big]),
        // a SET with its expiry goes out as SET ... PXAT: after what the slot gathered
        encodeCommand(['SET', 'twice:b', 'second']),
        encodeCommand(['PEXPIREAT', 'twice:b', String(later)]),
        encodeCommand(['SET', 'last', 'y']),
        // keys of one slot in a row gather in the hot batch: a later command on one of them
        // (here a SET with its expiry) goes after it, other keys of the slot stay gathered
        encodeCommand(['SET', '{hot}:1', 'first']),
        encodeCommand(['SET', '{hot}:2', 'x']),
        encodeCommand(['SET', '{hot}:3', 'x']),
        encodeCommand(['SET', '{hot}:1', 'second']),
        encodeCommand(['PEXPIREAT', '{hot}:1', String(later)]),
        encodeCommand(['SET', '{hot}:4', 'x']),
      ]),
    );
    await flushCluster();
    const r = await restore({ input: file, url: cluster.seeds[1]! });
    expect(r.errorCount).toBe(0);
    const c = new Redis.Cluster([cluster.seeds[0]!]);
    try {
      expect(await c.get('twice:a')).toBe(big);
      expect(await c.get('twice:b')).toBe('second');
      expect(await c.pexpiretime('twice:b')).toBe(later);
      expect(await c.get('other')).toBe('x');
      expect(await c.get('{hot}:1')).toBe('second');
      expect(await c.pexpiretime('{hot}:1')).toBe(later);
      expect(await c.mget('{hot}:2', '{hot}:3', '{hot}:4')).toEqual(['x', 'x', 'x']);
    } finally {
      c.disconnect();
    }
  });

  it('JSONL (the record path) into the cluster and into one server: plain strings go as MSETs, every key as the source holds it', async () => {
    const file = join(work, 'source.jsonl');
    await backup({ url: source.url, output: file });
    const want = await keyspaceState(source);
    await flushCluster();
    const intoCluster = await restore({ input: file, url: cluster.seeds[2]! });
    expect(intoCluster).toMatchObject({ keys: Object.keys(want).length, errorCount: 0 });
    // The 2,000 strings of one slot went many to a command (a RESTORE each before).
    expect(intoCluster.commands).toBeLessThan(intoCluster.keys - 1500);
    expect(await keyspaceState(cluster.primaries)).toEqual(want);
    const one = await startTestServer();
    try {
      const intoOne = await restore({ input: file, url: one.url });
      expect(intoOne).toMatchObject({ keys: Object.keys(want).length, errorCount: 0 });
      expect(intoOne.commands).toBeLessThan(intoOne.keys - 1500);
      expect(await keyspaceState(one)).toEqual(want);
    } finally {
      await one.stop();
    }
  });

  it('an input with keys in db 1 writes nothing into a cluster (.valkey and .rdb)', async () => {
    const two = await startTestServer({ config: { 'repl-diskless-sync-delay': 0 } });
    try {
      const c = new Redis(two.url);
      for (let i = 0; i < 50; i++) await c.set(`db0:${i}`, 'v');
      await c.select(1);
      await c.set('db1:key', 'v');
      c.disconnect();
      for (const name of ['dbs.valkey', 'dbs.rdb']) {
        const file = join(work, name);
        await backup({ url: two.url, output: file });
        await flushCluster();
        const err = await restore({ input: file, url: cluster.seeds[0]! }).catch((e: unknown) => e);
        expect(err, name).toMatchObject({ code: 'ERR_UNSUPPORTED' });
        expect((err as Error).message, name).toMatch(
          /keys in db 1, but a cluster only has db 0; nothing was written/,
        );
        expect(await dbsizes(), name).toEqual([':0\r\n', ':0\r\n', ':0\r\n']);
      }
    } finally {
      await two.stop();
    }
  });
});
