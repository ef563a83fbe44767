import { join } from 'node:path';
import { type TestServer, startTestServer, buildEncodingsDataset } from '@valkey-tools/test-utils';
import { Valkey } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRecord } from '../src/model.js';
import { decodeDumpPayload, encodeDumpPayload } from '../src/rdb/dump.js';
import { readRdbFile } from '../src/rdb/reader.js';
import { collect, norm } from './fixtures/rdb/helpers.js';

let server: TestServer;
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
  });
});
