import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseConnectionUrl, redactUrl } from '@valkey-tools/core';
import { type ReplicationSyncOptions, syncRdb } from '../live/replication.js';
import { type ReadRdbOptions, readRdb } from '../rdb/reader.js';
import {
  type AnalyzeMemoryOptions,
  analyzeMemory,
  type MemoryProgress,
  type MemoryReport,
} from './analyze.js';

export interface AnalyzeRdbOptions extends AnalyzeMemoryOptions {
  /** Options for the RDB reader; huge keys are read in parts by default so memory stays bounded. */
  read?: Omit<ReadRdbOptions, 'file' | 'totalBytes'>;
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
  const { size } = await stat(path);
  let readBytes = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
      readBytes += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }
  const records = readRdb(counted(), { ...readerOptions(read), file: path, totalBytes: size });
  const withBytes = onProgress && ((p: MemoryProgress) => onProgress({ ...p, readBytes, totalBytes: size }));
  return analyzeMemory(records, {
    source: basename(path),
    ...analyze,
    ...(withBytes ? { onProgress: withBytes } : {}),
  });
}

export interface AnalyzeServerOptions extends AnalyzeRdbOptions {
  /** Options of the replication transfer (TLS files, idle timeout, byte progress). */
  sync?: Omit<ReplicationSyncOptions, 'signal' | 'where'>;
}

/**
 * Memory analysis of a live server: takes a snapshot over the replication protocol (as a replica
 * would, nothing is written to the server's disk by us) and analyzes it as it streams in.
 * Needs a server that allows `SYNC`/`PSYNC` from this client; errors are `BackupError`s.
 */
export async function analyzeServerMemory(
  url: string,
  options: AnalyzeServerOptions = {},
): Promise<MemoryReport> {
  const { read, sync, onProgress, ...analyze } = options;
  const target = parseConnectionUrl(url);
  const where = redactUrl(url);
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
  if (analyze.signal) syncOptions.signal = analyze.signal;
  const records = readRdb(syncRdb(target, syncOptions), readerOptions(read));
  const withBytes =
    onProgress &&
    ((p: MemoryProgress) =>
      onProgress({ ...p, readBytes, ...(totalBytes === undefined ? {} : { totalBytes }) }));
  return analyzeMemory(records, {
    source: where,
    ...analyze,
    ...(withBytes ? { onProgress: withBytes } : {}),
  });
}
