import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'iovalkey';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLUSTER_SLOTS,
  type ClusterHandle,
  listClusters,
  listServers,
  ReplyError,
  startCluster,
  stopCluster,
} from '../src/index.js';
import {
  freeClusterPorts,
  isRunning,
  registerPid,
  TEST_CLUSTER_NODE_TIMEOUT_MS,
  unregisterExited,
  waitForExit,
} from '@valkey-tools/test-utils';
import { fixtureArgs } from './helpers.js';

const execFileAsync = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), 'vt-cluster-'));
const clusters: ClusterHandle[] = [];
const fastNodes = { appendonly: false, save: '' } as const;

const alive = isRunning;

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.stop({ timeoutMs: 2000 })));
  unregisterExited();
  rmSync(home, { recursive: true, force: true });
});

describe.concurrent('startCluster', () => {
  it('starts 3 primaries + 3 replicas covering all 16384 slots, usable by a cluster client', async () => {
    const steps: string[] = [];
    const cluster = await startCluster({
      home,
      name: 'six',
      onStatus: (m) => steps.push(m),
      basePort: await freeClusterPorts(6),
      nodeTimeoutMs: TEST_CLUSTER_NODE_TIMEOUT_MS,
      config: fastNodes,
      onSpawn: registerPid,
    });
    clusters.push(cluster);
    expect(cluster.nodes).toHaveLength(6);
    expect(cluster.primaries).toHaveLength(3);
    expect(cluster.replicas).toHaveLength(3);
    expect(cluster.seeds).toHaveLength(6);
    expect(steps[0]).toMatch(/^starting 6 nodes \(3 primaries, 1 replica\(s\) each\)/);
    expect(steps.at(-1)).toBe(`cluster "six" ready: ${cluster.seeds[0]}`);
    expect(cluster.primaries.map((p) => p.slots)).toEqual([
      [0, 5460],
      [5461, 10921],
      [10922, 16383],
    ]);
    for (const node of cluster.nodes) {
      const info = String(await node.command('CLUSTER', 'INFO'));
      expect(info).toMatch(/cluster_state:ok/);
      expect(info).toMatch(`cluster_slots_assigned:${CLUSTER_SLOTS}`);
      expect(info).toMatch(/cluster_known_nodes:6/);
      expect(info).toMatch(/cluster_size:3/);
    }
    for (const replica of cluster.replicas) {
      const info = String(await replica.command('INFO', 'replication'));
      expect(info).toMatch(/role:slave/);
      expect(info).toMatch(/master_link_status:up/);
      expect(cluster.primaries.map((p) => p.nodeId)).toContain(replica.primaryId);
    }
    // A key sent to the wrong primary is redirected.
    const slot = Number(await cluster.nodes[0]!.command('CLUSTER', 'KEYSLOT', 'foo'));
    const owner = cluster.primaries.find((p) => slot >= p.slots![0] && slot <= p.slots![1])!;
    const other = cluster.primaries.find((p) => p !== owner)!;
    const moved = await other.command('SET', 'foo', 'bar');
    expect(moved).toBeInstanceOf(ReplyError);
    expect((moved as ReplyError).message).toBe(`MOVED ${slot} 127.0.0.1:${owner.port}`);

    const client = new Cluster(
      cluster.seeds
        .slice(0, 1)
        .map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) })),
      { lazyConnect: true },
    );
    try {
      await client.connect();
      for (let i = 0; i < 50; i++) await client.set(`key:${i}`, String(i));
      for (let i = 0; i < 50; i++) expect(await client.get(`key:${i}`)).toBe(String(i));
      const counts = await Promise.all(cluster.primaries.map((p) => p.command('DBSIZE')));
      expect(counts.every((c) => Number(c) > 0)).toBe(true);
    } finally {
      client.disconnect();
    }
    expect((await listClusters({ home })).find((c) => c.name === 'six')).toMatchObject({
      running: 6,
      primaries: 3,
    });
  });

  it('starts primaries only, and is stopped by name from another process', async () => {
    const cluster = await startCluster({
      home,
      name: 'three',
      primaries: 3,
      replicasPerPrimary: 0,
      basePort: await freeClusterPorts(3),
      nodeTimeoutMs: TEST_CLUSTER_NODE_TIMEOUT_MS,
      config: fastNodes,
      onSpawn: registerPid,
    });
    clusters.push(cluster);
    expect(cluster.nodes.map((n) => n.role)).toEqual(['primary', 'primary', 'primary']);
    expect(String(await cluster.nodes[2]!.command('CLUSTER', 'INFO'))).toMatch(/cluster_state:ok/);
    const { stdout } = await execFileAsync(
      process.execPath,
      fixtureArgs('stop-server', home, 'cluster', 'three'),
    );
    expect(JSON.parse(stdout).stopped).toBe('three');
    for (const node of cluster.nodes) await waitForExit(node.pid, `node ${node.port} of the stopped cluster`);
    expect((await listServers({ home })).filter((s) => s.cluster === 'three')).toEqual([]);
    expect((await listClusters({ home })).map((c) => c.name)).not.toContain('three');
    await expect(stopCluster('three', { home })).rejects.toMatchObject({ code: 'ERR_SERVER_NOT_FOUND' });
  });

  it('sets up nodes that ask for a password (requirepass): replicas sync with it, stop() authenticates', async () => {
    const password = 'pa ss:w@rd';
    const cluster = await startCluster({
      home,
      name: 'locked',
      primaries: 1,
      replicasPerPrimary: 1,
      basePort: await freeClusterPorts(2),
      nodeTimeoutMs: TEST_CLUSTER_NODE_TIMEOUT_MS,
      config: { ...fastNodes, requirepass: password },
      onSpawn: registerPid,
    });
    clusters.push(cluster);
    const [primary, replica] = cluster.nodes;
    // The nodes refuse a client without the password; the handles authenticate.
    const bare = await execFileAsync('valkey-cli', ['-p', String(primary!.port), 'PING']).then(
      (r) => r.stdout,
      (e: { stdout: string }) => e.stdout,
    );
    expect(bare).toMatch(/NOAUTH/);
    expect(String(await primary!.command('CLUSTER', 'INFO'))).toMatch(/cluster_state:ok/);
    // The replica got the password as masterauth and is in sync.
    expect(String(await replica!.command('INFO', 'replication'))).toMatch(/master_link_status:up/);
    await cluster.stop({ timeoutMs: 5000 });
    for (const node of cluster.nodes) await waitForExit(node.pid, `node ${node.port} of the locked cluster`);
  });

  it('stops every node it started when setting up fails', async () => {
    const spawned: number[] = [];
    const err = await startCluster({
      home,
      name: 'broken',
      primaries: 2,
      replicasPerPrimary: 0,
      basePort: await freeClusterPorts(2),
      config: { ...fastNodes, 'rename-command': [['CLUSTER', '']] },
      onSpawn: (pid) => {
        spawned.push(pid);
        registerPid(pid);
      },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CLUSTER' });
    expect((err as Error).message).toMatch(/CLUSTER MYID failed on 127\.0\.0\.1:\d+: ERR unknown command/);
    expect(spawned).toHaveLength(2);
    for (const pid of spawned) expect(alive(pid)).toBe(false);
    expect((await listServers({ home })).filter((s) => s.cluster === 'broken')).toEqual([]);
  });

  it('never starts a new cluster over the files a stopped one left behind', async () => {
    const own = mkdtempSync(join(tmpdir(), 'vt-cluster-again-'));
    const start = async (extra: { name?: string }, spawned: number[] = []) => {
      const c = await startCluster({
        home: own,
        ...extra,
        primaries: 2,
        replicasPerPrimary: 0,
        basePort: await freeClusterPorts(2),
        nodeTimeoutMs: TEST_CLUSTER_NODE_TIMEOUT_MS,
        onSpawn: (pid) => {
          spawned.push(pid);
          registerPid(pid);
        },
      });
      clusters.push(c);
      return c;
    };
    try {
      const first = await start({});
      expect(first.name).toBe('cluster-1');
      await first.nodes[0]!.command('SET', 'left{a}', 'behind');
      await first.nodes[1]!.command('SET', 'left{b}', 'behind');
      await first.stop();
      // the node dirs keep nodes.conf and the data: the next generated name starts elsewhere, empty
      const second = await start({});
      expect(second.name).toBe('cluster-2');
      expect(second.dir).not.toBe(first.dir);
      for (const node of second.nodes) {
        expect(String(await node.command('CLUSTER', 'INFO'))).toMatch(/cluster_state:ok/);
        expect(await node.command('DBSIZE')).toBe(0);
      }
      await second.stop();
      // asked for by name, the used dir is refused before any node starts
      const spawned: number[] = [];
      const err = await start({ name: 'cluster-1' }, spawned).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_SERVER_EXISTS', details: { dir: join(first.dir, 'node-0') } });
      expect((err as Error).message).toContain("holds an earlier cluster's files");
      expect(spawned).toEqual([]);
      expect((await listClusters({ home: own })).map((c) => c.name)).toEqual([]);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('refuses impossible shapes', async () => {
    await expect(startCluster({ home, primaries: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(startCluster({ home, replicasPerPrimary: -1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
  });
});
