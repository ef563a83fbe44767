import { type FileHandle, open as openFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { RdbError } from '../errors.js';
import { type WalkOptions, type WalkResult, walkRdb } from './walk.js';
import {
  type ByteInput,
  type RdbWarning,
  type ReadRdbOptions,
  type RecordBatch,
  readRdbBatches,
  readRdbFileBatches,
} from './reader.js';
import { displayBytes } from './text.js';

/** A file path, or bytes / a byte stream. */
export type RdbSource = string | ByteInput;

export type ScanOptions = Omit<ReadRdbOptions, 'chunked' | 'onWarning' | 'totalBytes' | 'file'>;

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

/**
 * The record reader over `source` for a whole-file scan (verify, inspect): huge keys in bounded
 * parts, each warning handed to `onWarning` and the first 100 kept in `warnings`.
 */
export async function scanWithReader(
  source: RdbSource,
  options: ScanOptions,
  warnings: RdbWarningInfo[],
  onWarning?: (w: RdbWarning) => void,
): Promise<AsyncGenerator<RecordBatch>> {
  const read: ReadRdbOptions = {
    ...options,
    chunked: SCAN_CHUNKS,
    onWarning: (w) => {
      onWarning?.(w);
      if (warnings.length < 100) warnings.push(warningInfo(w));
    },
  };
  return typeof source === 'string' ? readRdbFileBatches(source, read) : readRdbBatches(source, read);
}

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
  const fast = await walkRdbSource(source, options);
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
    const batches = await scanWithReader(source, options, warnings);
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

/** Callbacks of a walk that reads what it walks (`walkRdbSource`). */
export type WalkCallbacks = Pick<
  WalkOptions,
  | 'onKey'
  | 'onFunction'
  | 'onHeader'
  | 'onAux'
  | 'onResizeDb'
  | 'keepLzf'
  | 'resume'
  | 'stopAt'
  | 'onMissed'
  | 'shallow'
> & {
  /** Bytes read from the input so far (for progress). */
  onRead?: (bytes: number) => void;
};

/**
 * The structure walk (fast mode) over a file or bytes, calling `onKey` / `onFunction` for what it
 * holds; null when it gave up (corrupt data, warnings, rare encodings: read it with the record
 * reader then) or for inputs that cannot be read again (streams). Errors of the callbacks propagate.
 */
export async function walkRdbSource(
  source: RdbSource,
  options: ScanOptions & WalkCallbacks,
): Promise<WalkResult | null> {
  if (source instanceof Uint8Array) return walkRdb(source, source.byteLength, options);
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
  const walk: WalkOptions = { ...rest };
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
    return await walkRdb(
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
