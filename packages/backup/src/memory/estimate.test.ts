import { describe, expect, it } from 'vitest';
import type { KeyRecord, StreamEntry, Value } from '../model.js';
import { estimateKeyMemory, KeyMemoryEstimator } from './estimate.js';
import { jemallocSize } from './jemalloc.js';
import { raxNodeCount, sortedIdKeys } from './rax.js';
import { listpackEntrySize, scoreToBytes, strictInt64 } from './sizes.js';

const b = (s: string) => Buffer.from(s);
const rec = (key: string, value: Value, extra: Partial<KeyRecord> = {}): KeyRecord => ({
  kind: 'key',
  db: 0,
  key: b(key),
  encoding: 'x',
  value,
  ...extra,
});

describe('jemalloc size classes', () => {
  it('rounds requests up to the class a zmalloc_size reports', () => {
    const cases: Array<[number, number]> = [
      [1, 8],
      [8, 8],
      [9, 16],
      [17, 32],
      [33, 48],
      [128, 128],
      [129, 160],
      [257, 320],
      [3207, 3584],
      [4097, 5120],
      [8179, 8192],
      [10000, 10240],
      [14337, 16384],
      [300_021, 327_680],
    ];
    for (const [req, size] of cases) expect([req, jemallocSize(req)]).toEqual([req, size]);
  });
});

describe('listpack entries and integers', () => {
  it('sizes integer and string entries as listpack.c encodes them', () => {
    expect(listpackEntrySize(b('127'))).toBe(2);
    expect(listpackEntrySize(b('128'))).toBe(3);
    expect(listpackEntrySize(b('-4096'))).toBe(3);
    expect(listpackEntrySize(b('4096'))).toBe(4);
    expect(listpackEntrySize(b('-9223372036854775808'))).toBe(10);
    expect(listpackEntrySize(b('007'))).toBe(5);
    expect(listpackEntrySize(b('x'.repeat(63)))).toBe(65);
    expect(listpackEntrySize(b('x'.repeat(64)))).toBe(67);
    expect(listpackEntrySize(b('x'.repeat(126)))).toBe(130);
    expect(listpackEntrySize(b('x'.repeat(4096)))).toBe(4103);
  });

  it('accepts only canonical 64-bit integers', () => {
    expect(strictInt64(b('0'))).toBe(0n);
    expect(strictInt64(b('-9223372036854775808'))).toBe(-9223372036854775808n);
    expect(strictInt64(b('9223372036854775807'))).toBe(9223372036854775807n);
    for (const bad of ['', '-', '-0', '+1', '01', ' 1', '1 ', '9223372036854775808', '1.0', '1e3']) {
      expect(strictInt64(b(bad))).toBeNull();
    }
  });
});

describe('sorted-set scores as a listpack stores them', () => {
  it('prints shortest digits (Valkey) or %.17g (Redis 7.0 and older)', () => {
    const text = (x: number, f?: 'legacy') => scoreToBytes(x, f).toString();
    // valkey-server 8.0.1's replies to ZADD/ZRANGE WITHSCORES for these scores.
    const valkey: Array<[number, string]> = [
      [0.1, '0.1'],
      [0.001234, '0.001234'],
      [0.0001234, '1.234e-4'],
      [0.000001234, '1.234e-6'],
      [-0.00001, '-0.00001'],
      [1e17, '100000000000000000'],
      [Number('123456789012345678'), '123456789012345680'],
      [Number('12345678901234567890'), '12345678901234567000'],
      [1e21, '1e+21'],
      [1.5e300, '1.5e+300'],
      [5e-324, '5e-324'],
      [-0, '-0'],
      [3, '3'],
      [Number.NEGATIVE_INFINITY, '-inf'],
    ];
    expect(valkey.map(([x]) => [x, text(x)])).toEqual(valkey);
    expect([0.1, 0.5, 1e-5, 1e20, 123.456, 2 ** 51 + 0.5].map((x) => text(x, 'legacy'))).toEqual([
      '0.10000000000000001',
      '0.5',
      '1.0000000000000001e-05',
      '1e+20',
      '123.456',
      '2251799813685248.5',
    ]);
  });
});

describe('rax node count', () => {
  it('counts compressed runs, branches and leaves', () => {
    const ids = (seqs: number[]) => sortedIdKeys(seqs.map((seq) => ({ ms: 1n, seq: BigInt(seq) })));
    expect(raxNodeCount([])).toBe(1);
    expect(raxNodeCount(ids([1]))).toBe(2);
    expect(raxNodeCount(ids([1, 2]))).toBe(4);
    expect(raxNodeCount(ids([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))).toBe(12);
    // XINFO STREAM reports radix-tree-nodes 16 for a stream whose nodes start at 1-1, 1-101, ... 1-901.
    expect(raxNodeCount(ids([1, 101, 201, 301, 401, 501, 601, 701, 801, 901]))).toBe(16);
  });
});

describe('estimateKeyMemory', () => {
  // Expected values are MEMORY USAGE replies of valkey-server 8.0.1 for the same keys.
  it('matches MEMORY USAGE for strings of every encoding', () => {
    expect(estimateKeyMemory(rec('k', { type: 'string', value: b('1') }))).toMatchObject({
      bytes: 48,
      encoding: 'int',
    });
    expect(estimateKeyMemory(rec('s', { type: 'string', value: b('v'.repeat(44)) }))).toMatchObject({
      bytes: 96,
      encoding: 'embstr',
    });
    expect(estimateKeyMemory(rec('s', { type: 'string', value: b('v'.repeat(45)) }))).toMatchObject({
      bytes: 112,
      encoding: 'raw',
    });
    expect(estimateKeyMemory(rec('s', { type: 'string', value: b('v'.repeat(5000)) }))).toMatchObject({
      bytes: 5168,
      encoding: 'raw',
    });
    expect(estimateKeyMemory(rec('k'.repeat(300), { type: 'string', value: b('1') })).bytes).toBe(400);
  });

  it('takes the key header width from how the key got into the server', () => {
    const r = rec('str:embstr:0', { type: 'string', value: b('abc') });
    expect(estimateKeyMemory(r).bytes).toBe(64);
    expect(estimateKeyMemory(r, { state: 'written' }).bytes).toBe(80);
  });

  it('models quicklist nodes and plain nodes for big elements', () => {
    const items = Array.from({ length: 1000 }, (_, i) => b(`item${String(i).padStart(6, '0')}`));
    expect(estimateKeyMemory(rec('l', { type: 'list', items }))).toMatchObject({
      bytes: 12456,
      encoding: 'quicklist',
      elements: 1000,
    });
    const big = [b('x'.repeat(10000)), b('x'), b('y')];
    expect(estimateKeyMemory(rec('big', { type: 'list', items: big }))).toMatchObject({
      bytes: 10424,
      encoding: 'quicklist',
      largestElement: 10000,
    });
    expect(estimateKeyMemory(rec('l', { type: 'list', items: items.slice(0, 10) }))).toMatchObject({
      bytes: 176,
      encoding: 'listpack',
    });
  });

  it('picks set, hash and zset encodings at the valkey 8.0 thresholds', () => {
    const ints = (n: number) => Array.from({ length: n }, (_, i) => b(String(i)));
    const enc = (value: Value, config = {}) => estimateKeyMemory(rec('x', value), { config }).encoding;
    expect(enc({ type: 'set', members: ints(512) })).toBe('intset');
    expect(enc({ type: 'set', members: ints(513) })).toBe('hashtable');
    expect(enc({ type: 'set', members: [...ints(3), b('a')] })).toBe('listpack');
    expect(enc({ type: 'set', members: [b('a'.repeat(65))] })).toBe('hashtable');
    const fields = (n: number, len = 3) =>
      Array.from({ length: n }, (_, i) => ({ field: b(`f${i}`), value: b('v'.repeat(len)) }));
    expect(enc({ type: 'hash', entries: fields(512) })).toBe('listpack');
    expect(enc({ type: 'hash', entries: fields(513) })).toBe('hashtable');
    expect(enc({ type: 'hash', entries: fields(2, 65) })).toBe('hashtable');
    expect(enc({ type: 'hash', entries: fields(200) }, { hashMaxListpackEntries: 128 })).toBe('hashtable');
    const scores = (n: number) => Array.from({ length: n }, (_, i) => ({ member: b(`m${i}`), score: i / 3 }));
    expect(enc({ type: 'zset', entries: scores(128) })).toBe('listpack');
    expect(enc({ type: 'zset', entries: scores(129) })).toBe('skiplist');
  });

  it('sizes hashtable hashes exactly (MEMORY USAGE of 1000 fields f00000/v00000)', () => {
    const entries = Array.from({ length: 1000 }, (_, i) => ({
      field: b(`f${String(i).padStart(5, '0')}`),
      value: b(`v${String(i).padStart(5, '0')}`),
    }));
    expect(estimateKeyMemory(rec('ht', { type: 'hash', entries })).bytes).toBe(48296);
  });

  it('counts stream nodes, groups, consumers and pending entries', () => {
    const entries: StreamEntry[] = [];
    for (let i = 1; i <= 1000; i++)
      entries.push({
        id: { ms: 1n, seq: BigInt(i) },
        fields: [[b(i === 1 ? 'a' : 'f'), b(i === 1 ? '1' : `v${i}`)]],
      });
    const stream = (groups: Extract<Value, { type: 'stream' }>['groups']): Value => ({
      type: 'stream',
      entries,
      length: 1000n,
      lastId: { ms: 1n, seq: 1000n },
      groups,
    });
    const plain = estimateKeyMemory(rec('s', stream([])));
    expect(plain).toMatchObject({ encoding: 'stream', elements: 1000 });
    const pending = Array.from({ length: 10 }, (_, i) => ({
      id: { ms: 1n, seq: BigInt(i + 1) },
      deliveryTime: 0,
      deliveryCount: 1,
      consumer: b('c1'),
    }));
    const withGroup = estimateKeyMemory(
      rec(
        's',
        stream([
          {
            name: b('g1'),
            lastId: { ms: 1n, seq: 10n },
            pending,
            consumers: [{ name: b('c1'), seenTime: 0, pending: pending.map((p) => p.id) }],
          },
        ]),
      ),
    );
    // Measured on valkey 8.0.1: a group with 10 pending entries owned by one consumer adds 6490 bytes.
    expect(withGroup.bytes - plain.bytes).toBe(6490);
  });

  it('gives the same estimate when the elements come in batches', () => {
    const values: Value[] = [
      { type: 'string', value: b('12345') },
      { type: 'list', items: Array.from({ length: 3000 }, (_, i) => b(`item-${i}`)) },
      { type: 'set', members: Array.from({ length: 700 }, (_, i) => b(String(i * 1000))) },
      {
        type: 'zset',
        entries: Array.from({ length: 300 }, (_, i) => ({ member: b(`m${i}`), score: i * 1.5 })),
      },
      {
        type: 'hash',
        entries: Array.from({ length: 600 }, (_, i) => ({ field: b(`f${i}`), value: b(`v${i}`) })),
      },
    ];
    const split = (v: Value): Value[] => {
      switch (v.type) {
        case 'string':
          return [
            { type: 'string', value: v.value.subarray(0, 2) },
            { type: 'string', value: v.value.subarray(2) },
          ];
        case 'list':
          return [0, 1000, 2000].map((s) => ({ type: 'list', items: v.items.slice(s, s + 1000) }));
        case 'set':
          return [0, 350].map((s) => ({ type: 'set', members: v.members.slice(s, s + 350) }));
        case 'zset':
          return [0, 100, 200].map((s) => ({ type: 'zset', entries: v.entries.slice(s, s + 100) }));
        case 'hash':
          return [0, 300].map((s) => ({ type: 'hash', entries: v.entries.slice(s, s + 300) }));
        default:
          return [v];
      }
    };
    for (const v of values) {
      const whole = estimateKeyMemory(rec('k', v));
      const est = new KeyMemoryEstimator(v.type);
      for (const part of split(v)) est.add(part);
      expect(est.finish({ db: 0, key: b('k') })).toEqual(whole);
    }
    expect(() => new KeyMemoryEstimator('list').add({ type: 'set', members: [] })).toThrow(/set batch/);
  });

  it('charges the expires entry separately', () => {
    const k = estimateKeyMemory(
      rec('k', { type: 'string', value: b('v') }, { expiresAt: 1_700_000_000_000 }),
    );
    expect(k).toMatchObject({ expiryBytes: 24, expiresAt: 1_700_000_000_000 });
  });
});
