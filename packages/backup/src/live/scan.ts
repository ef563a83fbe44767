import { parseInfo, ValkeyToolsError } from '@valkey-tools/core';
import type { Redis } from 'iovalkey';
import { type CompiledFilter, dumpPayloadType } from '../io/filter.js';
import type { ValueType } from '../model.js';
import { BackupError } from '../errors.js';
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

async function* scanNode(
  client: Redis,
  node: string,
  dbs: number[],
  options: ScanOptions,
  counts: Map<number, number>,
): AsyncGenerator<DumpedKey> {
  const count = options.count ?? 500;
  const types = options.type === undefined ? [] : Array.isArray(options.type) ? options.type : [options.type];
  let expireCommand: 'PEXPIRETIME' | 'PTTL' = 'PEXPIRETIME';
  for (const db of dbs) {
    if (dbs.length > 1 || db !== 0) await client.select(db);
    options.onDb?.({ node, db, keys: counts.get(db) ?? 0 });
    let cursor = '0';
    do {
      const args: Array<string | Buffer | number> = [cursor];
      if (options.match !== undefined) args.push('MATCH', options.match);
      args.push('COUNT', count);
      if (types.length === 1 && types[0] !== 'module') args.push('TYPE', types[0]!);
      const [next, keys] = (await client.callBuffer('SCAN', ...args)) as [Buffer, Buffer[]];
      cursor = next.toString();
      if (keys.length === 0) continue;
      const readAll = async () => {
        const pipe = client.pipeline();
        const readAt = Date.now();
        for (const k of keys) {
          pipe.callBuffer('DUMP', k);
          pipe.call(expireCommand, k);
        }
        return { results: (await pipe.exec()) ?? [], readAt };
      };
      let { results, readAt } = await readAll();
      if (
        expireCommand === 'PEXPIRETIME' &&
        results[1]?.[0] &&
        /unknown command/i.test(String(results[1][0]))
      ) {
        // Servers before 7.0 have no PEXPIRETIME: fall back to a relative PTTL.
        expireCommand = 'PTTL';
        ({ results, readAt } = await readAll());
      }
      for (let i = 0; i < keys.length; i++) {
        const [dumpErr, payload] = results[2 * i]!;
        const [ttlErr, ttl] = results[2 * i + 1]!;
        const key = keys[i]!;
        if (dumpErr || ttlErr) {
          const e = (dumpErr ?? ttlErr) as Error;
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
        // Deleted or expired between SCAN and DUMP.
        if (payload === null) continue;
        const t = Number(ttl);
        if (t === -2) continue;
        const buf = payload as Buffer;
        const vt = dumpPayloadType(buf);
        if (vt !== undefined && !options.filter.type(vt)) continue;
        if (!options.filter.key(key)) continue;
        const out: DumpedKey = { kind: 'dump', db, key, payload: buf, node };
        if (t >= 0) out.expiresAt = expireCommand === 'PEXPIRETIME' ? t : readAt + t;
        yield out;
      }
    } while (cursor !== '0');
  }
}

/**
 * Reads every key of a server (or of every primary of a cluster) with SCAN + pipelined
 * DUMP/PEXPIRETIME. Not a point-in-time snapshot: keys written during the scan may or may not
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
  for (const { client, name } of nodes) {
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
}
