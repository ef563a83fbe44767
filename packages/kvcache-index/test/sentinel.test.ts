/**
 * The Valkey-backed index through a Sentinel URL, on a real deployment (a primary, two replicas,
 * three Sentinels on loopback, with a server password and a Sentinel password): it lives on the
 * primary the Sentinels name and, being long-running (`reconnect: true`), follows a failover to
 * the new primary.
 */
import {
  type SentinelTopology,
  type TestServer,
  startSentinelTopology,
  waitFor,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { scoreTokensAtAddress } from '../src/service.js';
import { newValkeyIndex } from '../src/valkey-index.js';

const SERVER_PASSWORD = 'kv-srv-secret-3';
const SENTINEL_PASSWORD = 'kv-sen-secret-5';
const gpu = (pod: string) => [{ pod, tier: 'gpu' }];

let topo: SentinelTopology;

beforeAll(async () => {
  topo = await startSentinelTopology({ password: SERVER_PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
});
afterAll(async () => {
  await topo?.stop();
});

/** The keys under `prefix` on one node, read on a connection of its own. */
async function keysOn(server: TestServer, prefix: string): Promise<string[]> {
  const c = topo.client(server);
  try {
    return (await c.keys(`${prefix}:*`)).sort();
  } finally {
    c.disconnect();
  }
}

/** Clients connected to the Sentinels, all together (counting the connection that asks). */
async function sentinelClients(): Promise<number> {
  let total = 0;
  for (const s of topo.sentinels) {
    const c = new Redis({ port: s.port, password: SENTINEL_PASSWORD, maxRetriesPerRequest: 0 });
    try {
      total += Number(/connected_clients:(\d+)/.exec(String(await c.info('clients')))![1]);
    } finally {
      c.disconnect();
    }
  }
  return total;
}

describe('the Valkey index through Sentinels', () => {
  it('lives on the primary the Sentinels name, and leaves no connection to them once closed', async () => {
    const baseline = await sentinelClients();
    const index = await newValkeyIndex({ address: topo.url, keyPrefix: 'kvs', logger: silentLogger });
    try {
      await index.add([11n], [1n], gpu('pod-a'), { model: 'm' });
      expect((await index.lookup([1n], undefined, { model: 'm' })).get(1n)).toEqual(gpu('pod-a'));
      const primary = await topo.primary();
      expect(await keysOn(primary, 'kvs')).toContain('kvs:{m:m}:r:1');
      // `kvcache score` opens the index the same way, for one scoring.
      const scored = await scoreTokensAtAddress({
        address: topo.url,
        keyPrefix: 'kvs',
        model: 'm',
        tokens: [1, 2, 3, 4],
        tokenProcessor: { blockSize: 4 },
        logger: silentLogger,
      });
      expect(scored.blocks).toBe(1);
      // The index listens to every Sentinel for failovers.
      expect(await sentinelClients()).toBeGreaterThanOrEqual(baseline + topo.sentinels.length);
    } finally {
      await index.close();
    }
    // Those connections end with it (else they would keep a one-shot process, `kvcache score`, alive).
    await waitFor(
      'the index to close its connections to the Sentinels',
      async () => (await sentinelClients()) === baseline,
      {
        timeoutMs: 15_000,
      },
    );
  });

  it('follows a failover: a write once it is over lands on the new primary, and earlier data is there', async () => {
    const index = await newValkeyIndex({ address: topo.url, keyPrefix: 'kvf', logger: silentLogger });
    try {
      await index.add([21n], [1n], gpu('pod-a'), { model: 'm' });
      const { from, to } = await topo.failover();
      expect(to).not.toBe(from);
      // The first write after the failover, with no wait: it must reach the new primary (a write
      // to the old one, still a primary until the Sentinels demote it, would be lost then).
      await index.add([22n], [2n], gpu('pod-b'), { model: 'm' });
      expect(await keysOn(to, 'kvf')).toContain('kvf:{m:m}:r:2');
      // And once the old primary is demoted (it then replicates from the new one), the index still
      // reads and writes.
      await topo.settled();
      await index.add([23n], [3n], gpu('pod-c'), { model: 'm' });
      const found = await index.lookup([1n, 2n, 3n], undefined, { model: 'm' });
      expect([...found.entries()]).toEqual([
        [1n, gpu('pod-a')],
        [2n, gpu('pod-b')],
        [3n, gpu('pod-c')],
      ]);
      expect(await keysOn(to, 'kvf')).toContain('kvf:{m:m}:r:3');
    } finally {
      await index.close();
    }
  });
});
