import type { Redis } from 'iovalkey';
import { compileFilter } from '../io/filter.js';
import { decodeDump } from '../rdb/dump.js';
import { readRdbRecords } from '../rdb/records.js';
import type { RdbRecord } from '../model.js';
import { type RestoreOptions, type RestoreResult, restore } from '../restore/restore.js';
import { connect, type ServerConnection, type TlsFiles } from '@valkey-tools/core';
import { followFailovers } from '../io/connect.js';
import { syncRdb } from '../live/replication.js';
import { scanServer } from '../live/scan.js';

export interface MigrateOptions extends Omit<RestoreOptions, 'input' | 'url' | 'tls' | 'from'> {
  /** Source server or cluster node (Redis or Valkey). */
  from: string;
  /** Target server or cluster node. */
  to: string;
  fromTls?: TlsFiles;
  toTls?: TlsFiles;
  /** How the source is read (see `backup`): `replication` (default, point-in-time) or `scan`. */
  mode?: 'replication' | 'scan';
}

function primaries(conn: ServerConnection): Array<{ client: Redis; name: string }> {
  return conn.cluster
    ? conn.cluster.nodes('master').map((n) => ({ client: n, name: `${n.options.host}:${n.options.port}` }))
    : [{ client: conn.client, name: `${conn.target.host}:${conn.target.port}` }];
}

async function* liveRecords(conn: ServerConnection, options: MigrateOptions): AsyncGenerator<RdbRecord> {
  if (options.mode === 'scan') {
    const filter = compileFilter(options);
    for await (const item of scanServer(conn, {
      filter,
      ...(options.db === undefined ? {} : { db: options.db }),
      ...(options.match === undefined ? {} : { match: options.match }),
      ...(options.type === undefined ? {} : { type: options.type }),
    })) {
      if (item.kind === 'function') yield { kind: 'function', code: item.code };
      else {
        const r = await decodeDump(item.payload, item.key, item.db);
        if (item.expiresAt !== undefined) r.expiresAt = item.expiresAt;
        yield r;
      }
    }
    return;
  }
  const nodes = primaries(conn);
  for (const p of nodes) {
    const target = {
      ...conn.target,
      host: String(p.client.options.host),
      port: Number(p.client.options.port),
    };
    const bytes = syncRdb(target, {
      where: conn.cluster ? p.name : conn.where,
      ...(options.fromTls ? { tls: options.fromTls } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    for await (const r of readRdbRecords(bytes, { file: `${p.name} (replication)` })) {
      // Every primary of a cluster holds the same function libraries: keep the first node's.
      if (r.kind === 'key' || (r.kind === 'function' && p === nodes[0])) yield r;
    }
  }
}

/**
 * Copies a live server (or cluster) into another live server (or cluster) without a file in
 * between: the source is read like `backup` (replication snapshot or scan) and written like
 * `restore` (RESTORE payloads for the target's version, plain commands when refused, routed by
 * slot into a cluster). Redis 7.x to Valkey works this way.
 */
export async function migrate(options: MigrateOptions): Promise<RestoreResult> {
  const started = Date.now();
  const { result, failovers } = await followFailovers(
    {
      urls: [
        { url: options.from, connect: options.fromTls ? { tls: options.fromTls } : {} },
        { url: options.to, connect: options.toTls ? { tls: options.toTls } : {} },
      ],
      started,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onFailover ? { onFailover: options.onFailover } : {}),
    },
    // After a failover (of the source or the target) the copy starts again, replacing what got there.
    (done) => migrateOnce(done.length > 0 ? { ...options, replace: true } : options),
  );
  return failovers.length > 0 ? { ...result, elapsedMs: Date.now() - started, failovers } : result;
}

async function migrateOnce(options: MigrateOptions): Promise<RestoreResult> {
  const source = await connect(options.from, options.fromTls ? { tls: options.fromTls } : {});
  try {
    const { from: _f, to, fromTls: _ft, toTls, mode: _m, onFailover: _o, ...rest } = options;
    return await restore({
      ...rest,
      input: { records: liveRecords(source, options), source: source.where },
      url: to,
      ...(toTls ? { tls: toTls } : {}),
    });
  } finally {
    await source.close();
  }
}
