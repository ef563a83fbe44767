import { Cluster, Redis } from 'iovalkey';

export interface StreamView {
  /** Drop per-consumer seen-time/active-time (not restorable by commands: XCLAIM/CREATECONSUMER set them to now). */
  ignoreConsumerTimes?: boolean;
  /** Drop radix-tree-keys/nodes (internal node layout; a stream rebuilt by XADD may pack differently). */
  ignoreLayout?: boolean;
}

function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** XINFO STREAM key FULL as a plain structure, optionally without the fields commands cannot restore. */
function normalizeInfo(reply: unknown, view: StreamView): unknown {
  const v = plain(reply) as unknown[];
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < v.length; i += 2) {
    const k = v[i] as string;
    if (view.ignoreLayout && (k === 'radix-tree-keys' || k === 'radix-tree-nodes')) continue;
    if (k === 'groups') {
      out[k] = (v[i + 1] as unknown[][]).map((g) => {
        const go: Record<string, unknown> = {};
        for (let j = 0; j + 1 < g.length; j += 2) {
          const gk = g[j] as string;
          if (gk === 'consumers') {
            go[gk] = (g[j + 1] as unknown[][]).map((c) => {
              const co: Record<string, unknown> = {};
              for (let x = 0; x + 1 < c.length; x += 2) {
                const ck = c[x] as string;
                if (view.ignoreConsumerTimes && (ck === 'seen-time' || ck === 'active-time')) continue;
                co[ck] = c[x + 1];
              }
              return co;
            });
          } else go[gk] = g[j + 1];
        }
        return go;
      });
    } else out[k] = v[i + 1];
  }
  return out;
}

async function scanAll(client: Redis, type?: string): Promise<Buffer[]> {
  const keys: Buffer[] = [];
  let cursor = '0';
  do {
    const args: Array<string | number> = [cursor, 'COUNT', 1000];
    if (type) args.push('TYPE', type);
    const [next, batch] = (await client.callBuffer('SCAN', ...args)) as [Buffer, Buffer[]];
    cursor = next.toString();
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort(Buffer.compare);
}

async function dbsOf(client: Redis): Promise<number[]> {
  const info = String(await client.call('INFO', 'keyspace'));
  return [...info.matchAll(/^db(\d+):/gm)].map((m) => Number(m[1]));
}

export interface ServerState {
  digest: string;
  dbsize: Record<number, number>;
  streams: Record<string, unknown>;
  functions: unknown;
}

/** What the done-bar compares: DEBUG DIGEST, per-db sizes, XINFO STREAM FULL of every stream, function code. */
export async function serverState(url: string, view: StreamView = {}): Promise<ServerState> {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    const digest = String(await client.call('DEBUG', 'DIGEST'));
    const dbsize: Record<number, number> = {};
    const streams: Record<string, unknown> = {};
    for (const db of await dbsOf(client)) {
      await client.select(db);
      dbsize[db] = Number(await client.dbsize());
      for (const key of await scanAll(client, 'stream')) {
        streams[`${db}:${key.toString('latin1')}`] = normalizeInfo(
          await client.callBuffer('XINFO', 'STREAM', key, 'FULL', 'COUNT', 0),
          view,
        );
      }
    }
    const functions = plain(await client.callBuffer('FUNCTION', 'LIST', 'WITHCODE'));
    return { digest, dbsize, streams, functions };
  } finally {
    client.disconnect();
  }
}

/** The same comparison for a cluster: per key DEBUG DIGEST-VALUE and PEXPIRETIME, and streams. */
export async function clusterState(
  nodes: Array<{ host: string; port: number }>,
  view: StreamView = {},
): Promise<{ keys: Record<string, string>; streams: Record<string, unknown> }> {
  const cluster = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 0 } });
  try {
    await new Promise<void>((r) => cluster.once('ready', () => r()));
    const keys: Record<string, string> = {};
    const streams: Record<string, unknown> = {};
    for (const node of cluster.nodes('master')) {
      for (const key of await scanAll(node)) {
        const [digest, exp, type] = (await Promise.all([
          node.call('DEBUG', 'DIGEST-VALUE', key),
          node.call('PEXPIRETIME', key),
          node.call('TYPE', key),
        ])) as unknown[];
        keys[key.toString('latin1')] = `${type} ${digest} ${exp}`;
        if (type === 'stream') {
          streams[key.toString('latin1')] = normalizeInfo(
            await node.callBuffer('XINFO', 'STREAM', key, 'FULL', 'COUNT', 0),
            view,
          );
        }
      }
    }
    return { keys, streams };
  } finally {
    cluster.disconnect();
  }
}

/** Key-level state of a standalone server (db 0), comparable with clusterState. */
export async function standaloneKeyState(url: string, view: StreamView = {}) {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    const keys: Record<string, string> = {};
    const streams: Record<string, unknown> = {};
    for (const key of await scanAll(client)) {
      const [digest, exp, type] = (await Promise.all([
        client.call('DEBUG', 'DIGEST-VALUE', key),
        client.call('PEXPIRETIME', key),
        client.call('TYPE', key),
      ])) as unknown[];
      keys[key.toString('latin1')] = `${type} ${digest} ${exp}`;
      if (type === 'stream') {
        streams[key.toString('latin1')] = normalizeInfo(
          await client.callBuffer('XINFO', 'STREAM', key, 'FULL', 'COUNT', 0),
          view,
        );
      }
    }
    return { keys, streams };
  } finally {
    client.disconnect();
  }
}
