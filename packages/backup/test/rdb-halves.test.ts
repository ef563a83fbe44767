/**
 * The pieces a big file's conversion in two halves stands on (`rdb/halves.ts`), from source (the
 * worker itself runs in the CLI tests): a walk that stops at a record boundary, a walk resumed
 * there, and their CRCs combined into the file's checksum; a stop offset that is no record start
 * is passed and the walk goes on alone.
 */
import { describe, expect, it } from 'vitest';
import type { RdbRecord } from '../src/model.js';
import { crc64Combine } from '../src/rdb/crc64.js';
import { walkRdb, type KeySpan } from '../src/rdb/walk.js';
import { parseRdbHeader } from '../src/rdb/header.js';
import { wholeChecksum } from '../src/rdb/halves.js';
import { writeRdb } from '../src/rdb/writer.js';

async function file(): Promise<Buffer> {
  const records: RdbRecord[] = [{ kind: 'header', magic: 'REDIS', version: 11, flavor: 'valkey' }];
  for (let db = 0; db < 3; db++)
    for (let i = 0; i < 300; i++)
      records.push({
        kind: 'key',
        db,
        key: Buffer.from(`k${db}:${i}`),
        encoding: '',
        value:
          i % 3 === 0
            ? {
                type: 'hash',
                entries: [{ field: Buffer.from('f'), value: Buffer.from(`v${i}`.repeat(i % 7)) }],
              }
            : { type: 'string', value: Buffer.from(`value ${i} `.repeat(1 + (i % 40))) },
        ...(i % 4 === 0 ? { expiresAt: 4_102_444_800_000 + i } : {}),
      });
  records.push({ kind: 'end', checksum: null });
  const chunks: Buffer[] = [];
  for await (const c of writeRdb(records)) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('a file walked in two halves', () => {
  it('stops at a record boundary, resumes there, and the two CRCs make the stored checksum', async () => {
    const bytes = await file();
    const header = parseRdbHeader(bytes.toString('latin1', 0, 9))!;
    // Record ends (where the next record starts), with their db, from a whole walk.
    const ends: Array<{ at: number; db: number }> = [];
    const whole = await walkRdb(bytes, bytes.length, {
      onKey: (span: KeySpan) => {
        ends.push({ at: span.base + span.valueEnd, db: span.db });
      },
    });
    expect(whole?.checksum).toBe('ok');
    for (const pick of [1, 299, 300, 450, 899]) {
      const { at, db } = ends[pick - 1]!;
      const first = await walkRdb(bytes, bytes.length, { stopAt: () => at, onKey: () => {} });
      expect(first?.stopped, `stop after key ${pick}`).toBe(true);
      expect(first?.keys).toBe(pick);
      const dbs: number[] = [];
      const second = await walkRdb(bytes.subarray(at), bytes.length, {
        resume: { offset: at, header, db },
        onKey: (span) => {
          dbs.push(span.db);
        },
      });
      // Every key in the db the whole walk saw it in (the db carried over until the file selects another).
      expect(dbs).toEqual(ends.slice(pick).map((e) => e.db));
      expect(second?.keys).toBe(900 - pick);
      expect(second?.bytes).toBe(bytes.length);
      const crc = crc64Combine(first!.partialCrc!, second!.partialCrc!, bytes.length - 8 - at);
      expect(wholeChecksum({ ...second!, partialCrc: crc }, true)).toBe('ok');
      // A wrong CRC is caught.
      expect(wholeChecksum({ ...second!, partialCrc: crc ^ 1n }, true)).toBeNull();
    }
  });

  it('a stop offset that is no record start is passed: onMissed, and the walk goes on to the end', async () => {
    const bytes = await file();
    let missed = 0;
    const r = await walkRdb(bytes, bytes.length, {
      stopAt: () => Math.floor(bytes.length / 2) + 1,
      onMissed: () => {
        missed++;
      },
      onKey: () => {},
    });
    expect(missed).toBeGreaterThan(0);
    expect(r?.stopped).toBeUndefined();
    expect(r?.keys).toBe(900);
    expect(wholeChecksum(r!, true)).toBe('ok');
  });
});
