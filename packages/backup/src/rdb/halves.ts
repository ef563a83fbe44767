/**
 * A big RDB file converted in two halves at once, on two cores: a worker thread
 * (`convert/split-worker.ts`) finds the first record boundary past a point near the middle, tells
 * where, and converts from there to the end with every check into a spill file, while the
 * caller's walk stops at that boundary (`WalkOptions.stopAt`). Each half hashes its own
 * bytes; the CRCs are combined (`crc64Combine`) and compared with the file's trailer.
 */
import { existsSync } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { crc64Combine } from './crc64.js';
import type { WalkResult } from './walk.js';

/** Thrown when the fast way cannot do it: the caller reads the file with the record reader. */
export class DirectFallback extends Error {
  constructor(reason: string) {
    super(`the direct conversion gave up: ${reason}`);
  }
}

/** How the second half of a big file is converted on a worker thread (see `rdbFileToChunks`). */
export interface SplitOptions {
  /** How the worker makes an encoder like the caller's (plain data; see `convert/split-worker.ts`). */
  encoder: { format: 'resp' | 'jsonl'; options: unknown };
  /** A private temp path for the second half's output until it is handed over (then removed). */
  spillPath: string;
}

/** What the worker is asked to do. */
export interface HalfJob {
  path: string;
  hint: number;
  split: SplitOptions;
}

/** What the worker posts. */
export type SplitMessage =
  | { boundary: number; db: number }
  | { boundary: null }
  | { progress: { bytes: number; keys: number; written: number } }
  | { done: HalfResult }
  | { fallback: string }
  | { error: { message: string; code?: string } };

/** The worker's walk of its half. */
export interface HalfResult {
  keys: number;
  functions: number;
  dbs: number[];
  /** Where its walk ended (the end of the file). */
  bytes: number;
  checksum: WalkResult['checksum'];
  trailer: Uint8Array | null;
  crc: bigint | null;
}

/** The worker (a built file: absent when running from source, where nothing is split). */
const SPLIT_WORKER = new URL('./split-worker.js', import.meta.url);

/** The size of `path` when it is at least `minBytes` and the worker exists; 0 otherwise. */
export async function splitAvailable(path: string, minBytes: number): Promise<number> {
  if (SPLIT_WORKER.protocol !== 'file:' || !existsSync(SPLIT_WORKER)) return 0;
  try {
    const { size } = await stat(path);
    return size >= minBytes ? size : 0;
  } catch {
    return 0;
  }
}

/**
 * Where the worker's half should start: a bit before the middle, as the worker starts later than
 * the first walk (a thread to boot, a boundary to find).
 */
export function splitHint(size: number): number {
  return Math.floor(size * 0.45);
}

/**
 * The checksum state of a whole file from its walk: 'absent' (RDB < 5), 'disabled' (a stored 0),
 * 'ok', 'unchecked' (`checksum: false`), or null when the stored checksum differs. `partial`
 * says the walk left the comparison to the caller (it walked a part: `partialCrc`).
 */
export function wholeChecksum(
  result: Pick<WalkResult, 'checksum' | 'trailer' | 'partialCrc' | 'version'>,
  checked: boolean,
): WalkResult['checksum'] | null {
  if (!checked) return 'unchecked';
  if (result.version < 5) return 'absent';
  if (!result.trailer) return result.checksum;
  const stored = result.trailer.readBigUInt64LE(0);
  if (stored === 0n) return 'disabled';
  return stored === result.partialCrc ? 'ok' : null;
}

/** The second half of a file, converted by a worker into `split.spillPath`. */
export class SecondHalf {
  /** Where the worker's half starts (a record start), once it said; null: no split. */
  boundary: number | null | undefined;
  bytes = 0;
  keys = 0;
  /** Bytes of output the worker wrote to the spill file so far, and whether it finished. */
  private written = 0;
  private finished = false;
  private wakeReader: (() => void) | undefined;
  readonly known: Promise<void>;
  readonly done: Promise<HalfResult>;
  private readonly worker: Worker;

  constructor(
    path: string,
    readonly hint: number,
    private readonly split: SplitOptions,
    onProgress: () => void,
  ) {
    const job: HalfJob = { path, hint, split };
    this.worker = new Worker(SPLIT_WORKER, { workerData: job });
    let said: () => void;
    this.known = new Promise<void>((resolve) => {
      said = resolve;
    });
    this.done = new Promise((resolve, reject) => {
      this.worker.on('message', (m: SplitMessage) => {
        if ('boundary' in m) {
          this.boundary = m.boundary;
          said();
        } else if ('progress' in m) {
          this.bytes = m.progress.bytes;
          this.keys = m.progress.keys;
          this.written = m.progress.written;
          this.wake();
          onProgress();
        } else if ('done' in m) {
          this.keys = m.done.keys;
          this.finished = true;
          this.wake();
          resolve(m.done);
        } else if ('fallback' in m) reject(new DirectFallback(m.fallback));
        // Anything else (its spill file could not be written...): the caller starts again on one
        // thread, which meets (and reports) a lasting problem itself.
        else reject(new DirectFallback(`the worker thread failed: ${m.error.message}`));
      });
      const gone = () => {
        this.boundary ??= null;
        said();
        this.finished = true;
        this.wake();
        reject(new DirectFallback('the worker thread stopped'));
      };
      this.worker.once('error', gone);
      this.worker.once('exit', gone);
    });
    this.done.catch(() => {});
  }

  /**
   * The walk of the whole file from the first half's (which stopped at the boundary) and the
   * worker's: counts added, the CRCs combined.
   */
  joined(first: WalkResult, second: HalfResult): WalkResult {
    const crc =
      first.partialCrc !== undefined && second.crc !== null
        ? crc64Combine(first.partialCrc, second.crc, second.bytes - 8 - first.bytes)
        : undefined;
    return {
      magic: first.magic,
      version: first.version,
      keys: first.keys + second.keys,
      functions: first.functions + second.functions,
      dbs: [...new Set([...first.dbs, ...second.dbs])],
      bytes: second.bytes,
      checksum: second.checksum,
      ...(second.trailer ? { trailer: Buffer.from(second.trailer) } : {}),
      ...(crc !== undefined ? { partialCrc: crc } : {}),
    };
  }

  /**
   * A walk of the first half: it stops at the boundary, waits at the hint until the worker said
   * where that is, and should it pass the boundary without landing on it (not a record start of
   * its own walk: never for a file both walks read alike), drops the worker and goes on alone.
   */
  firstHalf(): {
    stopAt: () => number | undefined;
    onMissed: () => void;
    wait: (end: number) => Promise<void> | undefined;
  } {
    return {
      stopAt: () => (this.dropped ? undefined : (this.boundary ?? undefined)),
      onMissed: () => {
        this.dropped = true;
        void this.worker.terminate();
      },
      wait: (end) => (this.boundary === undefined && end >= this.hint ? this.known : undefined),
    };
  }

  /** The worker's half was dropped: the first walk went on to the end. */
  private dropped = false;

  /** The worker's half counts (it split the file and was not dropped). */
  get active(): boolean {
    return typeof this.boundary === 'number' && !this.dropped;
  }

  private wake(): void {
    const w = this.wakeReader;
    this.wakeReader = undefined;
    w?.();
  }

  /**
   * The worker's output, in chunks, as it is written (this thread hands it on while the worker is
   * still converting); ends with the worker's result (rejects like `done`).
   */
  async *output(): AsyncGenerator<Buffer> {
    const fh = await open(this.split.spillPath, 'r');
    let at = 0;
    try {
      for (;;) {
        if (at < this.written) {
          const chunk = Buffer.allocUnsafe(Math.min(1 << 20, this.written - at));
          const { bytesRead } = await fh.read(chunk, 0, chunk.length, at);
          if (bytesRead === 0) throw new DirectFallback('the second half ended early');
          at += bytesRead;
          yield bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead);
          continue;
        }
        if (this.finished) {
          await this.done;
          if (at === this.written) return;
          continue;
        }
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
        });
      }
    } finally {
      await fh.close();
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
    await unlink(this.split.spillPath).catch(() => {});
  }
}
