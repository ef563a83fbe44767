import type { KeyRecord, Value } from '../model.js';
import { Crc64, crc64 } from './crc64.js';
import { RdbError } from '../errors.js';
import { checkValueBytes } from './walk.js';
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

/** A DUMP payload holds at least a type byte, one value byte and the 10-byte footer. */
function assertPayloadLength(buf: Buffer, hint: string): void {
  if (buf.length < 11) {
    throw new RdbError(
      'ERR_RDB_BAD_PAYLOAD',
      `DUMP payload of ${buf.length} bytes is too short (type + value + 10-byte footer)`,
      { details: { offset: 0 }, hint },
    );
  }
}

/** The CRC-64 in a DUMP payload's last 8 bytes covers everything before it. */
function assertPayloadChecksum(buf: Buffer): void {
  const stored = buf.readBigUInt64LE(buf.length - 8);
  if (stored !== crc64(buf.subarray(0, buf.length - 8))) {
    throw new RdbError('ERR_RDB_CHECKSUM', 'DUMP payload checksum mismatch', {
      details: { offset: buf.length - 8 },
      hint: 'The payload was altered (e.g. decoded as UTF-8 text); read DUMP replies as raw bytes',
    });
  }
}

/**
 * A DUMP payload's parts, its length and CRC-64 checked (the value is not looked at): the `type`
 * byte, the value's bytes (`body`, a view) and the RDB `version` of the footer.
 */
export function splitDumpPayload(payload: Buffer): { type: number; body: Buffer; version: number } {
  assertPayloadLength(payload, 'Read DUMP replies as raw bytes; decoding them as UTF-8 corrupts them');
  assertPayloadChecksum(payload);
  const footer = payload.length - 10;
  return { type: payload[0]!, body: payload.subarray(1, footer), version: payload.readUInt16LE(footer) };
}

/** Parses and verifies a `DUMP` payload (checksum, version footer, value). */
export async function decodeDumpPayload(
  payload: Uint8Array,
  options: { checksum?: boolean; maxStringBytes?: number } = {},
): Promise<DumpPayload> {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  assertPayloadLength(
    buf,
    'Read DUMP replies as raw bytes (e.g. callBuffer / returnBuffers); decoding them as UTF-8 corrupts them',
  );
  const rdbVersion = buf.readUInt16LE(buf.length - 10);
  if (options.checksum !== false) assertPayloadChecksum(buf);
  const type = buf[0]!;
  const { value, encoding } = await decodeValue(buf.subarray(1, buf.length - 10), type, rdbVersion, options);
  return { value, type, encoding, rdbVersion };
}

export interface CheckDumpPayloadOptions {
  /**
   * Highest payload RDB version the target accepts (default 11: Valkey 7.2-8.x; 80 for Valkey 9).
   * The server refuses newer payloads ("DUMP payload version or checksum are wrong").
   */
  maxVersion?: number;
}

/**
 * Throws a typed `RdbError` when `RESTORE key ttl <payload>` would be refused by a server running
 * with `sanitize-dump-payload yes`, so a RESTORE found in a file can be checked before it is sent.
 *
 * The payload is `<type byte><value><u16 LE RDB version><u64 LE CRC-64>` (what DUMP returns). It
 * checks, like the server: the length (at least 11 bytes), the version (at most
 * `options.maxVersion`), the CRC-64 (which must match; 0 does not mean "disabled" here), the type,
 * and the value with the deep sanitization rules of `rdbLoadObject`: every container's integrity
 * (listpack back-lengths and counts, ziplist prevlens and tail, intset order, zipmap lengths),
 * duplicate set members / hash fields / zset members in every encoding, NaN scores, empty
 * collections (RESTORE refuses them), quicklist nodes, stream node listpacks, duplicate consumer
 * groups / consumers / PEL entries and pending entries without a consumer. Module values (type 7)
 * are checked for their framing only: the module judges its own data.
 *
 * It is stricter than the server in two deliberate ways: the value must end exactly where the
 * version footer begins (the server ignores trailing bytes and may read into the footer), and a
 * sorted-set score that reads as NaN in a listpack/ziplist is refused (the server would keep a
 * score no command can create). Valkey 9 types (22 and up) are reported as unsupported.
 *
 * Errors: `ERR_RDB_BAD_PAYLOAD` (too short, trailing bytes, malformed value),
 * `ERR_RDB_UNSUPPORTED_VERSION`, `ERR_RDB_CHECKSUM`, `ERR_RDB_UNKNOWN_TYPE`,
 * `ERR_RDB_UNSUPPORTED_VALUE`, `ERR_RDB_DUPLICATE`, `ERR_RDB_TRUNCATED`, `ERR_RDB_BAD_LENGTH`,
 * `ERR_RDB_CORRUPT_*`; `details.offset` is the byte offset in the payload.
 */
export function checkDumpPayload(payload: Uint8Array, options: CheckDumpPayloadOptions = {}): void {
  const buf = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const hint = 'Nothing was sent; the payload is damaged or was not made by DUMP';
  assertPayloadLength(buf, hint);
  const footer = buf.length - 10;
  const version = buf.readUInt16LE(footer);
  const maxVersion = options.maxVersion ?? 11;
  if (version > maxVersion) {
    throw new RdbError(
      'ERR_RDB_UNSUPPORTED_VERSION',
      `DUMP payload RDB version ${version} is newer than the ${maxVersion} the target accepts`,
      { details: { offset: footer }, hint: 'Restore into a server that accepts this version' },
    );
  }
  assertPayloadChecksum(buf);
  const type = buf[0]!;
  if (type === 6 || type === 8 || type > 21) {
    throw new RdbError(
      type >= 22 ? 'ERR_RDB_UNSUPPORTED_VALUE' : 'ERR_RDB_UNKNOWN_TYPE',
      `DUMP payload value type ${type} is not one Valkey 8 restores`,
      { details: { offset: 0 }, hint },
    );
  }
  const failure = checkValueBytes(buf, type, 1, footer, version);
  if (failure) {
    throw new RdbError(failure.code, `DUMP payload (type ${type}) refused: ${failure.reason}`, {
      details: { offset: failure.offset, type },
      hint,
    });
  }
}

/** The DUMP payload of a key record's value, stamped with `rdbVersion` (default 11). */
export function encodeDump(record: KeyRecord, rdbVersion = 11): Buffer {
  return encodeDumpPayload(record.value, { rdbVersion });
}

/** A key record rebuilt from a DUMP payload. */
export async function decodeDump(payload: Buffer, key: Buffer, db: number): Promise<KeyRecord> {
  const d = await decodeDumpPayload(payload);
  return { kind: 'key', db, key, encoding: d.encoding, value: d.value };
}
