import { describe, expect, it } from 'vitest';
import type { RdbRecord } from '../model.js';
import { checkingStream } from './stream-check.js';
import { writeRdb } from './writer.js';

async function rdb(): Promise<Buffer> {
  const records: RdbRecord[] = [{ kind: 'header', magic: 'REDIS', version: 11, flavor: 'valkey' }];
  for (let i = 0; i < 2000; i++)
    records.push({
      kind: 'key',
      db: i % 3,
      key: Buffer.from(`k${i}`),
      encoding: '',
      value: {
        type: 'list',
        items: Array.from({ length: 1 + (i % 9) }, (_, j) => Buffer.from(`item ${i} ${j}`)),
      },
    });
  records.push({ kind: 'end', checksum: null });
  const chunks: Buffer[] = [];
  for await (const c of writeRdb(records)) chunks.push(c);
  return Buffer.concat(chunks);
}

async function* pieces(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < b.length; at += size) {
    await new Promise((r) => setImmediate(r));
    yield b.subarray(at, at + size);
  }
}

async function drain(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c);
  return Buffer.concat(out);
}

describe('checkingStream', () => {
  it('passes the bytes on unchanged and checks them on the way (keys counted, CRC checked)', async () => {
    const b = await rdb();
    for (const size of [1, 1000, 65536]) {
      const { chunks, result } = checkingStream(pieces(b, size));
      expect((await drain(chunks)).equals(b)).toBe(true);
      expect(await result).toMatchObject({ keys: 2000, checksum: 'ok', bytes: b.length });
    }
  });

  it('a damaged stream still passes through, and the check says null', async () => {
    const b = Buffer.from(await rdb());
    b[b.length - 2]! ^= 1; // the CRC
    const damaged = checkingStream(pieces(b, 4096));
    expect((await drain(damaged.chunks)).equals(b)).toBe(true);
    expect(await damaged.result).toBeNull();
    const cut = checkingStream(pieces(b.subarray(0, b.length - 100), 4096));
    await drain(cut.chunks);
    expect(await cut.result).toBeNull();
  });
});
