/**
 * Counts a user reads (keys, bytes) equal what the server and the files show: a replication
 * backup to .rdb, a raw RDB restore's bytes, keys that make nothing (already expired, empty
 * collections) in restores and conversions.
 */
import { buildDataset, serverPool } from '@valkey-tools/test-utils';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../src/convert/convert.js';
import { keyRecordToJson } from '../src/jsonl/jsonl.js';
import { backup } from '../src/live/backup.js';
import type { KeyRecord } from '../src/model.js';
import { verifyRdb } from '../src/rdb/inspect.js';
import { writeRdbFile } from '../src/rdb/writer.js';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-counts-'));
let pool: Awaited<ReturnType<typeof serverPool>>;
beforeAll(async () => {
  pool = await serverPool(6);
});
afterAll(async () => {
  await pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

const dbsize = async (s: { command: (...a: string[]) => Promise<string> }) => {
  const info = await s.command('INFO', 'keyspace');
  return [...info.matchAll(/keys=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
};

const key = (name: string, value: KeyRecord['value'], extra: Partial<KeyRecord> = {}): KeyRecord => ({
  kind: 'key',
  db: 0,
  key: Buffer.from(name),
  encoding: 'test',
  value,
  ...extra,
});

describe('counts are what the server shows', () => {
  it('a replication backup to .rdb (the snapshot as it is) reports its keys', async () => {
    const source = pool.take();
    await buildDataset(source.url, { big: 200, dbs: [0, 3] });
    const out = join(work, 'live.rdb');
    const r = await backup({ url: source.url, output: out });
    expect(r.keys).toBe(await dbsize(source));
    expect(r.keys).toBeGreaterThan(10);
    expect((await verifyRdb(out)).keys).toBe(r.keys);
  });

  it('a raw RDB restore counts the bytes it sent (MSETs included) and keys equal the target’s', async () => {
    const records: KeyRecord[] = [];
    for (let i = 0; i < 5000; i++)
      records.push(key(`s:${i}`, { type: 'string', value: Buffer.alloc(100, 97) }));
    const rdb = join(work, 'strings.rdb');
    await writeRdbFile(rdb, records);
    const t = pool.take();
    const r = await restore({ input: rdb, url: t.url });
    expect(r.keys).toBe(5000);
    expect(await dbsize(t)).toBe(5000);
    // Every value went over the wire (as MSETs: key, value and RESP framing, about 130 bytes a key).
    expect(r.bytes).toBeGreaterThan(5000 * 100);
    expect(r.bytes).toBeLessThan(5000 * 200);
  });

  it('keys already expired and empty collections are neither restored, counted nor written', async () => {
    const now = Date.now();
    const records: KeyRecord[] = [
      key('live', { type: 'string', value: Buffer.from('v') }, { expiresAt: now + 86_400_000 }),
      key('plain', { type: 'list', items: [Buffer.from('x')] }),
      key('expired:str', { type: 'string', value: Buffer.from('old') }, { expiresAt: now - 60_000 }),
      key(
        'expired:hash',
        { type: 'hash', entries: [{ field: Buffer.from('f'), value: Buffer.from('v') }] },
        { expiresAt: 1 },
      ),
      key('empty:list', { type: 'list', items: [] }),
      key('empty:set', { type: 'set', members: [] }),
      key('empty:zset', { type: 'zset', entries: [] }),
      key('empty:hash', { type: 'hash', entries: [] }),
    ];
    // JSONL can say anything: it holds all eight.
    const jsonl = join(work, 'odd.jsonl');
    writeFileSync(jsonl, `${records.map((r) => keyRecordToJson(r)).join('\n')}\n`);
    // Our RDB writer writes no empty collection (the server's checker refuses one).
    const rdb = join(work, 'odd.rdb');
    const written = await convert({ input: jsonl, output: rdb });
    expect(written.keys).toBe(4);
    expect((await verifyRdb(rdb)).keys).toBe(4);
    const valkey = join(work, 'odd.valkey');
    expect((await convert({ input: jsonl, output: valkey })).keys).toBe(4);

    for (const input of [jsonl, rdb, valkey]) {
      const t = pool.take();
      const r = await restore({ input, url: t.url });
      expect(await dbsize(t)).toBe(2);
      expect(r.keys).toBe(2);
    }
  });
});
