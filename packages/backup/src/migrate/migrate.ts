import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type ServerConnection, type TlsFiles } from '@valkey-tools/core';
import { BackupError } from '../errors.js';
import { snapshotDir } from '../io/temp.js';
import { followFailovers } from '../io/connect.js';
import { type FollowProgress, type FollowReport, follow } from './follow.js';
import { compileFilter } from '../io/filter.js';
import { type BackupProgress, backup } from '../live/backup.js';
import { scanServer } from '../live/scan.js';
import type { RdbRecord } from '../model.js';
import { decodeDump } from '../rdb/dump.js';
import { type RestoreOptions, type RestoreResult, restore } from '../restore/restore.js';

export interface MigrateOptions extends Omit<RestoreOptions, 'input' | 'url' | 'tls' | 'from'> {
  /** Source server or cluster node (Redis or Valkey). */
  from: string;
  /** Target server or cluster node. */
  to: string;
  fromTls?: TlsFiles;
  toTls?: TlsFiles;
  /** How the source is read (see `backup`): `replication` (default, point-in-time) or `scan`. */
  mode?: 'replication' | 'scan';
  /** Replication mode: where the snapshot is kept while it is restored (default the OS temp dir). */
  tempDir?: string;
  /**
   * Keep following the source after the snapshot (an online migration): its writes are applied
   * to the target as they happen, until `untilSynced` or `signal` stops it. A standalone source
   * (Valkey, or Redis 7.x) and a standalone or cluster target.
   */
  follow?: boolean;
  /**
   * With `follow`: stop once the target has had everything the source wrote for this long (ms;
   * `true` = 2000). Stop the writes to the source first: this is the cut-over.
   */
  untilSynced?: boolean | number;
  /** With `follow`: lag, rates and offsets, once per `statusIntervalMs` (default 1000). */
  onFollow?: (progress: FollowProgress) => void;
  statusIntervalMs?: number;
}

export interface MigrateResult extends RestoreResult {
  /** With `follow`: how following the source ended. */
  follow?: FollowReport;
}

/** The source read by SCAN + DUMP (not point-in-time), as records. */
async function* scannedRecords(conn: ServerConnection, options: MigrateOptions): AsyncGenerator<RdbRecord> {
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
}

/**
 * Copies a live server (or cluster) into another live server (or cluster). In `replication` mode
 * (default) the source's point-in-time snapshot (every primary of a cluster merged into one) is
 * stored in a private temp file (`tempDir`, default the OS temp dir: it needs room for one
 * snapshot), verified whole like any untrusted file, restored the way `restore` restores an RDB
 * file (RESTORE of the values as encoded, routed by slot into a cluster), then deleted. In `scan`
 * mode keys go straight from SCAN + DUMP to the target. Redis 7.x to Valkey works this way.
 *
 * Through Sentinel URLs a failover is followed: of the target by the restore (again from the
 * snapshot), of the source by reading it again; both end with replace semantics.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  if (options.follow) return follow(options);
  const started = Date.now();
  const scan = options.mode === 'scan';
  if (options.mode !== undefined && !scan && options.mode !== 'replication') {
    throw new BackupError(
      'ERR_INVALID_OPTION',
      `mode must be "replication" or "scan", got "${options.mode as string}"`,
    );
  }
  const { result, failovers } = await followFailovers(
    {
      urls: [
        { url: options.from, connect: options.fromTls ? { tls: options.fromTls } : {} },
        // A snapshot restored from its file follows the target's failovers by itself.
        ...(scan ? [{ url: options.to, connect: options.toTls ? { tls: options.toTls } : {} }] : []),
      ],
      started,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onFailover ? { onFailover: options.onFailover } : {}),
    },
    // After a failover the copy starts again, replacing what got there.
    (done) => migrateOnce(done.length > 0 ? { ...options, replace: true } : options),
  );
  const all = [...failovers, ...(result.failovers ?? [])].sort((a, b) => a.atMs - b.atMs);
  return all.length > 0 ? { ...result, elapsedMs: Date.now() - started, failovers: all } : result;
}

async function migrateOnce(options: MigrateOptions): Promise<RestoreResult> {
  const { from, to, fromTls, toTls, mode, tempDir, onFailover: _o, ...rest } = options;
  const target = { url: to, ...(toTls ? { tls: toTls } : {}) };
  if (mode === 'scan') {
    const source = await connect(from, fromTls ? { tls: fromTls } : {});
    try {
      return await restore({
        ...rest,
        ...target,
        input: { records: scannedRecords(source, options), source: source.where },
      });
    } finally {
      await source.close();
    }
  }
  const dir = await snapshotDir(tempDir);
  try {
    const file = join(dir, 'snapshot.rdb');
    const started = Date.now();
    await backup({
      url: from,
      output: file,
      format: 'rdb',
      ...(fromTls ? { tls: fromTls } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: (p) => snapshotProgress(options, p, started) } : {}),
    });
    return await restore({
      ...rest,
      ...target,
      input: file,
      ...(options.onFailover ? { onFailover: options.onFailover } : {}),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The snapshot phase, told as a restore's `checking` phase (bytes received as `inputBytes`). */
function snapshotProgress(options: MigrateOptions, p: BackupProgress, started: number): void {
  const elapsedMs = Date.now() - started;
  options.onProgress!({
    keys: 0,
    functions: 0,
    commands: 0,
    bytes: 0,
    inputBytes: p.bytesReceived,
    phase: 'checking',
    errors: 0,
    elapsedMs,
    keysPerSecond: 0,
    bytesPerSecond: p.bytesReceived / Math.max(elapsedMs / 1000, 0.001),
    nodes: [],
    done: false,
  });
}
