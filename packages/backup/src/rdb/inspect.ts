import { type FileHandle, open as openFile, stat } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { RdbFlavor, ValueType } from '../model.js';
import { RdbError } from '../errors.js';
import { type FastVerifyOptions, type FastVerifyResult, fastVerify } from './fast-verify.js';
import { type ByteInput, type RdbWarning, type ReadRdbOptions, readRdbBatches, valueSize } from './reader.js';
import { displayBytes } from './text.js';

/** A file path, or bytes / a byte stream. */
export type RdbSource = string | ByteInput;

type ScanOptions = Omit<ReadRdbOptions, 'chunked' | 'onWarning' | 'totalBytes' | 'file'>;

async function open(source: RdbSource): Promise<{ input: ByteInput; totalBytes?: number; file?: string }> {
  if (typeof source !== 'string') return { input: source };
  const { size } = await stat(source);
  return { input: createReadStream(source, { highWaterMark: 256 * 1024 }), totalBytes: size, file: source };
}

/** A warning in JSON-friendly form (the key as text). */
export interface RdbWarningInfo {
  code: RdbWarning['code'];
  message: string;
  offset: number;
  db?: number;
  key?: string;
}

function warningInfo(w: RdbWarning): RdbWarningInfo {
  return {
    code: w.code,
    message: w.message,
    offset: w.offset,
    ...(w.db !== undefined ? { db: w.db } : {}),
    ...(w.key ? { key: displayBytes(w.key) } : {}),
  };
}

/** Bounded chunking keeps verify/inspect memory flat even for huge keys. */
const SCAN_CHUNKS = { elements: 4096, bytes: 1 << 20, pieceBytes: 1 << 20 };

export interface VerifyResult {
  ok: boolean;
  magic?: 'REDIS' | 'VALKEY';
  version?: number;
  /** Keys read (empty collections the server would skip are not counted). */
  keys: number;
  /** Bytes read. */
  bytes: number;
  /** 'ok' (verified), 'disabled' (stored as 0), 'absent' (version < 5) or 'unchecked'. */
  checksum: 'ok' | 'disabled' | 'absent' | 'unchecked';
  /** Empty keys skipped, trailing data, ... (at most 100 kept). */
  warnings: RdbWarningInfo[];
  error?: { code: string; message: string; offset?: number; key?: string };
}

/**
 * Reads a whole RDB (a path or bytes), checking every structure and the CRC-64, in bounded
 * memory. Never throws for corrupt input: the result says what went wrong and where.
 */
export async function verifyRdb(source: RdbSource, options: ScanOptions = {}): Promise<VerifyResult> {
  // Fast path for re-readable inputs: a record-free walk; anything unusual falls through to the reader.
  const fast = await fastVerifySource(source, options);
  if (fast) {
    const { magic, version, keys, bytes, checksum } = fast;
    return { ok: true, magic, version, keys, bytes, checksum, warnings: [] };
  }
  return verifyRdbWithReader(source, options);
}

/** `verifyRdb` through the full record reader (exact errors and warnings); internal, used by tests. */
export async function verifyRdbWithReader(
  source: RdbSource,
  options: ScanOptions = {},
): Promise<VerifyResult> {
  const warnings: RdbWarningInfo[] = [];
  const result: VerifyResult = { ok: false, keys: 0, bytes: 0, checksum: 'unchecked', warnings };
  try {
    const { input, ...where } = await open(source);
    const batches = readRdbBatches(input, {
      ...options,
      ...where,
      chunked: SCAN_CHUNKS,
      onWarning: (w) => {
        if (warnings.length < 100) warnings.push(warningInfo(w));
      },
    });
    for await (const { records, offsets } of batches)
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        result.bytes = offsets[i]!;
        if (record.kind === 'header') {
          result.magic = record.magic;
          result.version = record.version;
        } else if (record.kind === 'key' || record.kind === 'key-begin') result.keys++;
        else if (record.kind === 'end') {
          result.checksum =
            options.checksum === false
              ? 'unchecked'
              : (result.version ?? 0) < 5
                ? 'absent'
                : record.checksum === null
                  ? 'disabled'
                  : 'ok';
        }
      }
    result.ok = true;
  } catch (err) {
    if (RdbError.isInstance(err)) {
      result.error = {
        code: err.code,
        message: err.message,
        ...(typeof err.details.offset === 'number' ? { offset: err.details.offset } : {}),
        ...(typeof err.details.key === 'string' ? { key: err.details.key } : {}),
      };
    } else {
      const e = err as NodeJS.ErrnoException;
      result.error = { code: e.code ?? 'ERR_IO', message: e.message };
    }
  }
  return result;
}

/** Callbacks of a walk that reads what it walks (`walkRdbFile`). */
export type WalkCallbacks = Pick<
  FastVerifyOptions,
  'onKey' | 'onFunction' | 'onHeader' | 'onAux' | 'keepLzf' | 'resume' | 'stopAt' | 'onMissed' | 'shallow'
> & {
  /** Bytes read from the input so far (for progress). */
  onRead?: (bytes: number) => void;
};

/** The fast structure walk, for inputs that can be read again (paths and byte arrays); null otherwise. */
export async function fastVerifySource(
  source: RdbSource,
  options: ScanOptions & WalkCallbacks,
): Promise<FastVerifyResult | null> {
  if (source instanceof Uint8Array) return fastVerify(source, source.byteLength, options);
  if (typeof source !== 'string') return null;
  let fh: FileHandle;
  try {
    fh = await openFile(source, 'r');
  } catch {
    return null;
  }
  let worker: Worker | undefined;
  /** An error of the caller's callbacks: it propagates (the others make the walk give up). */
  let thrown: { err: unknown } | undefined;
  const { onKey, onFunction, onRead, ...rest } = options;
  const walk: FastVerifyOptions = { ...rest };
  if (onKey) {
    walk.onKey = (span) => {
      try {
        const wait = onKey(span);
        return wait?.catch((err: unknown) => {
          thrown = { err };
          throw err;
        });
      } catch (err) {
        thrown = { err };
        throw err;
      }
    };
  }
  if (onFunction) {
    walk.onFunction = (code) => {
      try {
        return onFunction(code);
      } catch (err) {
        thrown = { err };
        throw err;
      }
    };
  }
  try {
    const { size } = await fh.stat();
    // A walk over part of the file hashes its part itself (see `crc64Combine`).
    if (options.checksum !== false && size > 1 << 20 && !options.resume && !options.stopAt) {
      worker = crc64InWorker(source, size - 8);
      if (worker) walk.externalCrc = workerResult(worker);
    }
    let read = 0;
    let position = options.resume?.offset ?? 0;
    return await fastVerify(
      async (into, offset, length) => {
        const n = (await fh.read(into, offset, length, position)).bytesRead;
        position += n;
        if (onRead) onRead((read += n));
        return n;
      },
      size,
      walk,
    );
  } catch {
    if (thrown) throw thrown.err;
    return null;
  } finally {
    void worker?.terminate();
    await fh.close();
  }
}

/**
 * Walks an RDB file (`fastVerifySource`) calling `onKey` / `onFunction` for what it holds: the
 * synchronous way to read a file's keys. Null when the walk gave up (corrupt data, warnings, rare
 * encodings: read it with the record reader then); errors of the callbacks propagate.
 */
export function walkRdbFile(
  path: string,
  options: ScanOptions & WalkCallbacks,
): Promise<FastVerifyResult | null> {
  return fastVerifySource(path, options);
}

/** The built worker file (absent when running from source: the CRC is then computed in-thread). */
const CRC_WORKER = new URL('./crc64-worker.js', import.meta.url);

/** Starts the CRC-64 of `path`'s first `end` bytes on a worker thread, when the worker file exists. */
function crc64InWorker(path: string, end: number): Worker | undefined {
  if (CRC_WORKER.protocol !== 'file:' || !existsSync(CRC_WORKER)) return undefined;
  return new Worker(CRC_WORKER, { workerData: { path, end } });
}

function workerResult(worker: Worker): Promise<Buffer | null> {
  return new Promise((resolve) => {
    worker.once('message', (m: Uint8Array | null) => resolve(m ? Buffer.from(m) : null));
    worker.once('error', () => resolve(null));
    worker.once('exit', () => resolve(null));
  });
}

export interface InspectOptions extends ScanOptions {
  /** How many of the biggest keys to report (default 10). */
  top?: number;
  /** "Now" for counting already-expired keys (default Date.now()). */
  now?: number;
}

export interface BigKey {
  db: number;
  /** The key as text (UTF-8, or escaped bytes). */
  key: string;
  type: ValueType;
  encoding: string;
  /** Serialized size in the file, in bytes (key, value and per-key opcodes). */
  bytes: number;
  /** Elements (list items, members, fields, stream entries) or string length. */
  elements: number;
}

export interface DbSummary {
  db: number;
  keys: number;
  expires: number;
  /** Keys per type. */
  types: Partial<Record<ValueType, number>>;
  /** RESIZEDB hint stored in the file, when present. */
  resize?: { dbSize: number; expiresSize: number };
  bytes: number;
}

export interface InspectReport {
  magic: 'REDIS' | 'VALKEY';
  version: number;
  flavor: RdbFlavor;
  /** AUX fields as text. */
  aux: Record<string, string>;
  modules: string[];
  /** Function libraries by name (from `#!lua name=...`). */
  functions: string[];
  databases: DbSummary[];
  keys: number;
  expires: number;
  /** Keys whose expiry is already past (a primary drops them on load). */
  expired: number;
  /** Keys per on-disk encoding. */
  encodings: Record<string, number>;
  withLruIdle: number;
  withLfuFreq: number;
  /** Hash fields carrying a per-field TTL. */
  fieldsWithTtl: number;
  emptyKeysSkipped: number;
  biggestKeys: BigKey[];
  /** Stored CRC-64 as 16 hex digits, or null when absent/disabled. */
  checksum: string | null;
  bytes: number;
  warnings: RdbWarningInfo[];
}

/** Keeps the N largest items by `bytes`, sorted descending. */
class TopN {
  readonly items: BigKey[] = [];
  constructor(private readonly n: number) {}
  offer(item: BigKey): void {
    if (this.n <= 0) return;
    const items = this.items;
    if (items.length === this.n && items[items.length - 1]!.bytes >= item.bytes) return;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (items[mid]!.bytes >= item.bytes) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, item);
    if (items.length > this.n) items.pop();
  }
}

/**
 * Summarizes an RDB (a path or bytes) in one bounded-memory pass: header, aux fields, modules,
 * functions, keys per db and type, encodings, expiries, LRU/LFU data and the biggest keys.
 * Throws `RdbError` on corrupt input (use `verifyRdb` for a non-throwing check).
 */
export async function inspectRdb(source: RdbSource, options: InspectOptions = {}): Promise<InspectReport> {
  const now = options.now ?? Date.now();
  const top = new TopN(options.top ?? 10);
  const warnings: RdbWarningInfo[] = [];
  const report: InspectReport = {
    magic: 'REDIS',
    version: 0,
    flavor: 'redis',
    aux: {},
    modules: [],
    functions: [],
    databases: [],
    keys: 0,
    expires: 0,
    expired: 0,
    encodings: {},
    withLruIdle: 0,
    withLfuFreq: 0,
    fieldsWithTtl: 0,
    emptyKeysSkipped: 0,
    biggestKeys: top.items,
    checksum: null,
    bytes: 0,
    warnings,
  };
  const dbs = new Map<number, DbSummary>();
  const dbOf = (db: number): DbSummary => {
    let s = dbs.get(db);
    if (!s) {
      s = { db, keys: 0, expires: 0, types: {}, bytes: 0 };
      dbs.set(db, s);
    }
    return s;
  };
  let lastDb = 0;
  let prevOffset = 0;
  let open_: { big: BigKey; start: number } | null = null;
  const { input, ...where } = await open(source);
  const countKey = (
    db: number,
    type: ValueType,
    encoding: string,
    expiresAt: number | undefined,
    lru: unknown,
    lfu: unknown,
  ) => {
    const d = dbOf(db);
    d.keys++;
    d.types[type] = (d.types[type] ?? 0) + 1;
    report.keys++;
    report.encodings[encoding] = (report.encodings[encoding] ?? 0) + 1;
    if (expiresAt !== undefined) {
      d.expires++;
      report.expires++;
      if (expiresAt <= now) report.expired++;
    }
    if (lru !== undefined) report.withLruIdle++;
    if (lfu !== undefined) report.withLfuFreq++;
  };
  const batches = readRdbBatches(input, {
    ...options,
    ...where,
    chunked: SCAN_CHUNKS,
    onWarning: (w) => {
      if (w.code === 'empty-key') report.emptyKeysSkipped++;
      if (warnings.length < 100) warnings.push(warningInfo(w));
    },
  });
  for await (const { records, offsets } of batches)
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const offset = offsets[i]!;
      const size = offset - prevOffset;
      prevOffset = offset;
      report.bytes = offset;
      switch (r.kind) {
        case 'header':
          report.magic = r.magic;
          report.version = r.version;
          report.flavor = r.flavor;
          break;
        case 'aux':
          report.aux[displayBytes(r.key)] = displayBytes(r.value, 1000);
          break;
        case 'module-aux':
          if (!report.modules.includes(r.moduleName)) report.modules.push(r.moduleName);
          break;
        case 'function': {
          const m = /^#!\w+\s+name=(\S+)/.exec(r.code.toString('utf8'));
          report.functions.push(m?.[1] ?? '(unnamed)');
          break;
        }
        case 'select-db':
          lastDb = r.db;
          dbOf(r.db);
          break;
        case 'resize-db':
          dbOf(lastDb).resize = { dbSize: r.dbSize, expiresSize: r.expiresSize };
          break;
        case 'key': {
          countKey(r.db, r.value.type, r.encoding, r.expiresAt, r.lruIdle, r.lfuFreq);
          dbOf(r.db).bytes += size;
          if (r.value.type === 'module' && !report.modules.includes(r.value.moduleName))
            report.modules.push(r.value.moduleName);
          if (r.value.type === 'hash')
            for (const e of r.value.entries) if (e.expiresAt !== undefined) report.fieldsWithTtl++;
          const n = r.value.type === 'string' ? r.value.value.length : valueSize(r.value);
          top.offer({
            db: r.db,
            key: displayBytes(r.key),
            type: r.value.type,
            encoding: r.encoding,
            bytes: size,
            elements: Math.max(n, 0),
          });
          break;
        }
        case 'key-begin':
          countKey(r.db, r.type, r.encoding, r.expiresAt, r.lruIdle, r.lfuFreq);
          open_ = {
            big: {
              db: r.db,
              key: displayBytes(r.key),
              type: r.type,
              encoding: r.encoding,
              bytes: 0,
              elements: 0,
            },
            start: offset - size,
          };
          break;
        case 'key-part':
          if (open_) {
            if (r.value.type === 'hash')
              for (const e of r.value.entries) if (e.expiresAt !== undefined) report.fieldsWithTtl++;
          }
          break;
        case 'key-end':
          if (open_) {
            open_.big.bytes = offset - open_.start;
            open_.big.elements = r.size;
            dbOf(r.db).bytes += open_.big.bytes;
            top.offer(open_.big);
            open_ = null;
          }
          break;
        case 'end':
          report.checksum = r.checksum === null ? null : r.checksum.toString(16).padStart(16, '0');
          break;
        default:
          break;
      }
    }
  report.databases = [...dbs.values()].filter((d) => d.keys > 0 || d.resize).sort((a, b) => a.db - b.db);
  return report;
}
