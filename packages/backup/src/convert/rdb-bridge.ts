import type { RdbRecord } from '../model.js';
import { BackupError } from '../resp/errors.js';

/**
 * The one place this side of the package talks to the RDB codec (src/rdb), so that the RESP,
 * AOF, live and restore code depends on a small surface.
 */
export interface RdbReadOptions {
  file?: string;
  /** Called with the offset of bytes found after the RDB's end (an AOF preamble's RESP tail). */
  onTrailingData?: (offset: number) => void;
}

function unavailable(): never {
  throw new BackupError('ERR_FORMAT', 'the RDB codec is not available in this build', {
    hint: 'Use RESP (.valkey) or AOF input',
  });
}

export function readRdbRecords(
  _input: string | AsyncIterable<Uint8Array>,
  _options: RdbReadOptions = {},
): AsyncGenerator<RdbRecord> {
  return unavailable();
}

export function writeRdbChunks(
  _records: AsyncIterable<RdbRecord> | Iterable<RdbRecord>,
): AsyncGenerator<Buffer> {
  return unavailable();
}

export function encodeDump(_record: Extract<RdbRecord, { kind: 'key' }>): Buffer {
  return unavailable();
}

export function decodeDump(_payload: Buffer, _key: Buffer, _db: number): Extract<RdbRecord, { kind: 'key' }> {
  return unavailable();
}

export const rdbAvailable = false;

export function recordsToJsonlChunks(_records: AsyncIterable<RdbRecord>): AsyncGenerator<Buffer> {
  return unavailable();
}

export function jsonlToRecordStream(_input: AsyncIterable<Uint8Array>): AsyncGenerator<RdbRecord> {
  return unavailable();
}
