import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'iovalkey';
import { type ServerTarget, withClient, withCluster } from './client.js';

/**
 * What a server holds, for comparing two servers (a source and a restored target): the server
 * judges, through DEBUG DIGEST / DIGEST-VALUE, PEXPIRETIME, XINFO STREAM FULL and FUNCTION LIST.
 */

export interface StateView {
  /** Drop per-consumer seen-time/active-time (not restorable by commands: XCLAIM/CREATECONSUMER set them to now). */
  ignoreConsumerTimes?: boolean;
  /** Drop radix-tree-keys/nodes (internal node layout; a stream rebuilt by XADD may pack differently). */
  ignoreLayout?: boolean;
}

export interface ServerStateView extends StateView {
  /** Also every key's PEXPIRETIME (DEBUG DIGEST only tells whether a key has an expiry). */
  expires?: boolean;
}

export interface KeyStateView extends StateView {
  /**
   * Sorted sets by content (members and scores as numbers) instead of DIGEST-VALUE: Redis 7.0
   * digests scores as "%.17g" and Valkey 8 as shortest round-trip digits, so the digests of the
   * same doubles differ between them.
   */
  zsetByContent?: boolean;
}

export interface ServerState {
  digest: string;
  /** Keys per db (the dbs INFO keyspace lists). */
  dbsize: Record<number, number>;
  /** XINFO STREAM FULL (every entry) of each stream, by `<db>:<key>`. */
  streams: Record<string, unknown>;
  /** FUNCTION LIST WITHCODE. */
  functions: unknown;
  /** PEXPIRETIME of each key with one, by `<db>:<key>` (with `expires`). */
  expires?: Record<string, number>;
}

export interface KeyState {
  /** `<type> <digest or content> <pexpiretime>` of every key, by `<db>:<key>` (latin1). */
  keys: Record<string, string>;
  /** XINFO STREAM FULL of each stream, by `<db>:<key>`. */
  streams: Record<string, unknown>;
}

function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** Field/value pairs of a reply as an object, without the fields `drop` names. */
function pairs(
  list: unknown[],
  drop: (field: string) => boolean,
  nested: (field: string, v: unknown) => unknown,
) {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    const field = list[i] as string;
    if (!drop(field)) out[field] = nested(field, list[i + 1]);
  }
  return out;
}

/** XINFO STREAM key FULL as a plain structure, without what the view leaves out. */
export function normalizeStreamInfo(reply: unknown, view: StateView = {}): unknown {
  const layout = (f: string) =>
    Boolean(view.ignoreLayout) && (f === 'radix-tree-keys' || f === 'radix-tree-nodes');
  const times = (f: string) =>
    Boolean(view.ignoreConsumerTimes) && (f === 'seen-time' || f === 'active-time');
  const keep = (_f: string, v: unknown) => v;
  return pairs(plain(reply) as unknown[], layout, (field, value) =>
    field !== 'groups'
      ? value
      : (value as unknown[][]).map((group) =>
          pairs(
            group,
            () => false,
            (gf, gv) =>
              gf !== 'consumers' ? gv : (gv as unknown[][]).map((consumer) => pairs(consumer, times, keep)),
          ),
        ),
  );
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

const streamInfo = async (client: Redis, key: Buffer, view: StateView) =>
  normalizeStreamInfo(await client.callBuffer('XINFO', 'STREAM', key, 'FULL', 'COUNT', 0), view);

/**
 * The whole server: DEBUG DIGEST, keys per db, every stream's XINFO STREAM FULL, the function
 * libraries with their code (and, with `expires`, every key's PEXPIRETIME).
 */
export async function serverState(target: ServerTarget, view: ServerStateView = {}): Promise<ServerState> {
  return withClient(target, async (client) => {
    const digest = String(await client.call('DEBUG', 'DIGEST'));
    const dbsize: Record<number, number> = {};
    const streams: Record<string, unknown> = {};
    const expires: Record<string, number> = {};
    for (const db of await dbsOf(client)) {
      await client.select(db);
      dbsize[db] = Number(await client.dbsize());
      for (const key of await scanAll(client, 'stream'))
        streams[`${db}:${key.toString('latin1')}`] = await streamInfo(client, key, view);
      if (!view.expires) continue;
      for (const key of await scanAll(client)) {
        const at = Number(await client.call('PEXPIRETIME', key));
        if (at > 0) expires[`${db}:${key.toString('latin1')}`] = at;
      }
    }
    await client.select(0);
    // By library name: FUNCTION LIST follows the server's hash table, not the order of loading.
    const functions = (plain(await client.callBuffer('FUNCTION', 'LIST', 'WITHCODE')) as unknown[][]).sort(
      (a, b) => String(a[1]).localeCompare(String(b[1])),
    );
    return { digest, dbsize, streams, functions, ...(view.expires ? { expires } : {}) };
  });
}

/** The double a score reply means, spelled one way (Redis writes "%.17g", Valkey shortest digits). */
function canonicalScore(s: string): string {
  const n = Number(s.replace(/^(-?)inf$/, '$1Infinity'));
  return Object.is(n, -0) ? '-0' : String(n);
}

async function addKeys(client: Redis, db: number, state: KeyState, view: KeyStateView): Promise<void> {
  for (const key of await scanAll(client)) {
    const name = `${db}:${key.toString('latin1')}`;
    const [type, exp] = (await Promise.all([client.type(key), client.call('PEXPIRETIME', key)])) as [
      string,
      number,
    ];
    const body =
      type === 'zset' && view.zsetByContent
        ? JSON.stringify(
            ((await client.call('ZRANGE', key, 0, -1, 'WITHSCORES')) as string[]).map((x, i) =>
              i % 2 ? canonicalScore(x) : x,
            ),
          )
        : String(await client.call('DEBUG', 'DIGEST-VALUE', key));
    state.keys[name] = `${type} ${body} ${exp}`;
    if (type === 'stream') state.streams[name] = await streamInfo(client, key, view);
  }
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
/** What db 0 adds to a server's DEBUG DIGEST before its keys: SHA1(SHA1(htonl(0))). */
const DB0_DIGEST = sha1(sha1(Buffer.alloc(4)));

/**
 * The DEBUG DIGEST one server holding all of a cluster's keys (in db 0) would answer. A server's
 * digest is what its db adds (`DB0_DIGEST`, when it holds keys) XORed with one digest per key
 * (debug.c, computeDatasetDigest), so the primaries' digests XORed (with `DB0_DIGEST` once more
 * when an even number of them hold keys) is the digest of their union: one comparison for a whole
 * cluster, with the server judging every key.
 */
export async function clusterDigest(primaries: Array<{ url: string }>): Promise<string> {
  const acc = Buffer.alloc(20);
  let holding = 0;
  for (const node of primaries) {
    const digest = Buffer.from(String(await withClient(node, (c) => c.call('DEBUG', 'DIGEST'))), 'hex');
    if (digest.every((b) => b === 0)) continue;
    holding++;
    for (let i = 0; i < 20; i++) acc[i]! ^= digest[i]!;
  }
  if (holding > 0 && holding % 2 === 0) for (let i = 0; i < 20; i++) acc[i]! ^= DB0_DIGEST[i]!;
  return acc.toString('hex');
}

/**
 * Every key on its own: type, DEBUG DIGEST-VALUE (or a sorted set's content) and PEXPIRETIME, and
 * every stream's XINFO STREAM FULL, by `<db>:<key>`. `target` is a server (every db it has) or a
 * cluster's primaries (db 0 of each): a cluster and a server holding the same keys compare equal.
 */
export async function keyState(
  target: ServerTarget | Array<{ host: string; port: number }>,
  view: KeyStateView = {},
): Promise<KeyState> {
  const state: KeyState = { keys: {}, streams: {} };
  if (!Array.isArray(target)) {
    await withClient(target, async (client) => {
      for (const db of await dbsOf(client)) {
        await client.select(db);
        await addKeys(client, db, state, view);
      }
    });
    return state;
  }
  await withCluster(target, async (cluster) => {
    for (const node of cluster.nodes('master')) await addKeys(node, 0, state, view);
  });
  return state;
}

/** A server to read: a URL (`redis://[:pw@]host:port`, `rediss://...`) or a test server / cluster node. */
export type KeyspaceEndpoint = string | { host: string; port: number };

export interface KeyspaceOptions extends StateView {
  /** dbs to read (default: every db `INFO keyspace` lists; a cluster node has only db 0). */
  dbs?: number[];
  /** TLS options for every endpoint (CA, client certificate...): a TLS-only server is read over TLS. */
  tls?: ConnectionOptions;
}

/** What a user could tell apart about one key (one entry of a KeyspaceState). */
export interface KeyspaceKey {
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
export type KeyspaceState = Record<string, KeyspaceKey>;

/** The name a key has in a KeyspaceState: `db<N> "<key>"` (JSON-escaped latin1, so binary keys read). */
export function keyspaceName(db: number, key: string | Buffer): string {
  return `db${db} ${JSON.stringify(typeof key === 'string' ? key : key.toString('latin1'))}`;
}

/**
 * `keyState` as structured entries, over TLS too: every key of a server (or of every given cluster
 * primary) with its type, `DEBUG DIGEST-VALUE`, `PEXPIRETIME`, and `XINFO STREAM FULL` for streams.
 * Compare with `expect(a).toEqual(b)` to see which keys differ.
 */
export async function keyspaceState(
  endpoints: KeyspaceEndpoint | KeyspaceEndpoint[],
  options: KeyspaceOptions = {},
): Promise<KeyspaceState> {
  const found: Array<[string, KeyspaceKey]> = [];
  for (const endpoint of Array.isArray(endpoints) ? endpoints : [endpoints]) {
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
        for (const key of await scanAll(client)) {
          const [type, digest, expiresAt] = (await Promise.all([
            client.type(key),
            client.call('DEBUG', 'DIGEST-VALUE', key),
            client.call('PEXPIRETIME', key),
          ])) as [string, string, number];
          const entry: KeyspaceKey = { db, key: key.toString('latin1'), type, digest, expiresAt };
          if (type === 'stream') entry.stream = await streamInfo(client, key, options);
          found.push([keyspaceName(db, key), entry]);
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
export function pickKeys(state: KeyspaceState, keep: (key: KeyspaceKey) => boolean): KeyspaceState {
  return Object.fromEntries(Object.entries(state).filter(([, k]) => keep(k)));
}

/** How many keys of each type a state holds, e.g. `{ hash: 3, list: 2 }`. */
export function countTypes(state: KeyspaceState): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of Object.values(state)) counts[k.type] = (counts[k.type] ?? 0) + 1;
  return counts;
}
