import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RdbRecord, Value } from '../src/model.js';
import { RdbError } from '../src/errors.js';
import { type RdbWarning, readRdb, readRdbFile } from '../src/rdb/reader.js';
import { byteByByte, collect, fixture, keysOf, norm, plain } from './fixtures/rdb/helpers.js';
import { writeRdb } from '../src/rdb/writer.js';

async function read(name: string) {
  const warnings: RdbWarning[] = [];
  const records = await collect(readRdbFile(fixture(name), { onWarning: (w) => warnings.push(w) }));
  return { records, keys: keysOf(records), warnings };
}

async function readError(input: Parameters<typeof readRdb>[0]): Promise<RdbError> {
  try {
    await collect(readRdb(input));
  } catch (err) {
    expect(RdbError.isInstance(err)).toBe(true);
    return err as RdbError;
  }
  throw new Error('expected the read to fail');
}

const dbl = (n: number) => (k: string) => [k, n] as const;

describe('rdbtools fixtures', () => {
  it('empty_database: header and end only', async () => {
    const { records } = await read('rdbtools/empty_database.rdb');
    expect(records).toEqual([
      { kind: 'header', magic: 'REDIS', version: 3, flavor: 'redis' },
      { kind: 'end', checksum: null },
    ]);
  });

  it('multiple_databases: keys in db 0 and 2', async () => {
    const { keys } = await read('rdbtools/multiple_databases.rdb');
    expect(keys.get('key_in_zeroth_database')?.db).toBe(0);
    expect(plain(keys.get('key_in_zeroth_database')!.value)).toBe('zero');
    expect(keys.get('key_in_second_database')?.db).toBe(2);
    expect(plain(keys.get('key_in_second_database')!.value)).toBe('second');
  });

  it('keys_with_expiry: millisecond expiry', async () => {
    const { keys } = await read('rdbtools/keys_with_expiry.rdb');
    const k = keys.get('expires_ms_precision')!;
    expect(k.expiresAt).toBe(1671963072573);
    expect(plain(k.value)).toBe('2022-12-25 10:11:12.573 UTC');
  });

  it('integer_keys: int8/16/32 encoded keys', async () => {
    const { keys } = await read('rdbtools/integer_keys.rdb');
    expect(Object.fromEntries([...keys].map(([k, v]) => [k, plain(v.value)]))).toEqual({
      '125': 'Positive 8 bit integer',
      '43947': 'Positive 16 bit integer',
      '183358245': 'Positive 32 bit integer',
      '-123': 'Negative 8 bit integer',
      '-29477': 'Negative 16 bit integer',
      '-183358245': 'Negative 32 bit integer',
    });
  });

  it('uncompressible_string_keys: 6/14/32-bit lengths', async () => {
    const { keys } = await read('rdbtools/uncompressible_string_keys.rdb');
    const byLen = new Map([...keys].map(([k, v]) => [k.length, plain(v.value)]));
    expect(byLen.get(60)).toBe('Key length within 6 bits');
    expect(byLen.get(16382)).toBe('Key length more than 6 bits but less than 14 bits');
    expect(byLen.get(16386)).toBe('Key length more than 14 bits but less than 32');
  });

  it('easily_compressible_string_key: LZF key', async () => {
    const { keys } = await read('rdbtools/easily_compressible_string_key.rdb');
    expect(plain(keys.get('a'.repeat(200))!.value)).toBe('Key that redis should compress easily');
  });

  it('zipmaps', async () => {
    const a = await read('rdbtools/zipmap_that_compresses_easily.rdb');
    const z = a.keys.get('zipmap_compresses_easily')!;
    expect(z.encoding).toBe('zipmap');
    expect(plain(z.value)).toEqual({ a: 'aa', aa: 'aaaa', aaaaa: 'aaaaaaaaaaaaaa' });
    const b = await read('rdbtools/zipmap_that_doesnt_compress.rdb');
    expect(plain(b.keys.get('zimap_doesnt_compress')!.value)).toEqual({ MKD1G6: '2', YNNXK: 'F7TI' });
    const c = await read('rdbtools/zipmap_with_big_values.rdb');
    const big = plain(c.keys.get('zipmap_with_big_values')!.value) as Record<string, string>;
    expect(Object.fromEntries(Object.entries(big).map(([k, v]) => [k, v.length]))).toEqual({
      '253bytes': 253,
      '254bytes': 254,
      '255bytes': 255,
      '300bytes': 300,
      '20kbytes': 20000,
    });
  });

  it('hash_as_ziplist and dictionary', async () => {
    const a = await read('rdbtools/hash_as_ziplist.rdb');
    expect(plain(a.keys.get('zipmap_compresses_easily')!.value)).toEqual({
      a: 'aa',
      aa: 'aaaa',
      aaaaa: 'aaaaaaaaaaaaaa',
    });
    const d = await read('rdbtools/dictionary.rdb');
    const h = d.keys.get('force_dictionary')!;
    expect(h.encoding).toBe('hashtable');
    const m = plain(h.value) as Record<string, string>;
    expect(Object.keys(m)).toHaveLength(1000);
    expect(m.ZMU5WEJDG7KU89AOG5LJT6K7HMNB3DEI43M6EYTJ83VRJ6XNXQ).toBe(
      'T63SOS8DQJF0Q0VJEZ0D1IQFCYTIPSBOUIAI9SB0OV57MQR1FI',
    );
    expect(m.UHS5ESW4HLK8XOGTM39IK1SJEUGVV9WOPK6JYA5QBZSJU84491).toBe(
      '6VULTCV52FXJ8MGVSFTZVAGK2JXZMGQ5F8OVJI0X6GEDDR27RZ',
    );
  });

  it('ziplist lists', async () => {
    const a = await read('rdbtools/ziplist_that_compresses_easily.rdb');
    expect(plain(a.keys.get('ziplist_compresses_easily')!.value)).toEqual(
      [6, 12, 18, 24, 30, 36].map((n) => 'a'.repeat(n)),
    );
    const b = await read('rdbtools/ziplist_that_doesnt_compress.rdb');
    expect(plain(b.keys.get('ziplist_doesnt_compress')!.value)).toEqual([
      'aj2410',
      'cc953a17a8e096e76a44169ad3f9ac87c5f8248a403274416179aa9fbd852344',
    ]);
    const c = await read('rdbtools/ziplist_with_integers.rdb');
    expect(plain(c.keys.get('ziplist_with_integers')!.value)).toEqual(
      [
        ...Array.from({ length: 13 }, (_, i) => i),
        -2,
        13,
        25,
        -61,
        63,
        16380,
        -16000,
        65535,
        -65523,
        4194304,
        '9223372036854775807',
      ].map(String),
    );
  });

  it('linkedlist', async () => {
    const { keys } = await read('rdbtools/linkedlist.rdb');
    const items = plain(keys.get('force_linkedlist')!.value) as string[];
    expect(items).toHaveLength(1000);
    expect(items).toContain('JYY4GIFI0ETHKP4VAJF5333082J4R1UPNPLE329YT0EYPGHSJQ');
    expect(items).toContain('TKBXHJOX9Q99ICF4V78XTCA2Y1UYW6ERL35JCIL1O0KSGXS58S');
  });

  it('intsets 16/32/64 and a regular set', async () => {
    const members = async (f: string, k: string) => plain((await read(f)).keys.get(k)!.value);
    expect(await members('rdbtools/intset_16.rdb', 'intset_16')).toEqual(['32764', '32765', '32766']);
    expect(await members('rdbtools/intset_32.rdb', 'intset_32')).toEqual(
      [0x7ffefffc, 0x7ffefffd, 0x7ffefffe].map(String),
    );
    expect(await members('rdbtools/intset_64.rdb', 'intset_64')).toEqual(
      [0x7ffefffefffefffcn, 0x7ffefffefffefffdn, 0x7ffefffefffefffen].map(String),
    );
    expect(await members('rdbtools/regular_set.rdb', 'regular_set')).toEqual(
      ['alpha', 'beta', 'gamma', 'delta', 'phi', 'kappa'].sort(),
    );
  });

  it('sorted sets: ziplist, ASCII-double skiplist, binary-double skiplist', async () => {
    const a = await read('rdbtools/sorted_set_as_ziplist.rdb');
    expect(plain(a.keys.get('sorted_set_as_ziplist')!.value)).toEqual({
      '8b6ba6718a786daefa69438148361901': 1,
      cb7a24bb7528f934b841b34c3a73e0c7: 2.37,
      '523af537946b79c4f8369ed39ba78605': 3.423,
    });
    const b = await read('rdbtools/regular_sorted_set.rdb');
    const z = b.keys.get('force_sorted_set')!;
    expect(z.value.type === 'zset' && z.value.entries).toHaveLength(500);
    const c = await read('rdbtools/rdb_version_8_with_64b_length_and_scores.rdb');
    expect(plain(c.keys.get('foo')!.value)).toBe('bar');
    const big = plain(c.keys.get('bigset')!.value) as Record<string, number>;
    expect(Object.keys(big)).toHaveLength(1000);
    expect(big.finalfield).toBe(2718 / 1000);
  });

  it('parser_filters: 43 keys, k1/k3 and 4 zsets', async () => {
    const { keys } = await read('rdbtools/parser_filters.rdb');
    expect(keys.size).toBe(43);
    expect(plain(keys.get('k1')!.value)).toBe('ssssssss');
    expect(plain(keys.get('k3')!.value)).toBe('wwwwwwww');
    expect(
      [...keys]
        .filter(([, v]) => v.value.type === 'zset')
        .map(([k]) => k)
        .sort(),
    ).toEqual(['z1', 'z2', 'z3', 'z4']);
  });

  it('rdb_version_5_with_checksum: 6 keys, CRC verified', async () => {
    const { records, keys } = await read('rdbtools/rdb_version_5_with_checksum.rdb');
    expect(keys.size).toBe(6);
    expect(plain(keys.get('longerstring')!.value)).toBe('thisisalongerstring.idontknowwhatitmeans');
    expect(records.at(-1)).toMatchObject({ kind: 'end' });
    expect((records.at(-1) as { checksum: bigint }).checksum).toBeTypeOf('bigint');
  });

  it('non_ascii_values: binary-safe values', async () => {
    const { keys } = await read('rdbtools/non_ascii_values.rdb');
    expect(keys.get('bin')!.value).toEqual({
      type: 'string',
      value: Buffer.from('\x00$ ~0\x7f\xff\n\xaa\t\x80\rAb', 'latin1'),
    });
    expect(plain(keys.get('378')!.value)).toBe('int_key_name');
    expect((keys.get('utf8')!.value as { value: Buffer }).value.toString('hex')).toBe(
      'd791d793d799d7a7d794f090808f313233d7a2d791d7a8d799d7aa',
    );
  });

  it('redis_40_with_module: module value kept raw', async () => {
    const { keys } = await read('rdbtools/redis_40_with_module.rdb');
    expect(plain(keys.get('simplekey')!.value)).toBe('someval');
    const m = keys.get('foo')!.value;
    expect(m.type).toBe('module');
    if (m.type !== 'module') return;
    expect(m.moduleName).toBe('ReJSON-RL');
    expect(m.encodingVersion).toBe(0);
    expect(m.raw.at(-1)).toBe(0); // ends with the module EOF opcode
  });

  it('redis_50_with_streams: 14 keys, stream v1 with 4 entries', async () => {
    const { keys } = await read('rdbtools/redis_50_with_streams.rdb');
    expect(keys.size).toBe(14);
    const s = keys.get('mystream')!;
    expect(s.encoding).toBe('stream-listpacks');
    if (s.value.type !== 'stream') throw new Error('not a stream');
    expect(s.value.entries).toHaveLength(4);
    expect(s.value.length).toBe(4n);
    expect(s.value.entries[0]!.id).toEqual({ ms: 1528176919539n, seq: 0n });
  });

  it('redis_60_with_module_aux: module aux record, no keys', async () => {
    const { records, keys } = await read('rdbtools/redis_60_with_module_aux.rdb');
    expect(keys.size).toBe(0);
    const aux = records.find((r) => r.kind === 'module-aux');
    expect(aux).toMatchObject({ kind: 'module-aux', moduleName: 'test__rdb' });
  });
});

describe('valkey fixtures', () => {
  it('encodings.rdb (v4, no trailer): 13 keys with the expected contents', async () => {
    const { keys, records } = await read('valkey/encodings.rdb');
    expect(records.at(-1)).toEqual({ kind: 'end', checksum: null });
    const got = Object.fromEntries([...keys].map(([k, v]) => [k, plain(v.value)]));
    const l = ['1', '2', '3', 'a', 'b', 'c', '100000', '6000000000'];
    expect(got).toEqual({
      compressible: 'a'.repeat((got.compressible as string).length),
      hash: {
        a: '1',
        aa: '10',
        aaa: '100',
        b: '2',
        bb: '20',
        bbb: '200',
        c: '3',
        cc: '30',
        ccc: '300',
        ddd: '400',
        eee: '5000000000',
      },
      hash_zipped: { a: '1', b: '2', c: '3' },
      list: [...l, ...l, ...l],
      list_zipped: l,
      number: '10',
      set: ['1', '100000', '2', '3', '6000000000', 'a', 'b', 'c'].sort(),
      set_zipped_1: ['1', '2', '3', '4'],
      set_zipped_2: ['100000', '200000', '300000', '400000'],
      set_zipped_3: ['1000000000', '2000000000', '3000000000', '4000000000', '5000000000', '6000000000'],
      string: 'Hello World',
      zset: Object.fromEntries([
        ...['a', 'b', 'c'].map((k, i) => [k, i + 1]),
        ...['aa', 'bb', 'cc'].map((k, i) => [k, (i + 1) * 10]),
        ...['aaa', 'bbb', 'ccc'].map((k, i) => [k, (i + 1) * 100]),
        dbl(1000)('aaaa'),
        dbl(123456789)('cccc'),
        dbl(5000000000)('bbbb'),
      ]),
      zset_zipped: { a: 1, b: 2, c: 3 },
    });
    expect((got.compressible as string).length).toBeGreaterThan(100);
    expect(keys.get('zset')!.encoding).toBe('skiplist');
    // The MANIFEST says zipmap, but the type byte is 0x0d: a hash ziplist (RDB v4 era).
    expect(keys.get('hash_zipped')!.encoding).toBe('ziplist');
    expect(keys.get('set_zipped_3')!.encoding).toBe('intset');
  });

  it('list-quicklist, hash-zipmap, hash-ziplist, zset-ziplist', async () => {
    const q = await read('valkey/list-quicklist.rdb');
    expect(plain(q.keys.get('x')!.value)).toBe('7');
    expect(q.keys.get('list')).toMatchObject({ encoding: 'quicklist' });
    expect(plain(q.keys.get('list')!.value)).toEqual(['7']);
    expect(plain((await read('valkey/hash-zipmap.rdb')).keys.get('hash')!.value)).toEqual({
      f1: 'v1',
      f2: 'v2',
    });
    expect(plain((await read('valkey/hash-ziplist.rdb')).keys.get('hash')!.value)).toEqual({
      f1: 'v1',
      f2: 'v2',
    });
    expect(plain((await read('valkey/zset-ziplist.rdb')).keys.get('zset')!.value)).toEqual({
      one: 1,
      two: 2,
    });
  });

  it('scriptbackup: legacy lua AUX surfaces as aux, no keys', async () => {
    const { records, keys } = await read('valkey/scriptbackup.rdb');
    expect(keys.size).toBe(0);
    const lua = records.find(
      (r): r is Extract<RdbRecord, { kind: 'aux' }> => r.kind === 'aux' && r.key.toString() === 'lua',
    );
    expect(lua?.value.toString()).toBe("return redis.call('set', 'foo', 'bar')");
  });

  it('corrupt_empty_keys: all 9 empty keys skipped and reported', async () => {
    const { keys, warnings } = await read('valkey/corrupt_empty_keys.rdb');
    expect(keys.size).toBe(0);
    expect(warnings.filter((w) => w.code === 'empty-key').map((w) => w.key!.toString())).toEqual([
      'set',
      'hash',
      'list_ziplist',
      'zset',
      'zset_listpack',
      'hash_ziplist',
      'list_quicklist',
      'zset_ziplist',
      'list_quicklist_empty_ziplist',
    ]);
  });

  it('corrupt_ziplist: integrity failure with offset and key', async () => {
    const err = await readError(readFileSync(fixture('valkey/corrupt_ziplist.rdb')));
    expect(err.code).toBe('ERR_RDB_CORRUPT_ZIPLIST');
    expect(err.details.offset).toBeGreaterThan(400);
    expect(err.details.offset).toBeLessThan(500);
    expect(err.details.key).toBe('key:000000000091');
    expect(err.message).toMatch(/integrity check failed/);
  });

  it('rdb-preamble.aof: reads the RDB part and reports the RESP tail', async () => {
    const { keys, warnings } = await read('valkey/rdb-preamble.aof');
    expect(Object.fromEntries([...keys].map(([k, v]) => [k, plain(v.value)]))).toEqual({
      k1: 'v1',
      k2: 'v2',
    });
    expect(warnings.map((w) => w.code)).toContain('trailing-data');
  });
});

describe('write back', () => {
  it.each([
    'rdbtools/redis_40_with_module.rdb',
    'rdbtools/redis_60_with_module_aux.rdb',
    'rdbtools/redis_50_with_streams.rdb',
    'valkey/encodings.rdb',
  ])('%s: module values, module aux and every key survive writeRdb -> readRdb', async (name) => {
    const first = await collect(readRdbFile(fixture(name)));
    const bytes = Buffer.concat(await collect(writeRdb(first)));
    const second = await collect(readRdb(bytes));
    // Order inside sets/hashes/zsets and the stream fields newer formats add are not content.
    const canon = (v: Value): unknown => {
      const sorted = (xs: string[]) => xs.sort();
      switch (v.type) {
        case 'set':
          return sorted(v.members.map((m) => m.toString('hex')));
        case 'zset':
          return sorted(v.entries.map((e) => `${e.member.toString('hex')}=${e.score}`));
        case 'hash':
          return sorted(v.entries.map((e) => `${e.field.toString('hex')}=${e.value.toString('hex')}`));
        case 'stream':
          return norm({
            entries: v.entries,
            length: v.length,
            lastId: v.lastId,
            groups: v.groups.map((g) => ({
              ...g,
              consumers: g.consumers.map(({ activeTime: _a, ...c }) => c),
            })),
          });
        default:
          return norm(v);
      }
    };
    const view = (rs: RdbRecord[]) =>
      rs
        .filter((r) => r.kind === 'key' || r.kind === 'module-aux' || r.kind === 'aux')
        .map((r) => (r.kind === 'key' ? norm({ ...r, encoding: '', value: canon(r.value) }) : norm(r)));
    expect(view(second)).toEqual(view(first));
  });
});

describe('chunking and early stop', () => {
  const names = [
    'valkey/encodings.rdb',
    'rdbtools/redis_50_with_streams.rdb',
    'rdbtools/zipmap_with_big_values.rdb',
    'rdbtools/redis_40_with_module.rdb',
    'rdbtools/non_ascii_values.rdb',
    'valkey/corrupt_empty_keys.rdb',
  ];
  it.each(names)('%s reads the same fed one byte at a time', async (name) => {
    const bytes = readFileSync(fixture(name));
    const whole = await collect(readRdb(bytes, { onWarning: () => {} }));
    const slow = await collect(readRdb(byteByByte(bytes), { onWarning: () => {} }));
    expect(slow).toEqual(whole);
  });

  it('finishes at the end marker even when the source stays open (live replication)', async () => {
    let pulledAfterEnd = false;
    async function* live() {
      yield readFileSync(fixture('valkey/hash-ziplist.rdb'));
      pulledAfterEnd = true;
      await new Promise(() => {}); // a socket that never closes
    }
    const records = await collect(readRdb(live()));
    expect(records.at(-1)).toMatchObject({ kind: 'end' });
    expect(pulledAfterEnd).toBe(false);
  });

  it('a consumer can stop early and the stream is closed', async () => {
    let closed = false;
    async function* source() {
      try {
        yield readFileSync(fixture('rdbtools/parser_filters.rdb'));
        yield new Uint8Array(1 << 20); // never needed
      } finally {
        closed = true;
      }
    }
    let n = 0;
    for await (const r of readRdb(source())) {
      if (r.kind === 'key' && ++n === 2) break;
    }
    expect(n).toBe(2);
    expect(closed).toBe(true);
  });
});
