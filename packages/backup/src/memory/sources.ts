import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseConnectionUrl, redactUrl } from '@valkey-tools/core';
import { compileFilter } from '../io/filter.js';
import { connect, type TlsFiles } from '@valkey-tools/core';
import { type ReplicationSyncOptions, syncRdb } from '../live/replication.js';
import { scanServer } from '../live/scan.js';
import type { KeyRecord } from '../model.js';
import { decodeDumpPayload } from '../rdb/dump.js';
import { walkRdbRecords } from '../rdb/direct.js';
import { type ReadRdbOptions, readRdb, readRdbBatches } from '../rdb/reader.js';
import { MemoryError } from '../errors.js';
import {
  type AnalyzeMemoryOptions,
  analyzeMemory,
  analyzeMemoryOfBatches,
  memoryAnalysis,
  type MemoryProgress,
  type MemoryReport,
} from './analyze.js';

export interface AnalyzeRdbOptions extends AnalyzeMemoryOptions {
  /** Options for the RDB reader; huge keys are read in parts by default so memory stays bounded. */
  read?: Omit<ReadRdbOptions, 'file' | 'totalBytes'>;
}

/** The size of a readable regular file, or a MemoryError saying why it cannot be analyzed. */
async function fileSize(path: string): Promise<number> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MemoryError('ERR_MEMORY_INPUT', `cannot open the snapshot ${path}: ${code ?? String(err)}`, {
      cause: err,
      details: { file: path, errno: code },
      hint:
        code === 'ENOENT'
          ? 'Check the path (the server writes dump.rdb in its `dir`)'
          : 'Check the path and its permissions',
    });
  }
  if (!info.isFile()) {
    throw new MemoryError('ERR_MEMORY_INPUT', `the snapshot ${path} is not a file`, {
      details: { file: path },
      hint: 'Pass the path of an .rdb file',
    });
  }
  return info.size;
}

/** The reader options memory analysis uses: chunked delivery of huge keys unless told otherwise. */
function readerOptions(read: AnalyzeRdbOptions['read']): ReadRdbOptions {
  return { chunked: true, ...read };
}

/**
 * Memory analysis of an RDB file in one call, in bounded memory whatever its size (huge keys are
 * read in parts). Errors in the file surface as `RdbError` with the byte offset and key.
 *
 * ```ts
 * const report = await analyzeRdbFile('dump.rdb', { top: 50, separators: [':'] });
 * ```
 */
export async function analyzeRdbFile(path: string, options: AnalyzeRdbOptions = {}): Promise<MemoryReport> {
  const { read, onProgress, ...analyze } = options;
  const size = await fileSize(path);
  let readBytes = 0;
  const withBytes = onProgress && ((p: MemoryProgress) => onProgress({ ...p, readBytes, totalBytes: size }));
  // The common case: records decoded straight from the walked file, no reader; when the walk gives
  // up (corrupt data, warnings, rare encodings...) the reader below does it all again.
  if (!analyze.csv && !analyze.onKey && read === undefined) {
    const { csv: _c, onKey: _k, ...rest } = analyze;
    const session = memoryAnalysis({
      source: basename(path),
      ...rest,
      ...(withBytes ? { onProgress: withBytes } : {}),
    });
    // Estimates need a long string's length, not its bytes.
    const walked = await walkRdbRecords(path, session.push, {
      lengthsOnly: true,
      // Listpack sets, hashes and sorted sets by their sizes: no element is made.
      packed: session.pushPacked,
      onRead: (n) => {
        readBytes = n;
      },
    });
    if (walked) return session.finish();
    readBytes = 0;
  }
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
      readBytes += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }
  const batches = readRdbBatches(counted(), { ...readerOptions(read), file: path, totalBytes: size });
  async function* records() {
    for await (const batch of batches) yield batch.records;
  }
  return analyzeMemoryOfBatches(records(), {
    source: basename(path),
    ...analyze,
    ...(withBytes ? { onProgress: withBytes } : {}),
  });
}

export interface AnalyzeServerOptions extends AnalyzeRdbOptions {
  /**
   * `replication` (default): one snapshot over the replication protocol, as a replica gets it.
   * `scan`: SCAN + DUMP key by key, for servers that refuse SYNC (managed services) and for every
   * primary of a cluster.
   */
  mode?: 'replication' | 'scan';
  /** Options of the replication transfer (idle timeout, byte progress). */
  sync?: Omit<ReplicationSyncOptions, 'signal' | 'where' | 'tls'>;
  /** TLS client certificate / CA files for `rediss://` URLs. */
  tls?: TlsFiles;
  /** Scan mode: SCAN COUNT hint and DUMP batch size (default 500). */
  scanCount?: number;
}

/**
 * Memory analysis of a live server. Estimates default to `state: 'written'` (keys as clients wrote
 * them into the running server). In replication mode nothing is written to the server's disk by us;
 * errors are `BackupError`s (`ERR_CONNECTION`, `ERR_REPLICATION`: use `mode: 'scan'`).
 */
export async function analyzeServerMemory(
  url: string,
  options: AnalyzeServerOptions = {},
): Promise<MemoryReport> {
  const { read, sync, tls, mode = 'replication', scanCount, onProgress, ...analyze } = options;
  const where = redactUrl(url);
  if (mode === 'scan') {
    const conn = await connect(url, tls ? { tls } : {});
    try {
      async function* records(): AsyncGenerator<KeyRecord> {
        const scan = scanServer(conn, {
          filter: compileFilter({}),
          ...(scanCount ? { count: scanCount } : {}),
        });
        for await (const item of scan) {
          if (item.kind !== 'dump') continue;
          const { value, encoding } = await decodeDumpPayload(item.payload);
          const record: KeyRecord = { kind: 'key', db: item.db, key: item.key, encoding, value };
          if (item.expiresAt !== undefined) record.expiresAt = item.expiresAt;
          yield record;
        }
      }
      return await analyzeMemory(records(), {
        source: conn.where,
        state: 'written',
        ...analyze,
        ...(onProgress ? { onProgress } : {}),
      });
    } finally {
      await conn.close();
    }
  }
  const target = parseConnectionUrl(url);
  let readBytes = 0;
  let totalBytes: number | undefined;
  const syncOptions: ReplicationSyncOptions = {
    ...sync,
    where,
    onStart: (info) => {
      totalBytes = info.size;
      sync?.onStart?.(info);
    },
    onBytes: (received) => {
      readBytes = received;
      sync?.onBytes?.(received);
    },
  };
  if (tls) syncOptions.tls = tls;
  if (analyze.signal) syncOptions.signal = analyze.signal;
  const records = readRdb(syncRdb(target, syncOptions), readerOptions(read));
  const withBytes =
    onProgress &&
    ((p: MemoryProgress) =>
      onProgress({ ...p, readBytes, ...(totalBytes === undefined ? {} : { totalBytes }) }));
  return analyzeMemory(records, {
    source: where,
    state: 'written',
    ...analyze,
    ...(withBytes ? { onProgress: withBytes } : {}),
  });
}
