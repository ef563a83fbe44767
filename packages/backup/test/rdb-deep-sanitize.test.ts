import { loadRdb, serverPool } from '@valkey-tools/test-utils';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../src/convert/convert.js';
import { checkDumpPayload, dumpPayload } from '../src/rdb/dump.js';
import { RdbError } from '../src/errors.js';
import { verifyRdb } from '../src/rdb/inspect.js';
import { readRdb } from '../src/rdb/reader.js';
import { restore } from '../src/restore/restore.js';
import {
  asciiScore,
  checkRdb,
  intset,
  keyRecord,
  listpack,
  payloadOf,
  rdbFile,
  rdbLen,
  rdbStr,
  ziplist,
  zipmap,
} from './helpers/craft.js';
import { regressionInputs } from './fuzz-harness.js';

// Files the writer never produces: duplicate hash fields, set members and zset members in every
// encoding, next to the same values without the duplicate. Three judges must agree on each:
// verifyRdb, a real server with sanitize-dump-payload yes (RESTORE of the same value), and
// valkey-check-rdb. Then the loosened cases the server accepts (loose score text, stream metadata
// lengths with encoding bits, a huge RESIZEDB hint) and -0 scores surviving every path.

const work = mkdtempSync(join(tmpdir(), 'vt-deep-'));
let pool: Awaited<ReturnType<typeof serverPool>>;
let oracle: Redis;
let target: Redis;
let targetUrl: string;
let loader: Awaited<ReturnType<typeof serverPool>>['servers'][number];

beforeAll(async () => {
  pool = await serverPool(3, { 'sanitize-dump-payload': 'yes' });
  const o = pool.take();
  oracle = new Redis(o.url, { maxRetriesPerRequest: 1 });
  const t = pool.take();
  targetUrl = t.url;
  target = new Redis(t.url, { maxRetriesPerRequest: 1 });
  loader = pool.take();
});

afterAll(async () => {
  oracle?.disconnect();
  target?.disconnect();
  await pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

const s = (x: string) => Buffer.from(x, 'latin1');
const f64 = (v: number) => {
  const out = Buffer.alloc(8);
  out.writeDoubleLE(v, 0);
  return out;
};
/** A listpack element stored as a string even when it looks like an integer. */
function listpackRaw(elements: Buffer[]): Buffer {
  const entries = elements.map((e) =>
    Buffer.concat([Buffer.from([0x80 | e.length]), e, Buffer.from([1 + e.length])]),
  );
  const body = Buffer.concat(entries);
  const out = Buffer.alloc(6 + body.length + 1);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(elements.length, 4);
  body.copy(out, 6);
  out[out.length - 1] = 0xff;
  return out;
}

/** One listpack holding the elements of both. */
function joinListpacks(a: Buffer, b: Buffer): Buffer {
  const body = Buffer.concat([a.subarray(6, a.length - 1), b.subarray(6, b.length - 1)]);
  const out = Buffer.alloc(6 + body.length + 1);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(a.readUInt16LE(4) + b.readUInt16LE(4), 4);
  body.copy(out, 6);
  out[out.length - 1] = 0xff;
  return out;
}

interface Case {
  name: string;
  type: number;
  dup: Buffer;
  clean: Buffer;
}

/** One case per encoding: the value with a duplicate, and without. */
const CASES: Case[] = [
  {
    name: 'hash hashtable (type 4)',
    type: 4,
    dup: Buffer.concat([rdbLen(2), rdbStr('f'), rdbStr('1'), rdbStr('f'), rdbStr('2')]),
    clean: Buffer.concat([rdbLen(2), rdbStr('f'), rdbStr('1'), rdbStr('g'), rdbStr('2')]),
  },
  {
    name: 'hash listpack (type 16)',
    type: 16,
    dup: rdbStr(listpack(['f', '1', 'f', '2'])),
    clean: rdbStr(listpack(['f', '1', 'g', '2'])),
  },
  {
    name: 'hash ziplist (type 13)',
    type: 13,
    dup: rdbStr(ziplist(['f', '1', 'f', '2'])),
    clean: rdbStr(ziplist(['f', '1', 'g', '2'])),
  },
  {
    name: 'hash zipmap (type 9)',
    type: 9,
    dup: rdbStr(
      zipmap([
        ['f', '1'],
        ['f', '2'],
      ]),
    ),
    clean: rdbStr(
      zipmap([
        ['f', '1'],
        ['g', '2'],
      ]),
    ),
  },
  {
    name: 'set hashtable (type 2)',
    type: 2,
    dup: Buffer.concat([rdbLen(2), rdbStr('a'), rdbStr('a')]),
    clean: Buffer.concat([rdbLen(2), rdbStr('a'), rdbStr('b')]),
  },
  {
    name: 'set listpack (type 20)',
    type: 20,
    dup: rdbStr(listpack(['a', 'b', 'a'])),
    clean: rdbStr(listpack(['a', 'b', 'c'])),
  },
  {
    name: 'set listpack, integer 5 and string "5" (type 20)',
    type: 20,
    dup: rdbStr(
      (() => {
        // "5" integer-encoded, then "5" as a 1-byte string: the same member to the server.
        const lp = listpack(['5']);
        const str = listpackRaw([s('5')]);
        const body = Buffer.concat([lp.subarray(6, lp.length - 1), str.subarray(6, str.length - 1)]);
        const out = Buffer.alloc(6 + body.length + 1);
        out.writeUInt32LE(out.length, 0);
        out.writeUInt16LE(2, 4);
        body.copy(out, 6);
        out[out.length - 1] = 0xff;
        return out;
      })(),
    ),
    clean: rdbStr(listpack(['5', '6'])),
  },
  {
    name: 'set intset (type 11)',
    type: 11,
    dup: rdbStr(intset([1, 2, 2])),
    clean: rdbStr(intset([1, 2, 3])),
  },
  {
    name: 'zset skiplist, ASCII scores (type 3)',
    type: 3,
    dup: Buffer.concat([rdbLen(2), rdbStr('m'), asciiScore('1'), rdbStr('m'), asciiScore('2')]),
    clean: Buffer.concat([rdbLen(2), rdbStr('m'), asciiScore('1'), rdbStr('n'), asciiScore('2')]),
  },
  {
    name: 'zset skiplist, binary scores (type 5)',
    type: 5,
    dup: Buffer.concat([rdbLen(2), rdbStr('m'), f64(1), rdbStr('m'), f64(2)]),
    clean: Buffer.concat([rdbLen(2), rdbStr('m'), f64(1), rdbStr('n'), f64(2)]),
  },
  {
    name: 'zset listpack (type 17)',
    type: 17,
    dup: rdbStr(listpack(['m', '1', 'm', '2'])),
    clean: rdbStr(listpack(['m', '1', 'n', '2'])),
  },
  {
    name: 'zset ziplist (type 12)',
    type: 12,
    dup: rdbStr(ziplist(['m', '1', 'm', '2'])),
    clean: rdbStr(ziplist(['m', '1', 'n', '2'])),
  },
];

const before = keyRecord(0, 'before', rdbStr('a valid key first'));

/** A file with a valid string key, then key "k" holding `value`. */
function writeCase(name: string, type: number, value: Buffer): { path: string; file: Buffer; at: number } {
  const record = keyRecord(type, 'k', value);
  const file = rdbFile([before, record]);
  const path = join(work, `${name.replace(/[^a-z0-9]+/gi, '-')}.rdb`);
  writeFileSync(path, file);
  return { path, file, at: file.indexOf(record) };
}

/** The server's verdict on RESTORE of the value (sanitize-dump-payload yes). */
async function serverAccepts(type: number, value: Buffer): Promise<boolean> {
  await oracle.del('k');
  try {
    await oracle.restore('k', 0, payloadOf(type, value));
    return true;
  } catch (err) {
    expect(String(err)).toMatch(/Bad data format/);
    return false;
  }
}

describe('duplicates in every encoding: verifyRdb, the server and valkey-check-rdb agree', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const dup = writeCase(`dup ${c.name}`, c.type, c.dup);
      const clean = writeCase(`clean ${c.name}`, c.type, c.clean);

      const vd = await verifyRdb(dup.path);
      const vc = await verifyRdb(clean.path);
      expect(vc.error).toBeUndefined();
      expect(vc.keys).toBe(2);
      expect(vd.ok).toBe(false);
      expect(vd.error?.code).toBe('ERR_RDB_DUPLICATE');
      expect(vd.error?.key).toBe('k');
      // The offset points into key k's record, and the message names the file, offset and key.
      expect(vd.error?.offset).toBeGreaterThan(dup.at);
      expect(vd.error?.offset).toBeLessThan(dup.file.length);
      expect(vd.error?.message).toContain(dup.path);
      expect(vd.error?.message).toContain(`at byte offset ${vd.error?.offset}`);
      expect(vd.error?.message).toContain('key "k"');

      const [sd, sc] = [await serverAccepts(c.type, c.dup), await serverAccepts(c.type, c.clean)];
      const [kd, kc] = [await checkRdb(dup.path), await checkRdb(clean.path)];
      expect({ verify: vd.ok, server: sd, checkRdb: kd.ok }).toEqual({
        verify: false,
        server: false,
        checkRdb: false,
      });
      expect({ verify: vc.ok, server: sc, checkRdb: kc.ok }).toEqual({
        verify: true,
        server: true,
        checkRdb: true,
      });

      // checkDumpPayload gives the same verdicts on the payloads.
      expect(() => checkDumpPayload(payloadOf(c.type, c.clean))).not.toThrow();
      const err = (() => {
        try {
          checkDumpPayload(payloadOf(c.type, c.dup));
        } catch (e) {
          return e;
        }
      })();
      expect(RdbError.isInstance(err)).toBe(true);
      expect((err as RdbError).code).toBe('ERR_RDB_DUPLICATE');
    });
  }
});

describe('restore refuses a file with duplicates and leaves the target untouched', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const dup = writeCase(`restore dup ${c.name}`, c.type, c.dup);
      await target.flushall();
      const err = await restore({ input: dup.path, url: targetUrl }).catch((e) => e);
      expect(err).toBeInstanceOf(Error);
      expect(String(err.message)).toMatch(/not a valid RDB file/);
      expect(String(err.message)).toContain('key "k"');
      expect(await target.dbsize()).toBe(0);
      expect(await target.ping()).toBe('PONG');
      // The clean twin restores: the refusal is about the duplicate, nothing else.
      const clean = writeCase(`restore clean ${c.name}`, c.type, c.clean);
      const r = await restore({ input: clean.path, url: targetUrl });
      expect(r.keys).toBe(2);
      expect(await target.dbsize()).toBe(2);
    });
  }
});

/** The server loads the file (DEBUG RELOAD, as at startup) and holds `key` of `type`. */
async function expectLoads(path: string, key: string, type: string): Promise<void> {
  await loadRdb(loader, path);
  const c = new Redis(loader.url);
  try {
    expect(await c.type(key)).toBe(type);
    expect(await c.ping()).toBe('PONG');
  } finally {
    c.disconnect();
  }
}

describe('what the server accepts, verify accepts', () => {
  it('loose ASCII scores (type 3) read like sscanf %lg', async () => {
    const texts = [' 1.5', '1e3', 'inf', '-inf', '0x1p3', '2.5abc', '-0', '+7', '.5', '1e999', '\t-2.25'];
    const value = Buffer.concat([
      rdbLen(texts.length),
      ...texts.flatMap((t, i) => [rdbStr(`m${i}`), asciiScore(t)]),
    ]);
    const c = writeCase('loose ascii scores', 3, value);
    const v = await verifyRdb(c.path);
    expect(v.error).toBeUndefined();
    expect((await checkRdb(c.path)).ok).toBe(true);
    expect(await serverAccepts(3, value)).toBe(true);
    // The reader's scores are the server's.
    const scores = new Map<string, number>();
    for await (const r of readRdb(c.file)) {
      if (r.kind === 'key' && r.value.type === 'zset')
        for (const e of r.value.entries) scores.set(e.member.toString(), e.score);
    }
    for (let i = 0; i < texts.length; i++) {
      const reply = await oracle.zscore('k', `m${i}`);
      const server = reply === 'inf' ? Infinity : reply === '-inf' ? -Infinity : Number(reply);
      // (The server turns a -0 into 0 when it re-encodes this small zset as a listpack.)
      const mine = scores.get(`m${i}`)!;
      expect([texts[i], mine === 0 ? 0 : mine]).toEqual([texts[i], server === 0 ? 0 : server]);
    }
    // The stored score is -0 (what the file says; a skiplist-encoded zset keeps it).
    expect(Object.is(scores.get('m6'), -0)).toBe(true);
    await expectLoads(c.path, 'k', 'zset');
  });

  it('listpack score text is read with strtod: "abc" is 0, " 7" is 7', async () => {
    const value = rdbStr(listpackRaw([s('a'), s('abc'), s('b'), s(' 7'), s('c'), s('1e2x')]));
    const c = writeCase('listpack loose scores', 17, value);
    expect((await verifyRdb(c.path)).error).toBeUndefined();
    expect((await checkRdb(c.path)).ok).toBe(true);
    expect(await serverAccepts(17, value)).toBe(true);
    expect(await oracle.zscore('k', 'a')).toBe('0');
    expect(await oracle.zscore('k', 'b')).toBe('7');
    expect(await oracle.zscore('k', 'c')).toBe('100');
    await expectLoads(c.path, 'k', 'zset');
    // A NaN score is refused (a sorted set cannot hold NaN): the one documented difference.
    const nan = rdbStr(listpackRaw([s('a'), s('nan')]));
    const n = writeCase('listpack nan score', 17, nan);
    expect((await verifyRdb(n.path)).ok).toBe(false);
  });

  it('stream metadata lengths with the encoding bits set are read as the server reads them', async () => {
    // One node: master entry (count 1, deleted 0, 1 field "f", 0), one SAMEFIELDS entry "v".
    const nodeKey = Buffer.alloc(16);
    nodeKey.writeBigUInt64BE(5n, 0);
    const lp = listpack(['1', '0', '1', 'f', '0', '2', '0', '0', 'v', '4']);
    const enc = (n: number) => Buffer.from([0xc0 | n]); // 11xxxxxx: rdbLoadLen(NULL) reads n
    const value = Buffer.concat([
      rdbLen(1),
      rdbStr(nodeKey),
      rdbStr(lp),
      enc(1), // length
      enc(5), // last id ms
      enc(0), // last id seq
      enc(5), // first id ms
      enc(0),
      enc(0), // max deleted id
      enc(0),
      enc(1), // entries added
      enc(0), // groups
    ]);
    const c = writeCase('stream encoded lengths', 21, value);
    expect((await verifyRdb(c.path)).error).toBeUndefined();
    expect((await checkRdb(c.path)).ok).toBe(true);
    expect(await serverAccepts(21, value)).toBe(true);
    expect(await oracle.xlen('k')).toBe(1);
    const info = (await oracle.call('XINFO', 'STREAM', 'k')) as unknown[];
    expect(info[info.indexOf('last-generated-id') + 1]).toBe('5-0');
    await expectLoads(c.path, 'k', 'stream');
  });

  it('a RESIZEDB hint of 2^62', async () => {
    const file = rdbFile([before], { resize: [rdbLen(2n ** 62n), rdbLen(0)] });
    const path = join(work, 'huge-resizedb.rdb');
    writeFileSync(path, file);
    const v = await verifyRdb(path);
    expect(v.error).toBeUndefined();
    expect(v.keys).toBe(1);
    expect((await checkRdb(path)).ok).toBe(true);
    await loadRdb(loader, path);
    const c = new Redis(loader.url);
    try {
      expect(await c.get('before')).toBe('a valid key first');
    } finally {
      c.disconnect();
    }
  });
});

describe('-0 scores stay -0', () => {
  it('an old ziplist zset with "-0" comes back as -0 through restore, JSONL and .valkey', async () => {
    const value = rdbStr(ziplist(['m', '-0', 'n', '1.5']));
    const c = writeCase('minus zero', 12, value);
    expect((await verifyRdb(c.path)).error).toBeUndefined();
    // The server loading the file itself: the reference digest.
    await loadRdb(loader, c.path);
    const ref = new Redis(loader.url);
    let digest: string;
    try {
      expect(await ref.zscore('k', 'm')).toBe('-0');
      digest = String(await ref.call('DEBUG', 'DIGEST-VALUE', 'k'));
    } finally {
      ref.disconnect();
    }
    const jsonl = join(work, 'minus-zero.jsonl');
    const valkey = join(work, 'minus-zero.valkey');
    const rdbAgain = join(work, 'minus-zero-again.rdb');
    await convert({ input: c.path, output: jsonl });
    await convert({ input: c.path, output: valkey });
    await convert({ input: jsonl, output: rdbAgain });
    for (const input of [c.path, jsonl, valkey, rdbAgain]) {
      await target.flushall();
      await restore({ input, url: targetUrl });
      expect([input, await target.zscore('k', 'm')]).toEqual([input, '-0']);
      expect([input, String(await target.call('DEBUG', 'DIGEST-VALUE', 'k'))]).toEqual([input, digest]);
    }
  });
});

describe('checkDumpPayload', () => {
  const thrown = (payload: Buffer, options?: { maxVersion?: number }): RdbError => {
    try {
      checkDumpPayload(payload, options);
    } catch (e) {
      expect(RdbError.isInstance(e)).toBe(true);
      return e as RdbError;
    }
    throw new Error('checkDumpPayload accepted the payload');
  };

  it('passes what DUMP returns and refuses what RESTORE refuses, with the offset', async () => {
    await oracle.flushall();
    await oracle.hset('h', 'f', 'v');
    await oracle.sadd('s', 1, 2, 3);
    await oracle.xadd('x', '1-1', 'f', 'v');
    for (const k of ['h', 's', 'x']) checkDumpPayload((await oracle.dumpBuffer(k))!);
    const good = (await oracle.dumpBuffer('h'))!;

    const crc = Buffer.from(good);
    crc[crc.length - 1]! ^= 1;
    expect(thrown(crc).code).toBe('ERR_RDB_CHECKSUM');

    const v80 = good.subarray(0, good.length - 10);
    expect(thrown(dumpPayload(v80[0]!, v80.subarray(1), 80)).code).toBe('ERR_RDB_UNSUPPORTED_VERSION');
    expect(() =>
      checkDumpPayload(dumpPayload(v80[0]!, v80.subarray(1), 80), { maxVersion: 80 }),
    ).not.toThrow();

    expect(thrown(good.subarray(0, 10)).code).toBe('ERR_RDB_BAD_PAYLOAD');

    // An empty collection: RESTORE says "Bad data format", so does checkDumpPayload.
    const emptySet = payloadOf(20, rdbStr(listpack([])));
    await expect(oracle.restore('e', 0, emptySet)).rejects.toThrow(/Bad data format/);
    expect(thrown(emptySet).message).toMatch(/empty collection/);

    // A truncated value and bytes after the value.
    const value = good.subarray(1, good.length - 10);
    const cut = thrown(payloadOf(good[0]!, value.subarray(0, value.length - 2)));
    expect(cut.details.offset).toBeGreaterThan(0);
    expect(thrown(payloadOf(good[0]!, Buffer.concat([value, Buffer.from([0])]))).message).toMatch(
      /before the version footer/,
    );

    // A stream whose pending entry has no consumer: the server's deep sanitization refuses it.
    await oracle.xgroup('CREATE', 'x', 'g', '0');
    await oracle.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'x', '>');
    const withPel = (await oracle.dumpBuffer('x'))!;
    checkDumpPayload(withPel);
    // Rewrite: consumer PEL count 1 -> 0 (the byte before the last 16-byte id, before the footer).
    const body = Buffer.from(withPel.subarray(1, withPel.length - 10));
    const at = body.length - 17;
    expect(body[at]).toBe(1);
    const orphan = payloadOf(withPel[0]!, Buffer.concat([body.subarray(0, at), Buffer.from([0])]));
    await expect(oracle.restore('x2', 0, orphan)).rejects.toThrow(/Bad data format/);
    expect(thrown(orphan).code).toBe('ERR_RDB_CORRUPT_STREAM');
  });
});

describe('RDB mutants the fuzz once found (test/fixtures/regressions/rdb-mutants)', () => {
  const inputs = regressionInputs('rdb-mutants');
  it.each(inputs.map((i) => [i.name, i.bytes] as const))(
    '%s: verify agrees with valkey-check-rdb',
    async (name, bytes) => {
      const path = join(work, name.replace(/\.bin$/, '.rdb'));
      writeFileSync(path, bytes);
      const [v, k] = [await verifyRdb(path), await checkRdb(path)];
      expect({ verify: v.ok, checkRdb: k.ok, error: v.error?.message }).toMatchObject({
        verify: k.ok,
        checkRdb: k.ok,
      });
    },
  );
});

describe('the fast walk finds the same duplicates as the reader', () => {
  const members = (n: number) =>
    Array.from({ length: n }, (_, i) => (i % 3 === 0 ? String(i * 1000003) : `m${i}`));
  const big = '9223372036854775807';
  const cases: Array<[string, Buffer, boolean]> = [
    ['20 unique members', rdbStr(listpack(members(20))), true],
    ['20 members, the 18th repeats the 4th', rdbStr(listpack([...members(17), 'm4', 'x', 'y'])), false],
    ['an int64 member twice', rdbStr(listpack(['a', big, 'b', big])), false],
    ['an int64 member twice, beyond 16', rdbStr(listpack([...members(17), big, big])), false],
    [
      'integer 5 and string "5" beyond 16',
      rdbStr(joinListpacks(listpack([...members(17), '5']), listpackRaw([s('5')]))),
      false,
    ],
    [
      'integer 5 and string "6" beyond 16',
      rdbStr(joinListpacks(listpack([...members(17), '5']), listpackRaw([s('6')]))),
      true,
    ],
  ];
  // A hashtable set big enough to grow the walk's member set several times over (table, entries
  // and the arena holding their bytes), the repeat being the very first member.
  const long = (i: number) => `member-${i}-${'x'.repeat(40)}`;
  const hashtable = (names: string[]) =>
    Buffer.concat([rdbLen(names.length), ...names.map((n) => rdbStr(n))]);
  const manyNames = Array.from({ length: 6000 }, (_, i) => long(i));
  const tableCases: Array<[string, Buffer, boolean]> = [
    ['a hashtable set of 6000 unique members', hashtable(manyNames), true],
    [
      'a hashtable set of 6000 members, the last repeats the first',
      hashtable([...manyNames, long(0)]),
      false,
    ],
    [
      'a hashtable set, members differing only in their last byte',
      hashtable([...manyNames, `${long(0)}y`]),
      true,
    ],
  ];
  // Set listpacks (type 20), then hashtable sets (type 2).
  const typed: Array<[string, Buffer, boolean, number]> = [
    ...cases.map(([name, value, ok]): [string, Buffer, boolean, number] => [name, value, ok, 20]),
    ...tableCases.map(([name, value, ok]): [string, Buffer, boolean, number] => [name, value, ok, 2]),
  ];
  it.each(typed)('%s', async (_name, value, ok, type) => {
    const { walkRdb } = await import('../src/rdb/walk.js');
    const { verifyRdbWithReader } = await import('../src/rdb/inspect.js');
    const file = rdbFile([keyRecord(type, 'k', value)]);
    const fast = await walkRdb(file, file.length, {});
    const full = await verifyRdbWithReader(file);
    expect({ fast: fast !== null, reader: full.ok, code: full.error?.code }).toEqual(
      ok
        ? { fast: true, reader: true, code: undefined }
        : { fast: false, reader: false, code: 'ERR_RDB_DUPLICATE' },
    );
  });
});

describe('a key that expired before 1970 (found by the RDB mutant fuzz)', () => {
  // Fixture rdb-mutants/fe8e1a26472d36b5.bin: EXPIRETIME of -1667417912 s. verify and
  // valkey-check-rdb accept the file and the server's load drops the key as expired; restore
  // skips it like any key whose expiry has passed (it sent RESTORE ... ABSTTL <negative>, which
  // the server refuses: "Invalid TTL value, must be >= 0").
  it('restore skips it, counts it as expired, and restores the rest', async () => {
    const exp = Buffer.concat([Buffer.from([0xfd]), Buffer.alloc(4)]);
    exp.writeInt32LE(-1667417912, 1);
    const file = rdbFile([before, exp, keyRecord(0, 'k', rdbStr('expired long ago'))]);
    const path = join(work, 'negative-expiry.rdb');
    writeFileSync(path, file);
    expect((await verifyRdb(path)).ok).toBe(true);
    expect((await checkRdb(path)).ok).toBe(true);
    await target.flushall();
    const r = await restore({ input: path, url: targetUrl });
    expect(r).toMatchObject({ keys: 1, expired: 1, errorCount: 0 });
    expect(await target.exists('k')).toBe(0);
    expect(await target.get('before')).toBe('a valid key first');
  });
});
