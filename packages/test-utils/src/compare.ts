import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'iovalkey';

/** A server to read: a URL (`redis://[:pw@]host:port`, `rediss://...`) or a test server / cluster node. */
export type KeyspaceEndpoint = string | { host: string; port: number };

export interface KeyspaceOptions {
  /** dbs to read (default: every db `INFO keyspace` lists; a cluster node has only db 0). */
  dbs?: number[];
  /** TLS options for every endpoint (CA, client certificate...): a TLS-only server is read over TLS. */
  tls?: ConnectionOptions;
  /** Drop consumers' seen-time/active-time: commands that re-create a consumer (XCLAIM) set them to now. */
  ignoreConsumerTimes?: boolean;
  /** Drop radix-tree-keys/nodes: a stream rebuilt by XADD may pack its entries into other nodes. */
  ignoreLayout?: boolean;
}

/** What a user could tell apart about one key. */
export interface KeyState {
  db: number;
  /** The key name, byte for byte (latin1). */
  key: string;
  type: string;
  /** `DEBUG DIGEST-VALUE key`: the value, whatever its encoding (a stream's entries only). */
  digest: string;
  /**
   * `PEXPIRETIME key`: the absolute expiry in ms, -1 without one. Backups and restores keep
   * absolute expiries, so this compares exactly, with no clock involved (unlike PTTL).
   */
  expiresAt: number;
  /** `XINFO STREAM key FULL` of a stream (groups, consumers, PELs: what its digest leaves out). */
  stream?: unknown;
}

/** Every key of a server or cluster, by `db<N> <key as JSON>`, sorted (so diffs read in order). */
export type KeyspaceState = Record<string, KeyState>;

function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

function pairs(list: unknown[], skip: (name: string) => boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = String(list[i]);
    if (!skip(name)) out[name] = list[i + 1];
  }
  return out;
}

/** `XINFO STREAM key FULL` as nested objects, without the fields the options leave out. */
function streamView(reply: unknown, options: KeyspaceOptions): unknown {
  const info = pairs(
    plain(reply) as unknown[],
    (k) => !!options.ignoreLayout && (k === 'radix-tree-keys' || k === 'radix-tree-nodes'),
  );
  const groups = info.groups as unknown[][] | undefined;
  if (groups) {
    info.groups = groups.map((g) => {
      const group = pairs(g, () => false);
      group.consumers = ((group.consumers as unknown[][] | undefined) ?? []).map((c) =>
        pairs(c, (k) => !!options.ignoreConsumerTimes && (k === 'seen-time' || k === 'active-time')),
      );
      return group;
    });
  }
  return info;
}

async function dbsOf(client: Redis): Promise<number[]> {
  const info = String(await client.call('INFO', 'keyspace'));
  return [...info.matchAll(/^db(\d+):/gm)].map((m) => Number(m[1]));
}

async function keysOf(client: Redis): Promise<Buffer[]> {
  const keys: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await client.callBuffer('SCAN', cursor, 'COUNT', 1000)) as [Buffer, Buffer[]];
    cursor = next.toString();
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** The name a key has in a KeyspaceState: `db<N> "<key>"` (JSON-escaped latin1, so binary keys read). */
export function keyspaceName(db: number, key: string | Buffer): string {
  return `db${db} ${JSON.stringify(typeof key === 'string' ? key : key.toString('latin1'))}`;
}

/**
 * Reads every key of a server (or of every given cluster primary) as the server sees it: type,
 * `DEBUG DIGEST-VALUE`, `PEXPIRETIME`, and `XINFO STREAM FULL` for streams. Two servers hold the
 * same data when their states are equal; compare with `expect(a).toEqual(b)` to see which keys
 * differ. The servers need `enable-debug-command` (test servers have it).
 */
export async function keyspaceState(
  endpoints: KeyspaceEndpoint | KeyspaceEndpoint[],
  options: KeyspaceOptions = {},
): Promise<KeyspaceState> {
  const list = Array.isArray(endpoints) ? endpoints : [endpoints];
  const found: Array<[string, KeyState]> = [];
  for (const endpoint of list) {
    const clientOptions = {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      ...(options.tls ? { tls: options.tls } : {}),
    };
    const client =
      typeof endpoint === 'string'
        ? new Redis(endpoint, clientOptions)
        : new Redis({ host: endpoint.host, port: endpoint.port, ...clientOptions });
    try {
      await client.connect();
      for (const db of options.dbs ?? (await dbsOf(client))) {
        await client.select(db);
        for (const key of await keysOf(client)) {
          const [type, digest, expiresAt] = (await Promise.all([
            client.type(key),
            client.call('DEBUG', 'DIGEST-VALUE', key),
            client.call('PEXPIRETIME', key),
          ])) as [string, string, number];
          const state: KeyState = { db, key: key.toString('latin1'), type, digest, expiresAt };
          if (type === 'stream') {
            state.stream = streamView(
              await client.callBuffer('XINFO', 'STREAM', key, 'FULL', 'COUNT', 0),
              options,
            );
          }
          found.push([keyspaceName(db, key), state]);
        }
      }
    } finally {
      client.disconnect();
    }
  }
  found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(found);
}

/** The keys of a state that pass `keep` (what a filtered backup or restore should hold). */
export function pickKeys(state: KeyspaceState, keep: (key: KeyState) => boolean): KeyspaceState {
  return Object.fromEntries(Object.entries(state).filter(([, k]) => keep(k)));
}

/** How many keys of each type a state holds, e.g. `{ hash: 3, list: 2 }`. */
export function countTypes(state: KeyspaceState): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of Object.values(state)) counts[k.type] = (counts[k.type] ?? 0) + 1;
  return counts;
}
