/**
 * One rule for every input format: without replace, a key the target already holds is left exactly
 * as it was (and reported, or the restore stops); with replace, it ends up exactly as the file
 * says (never merged into); keys the file lacks are never touched. The server judges: every key's
 * type, DEBUG DIGEST-VALUE, PEXPIRETIME and (streams) XINFO STREAM FULL.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  rewriteAof,
  FAR_EXPIRY_MS,
  type DatasetCommand,
  writeDataset,
  keyState,
  type KeyState,
  serverPool,
  serverGroup,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../src/convert/convert.js';
import { decodeCommandAt, encodedLength } from '../src/resp/encode.js';
import { restore } from '../src/restore/restore.js';

/** The source's commands before its AOF rewrite (they end up in the BASE) and after (the INCR). */
const BEFORE: DatasetCommand[] = [
  ['SET', 'f:str', 'from-file', 'PXAT', FAR_EXPIRY_MS],
  ['RPUSH', 'f:list', 'a', 'b', 'c'],
  ['HSET', 'f:hash', 'f1', 'v1', 'f2', 'v2'],
  ['SADD', 'f:set', 'm1', 'm2', 'm3'],
  ['ZADD', 'f:zset', 1, 'a', 2, 'b'],
  ['XADD', 'f:stream', '1-1', 'k', 'v'],
  ['XADD', 'f:stream', '2-1', 'k2', 'v2'],
  ['XGROUP', 'CREATE', 'f:stream', 'g', '0'],
  ['SET', 'f:new:str', 'new'],
  ['RPUSH', 'f:new:list', 'x', 'y'],
  ['HSET', 'f:new:hash', 'a', 1],
  ['SADD', 'f:new:set', 1, 2, 3],
  ['ZADD', 'f:new:zset', 5, 'z'],
  ['XADD', 'f:new:stream', '5-1', 'a', 'b'],
  ['SET', 'f:gone', 'deleted later'],
];
const AFTER: DatasetCommand[] = [
  ['RPUSH', 'f:list', 'd'],
  ['HSET', 'f:hash', 'f3', 'v3'],
  ['INCR', 'f:counter'],
  ['INCRBY', 'f:counter', 41],
  ['PEXPIREAT', 'f:list', FAR_EXPIRY_MS + 5],
  ['XGROUP', 'SETID', 'f:stream', 'g', '1-1'],
  ['DEL', 'f:gone'],
  ['SADD', 'f:set', 'm4'],
  ['ZINCRBY', 'f:zset', 3, 'a'],
  ['MSET', 'f:new:m1', 'one', 'f:new:m2', 'two'],
];

/** What the target holds before the restore: some of the file's keys (every type, other values and TTLs), and keys the file lacks. */
const TARGET: DatasetCommand[] = [
  ['RPUSH', 'f:str', 'a list where the file has a string'],
  ['PEXPIREAT', 'f:str', FAR_EXPIRY_MS + 100],
  ['RPUSH', 'f:list', 't-a', 't-b'],
  ['HSET', 'f:hash', 'f1', 'target', 'tf', 'tv'],
  ['PEXPIREAT', 'f:hash', FAR_EXPIRY_MS + 200],
  ['SADD', 'f:set', 't1'],
  ['ZADD', 'f:zset', 9, 't'],
  ['XADD', 'f:stream', '9-9', 't', 't'],
  ['SET', 'f:counter', 100],
  ['SET', 't:only:str', 'keep', 'PXAT', FAR_EXPIRY_MS + 7],
  ['RPUSH', 't:only:list', 'keep'],
  ['HSET', 't:only:hash', 'keep', 1],
  ['SADD', 't:only:set', 'keep'],
  ['ZADD', 't:only:zset', 1, 'keep'],
  ['XADD', 't:only:stream', '1-1', 'keep', 1],
];

const work = mkdtempSync(join(tmpdir(), 'vt-existing-'));
const others = serverGroup();
let pool: Awaited<ReturnType<typeof serverPool>>;
/** Every key of the file, as the source holds it (what each format describes). */
let fileState: KeyState;
let inputs: Record<string, string>;

const pick = (s: KeyState, keys: string[]) => ({
  keys: Object.fromEntries(keys.filter((k) => k in s.keys).map((k) => [k, s.keys[k]])),
  streams: Object.fromEntries(keys.filter((k) => k in s.streams).map((k) => [k, s.streams[k]])),
});

beforeAll(async () => {
  const [source, single] = await Promise.all([
    // appendfsync always: each command is in the file before its reply (everysec may postpone the write).
    others.start({ config: { appendonly: 'yes', 'aof-use-rdb-preamble': 'yes', appendfsync: 'always' } }),
    others.start({ config: { appendonly: 'yes', 'aof-use-rdb-preamble': 'no', appendfsync: 'always' } }),
  ]);
  pool = await serverPool(18);
  // The source: BEFORE goes into the BASE of its multi-part AOF (a rewrite), AFTER into its INCR.
  await writeDataset(source.url, BEFORE);
  await rewriteAof(source);
  await writeDataset(source.url, AFTER);
  // A second server gets the same commands with no rewrite: its INCR file alone is a single-file AOF.
  await writeDataset(single.url, [...BEFORE, ...AFTER]);
  fileState = await keyState(source.url);
  expect(await keyState(single.url)).toEqual(fileState);

  await source.command('SAVE');
  const rdb = join(work, 'dump.rdb');
  cpSync(join(source.dir, 'dump.rdb'), rdb);
  const aofDir = join(work, 'appendonlydir');
  cpSync(join(source.dir, 'appendonlydir'), aofDir, { recursive: true });
  const incr = readdirSync(join(single.dir, 'appendonlydir')).find((f) => f.endsWith('.incr.aof'))!;
  const singleAof = join(work, 'single.aof');
  cpSync(join(single.dir, 'appendonlydir', incr), singleAof);
  const valkey = join(work, 'dump.valkey');
  await convert({ input: rdb, output: valkey });
  const jsonl = join(work, 'dump.jsonl');
  await convert({ input: rdb, output: jsonl });
  // The same commands without our header: replayed as they come.
  const bytes = readFileSync(valkey);
  const header = decodeCommandAt(bytes, 0);
  expect(header[0]!.toString()).toBe('ECHO');
  const plain = join(work, 'plain.resp');
  writeFileSync(plain, bytes.subarray(encodedLength(header)));
  inputs = { rdb, valkey, jsonl, plain, singleAof, aofDir };
});

afterAll(async () => {
  await Promise.all([pool?.stop(), others.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const formats = ['rdb', 'valkey', 'jsonl', 'plain', 'singleAof', 'aofDir'] as const;
const replayed = new Set(['plain', 'singleAof', 'aofDir']);

describe('restore into a target that holds some of the keys: one rule for every format', () => {
  for (const format of formats) {
    it(`${format}: without replace, stops and leaves every existing key as it was`, async () => {
      const t = pool.take();
      await writeDataset(t.url, TARGET);
      const before = await keyState(t.url);
      const err = await restore({ input: inputs[format]!, url: t.url }).catch((e) => e);
      expect(err).toMatchObject({ code: 'ERR_RESTORE' });
      expect((err as Error).message).toMatch(/already exist|BUSYKEY/);
      const after = await keyState(t.url);
      const had = Object.keys(before.keys);
      expect(pick(after, had)).toEqual(pick(before, had));
      // Whatever of the file went in went in whole, never merged.
      const added = Object.keys(after.keys).filter((k) => !had.includes(k));
      expect(pick(after, added)).toEqual(pick(fileState, added));
      // Replayed files are checked whole first: nothing at all was written.
      if (replayed.has(format)) {
        expect(added).toEqual([]);
        expect((err as Error).message).toContain('nothing was written');
      }
    });

    it(`${format}: on-error continue leaves existing keys as they were and restores the rest`, async () => {
      const t = pool.take();
      await writeDataset(t.url, TARGET);
      const before = await keyState(t.url);
      const r = await restore({ input: inputs[format]!, url: t.url, onError: 'continue' });
      const after = await keyState(t.url);
      const had = Object.keys(before.keys);
      const fileKeys = Object.keys(fileState.keys);
      const clash = fileKeys.filter((k) => had.includes(k));
      const fresh = fileKeys.filter((k) => !had.includes(k));
      expect(pick(after, had)).toEqual(pick(before, had));
      expect(pick(after, fresh)).toEqual(pick(fileState, fresh));
      expect(Object.keys(after.keys).sort()).toEqual([...had, ...fresh].sort());
      expect(r.keys).toBe(fresh.length);
      expect(r.keys).toBe(Object.keys(after.keys).length - had.length);
      expect(r.skipped).toBe(clash.length);
      expect(r.errorCount).toBe(clash.length);
      expect(r.errors.map((e) => `${e.db}:${e.key}`).sort()).toEqual(clash.sort());
    });

    it(`${format}: with replace every key of the file is exactly the file's, the others untouched`, async () => {
      const t = pool.take();
      await writeDataset(t.url, TARGET);
      const before = await keyState(t.url);
      const r = await restore({ input: inputs[format]!, url: t.url, replace: true });
      const after = await keyState(t.url);
      const fileKeys = Object.keys(fileState.keys);
      const only = Object.keys(before.keys).filter((k) => !fileKeys.includes(k));
      expect(pick(after, fileKeys)).toEqual(pick(fileState, fileKeys));
      expect(pick(after, only)).toEqual(pick(before, only));
      expect(Object.keys(after.keys).sort()).toEqual([...fileKeys, ...only].sort());
      expect(r).toMatchObject({ keys: fileKeys.length, errorCount: 0, skipped: 0 });
    });
  }
});
