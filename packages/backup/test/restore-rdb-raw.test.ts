import { buildDataset, serverState, serverPool } from '@valkey-tools/test-utils';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupError } from '../src/errors.js';
import { restore } from '../src/restore/restore.js';

// An RDB file is restored by sending each value to RESTORE in the encoding the file has, each
// command written straight into the output chunks. This dataset exercises what that path must
// get right: int-encoded and LZF-compressed key names (the key is not a view of the file then),
// every type and encoding, expiries (ABSTTL), LFU counters (FREQ), several dbs, thousands of
// commands across chunk boundaries and values larger than a chunk.
const work = mkdtempSync(join(tmpdir(), 'vt-restore-raw-'));
const LFU = { 'maxmemory-policy': 'allkeys-lfu' };
let pool: Awaited<ReturnType<typeof serverPool>>;
let rdbFile: string;
let sourceUrl: string;
const hotKeys = ['hot:a', 'hot:b', 'hot:c'];
const sourceFreq: Record<string, number> = {};
const EXTRA_KEYS = 6000;

beforeAll(async () => {
  pool = await serverPool(5, LFU);
  const source = pool.take();
  sourceUrl = source.url;
  await buildDataset(source.url, { big: 2000 });
  const c = new Redis(source.url);
  try {
    const p = c.pipeline();
    p.set('12345', 'int-encoded key name');
    p.set('-77', 'negative int key name');
    for (let i = 0; i < EXTRA_KEYS; i++) {
      // > 20 bytes and repetitive: the RDB stores the name LZF-compressed.
      const key = `${'compressible-key-name-'.repeat(4)}${i}`;
      if (i % 5 === 0) p.set(key, 'v'.repeat(i % 900), 'PXAT', 4102444800000 + i);
      else if (i % 5 === 1) p.hset(key, 'f', i, 'g', 'x'.repeat(i % 300));
      else if (i % 5 === 2) p.rpush(key, 'a', String(i), 'b'.repeat(i % 200));
      else if (i % 5 === 3) p.sadd(key, i, i + 1, i + 2);
      else p.zadd(key, i, 'm', -i, 'n');
    }
    p.set('big:value', Buffer.alloc(200 * 1024, 'q'));
    for (const k of hotKeys) p.set(k, 'hot');
    await p.exec();
    for (const k of hotKeys) {
      const hits = c.pipeline();
      for (let i = 0; i < 1000; i++) hits.get(k);
      await hits.exec();
      sourceFreq[k] = Number(await c.call('OBJECT', 'FREQ', k));
    }
    await c.call('SAVE');
  } finally {
    c.disconnect();
  }
  rdbFile = join(work, 'source.rdb');
  copyFileSync(join(source.dir, 'dump.rdb'), rdbFile);
});

afterAll(async () => {
  await pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('restore of an RDB file with values as they are in the file', () => {
  it('re-creates every key exactly (DEBUG DIGEST, streams, functions, LFU counters), and again with replace', async () => {
    const target = pool.take();
    const expected = await serverState(sourceUrl);
    const r = await restore({ input: rdbFile, url: target.url });
    expect(r).toMatchObject({ errorCount: 0, usedRestore: true, fellBack: false });
    expect(r.keys).toBe(Object.values(expected.dbsize).reduce((a, b) => a + b, 0));
    expect(await serverState(target.url)).toEqual(expected);
    const c = new Redis(target.url);
    try {
      for (const k of hotKeys) {
        expect(sourceFreq[k]).toBeGreaterThan(10);
        expect(Math.abs(Number(await c.call('OBJECT', 'FREQ', k)) - sourceFreq[k]!)).toBeLessThanOrEqual(1);
      }
      expect(Number(await c.call('PEXPIRETIME', `${'compressible-key-name-'.repeat(4)}5`))).toBe(
        4102444800005,
      );
      // A changed key is put back by a re-run with replace.
      await c.set('12345', 'changed');
      await c.del('big:value');
    } finally {
      c.disconnect();
    }
    const again = await restore({ input: rdbFile, url: target.url, replace: true });
    expect(again).toMatchObject({ errorCount: 0, keys: r.keys });
    expect(await serverState(target.url)).toEqual(expected);
  });

  it('stops at the first key in the way, names it, and touches nothing else', async () => {
    const target = pool.take();
    await target.command('SET', '12345', 'in the way');
    await target.command('SELECT', '0');
    const err = await restore({ input: rdbFile, url: target.url, db: 0, match: '12345' }).catch((e) => e);
    expect(BackupError.isInstance(err)).toBe(true);
    expect((err as Error).message).toMatch(/stopped at key "12345" \(db 0\): RESTORE failed: BUSYKEY/);
    expect(await target.command('GET', '12345')).toBe('$10\r\nin the way\r\n');
    expect(await target.command('DBSIZE')).toBe(':1\r\n');
  });

  it('goes on past keys in the way when asked, counting only what it restored; filters by db, name and type', async () => {
    const target = pool.take();
    await target.command('SET', '-77', 'in the way');
    const r = await restore({ input: rdbFile, url: target.url, onError: 'continue', db: 0 });
    expect(r.errorCount).toBe(1);
    expect(r.errors[0]).toMatchObject({ key: '-77', command: 'RESTORE' });
    const expected = await serverState(sourceUrl);
    expect(r.keys).toBe(expected.dbsize[0]! - 1);
    expect(await target.command('GET', '-77')).toBe('$10\r\nin the way\r\n');

    const filtered = pool.take();
    const f = await restore({ input: rdbFile, url: filtered.url, match: 'compressible-*', type: 'zset' });
    expect(f.keys).toBe(EXTRA_KEYS / 5);
    expect(await filtered.command('DBSIZE')).toBe(`:${EXTRA_KEYS / 5}\r\n`);
  });
});

// Without LRU/LFU data, plain string keys go out as MSETs (into an empty target, or with
// replace): their values decoded from every RDB string encoding on the way.
describe('restore of an RDB file: plain strings as MSETs', () => {
  let plain: Awaited<ReturnType<typeof serverPool>>;
  let file: string;
  let source: string;
  const values = (i: number): string | Buffer => {
    switch (i % 8) {
      case 0:
        return String(i); // int-encoded
      case 1:
        return String(-i * 100_003); // int-encoded, past 16 bits
      case 2:
        return '99999999999'; // an integer past 32 bits: stored as text
      case 3:
        return 'ab'.repeat(50 + (i % 300)); // LZF
      case 4:
        return '';
      case 5:
        return Buffer.from([0, 13, 10, 255, i & 255]);
      case 6:
        return `v${i}`;
      default:
        return '007';
    }
  };

  beforeAll(async () => {
    plain = await serverPool(3);
    const s = plain.take();
    source = s.url;
    const c = new Redis(s.url);
    try {
      for (const db of [0, 2]) {
        await c.select(db);
        const p = c.pipeline();
        for (let i = 0; i < 3000; i++) p.set(`s:${i}`, values(i));
        p.set('expiring', 'x', 'PXAT', 4102444800000);
        p.set('big', Buffer.alloc(70 * 1024, 'r'));
        p.hset('h', 'f', 'v');
        await p.exec();
      }
      await c.call('SAVE');
    } finally {
      c.disconnect();
    }
    file = join(work, 'strings.rdb');
    copyFileSync(join(s.dir, 'dump.rdb'), file);
  });

  afterAll(async () => {
    await plain?.stop();
  });

  it('re-creates every string exactly, sending the plain ones as MSETs, and again with replace over other types', async () => {
    const target = plain.take();
    const expected = await serverState(source);
    await target.command('CONFIG', 'RESETSTAT');
    const r = await restore({ input: file, url: target.url });
    expect(r).toMatchObject({ errorCount: 0, keys: 2 * 3003 });
    expect(await serverState(target.url)).toEqual(expected);
    const stats = await target.command('INFO', 'commandstats');
    // Per db: the expiring string, the big one (over a batch) and the hash went to RESTORE.
    expect(stats).toMatch(/cmdstat_restore:calls=6,/);
    const msets = Number(/cmdstat_mset:calls=(\d+),/.exec(stats)?.[1]);
    expect(msets).toBeGreaterThanOrEqual(2 * Math.ceil(3000 / 64));
    expect(msets).toBeLessThan(2 * 3000);
    expect(r.commands).toBe(6 + msets);

    const again = plain.take();
    await again.command('HSET', 's:3', 'f', 'v');
    await again.command('SADD', 's:4', 'm');
    const r2 = await restore({ input: file, url: again.url, replace: true });
    expect(r2).toMatchObject({ errorCount: 0, keys: 2 * 3003 });
    expect(await serverState(again.url)).toEqual(expected);
  });
});
