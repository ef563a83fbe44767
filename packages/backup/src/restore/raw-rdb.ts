import type { Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { Crc64 } from '../rdb/crc64.js';
import { lzfDecompressInto } from '../rdb/lzf.js';
import { SpanReader } from '../rdb/span.js';
import { walkRdb, type KeySpan } from '../rdb/walk.js';
import { walkRdbSource, verifyRdbWithReader } from '../rdb/inspect.js';
import { bulkSize, copyBytes, writeHeader } from '../resp/encode.js';
import { BackupError } from '../errors.js';
import type { PairBatch } from './mset-batch.js';
import type { CommandEncoder } from '../io/pipeline.js';

export interface RawRdbOptions {
  /** The newest DUMP payload version the target accepts. */
  payloadVersion: number;
  /** The target is Valkey (it then also takes Valkey-only RDB versions up to `payloadVersion`). */
  targetIsValkey: boolean;
  /**
   * Called for every key, in file order, with the RDB version of the file (for the payloads); the
   * span is valid until the returned promise (if any) settles. Throw `STOP_RAW_RESTORE` to end the
   * walk early.
   */
  onKey: (span: KeySpan, version: number) => void | Promise<void>;
  /** Called for every function library (the code is a view, valid until the promise settles). */
  onFunction: (code: Buffer) => Promise<void>;
  /** Bytes of the file walked so far. */
  onBytes?: (bytes: number) => void;
  /**
   * Called once the whole file has been verified, before anything is sent (a restore's `flush`
   * happens here: never before the input is known to be good).
   */
  /** Called once the file is verified, with the dbs it has keys in (null: not known). */
  onVerified?: (dbs: number[] | null) => Promise<void>;
}

/** Thrown by `onKey` to end a raw restore early (the restore stopped); not an error. */
export const STOP_RAW_RESTORE = new Error('raw restore stopped');

/** Reads a file at explicit positions (so two passes over one handle never share a cursor). */
function reader(fh: FileHandle) {
  let pos = 0;
  return async (into: Buffer, offset: number, length: number): Promise<number> => {
    const { bytesRead } = await fh.read(into, offset, length, pos);
    pos += bytesRead;
    return bytesRead;
  };
}

const ascii = (s: string) => Buffer.from(s, 'latin1');
const RESTORE = ascii('$7\r\nRESTORE\r\n');
const TTL_ZERO = ascii('$1\r\n0\r\n');
const REPLACE = ascii('$7\r\nREPLACE\r\n');
const ABSTTL = ascii('$6\r\nABSTTL\r\n');
const FREQ = ascii('$4\r\nFREQ\r\n');
const IDLETIME = ascii('$8\r\nIDLETIME\r\n');

function putBulkText(into: Buffer, at: number, text: string): number {
  let p = writeHeader(into, at, 36, text.length);
  p += into.write(text, p, 'latin1');
  into[p++] = 13;
  into[p++] = 10;
  return p;
}

/**
 * Writes `RESTORE key ttl payload [REPLACE] [ABSTTL] [FREQ f | IDLETIME s]` for a key whose value
 * is still in RDB encoding straight into the output: the payload is the type byte, the value bytes
 * as they are in the file, the RDB version and the CRC-64 a DUMP payload carries. Nothing is
 * decoded or re-encoded, and no argument buffers are made. (The same command `restoreCommand` and
 * `dumpPayload` build from parts.)
 *
 * `measure(span)` returns the command's size and prepares `encode`, which writes it.
 */
export class RestoreEncoder {
  private span!: KeySpan;
  private ttl = '';
  private extra = '';
  private readonly crc = new Crc64();

  constructor(
    private readonly version: number,
    private readonly replace: boolean,
  ) {}

  measure(span: KeySpan): number {
    this.span = span;
    const keyLen = span.keyEnd - span.keyStart;
    const valueLen = span.valueEnd - span.valueStart;
    let argc = 4;
    let n = RESTORE.length + bulkSize(keyLen) + bulkSize(1 + valueLen + 10);
    this.ttl = span.expiresAt === undefined ? '' : String(span.expiresAt);
    n += this.ttl === '' ? TTL_ZERO.length : bulkSize(this.ttl.length);
    if (this.replace) {
      argc++;
      n += REPLACE.length;
    }
    if (span.expiresAt !== undefined) {
      argc++;
      n += ABSTTL.length;
    }
    this.extra = '';
    if (span.lfuFreq !== undefined) {
      this.extra = String(span.lfuFreq);
      argc += 2;
      n += FREQ.length + bulkSize(this.extra.length);
    } else if (span.lruIdle !== undefined) {
      this.extra = String(span.lruIdle);
      argc += 2;
      n += IDLETIME.length + bulkSize(this.extra.length);
    }
    return n + 3 + (argc < 10 ? 1 : 2);
  }

  readonly encode: CommandEncoder = (into, at) => {
    const s = this.span;
    const argc =
      4 +
      (this.replace ? 1 : 0) +
      (s.expiresAt !== undefined ? 1 : 0) +
      (s.lfuFreq !== undefined || s.lruIdle !== undefined ? 2 : 0);
    let p = writeHeader(into, at, 42, argc);
    p += copyBytes(RESTORE, 0, RESTORE.length, into, p);
    p = writeHeader(into, p, 36, s.keyEnd - s.keyStart);
    p += copyBytes(s.keyBuf, s.keyStart, s.keyEnd, into, p);
    into[p++] = 13;
    into[p++] = 10;
    p =
      this.ttl === '' ? p + copyBytes(TTL_ZERO, 0, TTL_ZERO.length, into, p) : putBulkText(into, p, this.ttl);
    const valueLen = s.valueEnd - s.valueStart;
    p = writeHeader(into, p, 36, 1 + valueLen + 10);
    const payload = p;
    into[p++] = s.type;
    p += copyBytes(s.buf, s.valueStart, s.valueEnd, into, p);
    into.writeUInt16LE(this.version, p);
    p += 2;
    this.crc.reset().update(into, payload, p).writeDigest(into, p);
    p += 8;
    into[p++] = 13;
    into[p++] = 10;
    if (this.replace) p += REPLACE.copy(into, p);
    if (s.expiresAt !== undefined) p += ABSTTL.copy(into, p);
    if (s.lfuFreq !== undefined) p = putBulkText(into, p + FREQ.copy(into, p), this.extra);
    else if (s.lruIdle !== undefined) p = putBulkText(into, p + IDLETIME.copy(into, p), this.extra);
    return p;
  };
}

/** Reads the lengths of string values (the walk checked them). */
const lengths = new SpanReader();

/**
 * Adds a string key with nothing else to it (no expiry, LRU or LFU) to an MSET batch, its value
 * decoded from the RDB string encoding (raw, integer or LZF); false when it does not fit a batch
 * (then it goes to RESTORE).
 */
export function batchRdbString(batch: PairBatch, db: number, span: KeySpan): boolean {
  const b = span.buf;
  const t = b[span.valueStart]!;
  const keyLen = span.keyEnd - span.keyStart;
  let valueLen: number;
  let at = 0;
  let text = '';
  let lzfEnd = 0;
  const r = lengths;
  r.at(b, span.valueStart);
  if (t >> 6 !== 3) {
    valueLen = r.len();
    at = r.pos;
  } else if ((t & 63) <= 2) {
    const p = span.valueStart + 1;
    text = String((t & 63) === 0 ? b.readInt8(p) : (t & 63) === 1 ? b.readInt16LE(p) : b.readInt32LE(p));
    valueLen = text.length;
  } else if ((t & 63) === 3) {
    r.pos++;
    const clen = r.len();
    valueLen = r.len();
    at = r.pos;
    lzfEnd = at + clen;
  } else return false;
  if (!batch.begin(db, bulkSize(keyLen) + bulkSize(valueLen), span.keyBuf, span.keyStart, span.keyEnd))
    return false;
  const out = batch.buf;
  let p = writeHeader(out, batch.len, 36, keyLen);
  p += copyBytes(span.keyBuf, span.keyStart, span.keyEnd, out, p);
  out[p++] = 13;
  out[p++] = 10;
  p = writeHeader(out, p, 36, valueLen);
  if (text !== '') p += out.write(text, p, 'latin1');
  else if (lzfEnd > 0) {
    // Straight into the batch (the walk checked it decompresses to exactly `valueLen` bytes).
    lzfDecompressInto(b, at, lzfEnd, out, valueLen, p);
    p += valueLen;
  } else p += copyBytes(b, at, at + valueLen, out, p);
  out[p++] = 13;
  out[p++] = 10;
  batch.commit(p);
  return true;
}

/**
 * Restores an RDB file the way `valkey-cli --pipe` would if it could: every key's value goes to
 * RESTORE in the encoding the file already has. The whole file is verified first (structure and
 * CRC-64, the CRC on a worker thread), so a corrupt file writes nothing (it throws); the second
 * pass then only finds where each value ends. Returns false, having sent nothing, when the file
 * needs the record reader: it is valid but has what the fast walk does not take (module values,
 * rare opcodes), or its RDB version is newer than the target takes.
 */
export async function restoreRawRdb(path: string, options: RawRdbOptions): Promise<boolean> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch {
    return false; // the record reader reports it
  }
  try {
    return await restoreFrom(fh, path, options);
  } finally {
    await fh.close();
  }
}

const sameFile = (a: Stats, b: Stats) => a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

async function restoreFrom(fh: FileHandle, path: string, options: RawRdbOptions): Promise<boolean> {
  const changed = () =>
    new BackupError('ERR_RESTORE', `${path} changed while it was being restored`, {
      details: { path },
      hint: 'Restore from a file nothing writes to (copy it first), with replace: true to converge',
    });
  const opened = await fh.stat();
  const checked = await walkRdbSource(path, {});
  // The second pass trusts the first: it must read the very bytes the first one verified.
  if (!sameFile(opened, await stat(path))) throw changed();
  if (!checked) {
    // Unusual, corrupt or unreadable: the full reader tells which. Corrupt input must not reach the target.
    const full = await verifyRdbWithReader(path);
    if (full.error) {
      throw new BackupError('ERR_RESTORE', `${path} is not a valid RDB file: ${full.error.message}`, {
        details: { path, ...full.error },
        hint: 'Nothing was written. `valkey-tools verify` shows the damage; restore from a good copy',
      });
    }
    await options.onVerified?.(null);
    return false;
  }
  await options.onVerified?.(checked.dbs);
  const fits =
    checked.version <= options.payloadVersion &&
    (checked.version <= 11 || (checked.magic === 'VALKEY' && options.targetIsValkey));
  if (!fits) return false;
  const version = checked.version;
  let walked: Awaited<ReturnType<typeof walkRdb>>;
  try {
    walked = await walkRdb(reader(fh), opened.size, {
      checksum: false,
      shallow: true,
      onKey: (span) => options.onKey(span, version),
      onFunction: options.onFunction,
      ...(options.onBytes ? { onProgress: (p) => options.onBytes!(p.bytes), progressEvery: 1000 } : {}),
    });
  } catch (err) {
    if (err === STOP_RAW_RESTORE) return true;
    throw err;
  }
  if (!walked || walked.keys !== checked.keys || walked.bytes !== checked.bytes) throw changed();
  if (!sameFile(opened, await fh.stat())) throw changed();
  return true;
}
