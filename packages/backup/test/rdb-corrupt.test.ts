import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RdbRecord, Value } from '../src/model.js';
import { RdbError } from '../src/errors.js';
import { readRdb } from '../src/rdb/reader.js';
import { writeRdb } from '../src/rdb/writer.js';
import { byteByByte, collect, fixture } from './fixtures/rdb/helpers.js';

async function failure(
  input: Parameters<typeof readRdb>[0],
  options: Parameters<typeof readRdb>[1] = {},
): Promise<RdbError> {
  try {
    await collect(readRdb(input, { onWarning: () => {}, ...options }));
  } catch (err) {
    if (!RdbError.isInstance(err)) throw err;
    return err;
  }
  throw new Error('expected the read to fail');
}

const k = (key: string, value: Value): RdbRecord => ({
  kind: 'key',
  db: 0,
  key: Buffer.from(key),
  encoding: '',
  value,
});

/** A small REDIS0011 file with one key of each compact kind, written by our writer. */
async function sample(checksum = true): Promise<Buffer> {
  const records: RdbRecord[] = [
    k('s', { type: 'string', value: Buffer.from('hello world, hello world, hello world') }),
    k('l', { type: 'list', items: ['a', 'b', '12'].map((x) => Buffer.from(x)) }),
    k('set', { type: 'set', members: ['x', 'y'].map((x) => Buffer.from(x)) }),
    k('iset', { type: 'set', members: ['1', '70000'].map((x) => Buffer.from(x)) }),
    k('z', { type: 'zset', entries: [{ member: Buffer.from('m'), score: 1.5 }] }),
    k('h', { type: 'hash', entries: [{ field: Buffer.from('f'), value: Buffer.from('v') }] }),
    k('x', {
      type: 'stream',
      entries: [{ id: { ms: 1n, seq: 1n }, fields: [[Buffer.from('a'), Buffer.from('1')]] }],
      length: 1n,
      lastId: { ms: 1n, seq: 1n },
      groups: [],
    }),
  ];
  return Buffer.concat(await collect(writeRdb(records, { checksum })));
}

describe('corrupt input fails with a typed error, offset and key', () => {
  it('every truncation of a file is ERR_RDB_TRUNCATED / ERR_RDB_BAD_LENGTH, also fed byte by byte', async () => {
    for (const bytes of [readFileSync(fixture('valkey/encodings.rdb')), await sample()]) {
      for (let n = 0; n < bytes.length; n++) {
        const err = await failure(bytes.subarray(0, n));
        if (n < 9) expect(err.code).toBe('ERR_RDB_BAD_MAGIC');
        else expect(['ERR_RDB_TRUNCATED', 'ERR_RDB_BAD_LENGTH']).toContain(err.code);
        expect(err.details.offset).toBeLessThanOrEqual(n);
      }
      for (const n of [9, 40, Math.floor(bytes.length / 2), bytes.length - 1]) {
        expect((await failure(byteByByte(bytes.subarray(0, n)))).code).toBe('ERR_RDB_TRUNCATED');
      }
    }
  });

  it('every single-byte change is caught (by structure or by the CRC), never a crash', async () => {
    const bytes = await sample();
    for (let i = 9; i < bytes.length - 8; i++) {
      for (const mask of [0xff, 0x01, 0x80]) {
        const bad = Buffer.from(bytes);
        bad[i]! ^= mask;
        const err = await failure(bad);
        expect(err.code).toMatch(/^ERR_RDB_/);
      }
    }
  });

  it('with checksums off, random damage still only ever raises RdbError', async () => {
    const bytes = await sample(false);
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let round = 0; round < 3000; round++) {
      const bad = Buffer.from(bytes);
      for (let j = 0; j < 3; j++) bad[9 + (rnd() % (bad.length - 9))] = rnd() & 0xff;
      try {
        await collect(readRdb(bad, { checksum: false, onWarning: () => {} }));
      } catch (err) {
        if (!RdbError.isInstance(err)) throw err;
      }
    }
  });

  it('a checksum mismatch names both values and the trailer offset', async () => {
    const bytes = await sample();
    const bad = Buffer.from(bytes);
    const h = bad.indexOf(Buffer.from('hello'));
    expect(h).toBeGreaterThan(0);
    bad[h] = 'j'.charCodeAt(0);
    const err = await failure(bad);
    expect(err.code).toBe('ERR_RDB_CHECKSUM');
    expect(err.details.offset).toBe(bytes.length - 8);
    expect(err.message).toMatch(/CRC-64 mismatch/);
    // readable anyway when asked
    const records = await collect(readRdb(bad, { checksum: false }));
    expect(records.filter((r) => r.kind === 'key')).toHaveLength(7);
  });

  it('a stored CRC of 0 means checksums were disabled', async () => {
    const records = await collect(readRdb(await sample(false)));
    expect(records.at(-1)).toEqual({ kind: 'end', checksum: null });
  });

  it('wrong magic, unknown and future versions', async () => {
    expect((await failure(Buffer.from('*2\r\n$6\r\nSELECT\r\n'))).hint).toMatch(/RESP/);
    expect((await failure(Buffer.from('HELLO0011\xff', 'latin1'))).code).toBe('ERR_RDB_BAD_MAGIC');
    const v13 = Buffer.from('REDIS0013\xff\0\0\0\0\0\0\0\0', 'latin1');
    const err = await failure(v13);
    expect(err.code).toBe('ERR_RDB_UNSUPPORTED_VERSION');
    expect(err.message).toMatch(/version 13/);
    expect(await collect(readRdb(v13, { allowUnknownVersion: true }))).toHaveLength(2);
    expect((await failure(Buffer.from('VALKEY099\xff', 'latin1'))).message).toMatch(/version 99/);
  });

  it('unknown types and opcodes', async () => {
    const t = await failure(Buffer.from('REDIS0011\x1e\x01k\x00', 'latin1'));
    expect(t.code).toBe('ERR_RDB_UNKNOWN_TYPE');
    expect(t.details.offset).toBe(9);
    // type 24 is Redis 7.4 hash-field-expiry: unknown in an RDB 11 file
    expect((await failure(Buffer.from('REDIS0011\x18\x01k\x00', 'latin1'))).code).toBe(
      'ERR_RDB_UNKNOWN_TYPE',
    );
    expect((await failure(Buffer.from('REDIS0011\xf2', 'latin1'))).code).toBe('ERR_RDB_UNKNOWN_OPCODE');
    // Valkey's 243 (slot import) means something else in a Redis RDB 12 file
    expect((await failure(Buffer.from('REDIS0012\xf3', 'latin1'))).code).toBe('ERR_RDB_UNKNOWN_OPCODE');
  });

  it('a huge corrupt length never allocates: fails on what remains / at end of stream', async () => {
    // string value with a 64-bit length of 2^40
    const head = Buffer.from('REDIS0011\x00\x01k\x81\x00\x00\x01\x00\x00\x00\x00\x00abc', 'latin1');
    const known = await failure(head);
    expect(known.code).toBe('ERR_RDB_BAD_LENGTH');
    expect(known.details.key).toBe('k');
    expect(known.details.offset).toBe(12);
    const streamed = await failure(byteByByte(head));
    expect(streamed.code).toBe('ERR_RDB_BAD_LENGTH'); // above the 1 GiB sanity cap
    const capped = await failure(
      byteByByte(Buffer.from('REDIS0011\x00\x01k\x80\x00\x10\x00\x00abc', 'latin1')),
    );
    expect(capped.code).toBe('ERR_RDB_TRUNCATED');
    // a set claiming 2^32-1 members in a 20-byte file
    const count = await failure(Buffer.from('REDIS0011\x02\x01k\x80\xff\xff\xff\xff\x01a', 'latin1'));
    expect(count.code).toBe('ERR_RDB_BAD_LENGTH');
    // an LZF header claiming a 1 GB result from 3 bytes
    const lzf = await failure(Buffer.from('REDIS0011\x00\x01k\xc3\x03\x80\x3f\xff\xff\xff\x00ab', 'latin1'));
    expect(['ERR_RDB_CORRUPT_LZF', 'ERR_RDB_BAD_LENGTH']).toContain(lzf.code);
  });

  it('container integrity failures carry the container kind and the key', async () => {
    const bytes = await sample(false);
    // The set listpack for key "set": flip its end byte (0xff) to 0x00.
    const keyAt = bytes.indexOf(Buffer.from('\x14\x03set', 'latin1'));
    expect(keyAt).toBeGreaterThan(0);
    const blobLen = bytes[keyAt + 5]!;
    const bad = Buffer.from(bytes);
    bad[keyAt + 5 + blobLen] = 0x00;
    const err = await failure(bad);
    expect(err.code).toBe('ERR_RDB_CORRUPT_LISTPACK');
    expect(err.details.key).toBe('set');
    expect(err.message).toMatch(/set listpack integrity check failed/);
    // intset for "iset": make it unsorted by swapping the two values' order
    const iAt = bytes.indexOf(Buffer.from('\x0b\x04iset', 'latin1'));
    const ibad = Buffer.from(bytes);
    const blob = iAt + 7;
    const a = ibad.readInt32LE(blob + 8);
    ibad.writeInt32LE(ibad.readInt32LE(blob + 12), blob + 8);
    ibad.writeInt32LE(a, blob + 12);
    expect((await failure(ibad)).code).toBe('ERR_RDB_CORRUPT_INTSET');
  });

  it('a file without EOF marker is truncated, not a hang', async () => {
    const err = await failure(Buffer.from('REDIS0011\xfe\x00', 'latin1'));
    expect(err.code).toBe('ERR_RDB_TRUNCATED');
    expect(err.message).toMatch(/no EOF marker/);
  });
});
