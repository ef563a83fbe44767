import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FAR_EXPIRY_MS,
  HANG_TIMEOUT_MS,
  LIMITS_CHECKED,
  seededRandom,
  startTestServer,
  type TestServer,
  writeDataset,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Crc64 } from '../src/rdb/crc64.js';
import { verifyRdb, type VerifyResult } from '../src/rdb/inspect.js';
import { restore } from '../src/restore/restore.js';
import {
  asciiScore,
  checkRdb,
  intset,
  keyRecord,
  listpack,
  rdbFile,
  rdbLen,
  rdbStr,
  ziplist,
  zipmap,
} from './helpers/craft.js';
import { saveRegression } from './fuzz-harness.js';

// `npm run fuzz` (VT_RDB_MUTANTS=<count>; 60 in `npm test`): seeded mutants of small
// valid RDB files (bytes flipped, set, inserted, deleted, copied over each other; the CRC-64 then
// recomputed, zeroed or left stale so the structural checks are reached). For every mutant:
//
// 1. verifyRdb's verdict must equal valkey-check-rdb's (8.0.1, which loads with
//    sanitize-dump-payload yes), except for the documented classes below;
// 2. every mutant verify accepts must restore (restore()) into a server running with
//    sanitize-dump-payload yes without error, and that server must then survive a write and read
//    workload on every restored key (HSET of many long fields, SADD, ZADD, RPUSH, XADD, full
//    reads, DEBUG DIGEST) and answer PING.
//
// Documented classes (also in apps/docs/guide/rdb-support.md):
// - empty-key: an empty collection. valkey-check-rdb fails ("Unexpected EOF"; rdbLoadObject
//   returns no object), the server's own load skips the key, RESTORE refuses it. verify warns
//   (`empty-key`) and counts the file valid; restore skips the key.
// - nan-score: a sorted-set score stored as text in a listpack/ziplist that strtod reads as NaN
//   ("nan"). The server stores it (it never parses scores there) but no command can create it and
//   converting the zset to a skiplist asserts; verify refuses it.
// - rdb-version-12: the header says REDIS0012 (Redis 7.4). verify reads it; Valkey 8.0.1 refuses
//   any version above 11.
// - check-rdb-hangs: valkey-check-rdb 8.0.1 never ends on a module value cut short (it loops
//   reading opcodes past the end of the file; killed after CHECK_RDB_HANG_MS); verify reports the truncation.
// - huge-db: a SELECTDB number beyond 2^53. valkey-check-rdb accepts it (it only reads it); the
//   server's load exits ("configured to handle more than N databases"); verify refuses it.
// - db-out-of-range (restore only): SELECTDB beyond the target's 16 databases. verify and
//   valkey-check-rdb accept the file; the target cannot hold the key (restore fails typed).
// - module-value (restore only): a module value (type 7; valkey-check-rdb checks its framing and
//   skips unknown opcodes, so does verify); the target has no module to load it.
//
// Any other disagreement, restore error or server failure saves the mutant under
// test/fixtures/regressions/rdb-mutants/ and fails the run.

// `npm test` runs a short, fixed-seed pass (every judge, no skip); `npm run fuzz` runs thousands.
const MUTANTS = Number(process.env.VT_RDB_MUTANTS ?? 60);
/**
 * When a valkey-check-rdb run counts as its documented hang: after 5 s under `npm run fuzz` (many
 * mutants); inside `npm test` only after a minute, so a slow run on a loaded machine is never
 * taken for it.
 */
const CHECK_RDB_HANG_MS = LIMITS_CHECKED ? 5000 : HANG_TIMEOUT_MS;
const SEED = Number(process.env.VT_FUZZ_SEED ?? 20261206);

type Class = 'empty-key' | 'nan-score' | 'rdb-version-12' | 'huge-db' | 'check-rdb-hangs';

/** Which documented class explains a disagreement, if any. */
function classify(
  file: Buffer,
  v: VerifyResult,
  check: { ok: boolean; output: string; hung: boolean },
): Class | null {
  if (check.hung && !v.ok) return 'check-rdb-hangs';
  if (file.toString('latin1', 0, 9) === 'REDIS0012' && v.ok && !check.ok) return 'rdb-version-12';
  if (v.ok && !check.ok && v.warnings.some((w) => w.code === 'empty-key')) return 'empty-key';
  if (!v.ok && check.ok && /NaN/.test(v.error?.message ?? '')) return 'nan-score';
  if (!v.ok && check.ok && /^SELECTDB database number: 64-bit length/.test(v.error?.message ?? ''))
    return 'huge-db';
  return null;
}

const work = mkdtempSync(join(tmpdir(), 'vt-rdb-mutants-'));
let source: TestServer;
let target: TestServer;
let bases: Array<{ name: string; file: Buffer }> = [];

/** A value's DUMP payload split into type byte and RDB value (the footer dropped). */
async function dumped(c: Redis, key: string): Promise<Buffer> {
  const p = (await c.dumpBuffer(key))!;
  return keyRecord(p[0]!, key, p.subarray(1, p.length - 10));
}

async function buildBases(): Promise<Array<{ name: string; file: Buffer }>> {
  const c = new Redis(source.url);
  try {
    await writeDataset(c, [
      ['SET', 'str', 'hello'],
      ['SET', 'int', '12345'],
      ['SET', 'lzf', 'abcabcabcabcabcabcabcabcabcabcabc'],
      ['RPUSH', 'list', 'a', 'b', '1', '2', 'ccc'],
      ['SADD', 'intset', 1, 5, 300, 70000],
      ['SADD', 'setlp', 'a', 'b', 'c', '7'],
      ['SADD', 'setht', ...Array.from({ length: 140 }, (_, i) => `m${i}`)],
      ['ZADD', 'zsetlp', 1, 'a', 2.5, 'b', -3, 'c', 'inf', 'd'],
      ['ZADD', 'zsetsk', ...Array.from({ length: 130 }, (_, i) => [i / 4, `z${i}`]).flat()],
      ['HSET', 'hashlp', 'f1', 'v1', 'f2', '2', 'f3', 'v3'],
      ['HSET', 'hashht', 'f1', 'x'.repeat(70), 'f2', 'v2'],
      ['XADD', 'stream', '1-1', 'f', 'v', 'g', 'w'],
      ['XADD', 'stream', '1-2', 'f', 'v2', 'g', 'w2'],
      ['XADD', 'stream', '2-1', 'h', 'x'],
      ['XGROUP', 'CREATE', 'stream', 'grp', '0'],
      ['XREADGROUP', 'GROUP', 'grp', 'alice', 'COUNT', 2, 'STREAMS', 'stream', '>'],
      ['PEXPIREAT', 'str', FAR_EXPIRY_MS],
    ]);
    const out: Array<{ name: string; file: Buffer }> = [];
    for (const k of [
      'str',
      'int',
      'lzf',
      'list',
      'intset',
      'setlp',
      'setht',
      'zsetlp',
      'zsetsk',
      'hashlp',
      'hashht',
      'stream',
    ]) {
      out.push({ name: k, file: rdbFile([await dumped(c, k)]) });
    }
    // Two keys in one file (mutations that move bytes between records), with an expiry.
    const exp = Buffer.concat([Buffer.from([0xfc]), Buffer.alloc(8)]);
    exp.writeBigInt64LE(4102444800000n, 1);
    out.push({ name: 'pair', file: rdbFile([exp, await dumped(c, 'hashlp'), await dumped(c, 'setlp')]) });
    // Encodings the server no longer writes.
    out.push({
      name: 'ziplist-hash',
      file: rdbFile([keyRecord(13, 'zh', rdbStr(ziplist(['f', '1', 'g', 'two'])))]),
    });
    out.push({
      name: 'ziplist-zset',
      file: rdbFile([keyRecord(12, 'zz', rdbStr(ziplist(['m', '-0', 'n', '1.5'])))]),
    });
    out.push({
      name: 'ziplist-list',
      file: rdbFile([keyRecord(10, 'zl', rdbStr(ziplist(['a', 'bb', '3'])))]),
    });
    out.push({
      name: 'zipmap',
      file: rdbFile([
        keyRecord(
          9,
          'zm',
          rdbStr(
            zipmap([
              ['f', 'v'],
              ['g', 'ww'],
            ]),
          ),
        ),
      ]),
    });
    out.push({ name: 'intset-raw', file: rdbFile([keyRecord(11, 'is', rdbStr(intset([-2, 3, 9])))]) });
    out.push({
      name: 'zset-ascii',
      file: rdbFile([
        keyRecord(
          3,
          'za',
          Buffer.concat([rdbLen(2), rdbStr('a'), asciiScore('1.5'), rdbStr('b'), asciiScore('2')]),
        ),
      ]),
    });
    out.push({
      name: 'quicklist-v1',
      file: rdbFile([
        keyRecord(14, 'q1', Buffer.concat([rdbLen(2), rdbStr(ziplist(['a', 'b'])), rdbStr(ziplist(['c']))])),
      ]),
    });
    out.push({
      name: 'set-plain',
      file: rdbFile([keyRecord(2, 'sp', Buffer.concat([rdbLen(3), rdbStr('x'), rdbStr('y'), rdbStr('z')]))]),
    });
    out.push({
      name: 'hash-plain',
      file: rdbFile([
        keyRecord(4, 'hp', Buffer.concat([rdbLen(2), rdbStr('a'), rdbStr('1'), rdbStr('b'), rdbStr('2')])),
      ]),
    });
    out.push({ name: 'setlp-raw', file: rdbFile([keyRecord(20, 'sl', rdbStr(listpack(['a', 'b', '9'])))]) });
    return out;
  } finally {
    c.disconnect();
  }
}

/** One to three mutations; then the CRC recomputed (80%), zeroed (10%) or left stale (10%). */
function mutate(base: Buffer, r: () => number): Buffer {
  const int = (n: number) => Math.floor(r() * n);
  let b = Buffer.from(base.subarray(0, base.length - 8));
  // Mostly past the magic (a broken magic is not interesting), sometimes anywhere.
  const pos = () => (r() < 0.95 ? 9 + int(Math.max(1, b.length - 9)) : int(b.length));
  const ops = 1 + int(3);
  for (let i = 0; i < ops; i++) {
    const op = int(7);
    const p = pos();
    if (op === 0) b[p] = b[p]! ^ (1 << int(8));
    else if (op === 1) b[p] = int(256);
    else if (op === 2)
      b = Buffer.concat([
        b.subarray(0, p),
        Buffer.from(Array.from({ length: 1 + int(8) }, () => int(256))),
        b.subarray(p),
      ]);
    else if (op === 3) b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + int(8))]);
    else if (op === 4) {
      // Copy a run over another place (makes duplicates, repeats lengths).
      const from = pos();
      const len = 1 + int(16);
      const run = Buffer.from(b.subarray(from, from + len));
      run.copy(b, p, 0, Math.min(run.length, b.length - p));
    } else if (op === 5) {
      const from = pos();
      b = Buffer.concat([b.subarray(0, p), b.subarray(from, from + 1 + int(16)), b.subarray(p)]);
    } else b[p] = [0x00, 0xff, 0xc0, 0x80, 0x81, 0x40, 0xfe, 0x01][int(8)]!;
  }
  const mode = r();
  const crc =
    mode < 0.8
      ? new Crc64().update(b, 0, b.length).digestBytes()
      : mode < 0.9
        ? Buffer.alloc(8)
        : base.subarray(base.length - 8);
  return Buffer.concat([b, crc]);
}

/** Writes and reads every restored key by type; returns the reply errors seen (allowed). */
async function workload(c: Redis): Promise<void> {
  const info = await c.info('keyspace');
  const dbs = [...info.matchAll(/^db(\d+):/gm)].map((m) => Number(m[1]));
  const long = 'L'.repeat(200);
  for (const db of dbs) {
    await c.select(db);
    const keys = await c.keysBuffer('*');
    for (const k of keys) {
      const type = await c.type(k);
      const p = c.pipeline();
      if (type === 'hash') {
        p.hgetall(k);
        p.hset(k, ...Array.from({ length: 40 }, (_, i) => [`field-${i}-${long}`, long]).flat());
        p.hgetall(k);
        p.hdel(k, 'f1', 'f2');
      } else if (type === 'set') {
        p.smembers(k);
        p.sadd(k, ...Array.from({ length: 200 }, (_, i) => (i % 2 ? i : `member-${i}`)));
        p.sadd(k, long);
        p.smembers(k);
        p.srem(k, '1', 'a');
      } else if (type === 'zset') {
        p.zrange(k, 0, -1, 'WITHSCORES');
        p.zadd(k, ...Array.from({ length: 200 }, (_, i) => [i * 1.5, `z-${i}`]).flat());
        p.zadd(k, 1, long);
        p.zrange(k, 0, -1, 'WITHSCORES');
        p.zrangebyscore(k, '-inf', '+inf');
        p.zrem(k, 'a', 'm');
      } else if (type === 'list') {
        p.lrange(k, 0, -1);
        p.rpush(k, ...Array.from({ length: 200 }, (_, i) => `item-${i}`), long);
        p.lpush(k, long);
        p.lrange(k, 0, -1);
        p.lpop(k);
        p.rpop(k);
      } else if (type === 'stream') {
        p.xrange(k, '-', '+');
        p.call('XINFO', 'STREAM', k, 'FULL');
        p.xadd(k, '*', 'f', long);
        p.xadd(k, '*', 'g', 'v');
        p.xrange(k, '-', '+');
        p.call('XINFO', 'GROUPS', k);
        p.xtrim(k, 'MAXLEN', 2);
      } else {
        p.get(k);
        p.append(k, long);
      }
      p.call('DEBUG', 'DIGEST-VALUE', k);
      p.call('OBJECT', 'ENCODING', k);
      await p.exec(); // reply errors (e.g. XADD on an exhausted stream id) are allowed
    }
  }
  await c.select(0);
}

describe('RDB mutants: verify agrees with valkey-check-rdb and the server', () => {
  beforeAll(async () => {
    source = await startTestServer();
    target = await startTestServer({ config: { 'sanitize-dump-payload': 'yes' } });
    bases = await buildBases();
  });

  afterAll(async () => {
    await source?.stop();
    await target?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it(`${MUTANTS} mutants (seed ${SEED})`, async () => {
    const r = seededRandom(SEED);
    const started = Date.now();
    const stats = {
      mutants: 0,
      verifyOk: 0,
      checkOk: 0,
      agree: 0,
      classes: {} as Record<string, number>,
      restored: 0,
      restoreSkipped: {} as Record<string, number>,
      workloads: 0,
      failures: [] as string[],
    };
    let c = new Redis(target.url, { maxRetriesPerRequest: 1 });
    const path = join(work, 'mutant.rdb');
    // The base files must be valid for all three judges.
    for (const b of bases) {
      writeFileSync(path, b.file);
      const [v, k] = [await verifyRdb(path), await checkRdb(path)];
      expect([b.name, v.ok, k.ok]).toEqual([b.name, true, true]);
    }
    for (let i = 0; i < MUTANTS; i++) {
      const base = bases[Math.floor(r() * bases.length)]!;
      const file = mutate(base.file, r);
      writeFileSync(path, file);
      const [v, first] = await Promise.all([verifyRdb(path), checkRdb(path, CHECK_RDB_HANG_MS)]);
      let check = first;
      // verify accepts it: a valkey-check-rdb cut short was slow, not in its hang; ask it again.
      if (check.hung && v.ok) check = await checkRdb(path, HANG_TIMEOUT_MS);
      stats.mutants++;
      if (v.ok) stats.verifyOk++;
      if (check.ok) stats.checkOk++;
      const fail = (why: string) => {
        const saved = saveRegression(
          'rdb-mutants',
          file,
          `${why} (base ${base.name}, seed ${SEED}, mutant ${i})`,
        );
        stats.failures.push(`${why}: ${saved}`);
      };
      if (v.ok === check.ok) stats.agree++;
      else {
        const cls = classify(file, v, check);
        if (cls) stats.classes[cls] = (stats.classes[cls] ?? 0) + 1;
        else
          fail(
            `verify ${v.ok ? 'accepts' : `refuses (${v.error?.message})`}, valkey-check-rdb ${check.ok ? 'accepts' : `refuses (${check.output.replace(/\s+/g, ' ')})`}`,
          );
      }
      if (!v.ok) continue;
      // Restore what verify accepts into the sanitize-yes server, then work the keys.
      const skip = await restoreSkip(file);
      if (skip) {
        stats.restoreSkipped[skip] = (stats.restoreSkipped[skip] ?? 0) + 1;
        continue;
      }
      try {
        await c.flushall();
        await restore({ input: path, url: target.url, replace: true });
        stats.restored++;
      } catch (err) {
        fail(`verify accepts but restore fails: ${(err as Error).message}`);
        continue;
      }
      try {
        await workload(c);
        expect(await c.ping()).toBe('PONG');
        stats.workloads++;
      } catch (err) {
        fail(`the server did not survive the workload: ${(err as Error).message}`);
        // A dead server: start a new one.
        c.disconnect();
        await target.stop().catch(() => {});
        target = await startTestServer({ config: { 'sanitize-dump-payload': 'yes' } });
        c = new Redis(target.url, { maxRetriesPerRequest: 1 });
      }
    }
    c.disconnect();
    const seconds = (Date.now() - started) / 1000;
    console.log(`rdb mutants: ${JSON.stringify({ ...stats, failures: stats.failures.length, seconds })}`);
    expect(stats.failures).toEqual([]);
  }, 3_600_000);
});

/**
 * The restore-only class a file verify accepts falls in, if any: a SELECTDB the target does not
 * have (>= 16), or a module value (the target has no module to load it).
 */
async function restoreSkip(file: Buffer): Promise<'db-out-of-range' | 'module-value' | null> {
  const { readRdb } = await import('../src/rdb/reader.js');
  try {
    for await (const rec of readRdb(file, { checksum: false })) {
      if (rec.kind === 'select-db' && rec.db >= 16) return 'db-out-of-range';
      if (rec.kind === 'key' && rec.value.type === 'module') return 'module-value';
    }
  } catch {
    // verify accepted it; nothing else to learn here
  }
  return null;
}
