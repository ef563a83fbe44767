/**
 * What the direct converters (RDB bytes straight to another format, no records: `resp/rdb-to-resp.ts`,
 * `jsonl/rdb-to-jsonl.ts`) share: the output buffer, the hand-over of output chunks from the walk
 * to a writer, and the file walk driving an encoder.
 */
import type { RdbRecord } from '../model.js';
import type { KeySpan } from './walk.js';
import {
  DirectFallback,
  SecondHalf,
  type SplitOptions,
  splitAvailable,
  splitHint,
  wholeChecksum,
} from './halves.js';
import { walkRdbSource } from './inspect.js';
import { ListpackCursor, type PackedSummary, packedSummary, SpanReader, spanKeyRecord } from './span.js';

export { DirectFallback, type SplitOptions } from './halves.js';

/** A growing byte buffer. */
export class ByteSink {
  buf: Buffer;
  pos = 0;
  private readonly size: number;
  constructor(size: number) {
    this.size = size;
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.pos + n, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  raw(b: Buffer): void {
    this.rawRange(b, 0, b.length);
  }

  rawRange(src: Buffer, s: number, e: number): void {
    const n = e - s;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    if (n < 32) for (let i = s; i < e; i++) buf[p++] = src[i]!;
    else {
      src.copy(buf, p, s, e);
      p += n;
    }
    this.pos = p;
  }

  /** ASCII text (a short one copied by hand: cheaper than a call into the runtime). */
  text(t: string): void {
    const n = t.length;
    this.ensure(n);
    if (n < 16) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) buf[p++] = t.charCodeAt(i);
      this.pos = p;
    } else this.pos += this.buf.write(t, this.pos, 'latin1');
  }

  /** What was written so far, emptying the sink: the bytes are handed over, writing goes on in a new buffer. */
  take(): Buffer {
    const b = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size);
    this.pos = 0;
    return b;
  }
}

/**
 * True when `buf[s, e)` is a score spelled the way JavaScript prints its value (`-?digits[.digits]`,
 * no leading or trailing zeros, at most 15 significant digits, not below 1e-6 and not "-0"), so
 * `formatScore(strtod(text))` is the text itself.
 */
export function canonicalScore(buf: Buffer, s: number, e: number): boolean {
  let i = s;
  if (buf[i] === 45) i++;
  if (i >= e) return false;
  let sig = 0;
  let c = buf[i]!;
  const zeroInt = c === 48;
  if (zeroInt) i++;
  else {
    if (c < 49 || c > 57) return false;
    while (i < e && (c = buf[i]!) >= 48 && c <= 57) {
      i++;
      sig++;
    }
  }
  if (i === e) return !zeroInt;
  if (buf[i] !== 46 || buf[e - 1] === 48) return false;
  i++;
  if (i === e) return false;
  let lead = 0;
  if (zeroInt) {
    while (i < e && buf[i] === 48) {
      i++;
      lead++;
    }
  }
  if (lead > 5) return false;
  for (; i < e; i++) {
    c = buf[i]!;
    if (c < 48 || c > 57) return false;
    sig++;
  }
  return sig <= 15;
}

/** Output chunks handed from the walk (which pushes) to the file writer (which pulls). */
class ChunkChannel implements AsyncIterable<Buffer> {
  private readonly items: Buffer[] = [];
  private ended = false;
  private error: { err: unknown } | undefined;
  private closed = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  /** Queues a chunk; resolves once the reader has room again (back-pressure). */
  push(chunk: Buffer): Promise<void> | undefined {
    if (this.closed) throw new Error('the output was closed');
    this.items.push(chunk);
    this.wake();
    if (this.items.length < 4) return undefined;
    return new Promise<void>((resolve) => {
      this.wakeWriter = resolve;
    }).then(() => {
      if (this.closed) throw new Error('the output was closed');
    });
  }

  end(error?: { err: unknown }): void {
    this.ended = true;
    this.error = error;
    this.wake();
  }

  private wake(): void {
    const w = this.wakeReader;
    this.wakeReader = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const next = this.items.shift();
        if (next !== undefined) {
          if (this.items.length < 2) {
            const w = this.wakeWriter;
            this.wakeWriter = undefined;
            w?.();
          }
          yield next;
          continue;
        }
        if (this.error) throw this.error.err;
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
        });
      }
    } finally {
      this.closed = true;
      const w = this.wakeWriter;
      this.wakeWriter = undefined;
      w?.();
    }
  }
}

/** Turns walked keys into output bytes (see `RdbToResp`). */
export interface SpanEncoder {
  /** Writes one key; a promise when it takes the slow way (the span stays valid until it settles). */
  key(span: KeySpan): Promise<void> | undefined;
  /** Writes a function library. */
  fn(code: Buffer): void;
  /** Goes on as if the last key written was in `db` (a second half starting mid-file). */
  continueInDb?(db: number): void;
  /** The output buffer. */
  readonly out: ByteSink;
  /** Keys written. */
  readonly keys: number;
}

/**
 * The output of an RDB file's keys, in chunks of about 256 KiB, through the structure walk. Fails
 * with `DirectFallback` (before or after some chunks) when the walk gives up: convert with the
 * record reader then, discarding what was written.
 *
 * With `split`, a big file is converted in two halves at once: a worker thread finds the first
 * record boundary past the middle and converts from there to the end (every check included) into
 * `spillPath`, while this thread converts up to that boundary; then the worker's output follows.
 * Each half hashes its own bytes; the two CRCs combined are compared with the file's trailer.
 */
export function rdbFileToChunks(
  path: string,
  enc: SpanEncoder,
  onProgress?: (bytesRead: number, keys: number) => void,
  split?: SplitOptions,
): AsyncIterable<Buffer> & { keys: () => number; threads: () => number } {
  const channel = new ChunkChannel();
  let read = 0;
  let started = false;
  let half: SecondHalf | undefined;
  /** The output holds the worker's half (the first walk stopped at its boundary). */
  let halves = false;
  const keys = () => enc.keys + (half?.active ? half.keys : 0);
  const progress = () => onProgress?.(read + (half?.active ? half.bytes : 0), keys());
  const flushAt = 256 << 10;
  const encode = (span: KeySpan): Promise<void> | undefined => {
    const wait = enc.key(span);
    if (wait) return wait.then(() => (enc.out.pos >= flushAt ? channel.push(enc.out.take()) : undefined));
    if (enc.out.pos >= flushAt) return channel.push(enc.out.take());
    return undefined;
  };
  const run = async (): Promise<void> => {
    try {
      const size = split ? await splitAvailable(path, 16 << 20) : 0;
      if (split && size > 0) half = new SecondHalf(path, splitHint(size), split, progress);
      const h = half;
      const result = await walkRdbSource(path, {
        keepLzf: true,
        ...(h
          ? (() => {
              // Stop where the worker's half starts; each half hashes its own bytes.
              const { stopAt, onMissed, wait } = h.firstHalf();
              return {
                stopAt,
                onMissed,
                onKey: (span: KeySpan) => {
                  const waiting = wait(span.base + span.valueEnd);
                  return waiting ? waiting.then(() => encode(span)) : encode(span);
                },
              };
            })()
          : { onKey: encode }),
        onFunction: (code) => enc.fn(code),
        onRead: (n) => {
          read = n;
          progress();
        },
      });
      if (result === null) throw new DirectFallback('the walk gave up');
      if (enc.out.pos > 0) await channel.push(enc.out.take());
      if (h) {
        let whole = result;
        if (result.stopped) {
          halves = true;
          for await (const chunk of h.output()) await channel.push(chunk);
          whole = h.joined(result, await h.done);
        }
        if (wholeChecksum(whole, true) === null) throw new DirectFallback('the checksum differs');
      }
      progress();
      channel.end();
    } finally {
      await half?.close();
    }
  };
  const start = (): void => {
    started = true;
    run().catch((err: unknown) => {
      // A reader that stopped reading needs no error.
      channel.end({ err });
    });
  };
  return {
    keys,
    threads: () => (halves ? 2 : 1),
    [Symbol.asyncIterator]() {
      if (!started) start();
      return channel[Symbol.asyncIterator]();
    },
  };
}

/** A key offered to `walkRdbRecords`' `packed`: its name is a view of the input, valid during the call. */
export interface PackedKey {
  db: number;
  key: Buffer;
  expiresAt?: number;
}

/**
 * The records of an RDB file through the structure walk, each handed to `onRecord` synchronously
 * while it is valid: `header`, `aux`, `function` and `key` records (no select-db, resize-db or end
 * records; a key's elements may be views of the input, valid only during the call, its key is a
 * copy). Keys in modern encodings are decoded from the window (`spanValue`), the others with
 * `decodeValue`. False when the walk gave up (read the file with the record reader then).
 */
export async function walkRdbRecords(
  path: string,
  onRecord: (record: RdbRecord) => void,
  options: {
    onRead?: (bytes: number) => void;
    checksum?: boolean;
    /** Long LZF string values come as zeros of their length (`spanValue`'s `lengthsOnly`). */
    lengthsOnly?: boolean;
    /**
     * Offered every string, listpack set, hash and sorted set and one-node list first, as sizes
     * (`packedSummary`) instead of a record; true when it took the key (no record then), false to
     * get the record.
     */
    packed?: (key: PackedKey, summary: PackedSummary) => boolean;
  } = {},
): Promise<boolean> {
  const r = new SpanReader();
  const lp = new ListpackCursor();
  const result = await walkRdbSource(path, {
    // Measuring only: long LZF string values are skipped unread (the walk checks them cheaper);
    // the containers the walk decompresses anyway are kept for the sizes and elements.
    keepLzf: options.lengthsOnly === true ? 'containers' : true,
    ...(options.checksum === false ? { checksum: false } : {}),
    onHeader: (h) => onRecord({ kind: 'header', magic: h.magic, version: h.version, flavor: h.flavor }),
    onAux: (key, value) => onRecord({ kind: 'aux', key, value }),
    onFunction: (code) => onRecord({ kind: 'function', code: Buffer.from(code) }),
    onKey: (span) => {
      if (options.packed) {
        const summary = packedSummary(span, r, lp);
        if (summary) {
          const key: PackedKey = { db: span.db, key: span.keyBuf.subarray(span.keyStart, span.keyEnd) };
          if (span.expiresAt !== undefined) key.expiresAt = span.expiresAt;
          if (options.packed(key, summary)) return undefined;
        }
      }
      onRecord(spanKeyRecord(span, r, lp, options.lengthsOnly === true));
      return undefined;
    },
    ...(options.onRead ? { onRead: options.onRead } : {}),
  });
  return result !== null;
}
