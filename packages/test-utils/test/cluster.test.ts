import { afterAll, describe, expect, it } from 'vitest';
import { Cluster } from 'iovalkey';
import {
  clusterDigest,
  FAR_EXPIRY_MS,
  startTestCluster,
  startTestServer,
  type TestCluster,
} from '../src/index.js';

describe.concurrent('startTestCluster', () => {
  const clusters: TestCluster[] = [];
  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
  });

  it('starts 3 primaries and 3 replicas by default, all slots served', async () => {
    const c = await startTestCluster();
    clusters.push(c);
    expect(c.nodes).toHaveLength(6);
    expect(c.replicas.map((r) => r.primaryId).sort()).toEqual(c.primaries.map((p) => p.nodeId).sort());
    for (const node of c.nodes) {
      const info = await node.command('CLUSTER', 'INFO');
      expect(info).toMatch(/cluster_state:ok/);
      expect(info).toMatch(/cluster_slots_assigned:16384/);
    }
    const primary = c.primaries[0]!;
    expect(await primary.command('DEBUG', 'SLEEP', '0')).toBe('+OK\r\n');
    await c.stop();
    await expect(primary.command('PING')).rejects.toThrow();
  });

  it('starts a Redis 7 cluster too, for migration tests', async () => {
    const c = await startTestCluster({ flavor: 'redis', replicasPerPrimary: 0 });
    clusters.push(c);
    expect(await c.nodes[0]!.command('INFO', 'server')).toMatch(/redis_version:7\./);
    expect(await c.nodes[2]!.command('CLUSTER', 'INFO')).toMatch(/cluster_state:ok/);
  });

  it('starts primaries only', async () => {
    const c = await startTestCluster({ primaries: 3, replicasPerPrimary: 0 });
    clusters.push(c);
    expect(c.nodes.map((n) => n.role)).toEqual(['primary', 'primary', 'primary']);
    expect(await c.nodes[1]!.command('CLUSTER', 'INFO')).toMatch(/cluster_size:3/);
  });

  it.each([2, 3])(
    'clusterDigest of %i primaries is the DEBUG DIGEST of one server with the same keys',
    async (n) => {
      const [c, single] = await Promise.all([
        startTestCluster({ primaries: n, replicasPerPrimary: 0 }),
        startTestServer(),
      ]);
      clusters.push(c);
      try {
        const empty = await single.command('DEBUG', 'DIGEST');
        expect(`+${await clusterDigest(c.primaries)}\r\n`).toBe(empty);
        const client = new Cluster([{ host: c.primaries[0]!.host, port: c.primaries[0]!.port }]);
        try {
          for (let i = 0; i < 300; i++) {
            const args = [`k${i}`, `v${i}`, ...(i % 4 === 0 ? ['PXAT', String(FAR_EXPIRY_MS - i)] : [])];
            await client.call('SET', ...args);
            await single.command('SET', ...args);
          }
          await client.call('RPUSH', 'list', 'a', 'b');
          await single.command('RPUSH', 'list', 'a', 'b');
        } finally {
          client.disconnect();
        }
        const want = await single.command('DEBUG', 'DIGEST');
        expect(want).not.toBe(empty);
        expect(`+${await clusterDigest(c.primaries)}\r\n`).toBe(want);
        // one element more anywhere shows
        await single.command('RPUSH', 'list', 'c');
        expect(`+${await clusterDigest(c.primaries)}\r\n`).not.toBe(await single.command('DEBUG', 'DIGEST'));
      } finally {
        await single.stop();
      }
    },
  );
});
