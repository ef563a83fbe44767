import { basename } from 'node:path';
import { parseConnectionUrl, redactUrl } from '@valkey-tools/core';
import { type ReplicationSyncOptions, syncRdb } from '../live/replication.js';
import { type ReadRdbOptions, readRdb, readRdbFile } from '../rdb/reader.js';
import { type AnalyzeMemoryOptions, analyzeMemory, type MemoryReport } from './analyze.js';

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
  const { read, ...analyze } = options;
  return analyzeMemory(readRdbFile(path, readerOptions(read)), { source: basename(path), ...analyze });
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
  const { read, sync, ...analyze } = options;
  const target = parseConnectionUrl(url);
  const where = redactUrl(url);
  const syncOptions: ReplicationSyncOptions = { ...sync, where };
  if (analyze.signal) syncOptions.signal = analyze.signal;
  const records = readRdb(syncRdb(target, syncOptions), readerOptions(read));
  return analyzeMemory(records, { source: where, ...analyze });
}
