import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestServer, startTestServer, buildEncodingsDataset } from '@valkey-tools/test-utils';
import { Valkey } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRecord } from '../src/model.js';
import { decodeDumpPayload, encodeDumpPayload, splitDumpPayload } from '../src/rdb/dump.js';
import { type EncodedKeyRecord, writeRdb } from '../src/rdb/writer.js';
import { readRdbFile } from '../src/rdb/reader.js';
import { collect, norm } from './fixtures/rdb/helpers.js';

let server: TestServer;
const all = async <T>(chunks: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const c of chunks) out.push(c);
  return out;
};
let c: Valkey;
let keys: KeyRecord[];

beforeAll(async () => {
  server = await startTestServer();
  c = new Valkey({ port: server.port, host: server.host, maxRetriesPerRequest: 1 });
  await buildEncodingsDataset(c);
  await c.call('SAVE');
  keys = (await collect(readRdbFile(join(server.dir, 'dump.rdb')))).filter(
    (r): r is KeyRecord => r.kind === 'key',
  );
});

afterAll(async () => {
  c?.disconnect();
  await server?.stop();
});

describe('DUMP payloads against valkey-server', () => {
  it('decodes what DUMP returns for every key, equal to the RDB value', async () => {
    expect(keys.length).toBeGreaterThan(20);
    for (const k of keys) {
      await c.select(k.db);
      const payload = (await c.callBuffer('DUMP', k.key)) as Buffer;
      const decoded = await decodeDumpPayload(payload);
      expect(decoded.rdbVersion).toBe(11);
      expect(norm(decoded.value), k.key.toString()).toBe(norm(k.value));
    }
    await c.select(0);
  });

  it('RESTORE accepts our payloads and the restored values have the same digest', async () => {
    for (const k of keys) {
      await c.select(k.db);
      for (const rdbVersion of [11, 9]) {
        const target = Buffer.concat([Buffer.from(`restored:${rdbVersion}:`), k.key]);
        const payload = encodeDumpPayload(k.value, { rdbVersion });
        const ttl = String(k.expiresAt ?? 0);
        expect(String(await c.callBuffer('RESTORE', target, ttl, payload, 'REPLACE', 'ABSTTL'))).toBe('OK');
        const [a, b] = (await c.call('DEBUG', 'DIGEST-VALUE', k.key, target)) as string[];
        expect(b, `${k.key.toString()} (payload version ${rdbVersion})`).toBe(a);
      }
    }
    await c.select(0);
  });

  it('rejects a payload with a wrong checksum or decoded as text', async () => {
    const payload = (await c.callBuffer('DUMP', 'str:plain')) as Buffer;
    const bad = Buffer.from(payload);
    bad[2]! ^= 1;
    await expect(decodeDumpPayload(bad)).rejects.toMatchObject({ code: 'ERR_RDB_CHECKSUM' });
    const mangled = Buffer.from(((await c.callBuffer('DUMP', 'str:bin')) as Buffer).toString('utf8'));
    await expect(decodeDumpPayload(mangled)).rejects.toMatchObject({ code: 'ERR_RDB_CHECKSUM' });
    await expect(decodeDumpPayload(Buffer.alloc(5))).rejects.toMatchObject({ code: 'ERR_RDB_BAD_PAYLOAD' });
    expect(() => splitDumpPayload(bad)).toThrow(expect.objectContaining({ code: 'ERR_RDB_CHECKSUM' }));
  });

  it('writes the payloads of every key into an RDB file as they are, which loads back digest-equal', async () => {
    const records: EncodedKeyRecord[] = [];
    for (const r of keys) {
      await c.select(r.db);
      const payload = (await c.callBuffer('DUMP', r.key)) as Buffer;
      const expiry = r.expiresAt === undefined ? {} : { expiresAt: r.expiresAt };
      records.push({ kind: 'encoded-key', db: r.db, key: r.key, ...expiry, ...splitDumpPayload(payload) });
    }
    await c.select(0);
    expect(new Set(records.map((r) => r.db))).toEqual(new Set([0, 1, 3]));
    const file = Buffer.concat(await all(writeRdb(records)));
    const fresh = await startTestServer();
    const back = new Valkey({ port: fresh.port, host: fresh.host, maxRetriesPerRequest: 1 });
    try {
      writeFileSync(join(fresh.dir, 'dump.rdb'), file);
      expect(await fresh.command('DEBUG', 'RELOAD', 'NOSAVE')).toBe('+OK\r\n');
      // Every key's value and expiry, db by db (the source also holds the keys other tests made).
      for (const db of [0, 1, 3]) {
        const inDb = records.filter((r) => r.db === db).map((r) => r.key);
        await Promise.all([c.select(db), back.select(db)]);
        expect(await back.dbsize()).toBe(inDb.length);
        const want = await c.call('DEBUG', 'DIGEST-VALUE', ...inDb);
        expect(await back.call('DEBUG', 'DIGEST-VALUE', ...inDb)).toEqual(want);
        for (const k of inDb) expect(await back.pexpiretime(k)).toBe(await c.pexpiretime(k));
      }
      await c.select(0);
    } finally {
      back.disconnect();
      await fresh.stop();
    }
    // A payload of a newer RDB version than the file's is refused, not written.
    const newer = { ...records[0]!, version: 12 };
    await expect(all(writeRdb([newer], { target: 11 }))).rejects.toMatchObject({
      code: 'ERR_RDB_BAD_RECORD',
    });
  });
});
