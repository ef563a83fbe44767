import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type TestServer,
  seededRandom,
  startTestServer,
  buildEncodingsDataset,
} from '@valkey-tools/test-utils';
import { Valkey } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkRdb, readerFromChunks } from '../src/rdb/walk.js';
import { verifyRdb, verifyRdbWithReader } from '../src/rdb/inspect.js';
import { SHARED_RDB } from './fixtures/rdb/helpers.js';

// verifyRdb takes a fast record-free walk for paths and byte arrays and the full reader for
// streams: the two must always agree, on valid files and on every kind of damage.

/** The input delivered at most `size` bytes per read. */
function pieces(buf: Uint8Array, size: number) {
  return readerFromChunks(
    (async function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
  );
}

/** The full reader's verdict. */
const viaReader = (buf: Uint8Array) => verifyRdbWithReader(buf);

function rdbFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...rdbFiles(p));
    else if (name.endsWith('.rdb')) out.push(p);
  }
  return out.sort();
}

let server: TestServer;
let dump: Buffer;

beforeAll(async () => {
  server = await startTestServer();
  const c = new Valkey({ port: server.port, host: server.host, maxRetriesPerRequest: 1 });
  try {
    await buildEncodingsDataset(c, { big: true });
    await c.call('SAVE');
  } finally {
    c.disconnect();
  }
  dump = readFileSync(join(server.dir, 'dump.rdb'));
});

afterAll(async () => {
  await server?.stop();
});

describe('fast verify', () => {
  it('takes the fast path on a valid server dump with every type, in any chunking', async () => {
    const expected = await viaReader(dump);
    expect(expected.ok).toBe(true);
    for (const size of [1, 7, 4096, dump.length]) {
      const fast = await walkRdb(pieces(dump, size), dump.length);
      expect(fast, `chunks of ${size}`).not.toBeNull();
      expect(fast).toEqual({
        magic: expected.magic,
        version: expected.version,
        keys: expected.keys,
        bytes: expected.bytes,
        checksum: expected.checksum,
        functions: 1,
        // the dataset's dbs, in the order the file has them
        dbs: [0, 1, 3],
      });
    }
    expect(await verifyRdb(dump)).toEqual(expected);
    expect(await verifyRdb(join(server.dir, 'dump.rdb'))).toEqual(expected);
  });

  it('gives up (and verifyRdb reports the reader verdict) on a bad checksum, truncation and a record over the window cap', async () => {
    const flipped = Buffer.from(dump);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x20;
    expect(await walkRdb(pieces(flipped, 65536), flipped.length)).toBeNull();
    expect(await walkRdb(pieces(dump.subarray(0, dump.length - 3), 65536), dump.length - 3)).toBeNull();
    expect(await walkRdb(pieces(dump, 512), dump.length, { maxRecordBytes: 2000 })).toBeNull();
    expect(await walkRdb(pieces(dump, 512), dump.length, { maxRecordBytes: 1 << 20 })).not.toBeNull();
    const r = await verifyRdb(dump.subarray(0, dump.length - 3));
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('ERR_RDB_TRUNCATED');
  });

  it('reports progress and honours checksum: false', async () => {
    const seen: number[] = [];
    const fast = await walkRdb(pieces(dump, 4096), dump.length, {
      checksum: false,
      onProgress: (p) => seen.push(p.keys),
      progressEvery: 10,
    });
    expect(fast?.checksum).toBe('unchecked');
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.at(-1)).toBe(fast?.keys);
  });

  it('agrees with the reader on every shared fixture RDB', async () => {
    const files = rdbFiles(SHARED_RDB);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const buf = readFileSync(file);
      expect(await verifyRdb(buf), file).toEqual(await viaReader(buf));
    }
  });

  it('agrees with the reader on 400 randomly damaged copies (byte flips, truncations, overwritten runs)', async () => {
    const next = seededRandom(20261122);
    for (let i = 0; i < 400; i++) {
      const bad = Buffer.from(dump);
      const mode = i % 4;
      const at = Math.floor(next() * bad.length);
      let input: Buffer = bad;
      if (mode === 0) bad[at]! ^= 1 << Math.floor(next() * 8);
      else if (mode === 1) input = bad.subarray(0, at);
      else if (mode === 2) bad.fill(Math.floor(next() * 256), at, at + 1 + Math.floor(next() * 16));
      else {
        // Damage that keeps the checksum consistent would need a recomputed CRC; instead turn the
        // checksum off so only structure decides.
        bad[at]! ^= 0xff;
        bad.fill(0, bad.length - 8);
      }
      const fast = await verifyRdb(input);
      const slow = await viaReader(input);
      expect(fast, `case ${i} mode ${mode} at ${at}`).toEqual(slow);
    }
  });
});
