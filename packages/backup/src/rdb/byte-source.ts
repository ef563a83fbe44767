import { Crc64 } from './crc64.js';
import { RdbError } from '../errors.js';

/** Anything the readers accept as input bytes. */
export type ByteInput = AsyncIterable<Uint8Array> | NodeJS.ReadableStream | Uint8Array;

const EMPTY = Buffer.alloc(0);

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new RdbError(
    'ERR_RDB_BAD_RECORD',
    `expected binary chunks (Buffer/Uint8Array), got ${typeof chunk}`,
    {
      hint: 'Open the stream without an encoding (no setEncoding / no "utf8" option)',
    },
  );
}

/**
 * Pull-style byte source over a chunked input: `ensure(n)` buffers at least n bytes (or what is
 * left), reads are then synchronous. Memory stays bounded by the largest single read plus one
 * input chunk. Consumed bytes are fed lazily to the running CRC and to an optional capture (used
 * to keep module values' raw bytes).
 */
export class ByteSource {
  buf: Buffer = EMPTY;
  pos = 0;
  /** Absolute offset of buf[0]. */
  private base = 0;
  /** Start of consumed bytes not yet fed to crc/capture. */
  private mark = 0;
  private iterator: AsyncIterator<unknown> | null = null;
  done = false;
  /** Total input size when known up front (Uint8Array input, files). */
  readonly total: number | undefined;
  crc: Crc64 | null;
  private capture: Buffer[] | null = null;

  constructor(input: ByteInput, options: { total?: number; checksum?: boolean } = {}) {
    this.crc = options.checksum === false ? null : new Crc64();
    if (input instanceof Uint8Array) {
      this.buf = toBuffer(input);
      this.done = true;
      this.total = input.byteLength;
    } else {
      const iterable = input as AsyncIterable<unknown>;
      if (typeof iterable[Symbol.asyncIterator] !== 'function') {
        throw new RdbError(
          'ERR_RDB_BAD_RECORD',
          'input is neither a Uint8Array nor an async iterable of bytes',
        );
      }
      this.iterator = iterable[Symbol.asyncIterator]();
      this.total = options.total;
    }
  }

  get offset(): number {
    return this.base + this.pos;
  }

  get avail(): number {
    return this.buf.length - this.pos;
  }

  /** Bytes left in the input, when the total is known. */
  get remaining(): number | undefined {
    return this.total === undefined ? undefined : this.total - this.offset;
  }

  /** Buffers up to n bytes; resolves early only at end of input. Returns undefined when nothing to wait for. */
  ensure(n: number): Promise<void> | undefined {
    if (this.buf.length - this.pos >= n || this.done) return undefined;
    return this.fill(n);
  }

  /** Like ensure, but fails with ERR_RDB_TRUNCATED when fewer than n bytes are left. */
  async require(n: number, what: string, key?: string): Promise<void> {
    if (this.buf.length - this.pos < n && !this.done) await this.fill(n);
    if (this.buf.length - this.pos < n) this.truncated(n, what, key);
  }

  truncated(n: number, what: string, key?: string): never {
    throw new RdbError(
      'ERR_RDB_TRUNCATED',
      `unexpected end of input while reading ${what}: needed ${n} byte(s), ${this.avail} left`,
      {
        details: { offset: this.offset, ...(key !== undefined ? { key } : {}) },
        hint: 'The file is incomplete (interrupted copy or save); take a fresh snapshot',
      },
    );
  }

  private async fill(n: number): Promise<void> {
    this.flushConsumed();
    const parts: Buffer[] = [];
    let have = this.buf.length - this.pos;
    if (have > 0) parts.push(this.buf.subarray(this.pos));
    while (have < n) {
      const r = await this.iterator!.next();
      if (r.done) {
        this.done = true;
        this.iterator = null;
        break;
      }
      const chunk = toBuffer(r.value);
      if (chunk.length === 0) continue;
      parts.push(chunk);
      have += chunk.length;
    }
    this.base += this.pos;
    this.buf = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    this.pos = 0;
    this.mark = 0;
  }

  /** Feeds consumed bytes to the CRC and the capture. */
  flushConsumed(): void {
    if (this.pos > this.mark) {
      this.crc?.update(this.buf, this.mark, this.pos);
      if (this.capture) this.capture.push(Buffer.from(this.buf.subarray(this.mark, this.pos)));
      this.mark = this.pos;
    }
  }

  startCapture(): void {
    this.flushConsumed();
    this.capture = [];
  }

  endCapture(): Buffer {
    this.flushConsumed();
    const parts = this.capture ?? [];
    this.capture = null;
    return Buffer.concat(parts);
  }

  u8(): number {
    return this.buf[this.pos++]!;
  }

  /** Copies n bytes that are already buffered. */
  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /**
   * Yields exactly n bytes in pieces of at most maxPiece bytes (views; copy them to keep them past
   * the next read). Fails with ERR_RDB_TRUNCATED when the input ends first.
   */
  async *pieces(n: number, maxPiece: number, what: string, key?: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pos >= this.buf.length) {
        if (!this.done) await this.fill(1);
        if (this.pos >= this.buf.length) this.truncated(left, what, key);
      }
      const k = Math.min(left, this.buf.length - this.pos, maxPiece);
      const piece = this.buf.subarray(this.pos, this.pos + k);
      this.pos += k;
      left -= k;
      yield piece;
    }
  }

  /** Reads n bytes into one new Buffer; memory grows only as real input arrives. */
  async bytes(n: number, what: string, key?: string): Promise<Buffer> {
    if (this.buf.length - this.pos >= n) return this.take(n);
    if (n <= 65536) {
      await this.require(n, what, key);
      return this.take(n);
    }
    const parts: Buffer[] = [];
    for await (const piece of this.pieces(n, 1 << 20, what, key)) parts.push(piece);
    return Buffer.concat(parts, n);
  }

  /** Stops reading: lets the underlying stream clean up (destroys Node streams). */
  async close(): Promise<void> {
    const it = this.iterator;
    this.iterator = null;
    this.done = true;
    if (it?.return) await it.return();
  }
}
