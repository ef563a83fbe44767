import type { RdbRecord } from '../model.js';
import { type RdbChunkRecord, type ReadRdbOptions, readRdb, readRdbBatches, readRdbFile } from './reader.js';

/** Records of an RDB file or byte stream, one by one or in synchronous batches. */
export interface RdbReadOptions {
  file?: string;
  /** Deliver huge keys in parts (key-begin / key-part / key-end), so they are never held whole. */
  chunked?: boolean;
  /** Called with the offset of bytes found after the RDB's end (an AOF preamble's RESP tail). */
  onTrailingData?: (offset: number) => void;
}

/** The reader's options for ours. */
function readerOptions(options: RdbReadOptions): ReadRdbOptions {
  return {
    ...(options.file === undefined ? {} : { file: options.file }),
    ...(options.chunked ? { chunked: true } : {}),
    onWarning: (w) => {
      if (w.code === 'trailing-data') options.onTrailingData?.(w.offset);
    },
  };
}

/** Records of an RDB file (path) or byte stream. */
export function readRdbRecords(
  input: string | AsyncIterable<Uint8Array>,
  options: RdbReadOptions & { chunked?: false },
): AsyncGenerator<RdbRecord>;
export function readRdbRecords(
  input: string | AsyncIterable<Uint8Array>,
  options: RdbReadOptions,
): AsyncGenerator<RdbRecord | RdbChunkRecord>;
export function readRdbRecords(
  input: string | AsyncIterable<Uint8Array>,
  options: RdbReadOptions = {},
): AsyncGenerator<RdbRecord | RdbChunkRecord> {
  const opts = readerOptions(options);
  return typeof input === 'string' ? readRdbFile(input, opts) : readRdb(input, opts);
}

/**
 * Records of an RDB byte stream in batches, each decoded synchronously from the buffered input
 * (no await per record): the fast path of convert.
 */
export async function* readRdbRecordBatches(
  input: AsyncIterable<Uint8Array>,
  options: RdbReadOptions = {},
): AsyncGenerator<Array<RdbRecord | RdbChunkRecord>> {
  const opts = readerOptions(options);
  for await (const batch of readRdbBatches(input, opts)) yield batch.records;
}

/** Each item of an async iterable as a batch of one (for code that takes batches). */
export async function* singles<R>(items: AsyncIterable<R>): AsyncGenerator<R[]> {
  for await (const r of items) yield [r];
}

/** Records one by one from batches (started only when iterated). */
export async function* flattenRecordBatches<R>(batches: AsyncIterable<R[]>): AsyncGenerator<R> {
  for await (const batch of batches) for (const r of batch) yield r;
}
