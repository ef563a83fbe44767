/**
 * The memory walk sizes strings and listpacks without making their elements; values a server does
 * not write but a file may hold (a short LZF string, integers at the edge of int64, a listpack set
 * whose members are strings that read as integers) get the estimate their elements give.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { estimateRecords } from '../src/memory/analyze.js';
import { analyzeRdbFile } from '../src/memory/sources.js';
import { RdbType } from '../src/rdb/constants.js';
import { walkRdbRecords } from '../src/rdb/direct.js';
import { lzfCompress } from '../src/rdb/lzf.js';
import { readRdbFile } from '../src/rdb/reader.js';
import { keyRecord, listpack, rdbFile, rdbLen, rdbStr } from './helpers/craft.js';

const dir = mkdtempSync(join(tmpdir(), 'vt-memory-crafted-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A string value LZF-compressed whatever its length. */
function lzfString(text: string): Buffer {
  const raw = Buffer.from(text);
  const packed = lzfCompress(raw)!;
  expect(packed).not.toBeNull();
  return Buffer.concat([Buffer.from([0xc3]), rdbLen(packed.length), rdbLen(raw.length), packed]);
}

describe('memory walk on crafted values', () => {
  it('gives every key the estimate of its elements', async () => {
    const file = join(dir, 'crafted.rdb');
    writeFileSync(
      file,
      rdbFile([
        keyRecord(RdbType.STRING, 'lzf:short', lzfString('a'.repeat(18))),
        keyRecord(RdbType.STRING, 'lzf:long', lzfString('b'.repeat(60))),
        keyRecord(RdbType.STRING, 'int:max', rdbStr('9223372036854775807')),
        keyRecord(RdbType.STRING, 'int:over', rdbStr('9223372036854775808')),
        keyRecord(RdbType.STRING, 'int:18', rdbStr('-12345678901234567')),
        keyRecord(RdbType.STRING, 'int:lead0', rdbStr('0123')),
        keyRecord(RdbType.STRING, 'int:minus0', rdbStr('-0')),
        keyRecord(RdbType.STRING, 'int:enc', Buffer.from([0xc2, 0x40, 0xe2, 0x01, 0x00])),
        keyRecord(RdbType.SET_LISTPACK, 'set:numeric-strings', rdbStr(listpack(['x123', '123', '456']))),
        keyRecord(RdbType.SET_LISTPACK, 'set:only-numbers', rdbStr(listpack(['123', '-45', '0']))),
        keyRecord(RdbType.HASH_LISTPACK, 'hash:lp', rdbStr(listpack(['f', '1234567', 'g', 'value']))),
      ]),
    );
    const want = new Map<string, unknown>();
    for await (const k of estimateRecords(readRdbFile(file))) {
      want.set(k.key.toString(), { encoding: k.encoding, bytes: k.bytes, largest: k.largestElement });
    }
    expect(want.size).toBe(11);
    expect(want.get('int:max')).toMatchObject({ encoding: 'int' });
    expect(want.get('int:over')).toMatchObject({ encoding: 'embstr' });
    expect(want.get('set:only-numbers')).toMatchObject({ encoding: 'intset' });
    // The walk takes the file (the report below is its work, not the reader's): every key but the
    // two 19-digit strings comes by its sizes.
    let offered = 0;
    const walked = await walkRdbRecords(file, () => {}, {
      lengthsOnly: true,
      packed: () => {
        offered++;
        return false;
      },
    });
    expect(walked).toBe(true);
    expect(offered).toBe(9);
    // ...and as records (measuring only), the short LZF string is itself, not what follows it
    const values = new Map<string, string>();
    await walkRdbRecords(
      file,
      (r) => {
        if (r.kind === 'key' && r.value.type === 'string')
          values.set(r.key.toString(), r.value.value.toString());
      },
      { lengthsOnly: true },
    );
    expect(values.get('lzf:short')).toBe('a'.repeat(18));
    expect(values.get('lzf:long')).toHaveLength(60);
    const report = await analyzeRdbFile(file, { top: 100 });
    const got = new Map(
      report.topKeys.map((r) => [r.key, { encoding: r.encoding, bytes: r.bytes, largest: r.largestElement }]),
    );
    expect(got).toEqual(want);
  });
});
