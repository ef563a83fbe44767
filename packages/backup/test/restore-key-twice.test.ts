/**
 * A file that has a key twice, apart (a crafted RDB, two JSONL exports laid end to end): plain
 * strings gather into MSETs, and a later record of the same key that does not join them must not
 * overtake them. Without replace the second one is refused as the key exists (BUSYKEY, like any
 * key the target holds); with replace the key ends as the file's last record says. Into one
 * server and into a cluster; the server judges (TYPE, the value).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestCluster, serverGroup, type TestCluster } from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RdbRecord } from '../src/model.js';
import { writeRdbFile } from '../src/rdb/writer.js';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-key-twice-'));
const servers = serverGroup();
let cluster: TestCluster;
const twiceRdb = join(work, 'twice.rdb');
const twiceJsonl = join(work, 'twice.jsonl');
const headerless = join(work, 'plain.txt');

const str = (key: string, value: string): RdbRecord => ({
  kind: 'key',
  db: 0,
  key: Buffer.from(key),
  encoding: 'string',
  value: { type: 'string', value: Buffer.from(value) },
});

beforeAll(async () => {
  cluster = await startTestCluster({ primaries: 3, replicasPerPrimary: 0 });
  // `k` as a string, other strings (they share its MSET), then `k` again as a hash.
  const records: RdbRecord[] = [
    str('k', 'first'),
    ...Array.from({ length: 10 }, (_, i) => str(`other:${i}`, `o${i}`)),
    {
      kind: 'key',
      db: 0,
      key: Buffer.from('k'),
      encoding: 'listpack',
      value: { type: 'hash', entries: [{ field: Buffer.from('f'), value: Buffer.from('v') }] },
    },
  ];
  await writeRdbFile(
    twiceRdb,
    (async function* () {
      yield* records;
    })(),
  );
  writeFileSync(
    twiceJsonl,
    [
      '{"db":0,"key":"k","type":"string","value":"first"}',
      ...Array.from({ length: 10 }, (_, i) => `{"db":0,"key":"other:${i}","type":"string","value":"o${i}"}`),
      '{"db":0,"key":"k","type":"hash","value":[["f","v"]]}',
      '',
    ].join('\n'),
  );
  // Commands without our header (replayed as they come), the last one failing.
  writeFileSync(headerless, 'SET k a\nSET o 1\nSET p 2\nHSET k f v\n');
});

afterAll(async () => {
  await Promise.all([servers.stop(), cluster?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

async function typeAndValue(url: string, clusterMode: boolean): Promise<[string, unknown, string | null]> {
  const client = clusterMode
    ? new Redis.Cluster([{ host: '127.0.0.1', port: Number(new URL(url).port) }])
    : new Redis(url);
  try {
    const type = await client.type('k');
    const value = type === 'hash' ? await client.hgetall('k') : await client.get('k');
    return [type, value, await client.get('other:9')];
  } finally {
    client.disconnect();
  }
}

async function flushCluster(): Promise<void> {
  await Promise.all(cluster.primaries.map((n) => n.command('FLUSHALL', 'SYNC')));
}

describe('a key twice in one file', () => {
  for (const [name, file] of [
    ['RDB', () => twiceRdb],
    ['JSONL', () => twiceJsonl],
  ] as const) {
    it(`${name} into one server: refused as existing without replace, the last record with it`, async () => {
      const server = await servers.start();
      await expect(restore({ input: file(), url: server.url })).rejects.toMatchObject({
        code: 'ERR_RESTORE',
        message: expect.stringMatching(/stopped at key "k".*BUSYKEY.*11 keys were written/),
      });
      expect(await typeAndValue(server.url, false)).toEqual(['string', 'first', 'o9']);

      await server.command('FLUSHALL', 'SYNC');
      const r = await restore({ input: file(), url: server.url, replace: true });
      expect(r.errorCount).toBe(0);
      expect(await typeAndValue(server.url, false)).toEqual(['hash', { f: 'v' }, 'o9']);
    });

    it(`${name} into a cluster: the last record with replace`, async () => {
      await flushCluster();
      const r = await restore({ input: file(), url: cluster.seeds[0]!, replace: true });
      expect(r.errorCount).toBe(0);
      expect(await typeAndValue(cluster.seeds[0]!, true)).toEqual(['hash', { f: 'v' }, 'o9']);
    });
  }

  it('a run stopped by a failure says how many keys it left on an empty target', async () => {
    const server = await servers.start();
    await expect(restore({ input: headerless, url: server.url })).rejects.toMatchObject({
      code: 'ERR_RESTORE',
      message: expect.stringMatching(/HSET failed: WRONGTYPE.*3 keys were written before it stopped/),
    });
    expect(await server.command('DBSIZE')).toBe(':3\r\n');
  });
});
