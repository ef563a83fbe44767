import {
  type TestCluster,
  type TestServer,
  startTestCluster,
  startTestServer,
  waitFor,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIndex } from '../src/create-index.js';
import { blockStored } from '../src/events.js';
import { KvCacheIndexer } from '../src/indexer.js';
import { silentLogger } from '../src/logger.js';
import { LlmdLayoutIndex } from '../src/llmd-layout-index.js';
import { ValkeyIndex, newLlmdLayoutIndex, newRedisIndex, newValkeyIndex } from '../src/valkey-index.js';
import { describeIndexBehaviour, describeScopeRule } from './index-behaviour.js';

let valkey: TestServer;
let redis: TestServer;
let cluster: TestCluster;
let namespace = 0;
const socketPath = join(tmpdir(), `kv-index-${process.pid}.sock`);
const nextPrefix = () => `t${process.pid}n${++namespace}`;

beforeAll(async () => {
  [valkey, redis, cluster] = await Promise.all([
    startTestServer({ config: { unixsocket: socketPath, unixsocketperm: 700 } }),
    startTestServer({ flavor: 'redis' }),
    startTestCluster({ primaries: 3, replicasPerPrimary: 1 }),
  ]);
});
afterAll(async () => {
  await Promise.all([valkey?.stop(), redis?.stop(), cluster?.stop()]);
});

describeIndexBehaviour(
  'valkey-server',
  () => newValkeyIndex({ address: valkey.url, keyPrefix: nextPrefix() }),
  {
    model: 'llama',
  },
);
describeIndexBehaviour('valkey-server, unscoped', () =>
  newValkeyIndex({ address: `127.0.0.1:${valkey.port}`, keyPrefix: nextPrefix() }),
);
describeIndexBehaviour(
  'redis-server 7.0',
  () => newRedisIndex({ address: redis.url, keyPrefix: nextPrefix() }),
  {
    model: 'llama',
  },
);
describeIndexBehaviour(
  'valkey cluster (3 primaries)',
  () => newValkeyIndex({ address: cluster.seeds[0]!, keyPrefix: nextPrefix() }),
  { model: 'llama' },
);
describeScopeRule('valkey-server', () => newValkeyIndex({ address: valkey.url, keyPrefix: nextPrefix() }));
describeScopeRule('valkey cluster (3 primaries)', () =>
  newValkeyIndex({ address: cluster.seeds[0]!, keyPrefix: nextPrefix() }),
);

describe('ValkeyIndex on a cluster', () => {
  it('detects cluster mode and spreads models over nodes by hash tag', async () => {
    const index = await newValkeyIndex({ address: cluster.seeds[0]!, keyPrefix: nextPrefix() });
    try {
      expect(index.cluster).toBe(true);
      const models = Array.from({ length: 12 }, (_, i) => `model-${i}`);
      for (const model of models)
        await index.add([1n], [1n, 2n, 3n], [{ pod: 'p1', tier: 'gpu' }], { model });
      const perNode = await Promise.all(cluster.primaries.map((n) => n.command('DBSIZE')));
      const counts = perNode.map((r) => Number(/:(\d+)/.exec(r)![1]));
      expect(counts.filter((c) => c > 0).length).toBeGreaterThan(1);
      await index.clear('p1');
      for (const model of models) expect((await index.lookup([1n], undefined, { model })).size).toBe(0);
    } finally {
      await index.close();
    }
  });
});

function commandStats(info: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/cmdstat_([a-z|_-]+):calls=(\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('ValkeyIndex reading from cluster replicas', () => {
  it('sends lookups to replicas when readFromReplicas is set', async () => {
    const index = await newValkeyIndex({
      address: cluster.seeds[0]!,
      keyPrefix: nextPrefix(),
      readFromReplicas: true,
    });
    try {
      const scope = { model: 'hot-model' };
      await index.add(null, [1n, 2n], [{ pod: 'p', tier: 'gpu' }], scope);
      const before = await Promise.all(cluster.replicas.map((n) => n.command('INFO', 'commandstats')));
      // Replicas see the write once it has replicated.
      await waitFor(
        'the replicas to serve both blocks',
        async () => (await index.lookup([1n, 2n], undefined, scope)).size === 2,
      );
      const after = await Promise.all(cluster.replicas.map((n) => n.command('INFO', 'commandstats')));
      const calls = (info: string) => Number(/cmdstat_evalsha_ro:calls=(\d+)/.exec(info)?.[1] ?? 0);
      const served = after.reduce((sum, info, i) => sum + calls(info) - calls(before[i]!), 0);
      expect(served).toBeGreaterThan(0);
    } finally {
      await index.close();
    }
  });
});

describe('ValkeyIndex on a single server', () => {
  it('walks a 256-block prefix in one round trip', async () => {
    const index = await newValkeyIndex({ address: valkey.url, keyPrefix: nextPrefix() });
    try {
      const keys = Array.from({ length: 256 }, (_, i) => BigInt(i) + 1n);
      await index.add(null, keys, [{ pod: 'p', tier: 'gpu' }], { model: 'm' });
      const before = commandStats(await valkey.command('INFO', 'commandstats'));
      const hits = await index.lookup(keys, undefined, { model: 'm' });
      const after = commandStats(await valkey.command('INFO', 'commandstats'));
      expect(hits.size).toBe(256);
      const delta: Record<string, number> = {};
      for (const [cmd, calls] of Object.entries(after)) {
        const d = calls - (before[cmd] ?? 0);
        if (d > 0 && cmd !== 'info') delta[cmd] = d;
      }
      // one EVALSHA from the client; the 256 HKEYS run inside the script
      expect(delta).toEqual({ evalsha_ro: 1, hkeys: 256 });
    } finally {
      await index.close();
    }
  });

  it('reloads its scripts after SCRIPT FLUSH', async () => {
    const index = await newValkeyIndex({ address: valkey.url, keyPrefix: nextPrefix() });
    try {
      await index.add(null, [1n], [{ pod: 'p', tier: 'gpu' }]);
      await valkey.command('SCRIPT', 'FLUSH');
      expect((await index.lookup([1n])).size).toBe(1);
      await valkey.command('SCRIPT', 'FLUSH');
      await index.evict(1n, 'request', [{ pod: 'p', tier: 'gpu' }]);
      expect((await index.lookup([1n])).size).toBe(0);
    } finally {
      await index.close();
    }
  });

  it('refreshes the TTL of touched keys, the pod set and the pod-models set on add', async () => {
    const keyPrefix = nextPrefix();
    const index = await newValkeyIndex({ address: valkey.url, keyPrefix, ttlSeconds: 100 });
    try {
      await index.add([7n], [70n], [{ pod: 'p', tier: 'gpu' }], { model: 'm' });
      const ttl = await valkey.command('TTL', `${keyPrefix}:{m:m}:r:70`);
      expect(Number(ttl.slice(1))).toBeGreaterThan(90);
      expect(Number((await valkey.command('TTL', `${keyPrefix}:{m:m}:e:7`)).slice(1))).toBeGreaterThan(90);
      expect(Number((await valkey.command('TTL', `${keyPrefix}:{m:m}:p:p`)).slice(1))).toBeGreaterThan(90);
      // the pod's model list expires too (it used to live forever), and is refreshed on every add
      await valkey.command('EXPIRE', `${keyPrefix}:pod-models:p`, '5');
      await index.add(null, [71n], [{ pod: 'p', tier: 'gpu' }], { model: 'm' });
      expect(Number((await valkey.command('TTL', `${keyPrefix}:pod-models:p`)).slice(1))).toBeGreaterThan(90);
    } finally {
      await index.close();
    }
  });

  it('clears a pod through its reverse index, not a keyspace scan', async () => {
    const keyPrefix = nextPrefix();
    const index = await newValkeyIndex({ address: valkey.url, keyPrefix });
    try {
      const keys = Array.from({ length: 1000 }, (_, i) => BigInt(i) + 1n);
      await index.add(null, keys, [{ pod: 'p', tier: 'gpu' }], { model: 'm' });
      await index.add(null, keys.slice(0, 10), [{ pod: 'q', tier: 'gpu' }], { model: 'm' });
      const scansBefore =
        /cmdstat_scan:calls=(\d+)/.exec(await valkey.command('INFO', 'commandstats'))?.[1] ?? '0';
      await index.clear('p');
      const scansAfter =
        /cmdstat_scan:calls=(\d+)/.exec(await valkey.command('INFO', 'commandstats'))?.[1] ?? '0';
      expect(scansAfter).toBe(scansBefore);
      expect((await index.lookup(keys, undefined, { model: 'm' })).size).toBe(10);
      expect(await valkey.command('EXISTS', `${keyPrefix}:{m:m}:p:p`)).toBe(':0\r\n');
    } finally {
      await index.close();
    }
  });

  it('accepts every address form and reports unreachable servers clearly', async () => {
    const forms = [
      `valkey://127.0.0.1:${valkey.port}`,
      `redis://127.0.0.1:${valkey.port}/0`,
      `127.0.0.1:${valkey.port}`,
    ];
    for (const address of forms) {
      const index: ValkeyIndex = await newValkeyIndex({ address, keyPrefix: 'forms' });
      expect(index.backendType).toBe('valkey');
      await index.add(null, [BigInt(forms.indexOf(address) + 1)], [{ pod: 'p', tier: 'gpu' }]);
      expect((await index.lookup([1n, 2n, 3n, 4n, 5n])).size).toBe(forms.indexOf(address) + 1);
      await index.close();
    }
    await expect(
      newValkeyIndex({ address: 'valkey://127.0.0.1:1', connectTimeoutMs: 2000 }),
    ).rejects.toMatchObject({
      code: 'ERR_CONNECTION',
    });
    await expect(
      newValkeyIndex({ address: 'valkeys://127.0.0.1:1', connectTimeoutMs: 2000 }),
    ).rejects.toMatchObject({
      code: 'ERR_CONNECTION',
    });
    await expect(newValkeyIndex({ address: 'ftp://x' })).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
    });
  });
});

describe('llm-d config compatibility', () => {
  it('forces backendType valkey, warns once about RDMA and uses TCP', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === 'VALKEY_TOOLS_KVCACHE_RDMA') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const a = await newValkeyIndex({
        address: valkey.url,
        backendType: 'redis',
        enableRDMA: true,
        keyPrefix: nextPrefix(),
      });
      const b = await newValkeyIndex({ address: valkey.url, enableRDMA: true, keyPrefix: nextPrefix() });
      expect(a.backendType).toBe('valkey');
      await a.add(null, [1n], [{ pod: 'p', tier: 'gpu' }]);
      expect((await a.lookup([1n])).size).toBe(1);
      await Promise.all([a.close(), b.close()]);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([
        'RDMA requested for Valkey but the Node client has no RDMA transport - using TCP',
      ]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('createIndex uses the Valkey config when both Valkey and Redis are given', async () => {
    const index = await createIndex({
      redisConfig: { address: redis.url },
      valkeyConfig: { address: valkey.url, keyPrefix: nextPrefix() },
    });
    try {
      expect(index).toBeInstanceOf(ValkeyIndex);
      expect((index as ValkeyIndex).address).toContain(String(valkey.port));
    } finally {
      await index.close();
    }
  });
});

describe('ValkeyIndex resilience', () => {
  it('holds events while the server restarts and applies them when it is back (no loss)', async () => {
    const first = await startTestServer();
    const port = first.port;
    const index = await newValkeyIndex({
      address: first.url,
      keyPrefix: nextPrefix(),
      connectTimeoutMs: 1000,
    });
    const indexer = new KvCacheIndexer({ index, tokenProcessor: { blockSize: 4 }, logger: silentLogger });
    const processor = indexer.createEventProcessor({ retryTimeoutMs: 30_000 });
    let second: TestServer | undefined;
    try {
      await first.stop();
      const applying = processor.applyBatch('pod-r', 'm', {
        ts: 0,
        dataParallelRank: null,
        events: [blockStored({ blockHashes: [1n], tokenIds: [1, 2, 3, 4], blockSize: 4 })],
      });
      // The batch has failed against the stopped server and waits to be retried.
      await waitFor(
        'the batch to be retried while the server is down',
        () => indexer.eventMetrics.retries.get() > 0,
      );
      // The same port: test-utils keeps it reserved for this process.
      second = await startTestServer({ port });
      await applying;
      expect(indexer.eventMetrics.retries.get()).toBeGreaterThan(0);
      expect(indexer.eventMetrics.processingErrors.get()).toBe(0);
      expect(Object.fromEntries(await indexer.scoreTokens([1, 2, 3, 4], 'm'))).toEqual({ 'pod-r': 1 });
    } finally {
      await indexer.close();
      await second?.stop();
    }
  });

  it('reconnects after the server restarts and reports errors while it is down', async () => {
    const first = await startTestServer();
    const port = first.port;
    const index = await newValkeyIndex({
      address: first.url,
      keyPrefix: nextPrefix(),
      connectTimeoutMs: 1000,
    });
    let second: TestServer | undefined;
    try {
      await index.add(null, [1n], [{ pod: 'p', tier: 'gpu' }], { model: 'm' });
      await first.stop();
      await expect(index.lookup([1n], undefined, { model: 'm' })).rejects.toMatchObject({
        code: 'ERR_BACKEND',
      });
      second = await startTestServer({ port });
      const hits = await waitFor(
        'the index to reconnect',
        () => index.lookup([1n], undefined, { model: 'm' }).catch(() => undefined),
        { intervalMs: 100 },
      );
      // the restarted server is empty (no persistence): the index works again and finds nothing
      expect(hits.size).toBe(0);
    } finally {
      await index.close();
      await second?.stop();
    }
  });
});

describe("llm-d's key layout (layout: 'llm-d')", () => {
  // no key prefix in llm-d's layout: every index gets a database of its own (16 per server)
  let suiteServer: TestServer;
  let dbServer: TestServer;
  let suiteDb = 0;
  let db = 0;
  beforeAll(async () => {
    [suiteServer, dbServer] = await Promise.all([startTestServer(), startTestServer()]);
  });
  afterAll(async () => {
    await Promise.all([suiteServer?.stop(), dbServer?.stop()]);
  });
  const suiteIndex = () =>
    newLlmdLayoutIndex({ address: `redis://127.0.0.1:${suiteServer.port}/${suiteDb++}` });
  const fresh = () => newLlmdLayoutIndex({ address: `redis://127.0.0.1:${dbServer.port}/${db++}` });

  describeIndexBehaviour('llm-d layout, valkey-server', suiteIndex, { model: 'llama' }, false);

  const entryJson = (pod: string, tier: string, group?: number) =>
    `{"PodIdentifier":"${pod}","DeviceTier":"${tier}","Speculative":false,"HasGroup":${group !== undefined},"GroupIdx":${group ?? 0}}`;

  for (const where of ['valkey-server', 'valkey cluster'] as const) {
    const base = where === 'valkey-server' ? 0n : 7_000_000_000n;
    const open = () =>
      where === 'valkey-server'
        ? fresh()
        : newLlmdLayoutIndex({ address: cluster.seeds[0]!, backendType: 'valkey' });
    const raw = async (index: LlmdLayoutIndex, ...args: string[]) =>
      (index as unknown as { client: { call: (...a: string[]) => Promise<unknown> } }).client.call(...args);

    it(`finds keys written in llm-d's format with raw commands (${where})`, async () => {
      const index = await open();
      try {
        const [r1, r2, r3] = [base + 101n, base + 102n, base + 103n];
        // what llm-d's Add writes: HSET <decimal> <json PodEntry> "" and ZADD engine:<decimal> <i> <rk>
        await raw(index, 'HSET', `${r1}`, entryJson('pod-a', 'gpu'), '', entryJson('pod-b', 'cpu', 2), '');
        await raw(index, 'HSET', `${r2}`, entryJson('pod-a', 'gpu'), '');
        await raw(index, 'HSET', `${r3}`, entryJson('pod-b', 'gpu'), '');
        await raw(index, 'ZADD', `engine:${base + 11n}`, '0', `${r1}`, '1', `${r2}`);
        const hits = await index.lookup([r1, r2, r3, base + 104n]);
        expect([...hits.keys()]).toEqual([r1, r2, r3]);
        expect(hits.get(r1)).toEqual(
          expect.arrayContaining([
            { pod: 'pod-a', tier: 'gpu' },
            { pod: 'pod-b', tier: 'cpu', group: 2 },
          ]),
        );
        expect([...(await index.lookup([r1, r2, r3], ['pod-a'])).keys()]).toEqual([r1, r2]);
        // the parent is the highest-scored member, as llm-d's GetRequestKey reads it
        expect(await index.getRequestKey(base + 11n)).toBe(r2);
        await index.evict(base + 11n, 'engine', [{ pod: 'pod-a', tier: 'gpu' }]);
        expect(await raw(index, 'EXISTS', `${r2}`)).toBe(0); // emptied and pruned, as llm-d does
        expect(await raw(index, 'EXISTS', `engine:${base + 11n}`)).toBe(1); // r1 still holds pod-b
        await index.clear('pod-b');
        expect(await raw(index, 'EXISTS', `${r1}`)).toBe(0);
        expect(await raw(index, 'EXISTS', `${r3}`)).toBe(0);
      } finally {
        await index.close();
      }
    });

    it(`writes what llm-d's code reads: JSON fields, sorted-set scores, no other key types (${where})`, async () => {
      const index = await open();
      try {
        const rks = [base + 201n, base + 202n, base + 203n, base + 204n];
        // 1:many (two engine blocks over four request blocks), as llm-d maps them
        await index.add([base + 21n, base + 22n], rks, [
          { pod: 'pod-a', tier: 'GPU' },
          { pod: 'pod-b', tier: 'gpu', group: 1 },
        ]);
        const fields = (await raw(index, 'HKEYS', `${rks[0]}`)) as string[];
        expect(fields.sort()).toEqual([entryJson('pod-a', 'gpu'), entryJson('pod-b', 'gpu', 1)].sort());
        expect(await raw(index, 'HGET', `${rks[0]}`, entryJson('pod-a', 'gpu'))).toBe('');
        expect(await raw(index, 'ZRANGE', `engine:${base + 21n}`, '0', '-1', 'WITHSCORES')).toEqual([
          `${rks[0]}`,
          '0',
          `${rks[1]}`,
          '1',
        ]);
        expect(await raw(index, 'ZRANGE', `engine:${base + 22n}`, '0', '-1', 'WITHSCORES')).toEqual([
          `${rks[2]}`,
          '2',
          `${rks[3]}`,
          '3',
        ]);
        // llm-d's Clear runs HKEYS on every key but engine:*: every such key is a hash
        for (const key of [...rks.map(String), `engine:${base + 21n}`, `engine:${base + 22n}`]) {
          const type = await raw(index, 'TYPE', key);
          expect(type).toBe(key.startsWith('engine:') ? 'zset' : 'hash');
        }
        if (where === 'valkey-server') {
          const keys = (await raw(index, 'KEYS', '*')) as string[];
          for (const key of keys)
            expect(await raw(index, 'TYPE', key)).toBe(key.startsWith('engine:') ? 'zset' : 'hash');
          expect(keys).toHaveLength(6);
        }
      } finally {
        await index.close();
      }
    });
  }

  it('is chosen by createIndex with layout "llm-d"', async () => {
    const index = await createIndex({
      valkeyConfig: { address: `redis://127.0.0.1:${dbServer.port}/${db++}`, layout: 'llm-d' },
    });
    try {
      expect(index).toBeInstanceOf(LlmdLayoutIndex);
      await expect(newValkeyIndex({ address: dbServer.url, layout: 'llm-d' })).rejects.toMatchObject({
        code: 'ERR_INVALID_CONFIG',
      });
    } finally {
      await index.close();
    }
  });
});
