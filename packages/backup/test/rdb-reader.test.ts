import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeyRecord, RdbRecord, Value } from '../src/model.js';
import { type RdbChunkRecord, readRdb, readRdbFile, valueSize } from '../src/rdb/reader.js';
import { writeRdbFile } from '../src/rdb/writer.js';
import { appendValueElements, emptyValue } from '../src/rdb/value-parts.js';
import { collect, fixture, plain } from './fixtures/rdb/helpers.js';

// The record reader is the exact mode of the one window walk: these are the behaviours a
// consumer of `readRdb` sees that the walk's own tests do not (input handling, parts, closing).

const work = mkdtempSync(join(tmpdir(), 'vt-rdb-reader-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const openFds = (): number => readdirSync('/proc/self/fd').length;

const items = (n: number, tag: string): Buffer[] =>
  Array.from({ length: n }, (_, i) => Buffer.from(`${tag}${i}`));

/** A file with one huge list, set, hash and stream and a 3 MiB string (written by our writer, as the server lays them out). */
async function hugeFile(): Promise<string> {
  const path = join(work, 'huge.rdb');
  const key = (k: string, value: Value): KeyRecord => ({
    kind: 'key',
    db: 0,
    key: Buffer.from(k),
    encoding: '',
    value,
  });
  const records: RdbRecord[] = [
    { kind: 'header', magic: 'REDIS', version: 11, flavor: 'redis' },
    { kind: 'select-db', db: 0 },
    key('list', { type: 'list', items: items(30_000, 'item-') }),
    key('set', { type: 'set', members: items(12_000, 'm-') }),
    key('hash', {
      type: 'hash',
      entries: items(12_000, 'f-').map((field, i) => ({ field, value: Buffer.from(`v${i}`) })),
    }),
    key('stream', {
      type: 'stream',
      entries: Array.from({ length: 11_000 }, (_, i) => ({
        id: { ms: BigInt(i + 1), seq: 0n },
        fields: [[Buffer.from('f'), Buffer.from(String(i))]] as Array<[Buffer, Buffer]>,
      })),
      length: 11_000n,
      lastId: { ms: 11_000n, seq: 0n },
      groups: [],
    }),
    key('big-string', { type: 'string', value: Buffer.alloc(3 << 20, 'xy') }),
    { kind: 'end', checksum: null },
  ];
  await writeRdbFile(path, records);
  return path;
}

/** Re-assembles chunked records into whole key records (what a consumer of parts rebuilds). */
function assemble(records: Array<RdbRecord | RdbChunkRecord>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  let open: { key: string; value: Value | null } | null = null;
  for (const r of records) {
    if (r.kind === 'key') out.set(r.key.toString(), plain(r.value));
    else if (r.kind === 'key-begin') open = { key: r.key.toString(), value: emptyValue(r.type) ?? null };
    else if (r.kind === 'key-part' && open) {
      expect(appendValueElements(open.value!, r.value)).toBe(true);
    } else if (r.kind === 'key-end' && open) {
      // A stream's metadata and groups come with its last record.
      if (r.stream && open.value?.type === 'stream') Object.assign(open.value, r.stream);
      out.set(open.key, plain(open.value!));
      open = null;
    }
  }
  return out;
}

describe('readRdb over the one decoding core', () => {
  it('delivers huge keys in parts that add up to the whole key, cut at the stored node ends', async () => {
    const path = await hugeFile();
    const whole = await collect(readRdbFile(path));
    const parts = await collect(
      readRdbFile(path, { chunked: { elements: 5_000, bytes: 1 << 20, pieceBytes: 256 << 10 } }),
    );
    const begins = parts.filter((r) => r.kind === 'key-begin').map((r) => r.key.toString());
    expect(begins.sort()).toEqual(['big-string', 'hash', 'list', 'set', 'stream']);
    expect(assemble(parts)).toEqual(assemble(whole));
    // Announced counts are exact where the encoding states them, and no part is over-long
    // except at a node end (quicklist nodes, stream nodes).
    const begin = (k: string) => parts.find((r) => r.kind === 'key-begin' && r.key.toString() === k);
    expect(begin('set')).toMatchObject({ elements: 12_000, type: 'set' });
    expect(begin('big-string')).toMatchObject({ elements: 3 << 20, type: 'string' });
    const pieces = parts.filter(
      (r): r is Extract<RdbChunkRecord, { kind: 'key-part' }> =>
        r.kind === 'key-part' && r.key.toString() === 'big-string',
    );
    expect(pieces.map((p) => (p.value as { value: Buffer }).value.length)).toEqual(Array(12).fill(256 << 10));
    const sizes = (k: string) =>
      parts.flatMap((r) => (r.kind === 'key-part' && r.key.toString() === k ? [valueSize(r.value)] : []));
    // A hashtable set is cut every 5000 members; a quicklist after the node that completes 5000 items.
    expect(sizes('set')).toEqual([5_000, 5_000, 2_000]);
    const list = sizes('list');
    expect(list.slice(0, -1).every((n) => n >= 5_000 && n < 6_000)).toBe(true); // nodes hold ~900 items
    expect(list.reduce((a, b) => a + b, 0)).toBe(30_000);
    const end = parts.find((r) => r.kind === 'key-end' && r.key.toString() === 'list');
    expect(end).toMatchObject({ size: 30_000 });
  });

  it('holds one part of a huge collection at a time, not the whole key decoded', async () => {
    // 1.5M list items as Buffers take ~140 MB of heap (the whole key decoded); parts of 10,000
    // take ~15 MB. The file is written from parts too, so no big array is left to collect.
    const path = join(work, 'long-list.rdb');
    const key = Buffer.from('long');
    function* records(): Generator<RdbRecord | RdbChunkRecord> {
      yield { kind: 'header', magic: 'REDIS', version: 11, flavor: 'redis' };
      yield { kind: 'select-db', db: 0 };
      yield { kind: 'key-begin', db: 0, key, encoding: '', type: 'list', elements: 1_500_000 };
      for (let p = 0; p < 150; p++)
        yield { kind: 'key-part', db: 0, key, value: { type: 'list', items: items(10_000, `${p}:`) } };
      yield { kind: 'key-end', db: 0, key, size: 1_500_000 };
      yield { kind: 'end', checksum: null };
    }
    await writeRdbFile(path, records());
    const before = process.memoryUsage().heapUsed;
    let peak = 0;
    let delivered = 0;
    for await (const r of readRdbFile(path, { chunked: { elements: 10_000 } })) {
      if (r.kind === 'key-part') delivered += valueSize(r.value);
      peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
    expect(delivered).toBe(1_500_000);
    expect(peak).toBeLessThan(60 << 20);
  });

  it('reads a stream fed in small uneven chunks the same as the file (records larger than the window)', async () => {
    const path = await hugeFile();
    const bytes = readFileSync(path);
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let at = 0, n = 1; at < bytes.length; at += n, n = (n * 7 + 3) % 65_521 || 1)
        yield bytes.subarray(at, Math.min(bytes.length, at + n));
    }
    const fromStream = await collect(readRdb(pieces()));
    const fromFile = await collect(readRdbFile(path));
    expect(assemble(fromStream)).toEqual(assemble(fromFile));
    expect(fromStream.map((r) => r.kind)).toEqual(fromFile.map((r) => r.kind));
  });

  it('stopping early (also in the middle of a huge key) closes the file', async () => {
    const path = await hugeFile();
    const before = openFds();
    for await (const r of readRdbFile(fixture('valkey/encodings.rdb'))) if (r.kind === 'key') break;
    let seen = 0;
    for await (const r of readRdbFile(path, { chunked: { elements: 1_000 } })) {
      if (r.kind === 'key-part' && ++seen === 3) break;
    }
    expect(seen).toBe(3);
    expect(openFds()).toBe(before);
  });

  it('a file that is not there fails with the system error on the first read, and leaves nothing open', async () => {
    const before = openFds();
    await expect(collect(readRdbFile(join(work, 'missing.rdb')))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(openFds()).toBe(before);
  });
});
