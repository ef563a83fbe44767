import { describe, expect, it } from 'vitest';
import { ListpackBuilder } from '../src/rdb/containers.js';
import { crc64 } from '../src/rdb/crc64.js';
import { type RdbWarning, readRdb } from '../src/rdb/reader.js';
import { collect, keysOf } from './fixtures/rdb/helpers.js';

// Tiny byte builders for hand-made files (rdb-format.md §1.3-1.11).
const len = (n: number): number[] =>
  n < 64
    ? [n]
    : n < 16384
      ? [0x40 | (n >> 8), n & 0xff]
      : [0x80, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const str = (s: string | Buffer): number[] => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return [...len(b.length), ...b];
};
const i64 = (n: number | bigint): number[] => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return [...b];
};
function file(magic: string, body: number[], checksum = true): Buffer {
  const content = Buffer.from([...Buffer.from(magic), ...body, 0xff]);
  const crc = Buffer.alloc(8);
  if (checksum) crc.writeBigUInt64LE(crc64(content));
  return Buffer.concat([content, crc]);
}
const fields = (v: unknown) =>
  (v as { entries: Array<{ field: Buffer; value: Buffer; expiresAt?: number }> }).entries.map((e) => [
    e.field.toString(),
    e.value.toString(),
    e.expiresAt,
  ]);

describe('Redis RDB 12 (7.4+ hash field expiry)', () => {
  it('reads types 24/25, pre-GA 22/23 and the SLOT_INFO opcode', async () => {
    const lp = new ListpackBuilder();
    for (const x of ['a', '1']) lp.append(Buffer.from(x));
    lp.appendInt(0);
    for (const x of ['b', '2']) lp.append(Buffer.from(x));
    lp.appendInt(1700000000000);
    const lpPre = new ListpackBuilder()
      .append(Buffer.from('p'))
      .append(Buffer.from('q'))
      .appendInt(1800000000000);
    const bytes = file('REDIS0012', [
      0xfe,
      0,
      0xf4,
      ...len(5),
      ...len(4),
      ...len(1),
      24,
      ...str('h24'),
      ...i64(1000),
      ...len(2),
      ...len(0),
      ...str('f1'),
      ...str('v1'),
      ...len(501),
      ...str('f2'),
      ...str('v2'),
      25,
      ...str('h25'),
      ...i64(1700000000000),
      ...str(lp.finish()),
      22,
      ...str('h22'),
      ...len(1),
      ...len(1234),
      ...str('x'),
      ...str('y'),
      23,
      ...str('h23'),
      ...str(lpPre.finish()),
    ]);
    const records = await collect(readRdb(bytes));
    expect(records[0]).toEqual({ kind: 'header', magic: 'REDIS', version: 12, flavor: 'redis' });
    expect(records).toContainEqual({ kind: 'slot-info', slot: 5, slotSize: 4, expiresSlotSize: 1 });
    const keys = keysOf(records);
    expect(keys.get('h24')!.encoding).toBe('hash-metadata');
    expect(fields(keys.get('h24')!.value)).toEqual([
      ['f1', 'v1', undefined],
      ['f2', 'v2', 1500],
    ]);
    expect(keys.get('h25')!.encoding).toBe('listpack-ex');
    expect(fields(keys.get('h25')!.value)).toEqual([
      ['a', '1', undefined],
      ['b', '2', 1700000000000],
    ]);
    expect(fields(keys.get('h22')!.value)).toEqual([['x', 'y', 1234]]);
    expect(fields(keys.get('h23')!.value)).toEqual([['p', 'q', 1800000000000]]);
  });
});

describe('Valkey 9 (VALKEY080/081)', () => {
  it('reads HASH_2 byte-for-byte as in a real 9.0 file, SLOT_INFO, and skips SLOT_IMPORT with a warning', async () => {
    const warnings: RdbWarning[] = [];
    const hash2 = [
      22,
      ...str('hash2-hfe'),
      3,
      ...str('F1'),
      ...str('V1'),
      0x40,
      0x38,
      0x70,
      0x51,
      0x78,
      0x02,
      0x00,
      0x00,
      ...str('F2'),
      ...str('V2'),
      ...i64(0),
      ...str('F3'),
      ...str('V3'),
      ...i64(-1),
    ];
    const bytes = file('VALKEY080', [
      0xfa,
      ...str('valkey-ver'),
      ...str('9.0.1'),
      0xf3,
      ...str('x'.repeat(40)),
      ...len(2),
      ...len(0),
      ...len(100),
      ...len(200),
      ...len(300),
      0xfe,
      0,
      0xf4,
      ...len(7),
      ...len(1),
      ...len(0),
      ...hash2,
    ]);
    const records = await collect(readRdb(bytes, { onWarning: (w) => warnings.push(w) }));
    expect(records[0]).toEqual({ kind: 'header', magic: 'VALKEY', version: 80, flavor: 'valkey' });
    expect(warnings.map((w) => w.code)).toEqual(['slot-import-skipped']);
    const k = keysOf(records).get('hash2-hfe')!;
    expect(k.encoding).toBe('hashtable-ttl');
    expect(fields(k.value)).toEqual([
      ['F1', 'V1', 2715785640000],
      ['F2', 'V2', 0], // 0 is a real (past) time, not "no TTL"
      ['F3', 'V3', undefined],
    ]);
    expect((await collect(readRdb(file('VALKEY081', hash2)))).length).toBe(3);
  });

  it('refuses what it cannot know: Valkey 9.2 PATH_HASH, Valkey magic with a Redis version', async () => {
    await expect(collect(readRdb(file('VALKEY081', [23, ...str('k'), 0])))).rejects.toMatchObject({
      code: 'ERR_RDB_UNKNOWN_TYPE',
    });
    await expect(collect(readRdb(file('VALKEY011', [])))).rejects.toMatchObject({
      code: 'ERR_RDB_UNSUPPORTED_VERSION',
    });
    // a bad per-field expiry
    await expect(
      collect(readRdb(file('VALKEY080', [22, ...str('k'), 1, ...str('f'), ...str('v'), ...i64(-5)]))),
    ).rejects.toMatchObject({
      code: 'ERR_RDB_CORRUPT_VALUE',
      details: { key: 'k' },
    });
  });
});
