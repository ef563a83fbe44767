import type { Value } from '../model.js';
import { Crc64, crc64 } from './crc64.js';
import { RdbError } from './errors.js';
import { decodeValue } from './reader.js';
import { type EncodeOptions, type RdbTarget, ValueEncoder } from './writer.js';

export interface EncodeDumpOptions extends Omit<EncodeOptions, 'target'> {
  /**
   * RDB version stamped in the payload (default 11, what Valkey 7.2-8.x DUMP writes). The server
   * refuses payloads newer than its own; 80 targets Valkey 9. Encodings follow the version.
   */
  rdbVersion?: number;
}

export interface DumpPayload {
  value: Value;
  /** RDB type byte. */
  type: number;
  /** Encoding name, as in `KeyRecord.encoding`. */
  encoding: string;
  /** The 2-byte RDB version in the payload. */
  rdbVersion: number;
}

function targetFor(version: number): RdbTarget {
  if (version >= 80) return 'VALKEY080';
  if (version >= 11) return 11;
  if (version === 10) return 10;
  return 9;
}

/**
 * Serializes a value the way `DUMP` does: `<type><value><u16 LE rdb version><u64 LE CRC-64>`, so it
 * can be passed to `RESTORE key ttl payload`.
 */
export function encodeDumpPayload(value: Value, options: EncodeDumpOptions = {}): Buffer {
  const version = options.rdbVersion ?? 11;
  if (!Number.isInteger(version) || version < 1 || version > 0xffff) {
    throw new RdbError('ERR_RDB_BAD_PAYLOAD', `invalid DUMP payload RDB version ${version}`);
  }
  const { rdbVersion: _v, ...rest } = options;
  const { type, body } = new ValueEncoder({ ...rest, target: targetFor(version) }).encode(value);
  return dumpPayload(type, body, version);
}

/**
 * A DUMP payload around a value already in RDB encoding: the type byte, the value, the RDB
 * version (2 bytes LE) and the CRC-64 of all that (8 bytes LE).
 */
export function dumpPayload(type: number, body: Uint8Array, version: number): Buffer {
  const out = Buffer.allocUnsafe(1 + body.length + 10);
  out[0] = type;
  out.set(body, 1);
  out.writeUInt16LE(version, 1 + body.length);
  new Crc64()
    .update(out, 0, out.length - 8)
    .digestBytes()
    .copy(out, out.length - 8);
  return out;
}

/** Parses and verifies a `DUMP` payload (checksum, version footer, value). */
export async function decodeDumpPayload(
  payload: Uint8Array,
  options: { checksum?: boolean; maxStringBytes?: number } = {},
): Promise<DumpPayload> {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < 11) {
    throw new RdbError(
      'ERR_RDB_BAD_PAYLOAD',
      `DUMP payload of ${buf.length} bytes is too short (type + value + 10-byte footer)`,
      {
        hint: 'Read DUMP replies as raw bytes (e.g. callBuffer / returnBuffers); decoding them as UTF-8 corrupts them',
      },
    );
  }
  const rdbVersion = buf.readUInt16LE(buf.length - 10);
  if (options.checksum !== false) {
    const stored = buf.readBigUInt64LE(buf.length - 8);
    const computed = crc64(buf.subarray(0, buf.length - 8));
    if (stored !== computed) {
      throw new RdbError('ERR_RDB_CHECKSUM', 'DUMP payload checksum mismatch', {
        details: { offset: buf.length - 8 },
        hint: 'The payload was altered, e.g. decoded as UTF-8 text; read DUMP replies as raw bytes',
      });
    }
  }
  const type = buf[0]!;
  const { value, encoding } = await decodeValue(buf.subarray(1, buf.length - 10), type, rdbVersion, options);
  return { value, type, encoding, rdbVersion };
}
