import { parseInfo, ValkeyToolsError } from '@valkey-tools/core';
import type { Redis } from 'iovalkey';
import { type CompiledFilter, dumpPayloadType } from '../io/filter.js';
import type { ValueType } from '../model.js';
import { BackupError } from '../errors.js';
import { Pipeline, type ReplyHandler } from '../io/pipeline.js';
import { bulkSize, type Command, writeHeader } from '../resp/encode.js';
import { connectionError, type ServerConnection } from '@valkey-tools/core';

/** A key as read in scan mode: its DUMP payload and absolute expiry. */
export interface DumpedKey {
  kind: 'dump';
  db: number;
  key: Buffer;
  /** The server's DUMP payload (type byte, value, RDB version, CRC-64). */
  payload: Buffer;
  /** Absolute expiry in ms. */
  expiresAt?: number;
  /** `host:port` of the node it came from. */
  node: string;
}

export interface DumpedFunction {
  kind: 'function';
  code: Buffer;
}

export interface ScanOptions {
  filter: CompiledFilter;
  /** Only this db (standalone). */
  db?: number;
  match?: string | Buffer;
  /** A single type filter is pushed down to `SCAN ... TYPE`. */
  type?: ValueType | ValueType[];
  /** SCAN COUNT hint and DUMP batch size (default 500). */
  count?: number;
  /** Told how many keys each db holds before it is scanned. */
  onDb?: (info: { node: string; db: number; keys: number }) => void;
}

/** The dbs that hold keys, from `INFO keyspace`. */
export async function nonEmptyDbs(client: Redis): Promise<Array<{ db: number; keys: number }>> {
  const info = parseInfo(String(await client.call('INFO', 'keyspace')));
  const out: Array<{ db: number; keys: number }> = [];
  for (const [name, value] of Object.entries(info)) {
    const m = /^db(\d+)$/.exec(name);
    if (m) out.push({ db: Number(m[1]), keys: Number(/keys=(\d+)/.exec(value)?.[1] ?? 0) });
  }
  return out.sort((a, b) => a.db - b.db);
}

/** Function libraries with their code (`FUNCTION LIST WITHCODE`); empty on servers without functions. */
export async function listFunctionCode(client: Redis): Promise<Buffer[]> {
  let reply: unknown;
  try {
    reply = await client.callBuffer('FUNCTION', 'LIST', 'WITHCODE');
  } catch (err) {
    if (/unknown command|unknown subcommand/i.test((err as Error).message)) return [];
    throw err;
  }
  const out: Buffer[] = [];
  for (const lib of (reply as unknown[]) ?? []) {
    const fields = lib as Buffer[];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i]!.toString() === 'library_code') out.push(fields[i + 1] as Buffer);
    }
  }
  return out;
}

/** `*2\r\n$<n>\r\n<NAME>\r\n` for the two-argument read commands of a scan. */
const READ_COMMANDS = {
  DUMP: Buffer.from('*2\r\n$4\r\nDUMP\r\n'),
  PEXPIRETIME: Buffer.from('*2\r\n$11\r\nPEXPIRETIME\r\n'),
  PTTL: Buffer.from('*2\r\n$4\r\nPTTL\r\n'),
} as const;
type ExpireCommand = 'PEXPIRETIME' | 'PTTL';

/**
 * The replies to one batch of reads (DUMP and an expiry command per key, in that order): one
 * handler for all of them (no promise or object per command).
 */
class ReadBatch implements ReplyHandler<number> {
  readonly replies: unknown[];
  readonly errors: Array<Error | undefined>;
  private left: number;
  private done!: () => void;
  readonly settled = new Promise<void>((r) => {
    this.done = r;
  });
  readonly readAt = Date.now();

  constructor(n: number) {
    this.replies = new Array(n);
    this.errors = new Array(n);
    this.left = n;
    if (n === 0) this.done();
  }

  reply(i: number, reply: unknown): void {
    this.replies[i] = reply;
    if (--this.left === 0) this.done();
  }

  error(i: number, _args: unknown, err: Error): void {
    this.errors[i] = err;
    if (--this.left === 0) this.done();
  }
}

/** Sends DUMP and `expire` for every key of `keys` (in `db`) through `pipe`. */
function readKeys(pipe: Pipeline, db: number, keys: Buffer[], expire: ExpireCommand): ReadBatch {
  const batch = new ReadBatch(keys.length * 2);
  let name: Buffer = READ_COMMANDS.DUMP;
  let key: Buffer = keys[0]!;
  const encode = (into: Buffer, at: number): number => {
    let p = at + name.copy(into, at);
    p = writeHeader(into, p, 36, key.length);
    p += key.copy(into, p);
    into[p++] = 13;
    into[p++] = 10;
    return p;
  };
  const expireName = READ_COMMANDS[expire];
  const send = (n: Buffer, ctx: number) => {
    name = n;
    pipe.sendEncoded(n.length + bulkSize(key.length), db, encode, batch, ctx);
  };
  for (let i = 0; i < keys.length; i++) {
    key = keys[i]!;
    send(READ_COMMANDS.DUMP, 2 * i);
    send(expireName, 2 * i + 1);
  }
  pipe.flush();
  return batch;
}

/** Sends one command through `pipe` and resolves with its reply. */
function request(pipe: Pipeline, db: number, args: Command): Promise<unknown> {
  const p = new Promise((resolve, reject) => {
    pipe.send(args, db, { reply: (_c, r) => resolve(r), error: (_c, _a, err) => reject(err) });
    pipe.flush();
  });
  // A SCAN sent ahead that fails after the scan stopped (the connection closed) is not an
  // unhandled rejection; awaited, it still throws.
  p.catch(() => {});
  return p;
}

/** The keys of one node, a batch (one SCAN's worth) at a time. */
async function* scanNode(
  client: Redis,
  node: string,
  dbs: number[],
  options: ScanOptions,
  counts: Map<number, number>,
): AsyncGenerator<DumpedKey[]> {
  const count = options.count ?? 500;
  const types = options.type === undefined ? [] : Array.isArray(options.type) ? options.type : [options.type];
  // The reads go through one pipeline on the node's connection, as a restore's writes do: one
  // write per batch, one shared reply handler, and the next SCAN already out while a batch's
  // replies come in. (A batch bounds what is in flight.)
  // (No SELECT for the db the connection is in: some proxies refuse it.)
  const current = (client as unknown as { condition?: { select?: number } }).condition?.select;
  const unbounded = { commands: Number.MAX_SAFE_INTEGER, bytes: Number.MAX_SAFE_INTEGER };
  const pipe = new Pipeline(client, unbounded, node, undefined, current);
  let expire: ExpireCommand = 'PEXPIRETIME';
  const scanArgs = (cursor: Buffer): Command => {
    const args: Command = [Buffer.from('SCAN'), cursor];
    if (options.match !== undefined) args.push(Buffer.from('MATCH'), Buffer.from(options.match));
    args.push(Buffer.from('COUNT'), Buffer.from(String(count)));
    if (types.length === 1 && types[0] !== 'module') args.push(Buffer.from('TYPE'), Buffer.from(types[0]!));
    return args;
  };
  for (const db of dbs) {
    options.onDb?.({ node, db, keys: counts.get(db) ?? 0 });
    let scan: Promise<unknown> | null = request(pipe, db, scanArgs(Buffer.from('0')));
    while (scan !== null) {
      const [next, keys] = (await scan) as [Buffer, Buffer[]];
      const more = !(next.length === 1 && next[0] === 48);
      if (keys.length === 0) {
        scan = more ? request(pipe, db, scanArgs(next)) : null;
        continue;
      }
      let batch = readKeys(pipe, db, keys, expire);
      scan = more ? request(pipe, db, scanArgs(next)) : null;
      await batch.settled;
      if (expire === 'PEXPIRETIME' && batch.errors[1] && /unknown command/i.test(batch.errors[1].message)) {
        // Servers before 7.0 have no PEXPIRETIME: fall back to a relative PTTL.
        expire = 'PTTL';
        batch = readKeys(pipe, db, keys, expire);
        await batch.settled;
      }
      const { replies, errors, readAt } = batch;
      const found: DumpedKey[] = [];
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const e = errors[2 * i] ?? errors[2 * i + 1];
        if (e) {
          throw new BackupError(
            'ERR_SERVER_REPLY',
            `reading key "${key.toString('latin1')}" (db ${db}) from ${node} failed: ${e.message}`,
            {
              cause: e,
              details: { node, db, key: key.toString('latin1') },
              hint: /NOPERM/.test(e.message)
                ? 'The ACL user needs +scan +dump +pexpiretime (+pttl)'
                : 'Run the backup again',
            },
          );
        }
        const payload = replies[2 * i];
        // Deleted or expired between SCAN and DUMP.
        if (payload === null || payload === undefined) continue;
        const t = Number(replies[2 * i + 1]);
        if (t === -2) continue;
        const buf = payload as Buffer;
        const vt = dumpPayloadType(buf);
        if (vt !== undefined && !options.filter.type(vt)) continue;
        if (!options.filter.key(key)) continue;
        const out: DumpedKey = { kind: 'dump', db, key, payload: buf, node };
        if (t >= 0) out.expiresAt = expire === 'PEXPIRETIME' ? t : readAt + t;
        found.push(out);
      }
      if (found.length > 0) yield found;
    }
  }
  await pipe.idle();
}

/**
 * The items of several sources as each has them ready (every source read at once; each runs at
 * most one item ahead). Stopping early or a failure ends them all.
 */
async function* interleave<T>(sources: AsyncGenerator<T>[]): AsyncGenerator<T> {
  const pull = (i: number) => {
    const p = sources[i]!.next().then((r) => ({ r, i }));
    // A source that fails after the others ended this one is not an unhandled rejection.
    p.catch(() => {});
    return p;
  };
  const pending = new Map(sources.map((_, i) => [i, pull(i)]));
  try {
    while (pending.size > 0) {
      const { r, i } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        continue;
      }
      pending.set(i, pull(i));
      yield r.value;
    }
  } finally {
    // Not waited for: a node that does not answer must not hold up the failure of another (its
    // generator ends when its connection is closed).
    for (const s of sources) s.return(undefined).catch(() => {});
  }
}

/**
 * Reads every key of a server (or of every primary of a cluster, all at once) with SCAN +
 * pipelined DUMP/PEXPIRETIME. Not a point-in-time snapshot: keys written during the scan may or may not
 * be included (use replication mode for a consistent copy). Function libraries come first.
 */
export async function* scanServer(
  conn: ServerConnection,
  options: ScanOptions,
): AsyncGenerator<DumpedKey | DumpedFunction> {
  const nodes: Array<{ client: Redis; name: string }> = conn.cluster
    ? conn.cluster.nodes('master').map((n) => ({ client: n, name: `${n.options.host}:${n.options.port}` }))
    : [{ client: conn.client, name: `${conn.target.host}:${conn.target.port}` }];
  for (const code of await listFunctionCode(nodes[0]!.client)) yield { kind: 'function', code };
  async function* ofNode(client: Redis, name: string): AsyncGenerator<DumpedKey[]> {
    try {
      const present = await nonEmptyDbs(client);
      const counts = new Map(present.map((d) => [d.db, d.keys]));
      let dbs = present.map((d) => d.db).filter((db) => options.filter.db(db));
      if (options.db !== undefined) dbs = dbs.filter((d) => d === options.db);
      yield* scanNode(client, name, dbs, options, counts);
    } catch (err) {
      // A dropped connection surfaces as the client's bare "Connection is closed": say which node.
      if (ValkeyToolsError.isInstance(err)) throw err;
      throw connectionError(name, err, 'Scanning');
    }
  }
  // A cluster's primaries are scanned at once, each on its own connection.
  const each = nodes.map(({ client, name }) => ofNode(client, name));
  for await (const batch of each.length === 1 ? each[0]! : interleave(each)) yield* batch;
}
