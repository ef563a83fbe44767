import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterHandle, startCluster } from '@valkey-tools/binaries';
import { freeClusterPorts } from './ports.js';
import { registerPid, unregisterPid } from './processes.js';
import { type RespArg, rawCommand } from './resp.js';
import { type ServerFlavor, serverBinary, TEST_CLUSTER_NODE_TIMEOUT_MS } from './server.js';

export interface StartTestClusterOptions {
  /** Primaries sharing the 16384 slots (default 3). */
  primaries?: number;
  /** Replicas per primary (default 1; 0 for primaries only). */
  replicasPerPrimary?: number;
  flavor?: ServerFlavor;
  /**
   * Extra directives for every node (`{ 'maxmemory-policy': 'allkeys-lfu' }`), written with
   * @valkey-tools/config's `serializeConfig` (so multi-line directives such as `save` or
   * `client-output-buffer-limit` take arrays, as in a ValkeyConfigInput).
   */
  config?: Record<string, unknown>;
  /** `cluster-node-timeout` (default TEST_CLUSTER_NODE_TIMEOUT_MS). */
  nodeTimeoutMs?: number;
}

export interface TestClusterNode {
  host: string;
  port: number;
  url: string;
  pid: number;
  dir: string;
  nodeId: string;
  role: 'primary' | 'replica';
  /** `[first, last]` slot range of a primary. */
  slots?: [number, number];
  /** Node id of a replica's primary. */
  primaryId?: string;
  /** Sends a raw command over a fresh connection and returns the raw RESP reply as text. */
  command(...args: RespArg[]): Promise<string>;
}

export interface TestCluster {
  /** `redis://127.0.0.1:<port>/0` of every node, primaries first. */
  seeds: string[];
  nodes: TestClusterNode[];
  primaries: TestClusterNode[];
  replicas: TestClusterNode[];
  /** Stops every node and removes their dirs. Call it in `afterAll`. */
  stop(): Promise<void>;
}

/**
 * Starts a real Valkey Cluster for tests (3 primaries + 3 replicas by default) on free loopback
 * ports, in a temp dir, with `enable-debug-command local` and no persistence. Resolves once every
 * node reports `cluster_state:ok` and every replica is linked. A global teardown kills leftovers.
 */
export async function startTestCluster(options: StartTestClusterOptions = {}): Promise<TestCluster> {
  const flavor = options.flavor ?? 'valkey';
  const home = mkdtempSync(join(tmpdir(), 'vt-cluster-'));
  const pids: number[] = [];
  const primaries = options.primaries ?? 3;
  const replicasPerPrimary = options.replicasPerPrimary ?? 1;
  let handle: ClusterHandle;
  try {
    handle = await startCluster({
      home,
      binary: serverBinary(flavor),
      flavor,
      name: 'test',
      primaries,
      replicasPerPrimary,
      basePort: await freeClusterPorts(primaries * (1 + replicasPerPrimary)),
      nodeTimeoutMs: options.nodeTimeoutMs ?? TEST_CLUSTER_NODE_TIMEOUT_MS,
      config: { appendonly: 'no', save: '', 'enable-debug-command': 'local', ...options.config },
      removeDirOnStop: true,
      onSpawn: (pid) => {
        pids.push(pid);
        registerPid(pid);
      },
    });
  } catch (err) {
    for (const pid of pids) unregisterPid(pid);
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
  const nodes: TestClusterNode[] = handle.nodes.map((n) => ({
    host: n.host,
    port: n.port,
    url: n.url,
    pid: n.pid,
    dir: n.dir,
    nodeId: n.nodeId,
    role: n.role,
    ...(n.slots ? { slots: n.slots } : {}),
    ...(n.primaryId ? { primaryId: n.primaryId } : {}),
    command: (...args: RespArg[]) => rawCommand(n.port, args, n.host),
  }));
  let stopping: Promise<void> | undefined;
  return {
    seeds: handle.seeds,
    nodes,
    primaries: nodes.filter((n) => n.role === 'primary'),
    replicas: nodes.filter((n) => n.role === 'replica'),
    stop: () => {
      stopping ??= (async () => {
        await handle.stop({ timeoutMs: 3000 });
        for (const pid of pids) unregisterPid(pid);
        rmSync(home, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
