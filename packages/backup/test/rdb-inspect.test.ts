import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEncodingsDataset, serverGroup } from '@valkey-tools/test-utils';
import { Valkey } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRdb } from '../src/rdb/inspect.js';
import { inspectRdb, inspectWithReader, inspectWithWalk } from '../src/rdb/summary.js';
import { type KeyPartRecord, readRdbFile } from '../src/rdb/reader.js';
import { writeRdbFile } from '../src/rdb/writer.js';
import { collect } from './fixtures/rdb/helpers.js';

const servers = serverGroup();
let c: Valkey;
let dump: string;
let dir: string;
const bigString = randomBytes(3_000_000);
// 5 MB that LZF compresses well: the server stores it LZF-compressed, we decompress it in pieces.
const bigZip = Buffer.concat(Array.from({ length: 5000 }, () => randomBytes(1000).fill(7, 0, 500)));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vt-inspect-'));
  const src = await servers.start();
  c = new Valkey({ port: src.port, host: src.host, maxRetriesPerRequest: 1 });
  await buildEncodingsDataset(c);
  await c.call('EVAL', "for i=1,30000 do server.call('SADD', KEYS[1], 'm' .. i) end return 1", '1', 'bigset');
  await c.set('bigstr', bigString);
  await c.set('bigzip', bigZip);
  await c.call('SAVE');
  dump = join(src.dir, 'dump.rdb');
});

afterAll(async () => {
  c?.disconnect();
  await servers.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('verifyRdb / inspectRdb', () => {
  it('verifies a good file', async () => {
    const total = (await c.dbsize()) + 3; // db1 has 2 keys, db3 has 1
    const r = await verifyRdb(dump);
    expect(r).toMatchObject({ ok: true, magic: 'REDIS', version: 11, keys: total, checksum: 'ok' });
    expect(r.bytes).toBe(readFileSync(dump).length);
    expect(r.error).toBeUndefined();
  });

  it('reports where a damaged file is broken, without throwing', async () => {
    const bytes = readFileSync(dump);
    const at = bytes.indexOf(Buffer.from('set:i32'));
    const bad = Buffer.from(bytes.subarray(0, at + 12));
    const r = await verifyRdb(bad);
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ key: 'set:i32' });
    // the input size is known, so a length past the end fails before reading on
    expect(['ERR_RDB_TRUNCATED', 'ERR_RDB_BAD_LENGTH']).toContain(r.error!.code);
    expect(r.error!.offset).toBeGreaterThan(at);
    const flipped = Buffer.from(bytes);
    flipped[at + 2]! ^= 0x20;
    writeFileSync(join(dir, 'flipped.rdb'), flipped);
    expect((await verifyRdb(join(dir, 'flipped.rdb'))).error?.code).toBe('ERR_RDB_CHECKSUM');
    expect((await verifyRdb(join(dir, 'missing.rdb'))).error?.code).toBe('ENOENT');
  });

  it('inspects header, aux, dbs, types, encodings, expiries, functions and the biggest keys', async () => {
    const r = await inspectRdb(dump, { top: 3 });
    expect(r).toMatchObject({
      magic: 'REDIS',
      version: 11,
      flavor: 'redis',
      functions: ['rtlib'],
      emptyKeysSkipped: 0,
    });
    expect(r.aux['valkey-ver']).toMatch(/^8\./);
    expect(r.databases.map((d) => [d.db, d.keys])).toEqual([
      [0, await c.dbsize()],
      [1, 2],
      [3, 1],
    ]);
    expect(r.databases[0]!.types).toMatchObject({ stream: 3, set: 6 });
    expect(r.expires).toBe(2);
    expect(r.encodings).toMatchObject({
      intset: 3,
      listpack: 4,
      hashtable: 4,
      quicklist2: 4,
      'stream-listpacks3': 3,
    });
    expect(r.biggestKeys.map((k) => k.key)).toEqual(['bigstr', 'bigzip', 'bigset']);
    expect(r.biggestKeys[0]).toMatchObject({ type: 'string', elements: 3_000_000 });
    expect(r.biggestKeys[0]!.bytes).toBeGreaterThan(3_000_000);
    expect(r.biggestKeys[2]).toMatchObject({ type: 'set', encoding: 'hashtable', elements: 30000 });
    expect(r.checksum).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('inspectRdb from the structure walk', () => {
  const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures/rdb');
  const files = ['valkey', 'rdbtools'].flatMap((d) =>
    readdirSync(join(fixtures, d))
      .filter((f) => f.endsWith('.rdb'))
      .map((f) => join(fixtures, d, f)),
  );

  it("gives the record reader's report, byte counts and biggest keys included, for a server dump with every encoding", async () => {
    const options = { top: 50, now: 1_800_000_000_000 };
    const walked = await inspectWithWalk(dump, options);
    // The dump is walked (the record reader is only for what the walk cannot take).
    expect(walked).not.toBeNull();
    expect(walked).toEqual(await inspectWithReader(dump, options));
    const bytes = readFileSync(dump);
    expect(await inspectWithWalk(bytes, options)).toEqual(walked);
  });

  it('gives the same report as the record reader for every fixture file (old encodings, modules, damage: walked or left to the reader)', async () => {
    let walkedFiles = 0;
    for (const file of files) {
      const options = { top: 20, now: 1_800_000_000_000 };
      const byReader = await inspectWithReader(file, options).catch((e: Error) => e.message);
      const walked = await inspectWithWalk(file, options).catch((e: Error) => e.message);
      if (walked === null) {
        // left to the reader: inspectRdb gives the reader's verdict
        expect(await inspectRdb(file, options).catch((e: Error) => e.message), file).toEqual(byReader);
        continue;
      }
      walkedFiles++;
      expect(walked, file).toEqual(byReader);
    }
    // Most fixtures (old and new encodings alike) are walked.
    expect(walkedFiles).toBeGreaterThan(files.length / 2);
  });
});

describe('chunked reading of huge keys', () => {
  it('delivers a 30k-member set in bounded batches and a 3 MB string in pieces; the writer streams them back out', async () => {
    const records = await collect(
      readRdbFile(dump, { chunked: { elements: 5000, bytes: 1 << 20, pieceBytes: 256 << 10 } }),
    );
    const setParts = records.filter(
      (r): r is KeyPartRecord => r.kind === 'key-part' && r.key.toString() === 'bigset',
    );
    expect(setParts.length).toBe(6);
    for (const p of setParts)
      expect(p.value.type === 'set' && p.value.members.length).toBeLessThanOrEqual(5000);
    const begin = records.findIndex((r) => r.kind === 'key-begin' && r.key.toString() === 'bigset');
    expect(records[begin]).toMatchObject({
      kind: 'key-begin',
      type: 'set',
      encoding: 'hashtable',
      db: 0,
      elements: 30000,
    });
    expect(records.find((r) => r.kind === 'key-end' && r.key.toString() === 'bigset')).toMatchObject({
      size: 30000,
    });
    const strParts = records.filter(
      (r): r is KeyPartRecord => r.kind === 'key-part' && r.key.toString() === 'bigstr',
    );
    expect(strParts.length).toBeGreaterThanOrEqual(Math.ceil(3_000_000 / (256 << 10)));
    for (const p of strParts)
      expect(p.value.type === 'string' && p.value.value.length).toBeLessThanOrEqual(256 << 10);
    const joined = Buffer.concat(
      strParts.map((p) => (p.value.type === 'string' ? p.value.value : Buffer.alloc(0))),
    );
    expect(joined.equals(bigString)).toBe(true);
    const zipParts = records.filter(
      (r): r is KeyPartRecord => r.kind === 'key-part' && r.key.toString() === 'bigzip',
    );
    expect(zipParts.length).toBeGreaterThanOrEqual(Math.floor(5_000_000 / (256 << 10)));
    for (const p of zipParts)
      expect(p.value.type === 'string' && p.value.value.length).toBeLessThanOrEqual((256 << 10) + 264);
    const zipped = Buffer.concat(
      zipParts.map((p) => (p.value.type === 'string' ? p.value.value : Buffer.alloc(0))),
    );
    expect(zipped.equals(bigZip)).toBe(true);
    // small keys still come whole
    expect(records.some((r) => r.kind === 'key' && r.key.toString() === 'str:plain')).toBe(true);

    await writeRdbFile(join(dir, 'chunked.rdb'), records);
    const fresh = await servers.start({ config: { dir, dbfilename: 'chunked.rdb' } });
    const f = new Valkey({ port: fresh.port, host: fresh.host, maxRetriesPerRequest: 1 });
    try {
      expect(await f.call('DEBUG', 'DIGEST')).toBe(await c.call('DEBUG', 'DIGEST'));
    } finally {
      f.disconnect();
    }
  });
});
