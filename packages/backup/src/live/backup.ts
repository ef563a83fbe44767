import { rm } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { Redis } from 'iovalkey';
import { abortable, partialPath, writeFileAtomically, writeToStream } from '../io/atomic.js';
import { compileFilter, type KeyFilter } from '../io/filter.js';
import { checkOutputFormat, formatFromPath, type OutputFormat } from '../io/formats.js';
import { encodeRecords } from '../io/output.js';
import { decodeDump, encodeDump, splitDumpPayload } from '../rdb/dump.js';
import { type EncodedKeyRecord, type RdbTarget, writeRdb } from '../rdb/writer.js';
import { DirectFallback } from '../rdb/direct.js';
import { rdbFileToJsonl } from '../jsonl/rdb-to-jsonl.js';
import { rdbFileToResp } from '../resp/rdb-to-resp.js';
import { readRdbRecords } from '../rdb/records.js';
import type { KeyRecord, RdbRecord } from '../model.js';
import { type Command, command } from '../resp/encode.js';
import { BackupError } from '../errors.js';
import { commandsToReadable } from '../resp/readable.js';
import { commandsToResp, type RespHeaderInfo } from '../resp/writer.js';
import { verifyRdb } from '../rdb/inspect.js';
import type { WalkResult } from '../rdb/walk.js';
import { checkingStream } from '../rdb/stream-check.js';
import { connect, type SentinelNode, type ServerConnection, type TlsFiles } from '@valkey-tools/core';
import { serverVersion } from '../io/connect.js';
import { MERGE_GAVE_UP, mergeSnapshots, type SnapshotSource } from './merge.js';
import { syncRdb } from './replication.js';
import { type DumpedFunction, type DumpedKey, scanServer } from './scan.js';

export interface BackupProgress {
  /**
   * `waiting`: the server is making its snapshot (it waits `repl-diskless-sync-delay`, 5 s by
   * default, for other replicas first); `sync`: the snapshot is arriving; `convert`: the snapshot,
   * staged as an RDB file beside the output, is being written as `.valkey` or JSONL (`keys` so
   * far); `scan`: scan mode.
   */
  phase: 'waiting' | 'sync' | 'convert' | 'scan';
  /** Node being read (`host:port`). */
  node: string;
  /** Keys written so far (scan mode, and replication mode when converting). */
  keys: number;
  /** Keys the source holds (from INFO keyspace; scan mode). */
  totalKeys?: number;
  /** Snapshot bytes received (replication mode). */
  bytesReceived: number;
  /** Snapshot size announced by the server (disk-based replication). */
  snapshotBytes?: number;
  /** Bytes written to the output file. */
  bytesWritten: number;
  elapsedMs: number;
  /**
   * A cluster read through replication into one RDB: each primary's snapshot, all read at once
   * (`keys` once its snapshot has ended).
   */
  nodes?: Array<{ node: string; bytesReceived: number; keys?: number; done: boolean }>;
  done: boolean;
}

export interface BackupOptions extends KeyFilter {
  /** Source server or cluster node (`redis://[user:pass@]host:port`, `rediss://` for TLS). */
  url: string;
  /** Output file; written under a temp name and renamed when complete. */
  output: string;
  /** `rdb`, `resp` (`.valkey`), `readable` (`.txt`) or `jsonl`; default from the output name. */
  format?: OutputFormat;
  /**
   * `replication` (default): a consistent snapshot through the replication protocol, like
   * `valkey-cli --rdb`. `scan`: SCAN + DUMP for servers that refuse replicas (not point-in-time).
   */
  mode?: 'replication' | 'scan';
  tls?: TlsFiles;
  /**
   * A Sentinel URL (`valkey+sentinel://`): read the current primary (default) or a replica (the
   * most up-to-date healthy one), which keeps the load off the primary.
   */
  role?: 'primary' | 'replica';
  /**
   * Scan mode into `.valkey`/readable: `dump` (default) writes `RESTORE key ttl <payload> ABSTTL`
   * (exact, fast, needs a target that accepts the source's payload version); `commands` decodes
   * each value into SET/RPUSH/... (portable across versions).
   */
  values?: 'dump' | 'commands';
  /**
   * Replication into RDB files, one per primary (of a cluster; a single server gets one too): each
   * is the primary's snapshot byte for byte, like `valkey-cli --rdb` of every primary, checked as
   * it arrives. `output` names them: `dir/backup.rdb` gives `dir/backup.<host>-<port>.rdb` (see
   * `nodeFilePath`). They replace nothing until every one is complete and checked.
   */
  perNode?: boolean;
  /**
   * Write an RDB backup into this stream (stdout, a pipe) as it arrives instead of a file: no temp
   * file, no disk space needed; `output` then only names it in messages. Nothing is renamed: a
   * failure part-way leaves what was written in the stream (its reader must look at the exit
   * status). A raw snapshot is still checked as it goes by; one the quick check cannot read (module
   * data...) is told by `unchecked` in the result. RDB format only (not `perNode`).
   */
  outputStream?: NodeJS.WritableStream;
  /** SCAN COUNT and DUMP batch (default 500). */
  count?: number;
  /** Elements per command in plain-command output (default 64). */
  batchSize?: number;
  /** Replication mode: fail when the server is silent this long (default 60 s). */
  idleTimeoutMs?: number;
  onProgress?: (progress: BackupProgress) => void;
  /** Minimum time between progress events (default 250 ms). */
  progressIntervalMs?: number;
  signal?: AbortSignal;
}

export interface BackupResult {
  output: string;
  format: OutputFormat;
  mode: 'replication' | 'scan';
  /** Primaries read (`host:port`); one for a standalone server. */
  nodes: string[];
  /** Keys written (not counted when a replication snapshot is stored as it is). */
  keys: number;
  bytesWritten: number;
  elapsedMs: number;
  /** A cluster read through replication into one RDB: each primary's snapshot (bytes, keys). */
  perNode?: Array<{ node: string; bytesReceived: number; keys: number }>;
  /** With `perNode`: the file written for each primary. */
  files?: Array<{ node: string; path: string; keys: number; bytes: number }>;
  /**
   * With `outputStream`: the snapshot went out without the check it gets on its way into a file
   * (the quick check could not read it: module data, or it fell behind); `verifyRdb` what was
   * written.
   */
  unchecked?: true;
  /** A Sentinel URL: the server that was read (its role and address, the Sentinel that named it). */
  sentinel?: SentinelNode;
}

/** RDB records of one key rebuilt from a DUMP payload. */
async function dumpToRecord(d: DumpedKey): Promise<KeyRecord> {
  const r = await decodeDump(d.payload, d.key, d.db);
  if (d.expiresAt !== undefined) r.expiresAt = d.expiresAt;
  else delete r.expiresAt;
  return r;
}

/**
 * The keys of a server's snapshot written as it is to `temp`: the count of the walk that checked
 * it as it arrived, else (the walk gave up: unusual encodings, or it fell behind) of `verifyRdb`
 * reading the file; one that is not a valid RDB file throws (nothing is kept).
 */
async function snapshotKeys(
  walked: WalkResult | null | undefined,
  temp: string,
  where: string,
  details: Record<string, unknown>,
): Promise<number> {
  if (walked) return walked.keys;
  const v = await verifyRdb(temp);
  if (v.error) {
    throw new BackupError(
      'ERR_REPLICATION',
      `the snapshot ${where} sent is not a valid RDB file: ${v.error.message}`,
      {
        details: { ...details, ...v.error },
        hint: 'Nothing was kept; run the backup again',
      },
    );
  }
  return v.keys;
}

/**
 * The file of one primary's snapshot with `perNode`: `node` (`host:port`) goes before the
 * extension of `output`, made safe for a file name (`dir/backup.rdb`, `10.0.0.1:7000` →
 * `dir/backup.10.0.0.1-7000.rdb`).
 */
export function nodeFilePath(output: string, node: string): string {
  const ext = extname(output);
  const stem = output.slice(0, output.length - ext.length);
  return `${stem}.${node.replace(/[^A-Za-z0-9._-]/g, '-')}${ext}`;
}

/** The RDB target whose files hold values of `payload`'s RDB version as they are (null: none). */
function rdbTargetOf(payload: Buffer): RdbTarget | null {
  const version = payload.length >= 11 ? payload.readUInt16LE(payload.length - 10) : 0;
  if (version >= 1 && version <= 9) return 9;
  if (version === 10 || version === 11) return version;
  return version === 80 ? 'VALKEY080' : null;
}

/** A scanned key as a record of its value's encoded bytes (the payload's CRC-64 checked). */
function encodedKey(d: DumpedKey): EncodedKeyRecord {
  let parts: ReturnType<typeof splitDumpPayload>;
  try {
    parts = splitDumpPayload(d.payload);
  } catch (err) {
    throw new BackupError(
      'ERR_SERVER_REPLY',
      `the DUMP of key "${d.key.toString('latin1')}" (db ${d.db}) from ${d.node} is damaged: ${(err as Error).message}`,
      {
        cause: err,
        details: { node: d.node, db: d.db, key: d.key.toString('latin1') },
        hint: 'Run the backup again',
      },
    );
  }
  return {
    kind: 'encoded-key',
    db: d.db,
    key: d.key,
    ...(d.expiresAt === undefined ? {} : { expiresAt: d.expiresAt }),
    ...parts,
  };
}

/**
 * Backs up a running server (or every primary of a cluster into one file) without access to its
 * filesystem. See `BackupOptions.mode` for the two ways of reading it.
 */
export async function backup(options: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const format = options.format
    ? checkOutputFormat(options.format)
    : formatFromPath(options.output, 'output');
  if (format === 'aof') throw new BackupError('ERR_FORMAT', 'AOF is not an output format');
  const mode = options.mode ?? 'replication';
  if (mode !== 'replication' && mode !== 'scan') {
    throw new BackupError(
      'ERR_INVALID_OPTION',
      `mode must be "replication" or "scan", got "${mode as string}"`,
    );
  }
  const filter = compileFilter(options);
  if (options.outputStream && (format !== 'rdb' || options.perNode)) {
    throw new BackupError(
      'ERR_INVALID_OPTION',
      'outputStream takes an RDB backup (format "rdb", not perNode); write other formats to a file',
    );
  }
  if (options.perNode && (mode !== 'replication' || format !== 'rdb' || filter.any)) {
    throw new BackupError(
      'ERR_INVALID_OPTION',
      'perNode writes each primary\'s snapshot as it is: it needs mode "replication", the rdb format and no db, match or type filter',
    );
  }
  /** With `perNode`: the file of each primary. */
  const files: NonNullable<BackupResult['files']> = [];
  /** With `outputStream`: the snapshot could not be checked on its way out. */
  let unchecked = false;
  const conn = await connect(options.url, {
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.role ? { role: options.role } : {}),
  });
  const nodes: string[] = [];
  let keys = 0;
  /** The output is the server's snapshot as it sent it (its keys are counted afterwards). */
  let rawSnapshot = false;
  /** The walk of a raw snapshot as it arrived (see checkingStream). */
  let snapshotWalk: Promise<WalkResult | null> | undefined;
  let bytesWritten = 0;
  let lastProgress = 0;
  const interval = options.progressIntervalMs ?? 250;
  const state: Omit<BackupProgress, 'elapsedMs' | 'done' | 'keys' | 'bytesWritten'> = {
    phase: mode === 'scan' ? 'scan' : 'sync',
    node: '',
    bytesReceived: 0,
  };
  const progress = (done: boolean) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!done && now - lastProgress < interval) return;
    lastProgress = now;
    options.onProgress({ ...state, keys, bytesWritten, elapsedMs: now - started, done });
  };
  const { flavor, version } = serverVersion(conn.info);
  const header: RespHeaderInfo = {
    tool: '@valkey-tools/backup',
    created: new Date(started).toISOString(),
    source: conn.where,
    server: `${flavor} ${version}`,
    mode,
  };
  // A command waiting for a server that does not answer (paused, overloaded) would hold an abort
  // until it did: closing the connection fails it at once, and nothing is kept of the output.
  const closeOnAbort = () => void conn.close();
  options.signal?.addEventListener('abort', closeOnAbort, { once: true });
  try {
    // The snapshot goes to the file byte for byte: it must be whole and valid before it replaces
    // anything (the walk that checked it on the way counts its keys; an unusual one is read again).
    const checkSnapshot = async (temp: string | null) => {
      if (!rawSnapshot) return;
      const walked = await snapshotWalk;
      if (temp === null) {
        // Into a stream: there is no file to read again.
        if (walked) keys = walked.keys;
        else unchecked = true;
        return;
      }
      keys = await snapshotKeys(walked, temp, conn.where, { url: conn.where });
    };
    const onBytes = (n: number) => {
      bytesWritten = n;
      progress(false);
    };
    const write = async (chunks: AsyncIterable<Buffer>, to = options.output, check = checkSnapshot) => {
      const guarded = abortable(chunks, options.signal, () => abortedError(conn.where));
      if (options.outputStream && to === options.output) {
        const n = await writeToStream(guarded, options.outputStream, onBytes);
        await check(null);
        return n;
      }
      return writeFileAtomically(to, guarded, onBytes, check);
    };
    if (options.perNode) bytesWritten = await perNodeFiles(conn, options);
    else if (mode === 'scan') bytesWritten = await write(scanChunks(conn, options, format, header));
    else if (format === 'rdb' && primaries().length > 1 && !filter.any) {
      try {
        bytesWritten = await write(mergedChunks(conn, options));
      } catch (err) {
        if (err !== MERGE_GAVE_UP) throw err;
        // A snapshot has what the raw merge does not take (module values...): merged by records.
        mergeGaveUp();
        bytesWritten = await write(replicationChunks(conn, options, format, header));
      }
    } else if ((format === 'resp' || format === 'jsonl') && !filter.any) {
      bytesWritten = await viaStagedRdb(format, write);
    } else bytesWritten = await write(replicationChunks(conn, options, format, header));
  } catch (err) {
    if (options.signal?.aborted && !BackupError.hasCode(err, 'ERR_ABORTED')) throw abortedError(conn.where);
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', closeOnAbort);
    await conn.close();
  }
  progress(true);
  const perNode = state.nodes?.map((n) => ({
    node: n.node,
    bytesReceived: n.bytesReceived,
    keys: n.keys ?? 0,
  }));
  return {
    output: options.output,
    format,
    mode,
    nodes,
    keys,
    bytesWritten,
    elapsedMs: Date.now() - started,
    ...(perNode ? { perNode } : {}),
    ...(options.perNode ? { files } : {}),
    ...(unchecked ? { unchecked: true as const } : {}),
    ...(conn.sentinel ? { sentinel: conn.sentinel } : {}),
  };

  function abortedError(where: string): BackupError {
    return new BackupError('ERR_ABORTED', `backup of ${where} was aborted`, {
      details: { url: where, keys },
      hint: 'Nothing was written to the output; run the backup again',
    });
  }

  /** Forgets what a merge that gave up counted, before the snapshots are read again by records. */
  function mergeGaveUp(): void {
    nodes.length = 0;
    keys = 0;
    state.bytesReceived = 0;
    delete state.nodes;
  }

  /**
   * Replication into `.valkey` or JSONL: the snapshot (every primary's at once, merged) is staged
   * as one RDB file beside the output (a hidden temp file, removed at the end; a killed run's is
   * removed by the next write there), checked as it arrives, then written out straight from the
   * file's bytes the way `convert` does (the record reader when the walk cannot). Returns the
   * output's size.
   */
  async function viaStagedRdb(
    f: 'resp' | 'jsonl',
    write: (
      chunks: AsyncIterable<Buffer>,
      to?: string,
      check?: (temp: string | null) => Promise<void>,
    ) => Promise<number>,
  ): Promise<number> {
    const staged = partialPath(resolve(options.output));
    try {
      if (primaries().length > 1) {
        try {
          await write(mergedChunks(conn, options), staged, async () => {});
        } catch (err) {
          if (err !== MERGE_GAVE_UP) throw err;
          // A snapshot has what the raw merge does not take (module values...): by records.
          mergeGaveUp();
          return await write(replicationChunks(conn, options, f, header));
        }
      } else await write(replicationChunks(conn, options, 'rdb', header), staged);
      state.phase = 'convert';
      keys = 0;
      lastProgress = 0;
      progress(false);
      const onProgress = (_read: number, k: number) => {
        keys = k;
        progress(false);
      };
      const batch = options.batchSize === undefined ? {} : { batchSize: options.batchSize };
      // A big snapshot's second half is written on another thread meanwhile (as `convert` does),
      // into a hidden temp file beside the output.
      const spillPath = partialPath(resolve(options.output));
      const direct =
        f === 'resp'
          ? rdbFileToResp(staged, {
              ...batch,
              header,
              commands: { ...batch, exactScores: true, dumpPayload: encodeDump },
              onProgress,
              spillPath,
            })
          : rdbFileToJsonl(staged, { onProgress, spillPath });
      const noCheck = async () => {};
      try {
        const n = await write(direct, options.output, noCheck);
        keys = direct.keys();
        return n;
      } catch (err) {
        if (!(err instanceof DirectFallback)) throw err;
      }
      keys = 0;
      async function* counted(): AsyncGenerator<RdbRecord> {
        for await (const r of readRdbRecords(staged, { file: `${conn.where} (replication)` })) {
          if (r.kind === 'key') keys++;
          yield r;
        }
      }
      return await write(encodeRecords(counted(), f, { header, ...batch }), options.output, noCheck);
    } finally {
      await rm(staged, { force: true });
    }
  }

  /**
   * Every primary's snapshot as a source of bytes (a primary connects and sends SYNC when first
   * read), counted into the progress per node; `stop` closes them all.
   */
  function snapshotSources(
    c: ServerConnection,
    o: BackupOptions,
  ): { sources: SnapshotSource[]; perNode: NonNullable<BackupProgress['nodes']>; stop: AbortController } {
    const list = primaries();
    const stop = new AbortController();
    const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
    const perNode = list.map(
      (p) =>
        ({ node: p.name, bytesReceived: 0, done: false }) as NonNullable<BackupProgress['nodes']>[number],
    );
    state.nodes = perNode;
    state.node = list.map((p) => p.name).join(',');
    state.phase = 'waiting';
    let started = 0;
    let received = 0;
    async function* counting(i: number, src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const b of src) {
        received += b.length;
        perNode[i]!.bytesReceived += b.length;
        state.bytesReceived = received;
        progress(false);
        yield b;
      }
    }
    const sources = list.map((p, i) => {
      nodes.push(p.name);
      const target = {
        ...c.target,
        host: String(p.client.options.host),
        port: Number(p.client.options.port),
      };
      const bytes = syncRdb(target, {
        where: p.name,
        ...(o.tls ? { tls: o.tls } : {}),
        ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
        signal,
        onStart: (s) => {
          if (++started === list.length) state.phase = 'sync';
          if (s.size !== undefined) state.snapshotBytes = (state.snapshotBytes ?? 0) + s.size;
          lastProgress = 0;
          progress(false);
        },
      });
      return { name: p.name, bytes: counting(i, bytes) };
    });
    return { sources, perNode, stop };
  }

  /** Tells the progress that node `i`'s snapshot ended with `n` keys. */
  function nodeDone(perNode: NonNullable<BackupProgress['nodes']>, i: number, n: number): void {
    perNode[i]!.keys = n;
    perNode[i]!.done = true;
    keys += n;
    lastProgress = 0;
    progress(false);
  }

  /**
   * Every primary's snapshot into a file of its own (`nodeFilePath`), all at once, each byte for
   * byte and checked as it arrives. The files are renamed into place only once every one of them
   * is complete and checked: a failure of one keeps them all from replacing anything.
   */
  async function perNodeFiles(c: ServerConnection, o: BackupOptions): Promise<number> {
    const { sources, perNode, stop } = snapshotSources(c, o);
    const sizes = sources.map(() => 0);
    let arrived = 0;
    let open!: () => void;
    let fail!: (err: unknown) => void;
    const gate = new Promise<void>((resolve, reject) => {
      open = resolve;
      fail = reject;
    });
    gate.catch(() => {});
    let firstError: { err: unknown } | undefined;
    await Promise.allSettled(
      sources.map(async (src, i) => {
        const path = nodeFilePath(o.output, src.name);
        files.push({ node: src.name, path, keys: 0, bytes: 0 });
        const file = files[files.length - 1]!;
        const checking = checkingStream(src.bytes);
        try {
          const chunks = abortable(checking.chunks, o.signal, () => abortedError(c.where));
          const onBytes = (n: number) => {
            sizes[i] = n;
            bytesWritten = sizes.reduce((a, b) => a + b, 0);
            progress(false);
          };
          file.bytes = await writeFileAtomically(path, chunks, onBytes, async (temp) => {
            file.keys = await snapshotKeys(await checking.result, temp, src.name, { node: src.name });
            nodeDone(perNode, i, file.keys);
            // Renamed only when every file is complete and checked.
            if (++arrived === sources.length) open();
            await gate;
          });
        } catch (err) {
          // The first failure is the one told (the others were stopped by it).
          firstError ??= { err };
          fail(err);
          stop.abort();
          throw err;
        }
      }),
    );
    if (firstError) throw firstError.err;
    return files.reduce((n, f) => n + f.bytes, 0);
  }

  /** Every primary's snapshot at once, merged into one RDB without reading a key (see mergeSnapshots). */
  async function* mergedChunks(c: ServerConnection, o: BackupOptions): AsyncGenerator<Buffer> {
    const { sources, perNode, stop } = snapshotSources(c, o);
    const { flavor: fl, version: ver } = serverVersion(c.info);
    yield* mergeSnapshots(sources, {
      aux: {
        'redis-ver': c.info.redis_version ?? ver,
        'redis-bits': '64',
        ctime: String(Math.floor(Date.now() / 1000)),
        'aof-base': '0',
        ...(fl === 'valkey' ? { 'valkey-ver': ver } : {}),
      },
      // The snapshots that wait their turn are written beside the output (a killed run's are
      // removed by the next write there).
      ...(o.outputStream ? {} : { spillPath: () => partialPath(resolve(o.output)) }),
      onNodeDone: (i, n) => nodeDone(perNode, i, n),
      abort: () => stop.abort(),
    });
  }

  function primaries(): Array<{ client: Redis; name: string }> {
    return conn.cluster
      ? conn.cluster.nodes('master').map((n) => ({ client: n, name: `${n.options.host}:${n.options.port}` }))
      : [{ client: conn.client, name: `${conn.target.host}:${conn.target.port}` }];
  }

  async function* scanChunks(
    c: ServerConnection,
    o: BackupOptions,
    f: OutputFormat,
    h: RespHeaderInfo,
  ): AsyncGenerator<Buffer> {
    for (const p of primaries()) nodes.push(p.name);
    const source = scanServer(c, {
      filter,
      ...(o.db === undefined ? {} : { db: o.db }),
      ...(o.match === undefined ? {} : { match: o.match }),
      ...(o.type === undefined ? {} : { type: o.type }),
      ...(o.count === undefined ? {} : { count: o.count }),
      onDb: (info) => {
        state.node = info.node;
        state.totalKeys = (state.totalKeys ?? 0) + info.keys;
      },
    });
    const checkAbort = () => {
      if (o.signal?.aborted) throw abortedError(c.where);
    };
    const rawDump = (f === 'resp' || f === 'readable') && (o.values ?? 'dump') === 'dump';
    if (rawDump) {
      async function* cmds(): AsyncGenerator<Command> {
        let db = -1;
        for await (const item of source) {
          checkAbort();
          if (item.kind === 'function') {
            yield command('FUNCTION', 'LOAD', 'REPLACE', item.code);
            continue;
          }
          if (item.db !== db) {
            yield command('SELECT', item.db);
            db = item.db;
          }
          keys++;
          yield item.expiresAt === undefined
            ? command('RESTORE', item.key, 0, item.payload)
            : command('RESTORE', item.key, item.expiresAt, item.payload, 'ABSTTL');
        }
      }
      yield* f === 'resp' ? commandsToResp(cmds(), { header: h }) : commandsToReadable(cmds(), { header: h });
      return;
    }
    const items = source[Symbol.asyncIterator]();
    // Function libraries come first: what follows them tells the RDB version of the payloads.
    const first: Array<DumpedKey | DumpedFunction> = [];
    for (let r = await items.next(); !r.done; r = await items.next()) {
      checkAbort();
      first.push(r.value);
      if (r.value.kind === 'dump') break;
    }
    async function* scanned(): AsyncGenerator<DumpedKey | DumpedFunction> {
      yield* first;
      for (let r = await items.next(); !r.done; r = await items.next()) {
        checkAbort();
        yield r.value;
      }
    }
    const head = first[first.length - 1];
    const target = head?.kind === 'dump' ? rdbTargetOf(head.payload) : 11;
    if (f === 'rdb' && target !== null) {
      // Each value goes into the file as the server encoded it (its payload's CRC-64 checked).
      async function* encoded(): AsyncGenerator<RdbRecord | EncodedKeyRecord> {
        for await (const item of scanned()) {
          if (item.kind === 'function') yield { kind: 'function', code: item.code };
          else {
            keys++;
            yield encodedKey(item);
          }
        }
      }
      yield* writeRdb(encoded(), { target });
      return;
    }
    async function* records(): AsyncGenerator<RdbRecord> {
      for await (const item of scanned()) {
        if (item.kind === 'function') yield { kind: 'function', code: item.code };
        else {
          keys++;
          yield await dumpToRecord(item);
        }
      }
    }
    yield* encodeRecords(records(), f, {
      header: h,
      ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
    });
  }

  async function* replicationChunks(
    c: ServerConnection,
    o: BackupOptions,
    f: OutputFormat,
    h: RespHeaderInfo,
  ): AsyncGenerator<Buffer> {
    const list = primaries();
    const sync = (p: { client: Redis; name: string }) => {
      nodes.push(p.name);
      state.node = p.name;
      state.phase = 'waiting';
      lastProgress = 0;
      progress(false);
      const target = {
        ...c.target,
        host: String(p.client.options.host),
        port: Number(p.client.options.port),
      };
      return syncRdb(target, {
        where: c.cluster ? p.name : c.where,
        ...(o.tls ? { tls: o.tls } : {}),
        ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
        ...(o.signal ? { signal: o.signal } : {}),
        onStart: (s) => {
          state.phase = 'sync';
          if (s.size !== undefined) state.snapshotBytes = (state.snapshotBytes ?? 0) + s.size;
          lastProgress = 0;
          progress(false);
        },
        onBytes: () => {},
      });
    };
    let received = 0;
    async function* counting(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const b of src) {
        received += b.length;
        state.bytesReceived = received;
        progress(false);
        yield b;
      }
    }
    // The snapshot as it is: the exact bytes the server produced.
    if (f === 'rdb' && list.length === 1 && !filter.any) {
      rawSnapshot = true;
      // Checked as it arrives (the server takes its time producing it), not read again after.
      const checking = checkingStream(counting(sync(list[0]!)));
      snapshotWalk = checking.result;
      yield* checking.chunks;
      return;
    }
    async function* records(): AsyncGenerator<RdbRecord> {
      let headerSeen = false;
      for (const p of list) {
        for await (const r of readRdbRecords(counting(sync(p)), { file: `${p.name} (replication)` })) {
          if (r.kind === 'key') {
            if (!(filter.db(r.db) && filter.key(r.key) && filter.type(r.value.type))) continue;
            keys++;
            yield r;
          } else if (r.kind === 'function') {
            // Every primary of a cluster holds the same libraries: keep the first node's.
            if (p === list[0]) yield r;
          } else if (r.kind === 'header' || r.kind === 'aux' || r.kind === 'module-aux') {
            if (!headerSeen || r.kind !== 'header') {
              if (p === list[0]) yield r;
            }
            if (r.kind === 'header') headerSeen = true;
          } else if (r.kind === 'end') {
            if (p === list[list.length - 1]) yield r;
          } else if (r.kind === 'select-db') yield r;
        }
      }
    }
    yield* encodeRecords(records(), f, {
      header: h,
      ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
    });
  }
}
