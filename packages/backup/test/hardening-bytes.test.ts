import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../src/convert/convert.js';
import { backup } from '../src/live/backup.js';
import { restore } from '../src/restore/restore.js';

/**
 * Keys, fields, members and values made of every byte value 0..255 (NUL, CR, LF, quotes, 0x80+,
 * invalid UTF-8) survive every path: replication and scan backups into every format, conversions
 * between formats, and restore — the restored server has the same DEBUG DIGEST as the source.
 */
const work = mkdtempSync(join(tmpdir(), 'vt-bytes-'));
let source: TestServer;
let target: TestServer;
let sourceDigest: string;

const ALL = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
/** Each byte alone and next to the bytes that break naive parsers. */
const piece = (b: number) => Buffer.from([b, 0x0d, 0x0a, b, 0x00, 0x22, 0x5c, 0x20, b]);

beforeAll(async () => {
  [source, target] = await Promise.all([
    startTestServer({ config: { 'repl-diskless-sync-delay': 0 } }),
    startTestServer(),
  ]);
  const c = (...args: Array<string | Buffer>) => source.command(...args);
  for (let b = 0; b < 256; b++) {
    const k = piece(b);
    expect(await c('SET', Buffer.concat([Buffer.from('s:'), k]), Buffer.concat([k, ALL]))).toBe('+OK\r\n');
  }
  const many = Array.from({ length: 256 }, (_, b) => piece(b));
  await c('RPUSH', Buffer.from([0x6c, 0x00, 0xff]), ...many, ALL);
  await c('SADD', Buffer.from([0x73, 0x0a, 0x80]), ...many, ALL);
  await c('ZADD', Buffer.from([0x7a, 0x0d, 0xc3]), ...many.flatMap((m, i) => [String(i / 7 - 10), m]));
  await c('HSET', Buffer.from([0x68, 0x22, 0x27]), ...many.flatMap((m, i) => [m, many[255 - i]!]), ALL, ALL);
  // Big enough to leave the compact encodings too.
  await c('HSET', Buffer.from([0x48, 0x00]), ...Array.from({ length: 300 }, (_, i) => [`${i}`, ALL]).flat());
  for (let b = 0; b < 256; b += 17) {
    await c('XADD', Buffer.from([0x78, 0x00, 0xfe]), `${b + 1}-0`, piece(b), ALL);
  }
  await c('SET', Buffer.from([0xff, 0xfe, 0x00]), ALL, 'PXAT', '4102444800000');
  expect(await c('DBSIZE')).toBe(':263\r\n');
  sourceDigest = await source.command('DEBUG', 'DIGEST');
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

async function restoredDigest(file: string): Promise<string> {
  await target.command('FLUSHALL');
  const r = await restore({ input: file, url: target.url });
  expect(r.errorCount, file).toBe(0);
  return target.command('DEBUG', 'DIGEST');
}

describe('every byte value survives every path', () => {
  it('replication and scan backups in every format restore to the same DEBUG DIGEST', async () => {
    for (const mode of ['replication', 'scan'] as const) {
      for (const ext of ['rdb', 'valkey', 'jsonl', 'txt']) {
        if (mode === 'scan' && ext === 'rdb') continue;
        const file = join(work, `${mode}.${ext}`);
        await backup({ url: source.url, output: file, mode });
        expect(await restoredDigest(file), `${mode} -> .${ext}`).toBe(sourceDigest);
      }
    }
  });

  it('RDB -> RESP -> JSONL -> readable -> RDB conversions keep every byte', async () => {
    let from = join(work, 'replication.rdb');
    for (const ext of ['valkey', 'jsonl', 'txt', 'rdb']) {
      const to = join(work, `chain-${ext}.${ext}`);
      await convert({ input: from, output: to });
      expect(await restoredDigest(to), `-> .${ext}`).toBe(sourceDigest);
      from = to;
    }
  });
});
