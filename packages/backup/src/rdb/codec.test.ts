import { describe, expect, it } from 'vitest';
import {
  ListpackBuilder,
  parseCanonicalInt64,
  parseIntset,
  parseListpack,
  parseZiplist,
  parseZipmap,
} from './containers.js';
import { Crc64, crc64, crc64Combine } from './crc64.js';
import { decodeModuleId } from './constants.js';
import { LzfMemo, LzfStreamDecoder, lzfCheck, lzfCompress, lzfDecompress, lzfDecompressInto } from './lzf.js';

const fail = (m: string): never => {
  throw new Error(m);
};

describe('crc64 (Jones)', () => {
  it('matches the reference check value', () => {
    expect(crc64(Buffer.from('123456789'))).toBe(0xe9c6d914c4b8d9can);
  });
  it('is the same in pieces as in one go', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog'.repeat(10));
    const c = new Crc64();
    for (let i = 0; i < data.length; i += 7) c.update(data, i, Math.min(i + 7, data.length));
    expect(c.digest()).toBe(crc64(data));
  });
  it('the byte path (8 bytes a step) and the word path (16 a step) equal a bit-by-bit reference at every alignment', () => {
    const reference = (data: Uint8Array): bigint => {
      let crc = 0n;
      for (const byte of data) {
        crc ^= BigInt(byte);
        for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ 0x95ac9329ac4bc9b5n : crc >> 1n;
      }
      return crc;
    };
    const data = Buffer.alloc(700);
    for (let i = 0; i < data.length; i++) data[i] = (i * 151 + 7) & 0xff;
    const cases: Array<[number, number]> = [
      [0, 0],
      [0, 1],
      [0, 8],
      [0, 9],
      [3, 17],
    ];
    // every alignment of the start, for lengths on both sides of the word path (256 bytes) and of
    // its 16-byte steps
    for (let from = 0; from < 8; from++)
      for (const n of [7, 15, 31, 32, 33, 135, 255, 256, 257, 259, 271, 272, 273, 287, 600, 700 - 8])
        cases.push([from, from + n]);
    for (const [from, to] of cases) {
      expect(crc64(data.subarray(from, to)), `${from}..${to}`).toBe(reference(data.subarray(from, to)));
      const c = new Crc64();
      c.update(data, from, from + 3);
      c.update(data, from + 3, to);
      if (to >= from + 3)
        expect(c.digest(), `${from}..${to} in two`).toBe(reference(data.subarray(from, to)));
    }
  });
  it('lzfCheck accepts exactly what lzfDecompress accepts', () => {
    const input = Buffer.from('abcabcabcabcabcabcabc hello hello hello hello'.repeat(20));
    const packed = lzfCompress(input)!;
    expect(lzfCheck(packed, input.length)).toBe(true);
    expect(lzfCheck(packed, input.length + 1)).toBe(false);
    expect(lzfCheck(packed.subarray(0, packed.length - 1), input.length)).toBe(false);
    for (let i = 0; i < packed.length; i++) {
      const bad = Buffer.from(packed);
      bad[i]! ^= 0x41;
      let ok = true;
      try {
        lzfDecompress(bad, input.length);
      } catch {
        ok = false;
      }
      expect(lzfCheck(bad, input.length), `byte ${i}`).toBe(ok);
    }
  });
  it('decompresses at an offset of the output, refusing references before it', () => {
    const input = Buffer.from('hello hello hello hello hello world'.repeat(4));
    const packed = lzfCompress(input)!;
    const out = Buffer.alloc(input.length + 10, 0x2a);
    lzfDecompressInto(packed, 0, packed.length, out, input.length, 10);
    expect(out.subarray(0, 10).equals(Buffer.alloc(10, 0x2a))).toBe(true);
    expect(out.subarray(10).equals(input)).toBe(true);
    // A back-reference reaching before the output's start is corrupt input, not earlier bytes.
    const early = Buffer.from([0, 0x61, 0x20, 1]); // literal "a", then copy 3 bytes from 2 back
    expect(() => lzfDecompressInto(early, 0, early.length, Buffer.alloc(20), 4, 5)).toThrow(
      /before the start/,
    );
  });
  it("LzfMemo keeps a value's strings once, found by where they are, within its cap", () => {
    const texts = ['first string first string first', 'second'.repeat(40), 'x'.repeat(3000)];
    const file = Buffer.concat(texts.map((t) => lzfCompress(Buffer.from(t))!));
    const at: number[] = [];
    let p = 0;
    const memo = new LzfMemo(3200);
    const starts: number[] = [];
    for (const t of texts) {
      const clen = lzfCompress(Buffer.from(t))!.length;
      at.push(p);
      starts.push(memo.add(file, p, clen, t.length));
      p += clen;
    }
    // The third would pass the cap: not kept (its reader decompresses it itself).
    expect(starts[2]).toBe(-1);
    expect(memo.count).toBe(2);
    for (let i = 0; i < 2; i++) {
      const idx = memo.find(at[i]!, 0);
      expect(idx).toBe(i);
      const s = memo.start(idx);
      expect(memo.out.toString('latin1', s, s + texts[i]!.length)).toBe(texts[i]);
    }
    expect(memo.find(at[2]!, 0)).toBe(-1);
    expect(memo.find(at[0]!, 1)).toBe(-1);
    // Corrupt data throws and keeps nothing more.
    expect(() => memo.add(Buffer.from([0x1f, 0x61]), 0, 2, 32)).toThrow();
    memo.reset();
    expect(memo.count).toBe(0);
    expect(memo.find(at[0]!, 0)).toBe(-1);
  });
  it('combines the CRC-64 of two parts into the CRC of the whole', () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919 + (i >> 3)) & 0xff));
    for (const cut of [0, 1, 7, 8, 9, 255, 256, 1000, 4096, 4999, 5000]) {
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      expect(crc64Combine(crc64(a), crc64(b), b.length), `cut at ${cut}`).toBe(crc64(data));
    }
  });
  it('matches a real DUMP payload trailer ("hello world" string)', () => {
    const body = Buffer.from('000b68656c6c6f20776f726c640b00', 'hex');
    expect(new Crc64().update(body).digestBytes().toString('hex')).toBe('6223f4ca5b5849bd');
  });
});

describe('lzf', () => {
  it('round-trips compressible and binary data', () => {
    const samples = [
      Buffer.from('a'.repeat(1000)),
      Buffer.from('abcabcabcabcabcabcabcabcabcabcabcabc hello hello hello hello'),
      Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)),
      Buffer.concat([Buffer.alloc(300, 1), Buffer.from('x'.repeat(9000)), Buffer.alloc(300, 2)]),
    ];
    for (const s of samples) {
      const c = lzfCompress(s, s.length + 100);
      expect(c).not.toBeNull();
      expect(lzfDecompress(c!, s.length).equals(s)).toBe(true);
    }
    expect(lzfCompress(Buffer.from('a'.repeat(1000)))!.length).toBeLessThan(40);
  });
  it('decodes incrementally: any input split, bounded output pieces, same bytes', () => {
    const block = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 2654435761) >>> 24));
    const data = Buffer.concat([block, Buffer.alloc(20000, 'q'), block, block, Buffer.from('tail')]);
    const c = lzfCompress(data, data.length)!;
    for (const [inPiece, outPiece] of [
      [1, 100],
      [7, 1000],
      [c.length, 1 << 20],
    ] as const) {
      const d = new LzfStreamDecoder(data.length, outPiece);
      const out: Buffer[] = [];
      for (let i = 0; i < c.length; i += inPiece) out.push(...d.push(c.subarray(i, i + inPiece)));
      out.push(...d.end());
      for (const piece of out) expect(piece.length).toBeLessThanOrEqual(outPiece + 264);
      expect(Buffer.concat(out).equals(data)).toBe(true);
    }
    const short = new LzfStreamDecoder(data.length + 1);
    for (const _ of short.push(c)) {
      // drain
    }
    expect(() => [...short.end()]).toThrow(/declared/);
  });

  it('returns null when the output would not fit', () => {
    const random = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 131 + 17) & 0xff));
    expect(lzfCompress(random, 60)).toBeNull();
  });
  it('rejects malformed streams instead of reading out of bounds', () => {
    expect(() => lzfDecompress(Buffer.from([0x20, 0x05]), 10)).toThrow(/before the start/);
    expect(() => lzfDecompress(Buffer.from([0x05, 0x61]), 6)).toThrow(/past the end/);
    expect(() => lzfDecompress(Buffer.from([0x00, 0x61]), 5)).toThrow(/declared 5/);
  });
});

describe('listpack', () => {
  it('encodes and decodes every integer width and string length class', () => {
    const b = new ListpackBuilder();
    const ints = [
      0n,
      127n,
      128n,
      -1n,
      4095n,
      -4096n,
      32767n,
      -32768n,
      8388607n,
      -8388608n,
      2147483647n,
      -2147483648n,
      9223372036854775807n,
      -9223372036854775808n,
    ];
    for (const i of ints) b.appendInt(i);
    const strings = [
      Buffer.alloc(0),
      Buffer.alloc(63, 'a'),
      Buffer.alloc(64, 'b'),
      Buffer.alloc(4095, 'c'),
      Buffer.alloc(4096, 'd'),
      Buffer.alloc(70000, 'e'),
    ];
    for (const s of strings) b.appendString(s);
    const back = parseListpack(b.finish(), fail);
    expect(back.slice(0, ints.length).map((v) => BigInt(v as number))).toEqual(ints);
    expect(back.slice(ints.length).map((v) => (v as Buffer).toString('hex'))).toEqual(
      strings.map((x) => x.toString('hex')),
    );
  });
  it('integer-encodes canonical decimals only', () => {
    expect(parseCanonicalInt64(Buffer.from('123'))).toBe(123n);
    expect(parseCanonicalInt64(Buffer.from('-9223372036854775808'))).toBe(-9223372036854775808n);
    for (const s of ['007', '+1', '-0', '', '1.0', '9223372036854775808', ' 1', '-'])
      expect(parseCanonicalInt64(Buffer.from(s))).toBeNull();
  });
  it('detects corruption', () => {
    const good = new ListpackBuilder().append(Buffer.from('hello')).append(Buffer.from('42')).finish();
    const wrongTotal = Buffer.from(good);
    wrongTotal.writeUInt32LE(good.length + 1, 0);
    expect(() => parseListpack(wrongTotal, fail)).toThrow(/header says/);
    const noEnd = Buffer.from(good);
    noEnd[noEnd.length - 1] = 0x01;
    expect(() => parseListpack(noEnd, fail)).toThrow();
    const badCount = Buffer.from(good);
    badCount.writeUInt16LE(3, 4);
    expect(() => parseListpack(badCount, fail)).toThrow(/counts 3/);
    const badBacklen = Buffer.from(good);
    badBacklen[6 + 6] = 9;
    expect(() => parseListpack(badBacklen, fail)).toThrow(/back-length/);
  });
});

describe('ziplist, intset, zipmap', () => {
  it('decodes the ziplist example from ziplist.c', () => {
    expect(parseZiplist(Buffer.from('0f0000000c0000000200' + '00f3' + '02f6' + 'ff', 'hex'), fail)).toEqual([
      2, 5,
    ]);
  });
  it('rejects a ziplist with a wrong tail offset', () => {
    expect(() =>
      parseZiplist(Buffer.from('0f0000000a0000000200' + '00f3' + '02f6' + 'ff', 'hex'), fail),
    ).toThrow(/tail/);
  });
  it('decodes intsets and rejects unsorted ones', () => {
    const set = Buffer.from('0200000003000000' + '0100' + '0200' + '0300', 'hex');
    expect(parseIntset(set, fail).map(String)).toEqual(['1', '2', '3']);
    const unsorted = Buffer.from('0200000002000000' + '0200' + '0100', 'hex');
    expect(() => parseIntset(unsorted, fail)).toThrow(/ascending/);
    expect(() => parseIntset(Buffer.from('0300000000000000', 'hex'), fail)).toThrow(/width/);
  });
  it('decodes the zipmap example from zipmap.c', () => {
    const zm = Buffer.from('\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff', 'latin1');
    expect(parseZipmap(zm, fail).map(([f, v]) => [f.toString(), v.toString()])).toEqual([
      ['foo', 'bar'],
      ['hello', 'world'],
    ]);
    expect(() => parseZipmap(Buffer.from('\x05\x03foo\x03\x00bar\xff', 'latin1'), fail)).toThrow(/counts 5/);
  });
});

describe('module ids', () => {
  it('decodes the 9-character name and encoding version', () => {
    // "ReJSON-RL" with encoding version 3 (charset A-Z a-z 0-9 - _, 6 bits each, then 10 bits)
    const charset = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let id = 0n;
    for (const ch of 'ReJSON-RL') id = (id << 6n) | BigInt(charset.indexOf(ch));
    id = (id << 10n) | 3n;
    expect(decodeModuleId(id)).toEqual({ name: 'ReJSON-RL', encodingVersion: 3 });
  });
});
