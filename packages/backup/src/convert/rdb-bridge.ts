import type { KeyRecord, RdbRecord } from '../model.js';
import { decodeDumpPayload, encodeDumpPayload } from '../rdb/dump.js';
import {
  type RdbChunkRecord,
  type ReadRdbOptions,
  readRdb,
  readRdbBatches,
  readRdbFile,
} from '../rdb/reader.js';
import { type RdbTarget, writeRdb } from '../rdb/writer.js';
import { JsonlLines, jsonlToRecords } from '../jsonl/jsonl.js';

/**
 * The one place this side of the package talks to the RDB and JSONL codecs, so that the RESP,
 * AOF, live and restore code depends on a small surface.
 */
export interface RdbReadOptions {
  file?: string;
  /** Deliver huge keys in parts (key-begin / key-part / key-end), so they are never held whole. */
  chunked?: boolean;
  /** Called with the offset of bytes found after the RDB's end (an AOF preamble's RESP tail). */
  onTrailingData?: (offset: number) => void;
}

export const rdbAvailable = true;

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

/** Records one by one from batches (started only when iterated). */
export async function* flattenRecordBatches<R>(batches: AsyncIterable<R[]>): AsyncGenerator<R> {
  for await (const batch of batches) for (const r of batch) yield r;
}

export interface RdbWriteOptions {
  /** RDB version of the output (default 11: Valkey 7.2-8.x, Redis 7.2). */
  target?: RdbTarget;
}

export function writeRdbChunks(
  records: AsyncIterable<RdbRecord | RdbChunkRecord> | Iterable<RdbRecord | RdbChunkRecord>,
  options: RdbWriteOptions = {},
): AsyncGenerator<Buffer> {
  return writeRdb(records, { target: options.target ?? 11 });
}

/** The DUMP payload of a key's value, stamped with `rdbVersion` (default 11). */
export function encodeDump(record: KeyRecord, rdbVersion = 11): Buffer {
  return encodeDumpPayload(record.value, { rdbVersion });
}

/** A key record rebuilt from a DUMP payload. */
export async function decodeDump(payload: Buffer, key: Buffer, db: number): Promise<KeyRecord> {
  const d = await decodeDumpPayload(payload);
  return { kind: 'key', db, key, encoding: d.encoding, value: d.value };
}

/** JSONL lines of a record stream, as byte chunks of about 64 KiB. */
export async function* recordsToJsonlChunks(
  records: AsyncIterable<RdbRecord | RdbChunkRecord>,
): AsyncGenerator<Buffer> {
  async function* each(): AsyncGenerator<Array<RdbRecord | RdbChunkRecord>> {
    for await (const r of records) yield [r];
  }
  yield* recordBatchesToJsonlChunks(each());
}

/** JSONL text of record batches, in chunks of about 64 KiB (one await per chunk, not per record). */
export async function* recordBatchesToJsonlChunks(
  batches: AsyncIterable<Array<RdbRecord | RdbChunkRecord>>,
): AsyncGenerator<Buffer> {
  const lines = new JsonlLines();
  let batch: string[] = [];
  let size = 0;
  for await (const records of batches) {
    for (const r of records) {
      const line = lines.line(r);
      if (line === null) continue;
      batch.push(line);
      size += line.length;
    }
    if (size >= 64 * 1024) {
      yield Buffer.from(batch.join(''), 'utf8');
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) yield Buffer.from(batch.join(''), 'utf8');
}

export function jsonlToRecordStream(input: AsyncIterable<Uint8Array>): AsyncGenerator<RdbRecord> {
  return jsonlToRecords(input);
}
