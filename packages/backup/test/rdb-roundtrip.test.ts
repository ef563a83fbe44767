import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type TestServer,
  waitFor,
  FAR_EXPIRY_MS,
  buildEncodingsDataset,
  serverState,
  serverGroup,
  type ServerFlavor,
} from '@valkey-tools/test-utils';
import { Valkey } from 'iovalkey';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeyRecord, RdbRecord, Value } from '../src/model.js';
import { readRdb, readRdbFile } from '../src/rdb/reader.js';
import { type WriteRdbOptions, createRdbWriteStream, writeRdb, writeRdbFile } from '../src/rdb/writer.js';
import { collect, keysOf, plain } from './fixtures/rdb/helpers.js';

const servers = serverGroup();
const dirs: string[] = [];
afterAll(async () => {
  await servers.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const start = (
  config: Record<string, string | number> = {},
  cluster = false,
  flavor: ServerFlavor = 'valkey',
) => servers.start({ config, cluster, flavor });

function client(s: TestServer): Valkey {
  return new Valkey({ port: s.port, host: s.host, lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** What a round trip must keep: DEBUG DIGEST, keys per db, streams, functions and every expiry. */
const snapshot = (c: Valkey) => serverState(c, { ignoreLayout: true, expires: true });

/** Writes `records` with our writer, loads the file into a fresh server and returns its snapshot. */
async function loadWritten(
  records: RdbRecord[],
  options: WriteRdbOptions,
  config: Record<string, string | number> = {},
  cluster = false,
  inspect?: (fresh: Valkey) => Promise<void>,
) {
  const dir = mkdtempSync(join(tmpdir(), 'vt-rdb-out-'));
  dirs.push(dir);
  await writeRdbFile(join(dir, 'out.rdb'), records, options);
  const fresh = await start({ ...config, dir, dbfilename: 'out.rdb' }, cluster);
  const c = client(fresh);
  try {
    await inspect?.(c);
    return { snap: await snapshot(c), file: join(dir, 'out.rdb') };
  } finally {
    c.disconnect();
  }
}

interface Case {
  name: string;
  /** Source server (the file we write is always loaded into valkey-server). */
  flavor?: 'valkey' | 'redis';
  config?: Record<string, string | number>;
  setup?: (c: Valkey) => Promise<void>;
  cluster?: boolean;
  check?: (keys: Map<string, KeyRecord>, records: RdbRecord[]) => void;
  /** Runs on the original server after the dataset is written. */
  after?: (c: Valkey) => Promise<void>;
  /** Runs on each server loaded from our file, before the snapshot. */
  loaded?: (fresh: Valkey, keys: Map<string, KeyRecord>) => Promise<void>;
  writes?: WriteRdbOptions[];
}

const hashtableEverything = async (c: Valkey) => {
  for (const [k, v] of [
    ['hash-max-listpack-entries', '0'],
    ['set-max-listpack-entries', '0'],
    ['set-max-intset-entries', '0'],
    ['zset-max-listpack-entries', '0'],
    ['list-max-listpack-size', '4'],
    ['list-compress-depth', '1'],
  ]) {
    await c.config('SET', k!, v!);
  }
};

const cases: Case[] = [
  {
    name: 'Redis 7.0 (RDB 10) -> Valkey: read a redis-server dump, write REDIS0011, load into valkey-server',
    flavor: 'redis',
    check(keys, records) {
      expect(records[0]).toMatchObject({ kind: 'header', version: 10 });
      expect(records.some((r) => r.kind === 'aux' && r.key.toString() === 'redis-ver')).toBe(true);
      expect(keys.get('stream:main')!.encoding).toBe('stream-listpacks2');
    },
  },
  {
    name: 'default config: compact encodings, several dbs, expiries, streams, functions',
    writes: [{}, { target: 10 }, { target: 9 }, { compact: false, compression: false }],
    check(keys, records) {
      const enc = (k: string) => keys.get(k)?.encoding;
      expect(enc('set:i16')).toBe('intset');
      expect(enc('set:i64')).toBe('intset');
      expect(enc('set:lp')).toBe('listpack');
      expect(enc('set:ht')).toBe('hashtable');
      expect(enc('zset:lp')).toBe('listpack');
      expect(enc('zset:sl')).toBe('skiplist');
      expect(enc('hash:lp')).toBe('listpack');
      expect(enc('hash:ht')).toBe('hashtable');
      expect(enc('list:long')).toBe('quicklist2');
      expect(enc('stream:main')).toBe('stream-listpacks3');
      expect(plain(keys.get('str:lzf')!.value)).toBe('abc'.repeat(200));
      expect(keys.get('str:bin')!.value).toEqual({
        type: 'string',
        value: Buffer.from([0, 255, 1, 254, 0x80, 10, 13, 0]),
      });
      expect(keys.get('str:expiring')!.expiresAt).toBe(FAR_EXPIRY_MS);
      expect(plain(keys.get('zset:lp')!.value)).toMatchObject({
        top: Infinity,
        bottom: -Infinity,
        huge: 1e100,
        neg: -0.1,
      });
      expect(records.filter((r) => r.kind === 'function')).toHaveLength(1);
      expect(records.filter((r) => r.kind === 'select-db').map((r) => (r as { db: number }).db)).toEqual([
        0, 1, 3,
      ]);
      const s = keys.get('stream:main')!.value;
      if (s.type !== 'stream') throw new Error('stream expected');
      expect(s.entries).toHaveLength(248);
      expect(s.groups.map((g) => g.name.toString())).toEqual(['g1', 'g2']);
      expect(s.groups[0]!.pending.map((p) => p.consumer.toString())).toEqual([
        'alice',
        'alice',
        'alice',
        'alice',
        'bob',
        'bob',
        'bob',
      ]);
      const empty = keys.get('stream:empty')!.value;
      expect(empty.type === 'stream' && empty.entries.length).toBe(0);
    },
  },
  {
    name: 'hashtable/skiplist/quicklist encodings with compressed quicklist nodes',
    setup: hashtableEverything,
    check(keys) {
      expect(keys.get('set:i16')!.encoding).toBe('hashtable');
      expect(keys.get('zset:lp')!.encoding).toBe('skiplist');
      expect(keys.get('hash:lp')!.encoding).toBe('hashtable');
      expect(keys.get('list:long')!.encoding).toBe('quicklist2');
    },
  },
  {
    name: 'rdbcompression no, rdbchecksum no',
    config: { rdbcompression: 'no', rdbchecksum: 'no' },
    writes: [{}, { checksum: false, compression: false }],
  },
  {
    name: 'LFU policy keeps frequencies',
    config: { 'maxmemory-policy': 'allkeys-lfu', 'lfu-decay-time': 0 },
    async after(c) {
      for (let i = 0; i < 300; i++) await c.get('str:plain');
    },
    check(keys) {
      expect(keys.get('str:plain')!.lfuFreq).toBeGreaterThan(5);
    },
    async loaded(fresh, keys) {
      expect(await fresh.call('OBJECT', 'FREQ', 'str:plain')).toBe(keys.get('str:plain')!.lfuFreq);
    },
  },
  {
    name: 'LRU policy keeps idle times',
    config: { 'maxmemory-policy': 'allkeys-lru' },
    async after(c) {
      // Idle for 2 s by the server's clock (OBJECT IDLETIME does not touch the key): the dump records >= 1.
      await waitFor(
        'str:plain to be idle for 2 s',
        async () => Number(await c.call('OBJECT', 'IDLETIME', 'str:plain')) >= 2,
        {
          intervalMs: 100,
        },
      );
    },
    check(keys) {
      expect(keys.get('str:plain')!.lruIdle).toBeGreaterThanOrEqual(1);
    },
    async loaded(fresh, keys) {
      expect(Number(await fresh.call('OBJECT', 'IDLETIME', 'str:plain'))).toBeGreaterThanOrEqual(
        keys.get('str:plain')!.lruIdle!,
      );
    },
  },
];

describe.concurrent('RDB round trip through valkey-server: SAVE -> readRdb -> writeRdb -> load -> DEBUG DIGEST', () => {
  it.each(cases)('$name', async (tc) => {
    const src = await start(tc.config ?? {}, false, tc.flavor);
    const c = client(src);
    try {
      await tc.setup?.(c);
      await buildEncodingsDataset(c);
      await tc.after?.(c);
      await c.call('SAVE');
      let before = await snapshot(c);
      if (tc.flavor === 'redis') {
        // Redis 7.0 and Valkey 8 digest zset scores differently: the reference is valkey-server
        // loading the original Redis file itself.
        const refDir = mkdtempSync(join(tmpdir(), 'vt-rdb-ref-'));
        dirs.push(refDir);
        copyFileSync(join(src.dir, 'dump.rdb'), join(refDir, 'dump.rdb'));
        const ref = await start({ dir: refDir });
        const rc = client(ref);
        before = await snapshot(rc);
        rc.disconnect();
      }
      const records = await collect(readRdbFile(join(src.dir, 'dump.rdb')));
      const keys = keysOf(records);
      expect(keys.size).toBe(Object.values(before.dbsize).reduce((a, b) => a + b, 0));
      tc.check?.(keys, records);
      for (const options of tc.writes ?? [{}]) {
        const { snap, file } = await loadWritten(records, options, tc.config ?? {}, false, (f) =>
          tc.loaded ? tc.loaded(f, keys) : Promise.resolve(),
        );
        if (options.target === 9 || options.target === 10) {
          // Older stream formats cannot hold consumer active-time (v3) / entries-read (v2): entries still match via the digest.
          expect({ ...snap, streams: null }, `written with ${JSON.stringify(options)}`).toEqual({
            ...before,
            streams: null,
          });
        } else {
          expect(snap, `written with ${JSON.stringify(options)}`).toEqual(before);
        }
        // and our own reader reads what we wrote to the same records
        const again = keysOf(await collect(readRdbFile(file)));
        expect([...again.keys()].sort()).toEqual([...keys.keys()].sort());
      }
    } finally {
      c.disconnect();
    }
  });

  it('cluster mode: slot-info aux, keys load into a fresh cluster node', async () => {
    const src = await start({}, true);
    const c = client(src);
    try {
      await c.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      await waitFor('the one-node cluster to be ok', async () =>
        String(await c.call('CLUSTER', 'INFO')).includes('cluster_state:ok'),
      );
      const p = c.pipeline();
      for (let i = 0; i < 200; i++) p.set(`k:${i}`, `v${i}`);
      p.sadd('{tag}set', '1', '2', '3');
      p.hset('{tag}hash', 'a', '1');
      await p.exec();
      await c.call('SAVE');
      const digest = String(await c.call('DEBUG', 'DIGEST'));
      const records = await collect(readRdbFile(join(src.dir, 'dump.rdb')));
      expect(records.some((r) => r.kind === 'aux' && r.key.toString() === 'slot-info')).toBe(true);
      expect(keysOf(records).size).toBe(202);
      const dir = mkdtempSync(join(tmpdir(), 'vt-rdb-out-'));
      dirs.push(dir);
      await writeRdbFile(join(dir, 'out.rdb'), records);
      const fresh = await start({ dir, dbfilename: 'out.rdb' }, true);
      const f = client(fresh);
      expect(String(await f.call('DEBUG', 'DIGEST'))).toBe(digest);
      expect(await f.dbsize()).toBe(202);
      f.disconnect();
    } finally {
      c.disconnect();
    }
  });
});

describe('writer details', () => {
  it('VALKEY080 target: per-field TTLs as HASH_2, read back by our reader', async () => {
    const records: RdbRecord[] = [
      {
        kind: 'key',
        db: 0,
        key: Buffer.from('h'),
        encoding: 'hashtable',
        value: {
          type: 'hash',
          entries: [
            { field: Buffer.from('F1'), value: Buffer.from('V1'), expiresAt: 2715785640000 },
            { field: Buffer.from('F2'), value: Buffer.from('V2') },
          ],
        },
      },
    ];
    const bytes = Buffer.concat(await collect(writeRdb(records, { target: 'VALKEY080' })));
    expect(bytes.subarray(0, 9).toString()).toBe('VALKEY080');
    const back = await collect(readRdb(bytes));
    expect(back[0]).toEqual({ kind: 'header', magic: 'VALKEY', version: 80, flavor: 'valkey' });
    const k = keysOf(back).get('h')!;
    expect(k.encoding).toBe('hashtable-ttl');
    expect(k.value).toEqual(records[0]!.kind === 'key' && records[0]!.value);
    await expect(collect(writeRdb(records))).rejects.toMatchObject({ code: 'ERR_RDB_UNSUPPORTED_VALUE' });
    const dropped = keysOf(
      await collect(readRdb(Buffer.concat(await collect(writeRdb(records, { fieldExpiry: 'drop' }))))),
    ).get('h')!;
    expect(dropped.encoding).toBe('listpack');
  });

  it('streams a key announced with its element count, and refuses a count that does not match', async () => {
    const members = Array.from({ length: 2000 }, (_, i) => Buffer.from(`m${i}`));
    const begin = {
      kind: 'key-begin',
      db: 0,
      key: Buffer.from('big'),
      encoding: 'hashtable',
      type: 'set',
      elements: 2000,
    } as const;
    const parts = [0, 1000].map(
      (i) =>
        ({
          kind: 'key-part',
          db: 0,
          key: Buffer.from('big'),
          value: { type: 'set', members: members.slice(i, i + 1000) },
        }) as const,
    );
    const end = { kind: 'key-end', db: 0, key: Buffer.from('big'), size: 2000 } as const;
    const bytes = Buffer.concat(await collect(writeRdb([begin, ...parts, end])));
    const back = keysOf(await collect(readRdb(bytes))).get('big')!;
    expect(back.encoding).toBe('hashtable');
    expect(back.value.type === 'set' && back.value.members.length).toBe(2000);
    await expect(collect(writeRdb([{ ...begin, elements: 2001 }, ...parts, end]))).rejects.toMatchObject({
      code: 'ERR_RDB_BAD_RECORD',
    });
    await expect(collect(writeRdb([{ ...begin, elements: 1999 }, ...parts, end]))).rejects.toMatchObject({
      code: 'ERR_RDB_BAD_RECORD',
    });
  });

  it('refuses records valkey-server could not load, naming the key', async () => {
    const key = (value: Value): RdbRecord => ({
      kind: 'key',
      db: 0,
      key: Buffer.from('k'),
      encoding: '',
      value,
    });
    const b = (x: string) => Buffer.from(x);
    const bad: Value[] = [
      { type: 'set', members: [b('a'), b('a')] },
      {
        type: 'hash',
        entries: [
          { field: b('f'), value: b('1') },
          { field: b('f'), value: b('2') },
        ],
      },
      { type: 'zset', entries: [{ member: b('m'), score: Number.NaN }] },
      {
        type: 'stream',
        entries: [
          { id: { ms: 2n, seq: 0n }, fields: [[b('a'), b('1')]] },
          { id: { ms: 1n, seq: 0n }, fields: [[b('a'), b('1')]] },
        ],
        length: 2n,
        lastId: { ms: 2n, seq: 0n },
        groups: [],
      },
      {
        type: 'stream',
        entries: [],
        length: 0n,
        lastId: { ms: 2n, seq: 0n },
        groups: [
          {
            name: b('g'),
            lastId: { ms: 2n, seq: 0n },
            pending: [{ id: { ms: 1n, seq: 0n }, deliveryTime: 1, deliveryCount: 1, consumer: b('ghost') }],
            consumers: [],
          },
        ],
      },
    ];
    for (const v of bad) {
      await expect(collect(writeRdb([key(v)]))).rejects.toMatchObject({
        code: 'ERR_RDB_BAD_RECORD',
        details: { key: 'k' },
      });
    }
  });

  it('createRdbWriteStream pipes; checkDuplicateKeys catches a key written twice', async () => {
    const rec: RdbRecord = {
      kind: 'key',
      db: 0,
      key: Buffer.from('a'),
      encoding: '',
      value: { type: 'string', value: Buffer.from('b') },
    };
    const bytes = Buffer.concat(await collect(createRdbWriteStream([rec])));
    expect(keysOf(await collect(readRdb(bytes))).get('a')!.value).toEqual({
      type: 'string',
      value: Buffer.from('b'),
    });
    await expect(collect(writeRdb([rec, rec], { checkDuplicateKeys: true }))).rejects.toMatchObject({
      code: 'ERR_RDB_BAD_RECORD',
      details: { key: 'a' },
    });
    expect(await collect(writeRdb([rec, { ...rec, db: 1 }], { checkDuplicateKeys: true }))).not.toHaveLength(
      0,
    );
  });

  it('writes a file atomically and leaves no temp file on failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vt-rdb-atomic-'));
    dirs.push(dir);
    const path = join(dir, 'x.rdb');
    const res = await writeRdbFile(path, [
      {
        kind: 'key',
        db: 0,
        key: Buffer.from('a'),
        encoding: 'string',
        value: { type: 'string', value: Buffer.from('b') },
      },
    ]);
    expect(res.keys).toBe(1);
    expect(readFileSync(path).subarray(0, 9).toString()).toBe('REDIS0011');
    async function* bad(): AsyncGenerator<RdbRecord> {
      yield {
        kind: 'key',
        db: 0,
        key: Buffer.from('a'),
        encoding: 'string',
        value: { type: 'string', value: Buffer.from('b') },
      };
      throw new Error('source failed');
    }
    await expect(writeRdbFile(path, bad())).rejects.toThrow('source failed');
    expect(readFileSync(path).subarray(0, 9).toString()).toBe('REDIS0011');
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir)).toEqual(['x.rdb']);
  });
});
