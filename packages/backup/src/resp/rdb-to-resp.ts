/**
 * RDB → RESP commands without a record model: the structure walk (`rdb/walk.ts`) checks
 * each key, then its value is read straight from the window (`rdb/span.ts`) and its commands are
 * written as bytes into one growing output buffer. The output is byte for byte what
 * `keyRecordToCommands` / `ChunkedKeyCommands` make of the reader's records (chunked mode, with
 * `exactScores` and DUMP payloads for module values), and the same `.valkey` header.
 *
 * Rare encodings (old ziplists, zipmaps, ASCII scores, streams) and sorted sets holding -0 go
 * through the record model for that one key. Whatever the walk gives up on (corrupt data, module
 * values, warnings, records beyond the window) makes the whole conversion start again through the
 * record reader (`DirectFallback`), which reports the exact error or warning.
 */
import type { KeyRecord } from '../model.js';
import type { KeySpan } from '../rdb/walk.js';
import {
  ByteSink,
  canonicalScore,
  DirectFallback,
  type SpanEncoder,
  rdbFileToChunks,
} from '../rdb/direct.js';
import { valueSize } from '../rdb/reader.js';
import {
  type Element,
  intsetCount,
  intsetElement,
  ListpackCursor,
  SpanReader,
  spanKeyRecord,
} from '../rdb/span.js';
import { listpackScore } from '../rdb/numbers.js';
import { RdbType } from '../rdb/constants.js';
import { digits, encodeCommandInto, encodedLength, writeDigits, writeHeader } from './encode.js';
import { encodeDump } from '../rdb/dump.js';
import { formatScore, keyRecordToCommands, type RecordsToCommandsOptions } from './records-to-commands.js';
import { headerCommand, type RespHeaderInfo } from './writer.js';

/** The output buffer with RESP writers. */
class Sink extends ByteSink {
  head(prefix: number, n: number): void {
    this.ensure(24);
    this.pos = writeHeader(this.buf, this.pos, prefix, n);
  }

  bulk(src: Buffer, s: number, e: number): void {
    const n = e - s;
    this.ensure(n + 18);
    const buf = this.buf;
    let p = writeHeader(buf, this.pos, 36, n);
    if (n < 32) for (let i = s; i < e; i++) buf[p++] = src[i]!;
    else {
      src.copy(buf, p, s, e);
      p += n;
    }
    buf[p++] = 13;
    buf[p++] = 10;
    this.pos = p;
  }

  /** A bulk string of ASCII text. */
  bulkText(text: string): void {
    const n = text.length;
    this.ensure(n + 18);
    let p = writeHeader(this.buf, this.pos, 36, n);
    p += this.buf.write(text, p, 'latin1');
    this.buf[p++] = 13;
    this.buf[p++] = 10;
    this.pos = p;
  }

  /** A bulk string of an integer's decimal digits. */
  bulkInt(v: number): void {
    if (v >= 10 && v < 1e9) {
      // No string made: `$<digits>\r\n<v>\r\n`.
      const d = digits(v);
      this.ensure(d + 7);
      const buf = this.buf;
      let p = this.pos;
      buf[p++] = 36;
      buf[p++] = 48 + d;
      buf[p++] = 13;
      buf[p++] = 10;
      p = writeDigits(buf, p, v);
      buf[p++] = 13;
      buf[p++] = 10;
      this.pos = p;
      return;
    }
    if (v >= 0 && v < 10) {
      this.ensure(7);
      const buf = this.buf;
      let p = this.pos;
      buf[p++] = 36;
      buf[p++] = 49;
      buf[p++] = 13;
      buf[p++] = 10;
      buf[p++] = 48 + v;
      buf[p++] = 13;
      buf[p++] = 10;
      this.pos = p;
      return;
    }
    this.bulkText(String(v));
  }

  /** An element as a bulk string. */
  element(el: Element, buf: Buffer): void {
    if (!el.isInt) this.bulk(buf, el.s, el.e);
    else if (Number.isNaN(el.int)) this.bulkText(String(el.big));
    else this.bulkInt(el.int);
  }
}

const name = (text: string): Buffer => Buffer.from(`$${text.length}\r\n${text}\r\n`, 'latin1');
const SET = name('SET');
const RPUSH = name('RPUSH');
const SADD = name('SADD');
const ZADD = name('ZADD');
const HSET = name('HSET');
const SELECT = name('SELECT');
const PEXPIREAT = name('PEXPIREAT');
const FUNCTION_LOAD_REPLACE = Buffer.concat([name('FUNCTION'), name('LOAD'), name('REPLACE')]);

export interface RdbToRespOptions {
  /** Elements per RPUSH/SADD/ZADD/HSET (default 64). */
  batchSize?: number;
  /** Elements per part of a huge key, as the reader's chunked mode (default 10000). */
  chunkElements?: number;
  /** Strings of at least this many bytes are left to the reader (its pieces; default 8 MiB). */
  chunkBytes?: number;
  /** The `.valkey` header (ECHO) written first. */
  header?: RespHeaderInfo;
  /** Options for the keys converted through the record model. */
  commands: RecordsToCommandsOptions;
}

/**
 * Turns walked keys into RESP bytes. `key(span)` per key (a promise only for the rare keys that
 * go through the record model), `fn(code)` per function library; `take()` hands out what was
 * written so far.
 */
export class RdbToResp implements SpanEncoder {
  readonly out = new Sink(1 << 19);
  private readonly stage = new Sink(1 << 16);
  private readonly r = new SpanReader();
  private readonly lp = new ListpackCursor();
  private db = -1;
  /** Entries in the command being staged. */
  private k = 0;
  private readonly batch: number;
  private readonly chunk: number;
  private readonly chunkBytes: number;
  private readonly commands: RecordsToCommandsOptions;
  // The current key.
  private keyBuf: Buffer = Buffer.alloc(0);
  private ks = 0;
  private ke = 0;
  keys = 0;

  constructor(options: RdbToRespOptions) {
    this.batch = Math.max(1, options.batchSize ?? 64);
    this.chunk = Math.max(1, options.chunkElements ?? 10_000);
    this.chunkBytes = options.chunkBytes ?? 8 << 20;
    this.commands = options.commands;
    if (options.header) this.command(headerCommand(options.header));
  }

  private command(c: Buffer[]): void {
    const out = this.out;
    out.ensure(encodedLength(c));
    out.pos = encodeCommandInto(out.buf, out.pos, c);
  }

  continueInDb(db: number): void {
    this.db = db;
  }

  fn(code: Buffer): void {
    const out = this.out;
    out.head(42, 4);
    out.raw(FUNCTION_LOAD_REPLACE);
    out.bulk(code, 0, code.length);
  }

  /** Writes the commands of one key; a promise when it goes through the record model. */
  key(span: KeySpan): Promise<void> | undefined {
    const out = this.out;
    if (span.db !== this.db) {
      out.head(42, 2);
      out.raw(SELECT);
      out.bulkInt(span.db);
      this.db = span.db;
    }
    this.keyBuf = span.keyBuf;
    this.ks = span.keyStart;
    this.ke = span.keyEnd;
    const mark = out.pos;
    if (!this.value(span)) {
      out.pos = mark;
      return this.viaRecords(span);
    }
    if (span.expiresAt !== undefined) {
      out.head(42, 3);
      out.raw(PEXPIREAT);
      out.bulk(this.keyBuf, this.ks, this.ke);
      out.bulkInt(span.expiresAt);
    }
    this.keys++;
    return undefined;
  }

  /** Writes the value's commands; false for a value left to the record model. */
  private value(span: KeySpan): boolean {
    const r = this.r;
    r.atSpan(span);
    switch (span.type) {
      case RdbType.STRING: {
        const out = this.out;
        r.string();
        if (!r.isInt && r.e - r.s >= this.chunkBytes) throw new DirectFallback('a huge string');
        out.head(42, 3);
        out.raw(SET);
        out.bulk(this.keyBuf, this.ks, this.ke);
        if (r.isInt) out.bulkInt(r.int);
        else out.bulk(r.sbuf, r.s, r.e);
        return true;
      }
      case RdbType.LIST:
      case RdbType.SET: {
        const n = r.len();
        const cmd = span.type === RdbType.LIST ? RPUSH : SADD;
        for (let i = 0; i < n; i++) {
          r.string();
          if (r.isInt) this.stage.bulkInt(r.int);
          else this.stage.bulk(r.sbuf, r.s, r.e);
          this.added(cmd, 1);
          if ((i + 1) % this.chunk === 0) this.flush(cmd, 1);
        }
        this.flush(cmd, 1);
        return true;
      }
      case RdbType.HASH: {
        const n = r.len();
        const stage = this.stage;
        for (let i = 0; i < n; i++) {
          r.string();
          if (r.isInt) stage.bulkInt(r.int);
          else stage.bulk(r.sbuf, r.s, r.e);
          r.string();
          if (r.isInt) stage.bulkInt(r.int);
          else stage.bulk(r.sbuf, r.s, r.e);
          this.added(HSET, 2);
          if ((i + 1) % this.chunk === 0) this.flush(HSET, 2);
        }
        this.flush(HSET, 2);
        return true;
      }
      case RdbType.ZSET_2: {
        const n = r.len();
        const whole = n < this.chunk;
        const stage = this.stage;
        for (let i = 0; i < n; i++) {
          // Member first in the file, score first in ZADD: stage the score text after reading both.
          r.string();
          const isInt = r.isInt;
          const int = r.int;
          const sbuf = r.sbuf;
          const s = r.s;
          const e = r.e;
          const score = r.f64();
          if (whole && score === 0 && Object.is(score, -0) && this.commands.exactScores) {
            this.stage.pos = 0;
            this.k = 0;
            return false;
          }
          if (Number.isInteger(score) && score !== 0 && Math.abs(score) < 1e15) stage.bulkInt(score);
          else stage.bulkText(formatScore(score));
          if (isInt) stage.bulkInt(int);
          else stage.bulk(sbuf, s, e);
          this.added(ZADD, 2);
          if ((i + 1) % this.chunk === 0) this.flush(ZADD, 2);
        }
        this.flush(ZADD, 2);
        return true;
      }
      case RdbType.SET_INTSET: {
        r.string();
        const b = r.sbuf;
        const count = intsetCount(b, r.s);
        const stage = this.stage;
        for (let i = 0; i < count; i++) {
          const v = intsetElement(b, r.s, i);
          if (typeof v === 'number') stage.bulkInt(v);
          else stage.bulkText(String(v));
          this.added(SADD, 1);
        }
        this.flush(SADD, 1);
        return true;
      }
      case RdbType.SET_LISTPACK:
      case RdbType.HASH_LISTPACK: {
        r.string();
        const lp = this.lp;
        lp.open(r.sbuf, r.s);
        const set = span.type === RdbType.SET_LISTPACK;
        const cmd = set ? SADD : HSET;
        const per = set ? 1 : 2;
        const stage = this.stage;
        let i = 0;
        while (lp.next()) {
          stage.element(lp, lp.buf);
          if (++i === per) {
            i = 0;
            this.added(cmd, per);
          }
        }
        this.flush(cmd, per);
        return true;
      }
      case RdbType.ZSET_LISTPACK: {
        r.string();
        const lp = this.lp;
        const b = r.sbuf;
        lp.open(b, r.s);
        const stage = this.stage;
        while (lp.next()) {
          // The member: staged after its score, which follows it.
          const isInt = lp.isInt;
          const int = lp.int;
          const big = lp.big;
          const s = lp.s;
          const e = lp.e;
          lp.next();
          if (lp.isInt) {
            // formatScore(Number(x)) of an integer element: its digits (an int64 rounded first).
            if (Number.isNaN(lp.int)) stage.bulkText(formatScore(Number(lp.big)));
            else stage.bulkInt(lp.int);
          } else if (canonicalScore(b, lp.s, lp.e)) stage.bulk(b, lp.s, lp.e);
          else {
            const score = listpackScore(b, lp.s, lp.e);
            if (score === 0 && Object.is(score, -0) && this.commands.exactScores) {
              this.stage.pos = 0;
              this.k = 0;
              return false;
            }
            stage.bulkText(formatScore(score));
          }
          if (!isInt) stage.bulk(b, s, e);
          else if (Number.isNaN(int)) stage.bulkText(String(big));
          else stage.bulkInt(int);
          this.added(ZADD, 2);
        }
        this.flush(ZADD, 2);
        return true;
      }
      case RdbType.LIST_QUICKLIST_2: {
        const nodes = r.len();
        const lp = this.lp;
        const stage = this.stage;
        let acc = 0;
        for (let i = 0; i < nodes; i++) {
          const container = r.len();
          r.string();
          if (container === 1) {
            if (r.isInt) stage.bulkInt(r.int);
            else stage.bulk(r.sbuf, r.s, r.e);
            this.added(RPUSH, 1);
            acc++;
          } else {
            lp.open(r.sbuf, r.s);
            while (lp.next()) {
              stage.element(lp, lp.buf);
              this.added(RPUSH, 1);
              acc++;
            }
          }
          // The reader ends a part after the node that fills it.
          if (acc >= this.chunk) {
            this.flush(RPUSH, 1);
            acc = 0;
          }
        }
        this.flush(RPUSH, 1);
        return true;
      }
      default:
        return false;
    }
  }

  /** One more entry staged; the command is written when it holds a batch. */
  private added(cmd: Buffer, per: number): void {
    if (++this.k === this.batch) this.flush(cmd, per);
  }

  /** Writes the staged entries as one command. */
  private flush(cmd: Buffer, per: number): void {
    const k = this.k;
    if (k === 0) return;
    const out = this.out;
    const stage = this.stage;
    out.head(42, 2 + k * per);
    out.raw(cmd);
    out.bulk(this.keyBuf, this.ks, this.ke);
    out.rawRange(stage.buf, 0, stage.pos);
    stage.pos = 0;
    this.k = 0;
  }

  /** A key whose value goes through the record model (streams, rare encodings, -0 scores). */
  private viaRecords(span: KeySpan): Promise<void> | undefined {
    this.record(span, spanKeyRecord(span, this.r, this.lp));
    return undefined;
  }

  private record(span: KeySpan, record: KeyRecord): void {
    // Keys the reader would deliver in parts are made of node-sized parts this path cannot see.
    if (record.value.type !== 'stream' && valueSize(record.value) >= this.chunk)
      throw new DirectFallback(`a big value of type ${span.type}`);
    for (const c of keyRecordToCommands(record, this.commands)) this.command(c);
    this.keys++;
  }
}

/** The `.valkey` bytes of an RDB file through the walk (see `rdbFileToChunks`). */
export function rdbFileToResp(
  path: string,
  options: RdbToRespOptions & {
    onProgress?: (bytesRead: number, keys: number) => void;
    /**
     * Convert a big file's second half on a worker thread, its output kept here meanwhile (a
     * private temp path). Needs `commands.dumpPayload` to be `encodeDump` (or none): the worker
     * makes its own.
     */
    spillPath?: string;
  },
): AsyncIterable<Buffer> & { keys: () => number; threads: () => number } {
  const { onProgress, spillPath, header: _header, commands, ...rest } = options;
  const { dumpPayload, ...plainCommands } = commands;
  const split =
    spillPath !== undefined && (dumpPayload === undefined || dumpPayload === encodeDump)
      ? {
          spillPath,
          encoder: {
            format: 'resp' as const,
            options: { ...rest, commands: { ...plainCommands, dumpPayload: dumpPayload !== undefined } },
          },
        }
      : undefined;
  return rdbFileToChunks(path, new RdbToResp(options), onProgress, split);
}
