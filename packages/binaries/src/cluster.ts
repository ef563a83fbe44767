import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { ValkeyConfigInput } from '@valkey-tools/config';
import { valkeyToolsHome, writeFileAtomic } from '@valkey-tools/core';
import { BinariesError } from './errors.js';
import { isPidAlive, sleep } from './process-utils.js';
import { type Reply, ReplyError } from './command.js';
import { resolveBinary } from './resolve.js';
import {
  getServer,
  type RegistryOptions,
  type ServerHandle,
  type StartServerOptions,
  type StopOptions,
  startServer,
} from './server.js';

export const CLUSTER_SLOTS = 16384;

export interface StartClusterOptions
  extends Pick<
    StartServerOptions,
    | 'version'
    | 'flavor'
    | 'binary'
    | 'host'
    | 'home'
    | 'env'
    | 'resolve'
    | 'onSpawn'
    | 'startTimeoutMs'
    | 'detached'
    | 'signal'
  > {
  /** Primaries sharing the 16384 slots (default 3). */
  primaries?: number;
  /** Replicas per primary (default 1). */
  replicasPerPrimary?: number;
  /** First port tried (default 7000); taken ports (or bus ports, +10000) are skipped upward. */
  basePort?: number;
  /** Registry name (default: generated, `cluster-1`, `cluster-2`...); nodes are named `<name>-<i>`. */
  name?: string;
  /** Parent of the node dirs (default `<home>/clusters/<name>`). */
  dir?: string;
  /** `cluster-node-timeout` in ms (default 5000; tests use less). */
  nodeTimeoutMs?: number;
  /**
   * Directives for every node, merged over the `cluster-node` preset. With `requirepass`, the
   * nodes are set up and checked with it and replicas get it as `masterauth` (unless given).
   */
  config?: ValkeyConfigInput;
  /** How long to wait for cluster_state:ok and replica links (default 60 s). */
  readyTimeoutMs?: number;
  /** Delete the node dirs when stopped (default false). */
  removeDirOnStop?: boolean;
  /** Human-readable steps ("starting 6 nodes", "assigning slots"...), for CLIs and logs. */
  onStatus?: (message: string) => void;
}

export interface ClusterNode extends ServerHandle {
  nodeId: string;
  role: 'primary' | 'replica';
  /** Slot range `[first, last]` of a primary. */
  slots?: [number, number];
  /** For a replica, the node id of its primary. */
  primaryId?: string;
}

/** What the registry records about a managed cluster. */
export interface ClusterRecord {
  name: string;
  nodes: string[];
  seeds: string[];
  primaries: number;
  replicasPerPrimary: number;
  dir: string;
  createdAt: string;
  /** `creating` until every node is up and joined (recorded first, so nothing is left unknown). */
  state?: 'creating' | 'ready';
  /** The process creating it (while `creating`). */
  creatorPid?: number;
}

export interface ClusterHandle {
  name: string;
  /** `redis://host:port/0` of every node, primaries first: hand any of them to a cluster client. */
  seeds: string[];
  nodes: ClusterNode[];
  primaries: ClusterNode[];
  replicas: ClusterNode[];
  dir: string;
  stop(options?: StopOptions): Promise<void>;
}

function clustersDir(home: string): string {
  return join(home, 'clusters');
}

function clusterRecordPath(home: string, name: string): string {
  return join(clustersDir(home), `${name}.json`);
}

function clusterError(message: string, details: Record<string, unknown> = {}, hint?: string): BinariesError {
  return new BinariesError('ERR_CLUSTER', message, {
    details,
    hint: hint ?? 'See the node logs (valkey.log in each node dir) for the reason',
  });
}

/**
 * The first node dir under `dir` that holds files (an earlier cluster's nodes.conf and data): a new
 * node started there would load them and refuse to join (or serve stale keys).
 */
async function heldNodeDir(dir: string, total: number): Promise<string | undefined> {
  for (let i = 0; i < total; i++) {
    const nodeDir = join(dir, `node-${i}`);
    const entries = await readdir(nodeDir).catch(() => []);
    if (entries.length > 0) return nodeDir;
  }
  return undefined;
}

function nodeDirInUse(nodeDir: string, byName: boolean): BinariesError {
  return new BinariesError('ERR_SERVER_EXISTS', `${nodeDir} holds an earlier cluster's files`, {
    details: { dir: nodeDir },
    hint: byName
      ? 'Pick another name, or remove that directory if its data is no longer needed'
      : 'Pass an empty dir, or remove that directory if its data is no longer needed',
  });
}

/** Runs a command on a node (authenticating as the node's handle does), failing on an error reply. */
async function must(node: ServerHandle, args: Array<string | number>): Promise<Reply> {
  const reply = await node.command(...args);
  if (reply instanceof ReplyError) {
    throw clusterError(`${args.join(' ')} failed on ${node.host}:${node.port}: ${reply.message}`, {
      node: node.name,
      port: node.port,
      command: args.join(' '),
    });
  }
  return reply;
}

function infoField(info: Reply, field: string): string | undefined {
  if (typeof info !== 'string') return undefined;
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/**
 * Starts a local Valkey Cluster: `primaries × (1 + replicasPerPrimary)` nodes in parallel,
 * all 16384 slots assigned, nodes joined, replicas attached, and waits until every node reports
 * `cluster_state:ok`, knows every other node, and every replica's link is up.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<ClusterHandle> {
  const primaries = options.primaries ?? 3;
  const replicasPerPrimary = options.replicasPerPrimary ?? 1;
  if (!Number.isInteger(primaries) || primaries < 1 || primaries > 1000) {
    throw new BinariesError(
      'ERR_INVALID_OPTION',
      `primaries must be an integer from 1 to 1000, not ${primaries}`,
    );
  }
  if (!Number.isInteger(replicasPerPrimary) || replicasPerPrimary < 0 || replicasPerPrimary > 10) {
    throw new BinariesError(
      'ERR_INVALID_OPTION',
      `replicasPerPrimary must be an integer from 0 to 10, not ${replicasPerPrimary}`,
    );
  }
  const home = options.home ?? valkeyToolsHome(options.env);
  const total = primaries * (1 + replicasPerPrimary);
  const nodeNames = (name: string) => Array.from({ length: total }, (_, i) => `${name}-${i}`);
  const claim = (name: string, dir: string): ClusterRecord => ({
    name,
    nodes: nodeNames(name),
    seeds: [],
    primaries,
    replicasPerPrimary,
    dir,
    createdAt: new Date().toISOString(),
    state: 'creating',
    creatorPid: process.pid,
  });
  let name: string;
  let dir: string;
  if (options.name !== undefined) {
    name = options.name;
    const existing = await readClusterRecord(home, name);
    if (existing) {
      const alive = (await Promise.all(existing.nodes.map((n) => getServer(n, { home })))).filter(Boolean);
      if (alive.length > 0 || creatingAndOwned(existing)) {
        throw new BinariesError('ERR_SERVER_EXISTS', `A managed cluster named "${name}" is already running`, {
          details: { name, nodes: existing.nodes },
          hint: `Stop it first (stopCluster("${name}") / valkey-tools cluster stop ${name}) or pick another name`,
        });
      }
    }
    dir = resolvePath(options.dir ?? join(clustersDir(home), name));
    const held = await heldNodeDir(dir, total);
    if (held) throw nodeDirInUse(held, options.dir === undefined);
    // Recorded before any node starts: a creator killed at any point leaves a cluster that
    // listClusters shows and stopCluster ends.
    await writeClusterRecord(home, claim(name, dir));
  } else {
    // A generated name: the first free cluster-<n>, claimed by creating its record exclusively.
    for (let n = 1; ; n++) {
      const candidate = `cluster-${n}`;
      const existing = await readClusterRecord(home, candidate);
      if (existing) {
        const alive = (await Promise.all(existing.nodes.map((x) => getServer(x, { home })))).filter(Boolean);
        if (alive.length > 0 || creatingAndOwned(existing)) continue;
        await rm(clusterRecordPath(home, candidate), { force: true });
      }
      const candidateDir = resolvePath(options.dir ?? join(clustersDir(home), candidate));
      const held = await heldNodeDir(candidateDir, total);
      if (held) {
        // A stopped cluster's nodes left their state there: a new cluster takes the next name.
        if (options.dir === undefined) continue;
        throw nodeDirInUse(held, false);
      }
      if (await claimClusterRecord(home, claim(candidate, candidateDir))) {
        name = candidate;
        dir = candidateDir;
        break;
      }
    }
  }
  // One resolution for all nodes.
  const binary = options.binary
    ? options.binary
    : (
        await resolveBinary({
          ...options.resolve,
          ...(options.env ? { env: options.env } : {}),
          name: options.flavor === 'redis' ? 'redis-server' : 'valkey-server',
          home,
          ...(options.version ? { version: options.version } : {}),
        })
      ).path;

  const status = options.onStatus ?? (() => {});
  const nodes: ServerHandle[] = [];
  // Aborted by the caller's signal or by the first node that fails to start: the others stop waiting.
  const abort = new AbortController();
  const onAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const checkAbort = () => {
    if (options.signal?.aborted) {
      const reason: unknown = options.signal.reason;
      throw reason instanceof Error ? reason : clusterError('Cluster creation was aborted');
    }
  };
  const stopAll = async () => {
    // A half-made cluster holds nothing worth keeping.
    await Promise.all(nodes.map((n) => n.stop({ timeoutMs: 3000, nosave: true }).catch(() => undefined)));
  };
  try {
    checkAbort();
    // Nodes start in parallel, each scanning upward from its own slice of the port range;
    // a node that loses a port race simply moves on to the next free port.
    const basePort = options.basePort ?? 7000;
    const requirepass =
      typeof options.config?.requirepass === 'string' && options.config.requirepass !== ''
        ? options.config.requirepass
        : undefined;
    status(
      `starting ${total} nodes (${primaries} primaries, ${replicasPerPrimary} replica(s) each) from port ${basePort}`,
    );
    const starts = await Promise.allSettled(
      Array.from({ length: total }, (_, i) => {
        const firstPort = basePort + i;
        return startServer({
          binary,
          ...(options.flavor ? { flavor: options.flavor } : {}),
          ...(options.host ? { host: options.host } : {}),
          ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
          ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}),
          ...(options.detached ? { detached: true } : {}),
          signal: abort.signal,
          home,
          port: firstPort,
          portAttempts: 200,
          clusterBus: true,
          name: `${name}-${i}`,
          cluster: name,
          dir: join(dir, `node-${i}`),
          preset: 'cluster-node',
          config: {
            'cluster-node-timeout': options.nodeTimeoutMs ?? 5000,
            'cluster-config-file': 'nodes.conf',
            // Replicas of a fresh cluster sync at once instead of after the default 5 s batching delay.
            'repl-diskless-sync-delay': 0,
            // A replica is only listed by CLUSTER SLOTS once its replication offset is above 0, which
            // on an idle primary takes one replication PING (default every 10 s): ping every second.
            'repl-ping-replica-period': 1,
            // Replicas authenticate to their primary with the nodes' own password.
            ...(requirepass !== undefined ? { masterauth: requirepass } : {}),
            ...options.config,
          },
          ...(options.removeDirOnStop ? { removeDirOnStop: true } : {}),
        }).then(
          (handle) => {
            nodes.push(handle);
            return handle;
          },
          (err: unknown) => {
            abort.abort(err);
            throw err;
          },
        );
      }),
    );
    // Every start has settled (none is left running unknown to us): now fail if one did.
    checkAbort();
    const failed = starts.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const started = starts.map((r) => (r as PromiseFulfilledResult<ServerHandle>).value);
    const ports = new Set(started.map((n) => n.port));
    if (ports.size !== started.length) throw clusterError('Two nodes ended up on the same port');

    status(`nodes up on ports ${started.map((n) => n.port).join(', ')}; assigning ${CLUSTER_SLOTS} slots`);
    const ids = await Promise.all(started.map(async (n) => String(await must(n, ['CLUSTER', 'MYID']))));
    // Distinct config epochs up front, so nodes need not resolve collisions.
    await Promise.all(started.map((n, i) => must(n, ['CLUSTER', 'SET-CONFIG-EPOCH', i + 1])));
    const primaryNodes = started.slice(0, primaries);
    const slotRanges: Array<[number, number]> = primaryNodes.map((_, i) => [
      Math.floor((i * CLUSTER_SLOTS) / primaries),
      Math.floor(((i + 1) * CLUSTER_SLOTS) / primaries) - 1,
    ]);
    await Promise.all(
      primaryNodes.map(async (n, i) => {
        const [first, last] = slotRanges[i]!;
        const reply = await n.command('CLUSTER', 'ADDSLOTSRANGE', first, last);
        if (reply instanceof ReplyError) {
          // Servers before 7.0 only have ADDSLOTS.
          const slots = Array.from({ length: last - first + 1 }, (_, k) => first + k);
          await must(n, ['CLUSTER', 'ADDSLOTS', ...slots]);
        }
      }),
    );
    checkAbort();
    status('joining nodes');
    const seed = started[0]!;
    await Promise.all(started.slice(1).map((n) => must(seed, ['CLUSTER', 'MEET', n.host, n.port])));
    await waitFor(
      async () => {
        // Every node must know every other by its real id: a node still in handshake is listed
        // (and counted by cluster_known_nodes) under a made-up one, and REPLICATE would not find it.
        const views = await Promise.all(started.map((n) => must(n, ['CLUSTER', 'NODES'])));
        return views.every((view) => {
          const lines = String(view).split('\n');
          return ids.every((id) => lines.some((l) => l.startsWith(`${id} `) && !/\bhandshake\b/.test(l)));
        });
      },
      options.readyTimeoutMs ?? 60_000,
      () => `not every node learned about all ${total} nodes`,
      checkAbort,
    );
    const replicaNodes = started.slice(primaries);
    await Promise.all(
      replicaNodes.map((n, j) => must(n, ['CLUSTER', 'REPLICATE', ids[Math.floor(j / replicasPerPrimary)]!])),
    );
    checkAbort();
    status('attaching replicas; waiting for cluster_state:ok on every node');
    let lastState = '';
    await waitFor(
      async () => {
        const states = await Promise.all(
          started.map(async (n, i) => {
            const info = await must(n, ['CLUSTER', 'INFO']);
            const view = String(await must(n, ['CLUSTER', 'NODES']));
            const replicasSeen = view.split('\n').filter((line) => /\b(slave|replica)\b/.test(line)).length;
            // replicas a client can route reads to (CLUSTER SLOTS lists only available ones)
            const slotsReply = await must(n, ['CLUSTER', 'SLOTS']);
            const routable = Array.isArray(slotsReply)
              ? slotsReply.reduce<number>(
                  (sum, range) => sum + (Array.isArray(range) ? range.length - 3 : 0),
                  0,
                )
              : 0;
            let link = 'up';
            if (i >= primaries)
              link = infoField(await must(n, ['INFO', 'replication']), 'master_link_status') ?? 'down';
            return {
              port: n.port,
              state: infoField(info, 'cluster_state'),
              slots: Number(infoField(info, 'cluster_slots_assigned')),
              known: Number(infoField(info, 'cluster_known_nodes')),
              replicasSeen,
              routable,
              link,
            };
          }),
        );
        lastState = JSON.stringify(states);
        return states.every(
          (s) =>
            s.state === 'ok' &&
            s.slots === CLUSTER_SLOTS &&
            s.known === total &&
            s.replicasSeen === replicaNodes.length &&
            s.routable === replicaNodes.length &&
            s.link === 'up',
        );
      },
      options.readyTimeoutMs ?? 60_000,
      () => `the cluster did not become ready; last state per node: ${lastState}`,
      checkAbort,
    );
    checkAbort();

    const clusterNodes: ClusterNode[] = started.map((n, i) => {
      const node = n as ClusterNode;
      node.nodeId = ids[i]!;
      if (i < primaries) {
        node.role = 'primary';
        node.slots = slotRanges[i]!;
      } else {
        node.role = 'replica';
        node.primaryId = ids[Math.floor((i - primaries) / replicasPerPrimary)]!;
      }
      return node;
    });
    const record: ClusterRecord = {
      name,
      nodes: clusterNodes.map((n) => n.name),
      seeds: clusterNodes.map((n) => n.url),
      primaries,
      replicasPerPrimary,
      dir,
      createdAt: new Date().toISOString(),
      state: 'ready',
    };
    await writeClusterRecord(home, record);
    options.signal?.removeEventListener('abort', onAbort);
    status(`cluster "${name}" ready: ${record.seeds[0]}`);
    let stopping: Promise<void> | undefined;
    return {
      name,
      seeds: record.seeds,
      nodes: clusterNodes,
      primaries: clusterNodes.filter((n) => n.role === 'primary'),
      replicas: clusterNodes.filter((n) => n.role === 'replica'),
      dir,
      stop: (stopOptions = {}) => {
        stopping ??= (async () => {
          await Promise.all(clusterNodes.map((n) => n.stop(stopOptions)));
          await rm(clusterRecordPath(home, name), { force: true });
          if (options.removeDirOnStop) await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (err) {
    options.signal?.removeEventListener('abort', onAbort);
    await stopAll();
    await rm(clusterRecordPath(home, name), { force: true });
    if (options.removeDirOnStop) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A `creating` record whose creator still runs is kept even before its nodes exist. */
function creatingAndOwned(record: ClusterRecord): boolean {
  return (
    record.state === 'creating' &&
    record.creatorPid !== undefined &&
    record.creatorPid !== process.pid &&
    isPidAlive(record.creatorPid)
  );
}

/** Creates a cluster record only if none exists (false when another creator got the name first). */
async function claimClusterRecord(home: string, record: ClusterRecord): Promise<boolean> {
  await mkdir(clustersDir(home), { recursive: true });
  try {
    await writeFile(clusterRecordPath(home, record.name), `${JSON.stringify(record, null, 2)}\n`, {
      flag: 'wx',
      mode: 0o600,
    });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
  checkAbort: () => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkAbort();
    if (await check()) return;
    if (Date.now() > deadline) throw clusterError(`Timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(50);
  }
}

async function writeClusterRecord(home: string, record: ClusterRecord): Promise<void> {
  await mkdir(clustersDir(home), { recursive: true });
  const file = clusterRecordPath(home, record.name);
  await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

async function readClusterRecord(home: string, name: string): Promise<ClusterRecord | undefined> {
  try {
    return JSON.parse(await readFile(clusterRecordPath(home, name), 'utf8')) as ClusterRecord;
  } catch {
    return undefined;
  }
}

/** Managed clusters with at least one live node (records of fully stopped clusters are removed). */
export async function listClusters(
  options: RegistryOptions = {},
): Promise<Array<ClusterRecord & { running: number }>> {
  const home = options.home ?? valkeyToolsHome(options.env);
  const files = await readdir(clustersDir(home)).catch(() => [] as string[]);
  const out: Array<ClusterRecord & { running: number }> = [];
  for (const file of files.sort()) {
    if (!file.endsWith('.json')) continue;
    const record = await readClusterRecord(home, file.slice(0, -'.json'.length));
    if (!record) continue;
    const running = (await Promise.all(record.nodes.map((n) => getServer(n, { home })))).filter(
      Boolean,
    ).length;
    if (running > 0 || creatingAndOwned(record)) out.push({ ...record, running });
    else await rm(clusterRecordPath(home, record.name), { force: true });
  }
  return out;
}

/** Stops every node of a managed cluster, from any process. */
export async function stopCluster(
  name: string,
  options: StopOptions & RegistryOptions = {},
): Promise<ClusterRecord> {
  const home = options.home ?? valkeyToolsHome(options.env);
  const record = await readClusterRecord(home, name);
  if (!record) {
    const running = (await listClusters({ home })).map((c) => c.name);
    throw new BinariesError('ERR_SERVER_NOT_FOUND', `No managed cluster named "${name}"`, {
      details: { name, running },
      hint: running.length ? `Running clusters: ${running.join(', ')}` : 'No managed clusters are running',
    });
  }
  const handles = await Promise.all(record.nodes.map((n) => getServer(n, { home })));
  await Promise.all(handles.map((h) => h?.stop(options)));
  await rm(clusterRecordPath(home, name), { force: true });
  return record;
}
