/**
 * RDB → JSONL without a record model: the structure walk checks each key, its value is read
 * straight from the window (`rdb/span.ts`) and its line written as bytes. The output is byte for
 * byte what `JsonlLines` makes of the reader's records in chunked mode (a big key's later parts
 * as `"append": true` lines). Rare encodings and streams go through the record model for that
 * one key; whatever the walk gives up on makes the caller convert with the record reader.
 */
import { isUtf8 } from 'node:buffer';
import type { StreamId, StreamValue } from '../model.js';
import {
  ByteSink,
  canonicalScore,
  DirectFallback,
  type SpanEncoder,
  rdbFileToChunks,
} from '../rdb/direct.js';
import type { KeySpan } from '../rdb/walk.js';
import { RdbType } from '../rdb/constants.js';
import { listpackScore } from '../rdb/numbers.js';
import { valueSize } from '../rdb/reader.js';
import {
  type Element,
  intsetCount,
  intsetElement,
  ListpackCursor,
  SpanReader,
  spanStream,
  spanKeyRecord,
} from '../rdb/span.js';
import { keyRecordToJson } from './jsonl.js';

const HEX = '0123456789abcdef';

/** Bytes a JSON string cannot simply copy: control characters, `"`, `\\` and non-ASCII. */
const SPECIAL = new Uint8Array(256);
for (let c = 0; c < 256; c++) SPECIAL[c] = c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80 ? 1 : 0;

/** The output buffer with JSON writers. */
class JsonSink extends ByteSink {
  /** Bytes as `bytesToJson` + `JSON.stringify` write them: a JSON string, or `{"$b64":...}`. */
  str(src: Buffer, s: number, e: number): void {
    this.ensure(e - s + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    if (e - s <= 64) {
      // Short: copied while looking for a byte that needs more than a copy.
      let i = s;
      for (; i < e; i++) {
        const c = src[i]!;
        if (SPECIAL[c] !== 0) break;
        buf[p++] = c;
      }
      if (i === e) {
        buf[p++] = 0x22;
        this.pos = p;
        return;
      }
    }
    // Longer: scanned first (one look-up a byte), then copied in one block when plain.
    let i = s;
    while (i < e && SPECIAL[src[i]!] === 0) i++;
    let plain = true;
    let ascii = true;
    for (; i < e; i++) {
      const c = src[i]!;
      if (c < 0x20 || c === 0x22 || c === 0x5c) plain = false;
      else if (c >= 0x80) ascii = false;
    }
    if (!ascii && !isUtf8(src.subarray(s, e))) {
      this.text('{"$b64":"');
      this.text(src.toString('base64', s, e));
      this.text('"}');
      return;
    }
    this.pos++;
    if (plain) this.rawRange(src, s, e);
    else this.escaped(src, s, e);
    this.ensure(1);
    this.buf[this.pos++] = 0x22;
  }

  /** Valid UTF-8 with JSON's escapes for quotes, backslashes and control characters. */
  private escaped(src: Buffer, s: number, e: number): void {
    for (let i = s; i < e; i++) {
      const c = src[i]!;
      this.ensure(6);
      const buf = this.buf;
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        buf[this.pos++] = c;
        continue;
      }
      buf[this.pos++] = 0x5c;
      if (c === 0x22 || c === 0x5c) buf[this.pos++] = c;
      else if (c === 8) buf[this.pos++] = 0x62;
      else if (c === 9) buf[this.pos++] = 0x74;
      else if (c === 10) buf[this.pos++] = 0x6e;
      else if (c === 12) buf[this.pos++] = 0x66;
      else if (c === 13) buf[this.pos++] = 0x72;
      else {
        buf[this.pos++] = 0x75;
        buf[this.pos++] = 0x30;
        buf[this.pos++] = 0x30;
        buf[this.pos++] = HEX.charCodeAt(c >> 4);
        buf[this.pos++] = HEX.charCodeAt(c & 15);
      }
    }
  }

  /** The string `r` just read (an integer encoding as its decimal text), as a JSON string. */
  spanString(r: SpanReader): void {
    if (r.isInt) this.intStr(r.int);
    else this.str(r.sbuf, r.s, r.e);
  }

  /** An integer element: the JSON string of its digits. */
  intStr(v: number): void {
    const t = String(v);
    const n = t.length;
    this.ensure(n + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) buf[p++] = t.charCodeAt(i);
    buf[p++] = 0x22;
    this.pos = p;
  }

  /** A container element as a JSON string. */
  element(el: Element, buf: Buffer): void {
    if (!el.isInt) this.str(buf, el.s, el.e);
    else if (Number.isNaN(el.int)) this.text(`"${el.big}"`);
    else this.intStr(el.int);
  }

  byte(c: number): void {
    this.ensure(1);
    this.buf[this.pos++] = c;
  }

  /** A score as `JSON.stringify(scoreToJson(score))`. */
  score(v: number): void {
    if (v === Number.POSITIVE_INFINITY) this.text('"inf"');
    else if (v === Number.NEGATIVE_INFINITY) this.text('"-inf"');
    else if (v === 0 && Object.is(v, -0)) this.text('"-0"');
    else this.text(String(v));
  }
}

const TYPE_NAMES: Record<number, string> = {
  [RdbType.LIST]: 'list',
  [RdbType.SET]: 'set',
  [RdbType.HASH]: 'hash',
  [RdbType.ZSET_2]: 'zset',
  [RdbType.SET_INTSET]: 'set',
  [RdbType.SET_LISTPACK]: 'set',
  [RdbType.HASH_LISTPACK]: 'hash',
  [RdbType.ZSET_LISTPACK]: 'zset',
  [RdbType.LIST_QUICKLIST_2]: 'list',
};

const TYPES = ['string', 'list', 'set', 'zset', 'hash', 'stream'];
/** `,"type":"<type>",["append":true,]"value":[` for each value type. */
const lineHeads = (append: boolean, array: boolean): Record<string, Buffer> =>
  Object.fromEntries(
    TYPES.map((t) => [
      t,
      Buffer.from(`,"type":"${t}",${append ? '"append":true,' : ''}"value":${array ? '[' : ''}`),
    ]),
  );
const VALUE = lineHeads(false, false);
const APPEND = lineHeads(true, false);
const VALUE_ARRAY = lineHeads(false, true);
const APPEND_ARRAY = lineHeads(true, true);

/** Turns walked keys into JSONL lines (see `rdbFileToChunks`). */
export class RdbToJsonl implements SpanEncoder {
  readonly out = new JsonSink(1 << 19);
  private readonly r = new SpanReader();
  private readonly lp = new ListpackCursor();
  private readonly chunk: number;
  private readonly chunkBytes: number;
  keys = 0;
  // The current key.
  private span!: KeySpan;
  private typeName = '';
  /** Elements in the current line. */
  private n = 0;
  /** The current line is the key's first. */
  private first = true;
  /** Where the current line starts (an empty later part is taken back). */
  private lineAt = 0;

  constructor(options: { chunkElements?: number; chunkBytes?: number } = {}) {
    this.chunk = Math.max(1, options.chunkElements ?? 10_000);
    this.chunkBytes = options.chunkBytes ?? 8 << 20;
  }

  fn(code: Buffer): void {
    this.out.text('{"function":');
    this.out.str(code, 0, code.length);
    this.out.text('}\n');
  }

  key(span: KeySpan): Promise<void> | undefined {
    const out = this.out;
    this.span = span;
    this.first = true;
    const r = this.r;
    r.atSpan(span);
    if (span.type === RdbType.STRING) {
      r.string();
      if (!r.isInt && r.e - r.s >= this.chunkBytes) throw new DirectFallback('a huge string');
      this.typeName = 'string';
      this.open(false);
      out.spanString(r);
      this.close();
      this.keys++;
      return undefined;
    }
    if (
      span.type === RdbType.STREAM_LISTPACKS ||
      span.type === RdbType.STREAM_LISTPACKS_2 ||
      span.type === RdbType.STREAM_LISTPACKS_3
    ) {
      this.stream(spanStream(span, r, this.lp, this.nodeEnds));
      this.nodeEnds.length = 0;
      this.keys++;
      return undefined;
    }
    const typeName = TYPE_NAMES[span.type];
    if (typeName === undefined) return this.viaRecords(span);
    this.typeName = typeName;
    this.open(true);
    if (!this.values(span)) {
      out.pos = this.lineAt;
      return this.viaRecords(span);
    }
    if (this.n > 0 || this.first) {
      out.byte(0x5d);
      this.close();
    } else out.pos = this.lineAt;
    this.keys++;
    return undefined;
  }

  /** `{"db":<db>,"key":` per db. */
  private readonly dbPrefix: Buffer[] = [];

  /** Starts a line: `{"db":..,"key":..,"type":..,["append":true,]"value":` (and `[`). */
  private open(array: boolean): void {
    const out = this.out;
    const span = this.span;
    this.lineAt = out.pos;
    this.n = 0;
    const db = span.db;
    let prefix = this.dbPrefix[db];
    if (prefix === undefined) {
      prefix = Buffer.from(`{"db":${db},"key":`);
      if (db < 1024) this.dbPrefix[db] = prefix;
    }
    out.raw(prefix);
    out.str(span.keyBuf, span.keyStart, span.keyEnd);
    out.raw(
      (array ? (this.first ? VALUE_ARRAY : APPEND_ARRAY) : this.first ? VALUE : APPEND)[this.typeName]!,
    );
  }

  /** Ends a line: the key's metadata on its first line, then `}` and a newline. */
  private close(): void {
    const out = this.out;
    const span = this.span;
    if (this.first) {
      if (span.expiresAt !== undefined) out.text(`,"expiresAt":${span.expiresAt}`);
      if (span.lruIdle !== undefined) out.text(`,"lruIdle":${span.lruIdle}`);
      if (span.lfuFreq !== undefined) out.text(`,"lfuFreq":${span.lfuFreq}`);
    }
    out.text('}\n');
  }

  /** A part of the key ends (the reader's chunk boundary): its line is closed, the next opened. */
  private part(): void {
    this.out.byte(0x5d);
    this.close();
    this.first = false;
    this.open(true);
  }

  /** Before an element: a comma after the first. */
  private next(): void {
    if (this.n++ > 0) this.out.byte(0x2c);
  }

  /** Writes the value's elements; false for a value left to the record model. */
  private values(span: KeySpan): boolean {
    const r = this.r;
    const out = this.out;
    switch (span.type) {
      case RdbType.LIST:
      case RdbType.SET: {
        const n = r.len();
        for (let i = 0; i < n; i++) {
          r.string();
          this.next();
          out.spanString(r);
          if ((i + 1) % this.chunk === 0) this.part();
        }
        return true;
      }
      case RdbType.HASH: {
        const n = r.len();
        for (let i = 0; i < n; i++) {
          this.next();
          out.byte(0x5b);
          r.string();
          out.spanString(r);
          out.byte(0x2c);
          r.string();
          out.spanString(r);
          out.byte(0x5d);
          if ((i + 1) % this.chunk === 0) this.part();
        }
        return true;
      }
      case RdbType.ZSET_2: {
        const n = r.len();
        for (let i = 0; i < n; i++) {
          this.next();
          out.byte(0x5b);
          r.string();
          out.spanString(r);
          out.byte(0x2c);
          out.score(r.f64());
          out.byte(0x5d);
          if ((i + 1) % this.chunk === 0) this.part();
        }
        return true;
      }
      case RdbType.SET_INTSET: {
        r.string();
        const b = r.sbuf;
        const count = intsetCount(b, r.s);
        for (let i = 0; i < count; i++) {
          this.next();
          const v = intsetElement(b, r.s, i);
          if (typeof v === 'number') out.intStr(v);
          else out.text(`"${v}"`);
        }
        return true;
      }
      case RdbType.SET_LISTPACK: {
        r.string();
        const lp = this.lp;
        lp.open(r.sbuf, r.s);
        while (lp.next()) {
          this.next();
          out.element(lp, lp.buf);
        }
        return true;
      }
      case RdbType.HASH_LISTPACK: {
        r.string();
        const lp = this.lp;
        lp.open(r.sbuf, r.s);
        while (lp.next()) {
          this.next();
          out.byte(0x5b);
          out.element(lp, lp.buf);
          out.byte(0x2c);
          lp.next();
          out.element(lp, lp.buf);
          out.byte(0x5d);
        }
        return true;
      }
      case RdbType.ZSET_LISTPACK: {
        r.string();
        const lp = this.lp;
        const b = r.sbuf;
        lp.open(b, r.s);
        while (lp.next()) {
          this.next();
          out.byte(0x5b);
          out.element(lp, b);
          out.byte(0x2c);
          lp.next();
          if (lp.isInt) {
            if (Number.isNaN(lp.int)) out.score(Number(lp.big));
            else out.text(String(lp.int));
          } else if (canonicalScore(b, lp.s, lp.e)) out.rawRange(b, lp.s, lp.e);
          else out.score(listpackScore(b, lp.s, lp.e));
          out.byte(0x5d);
        }
        return true;
      }
      case RdbType.LIST_QUICKLIST_2: {
        const nodes = r.len();
        const lp = this.lp;
        let acc = 0;
        for (let i = 0; i < nodes; i++) {
          const container = r.len();
          r.string();
          if (container === 1) {
            this.next();
            out.spanString(r);
            acc++;
          } else {
            lp.open(r.sbuf, r.s);
            while (lp.next()) {
              this.next();
              out.element(lp, lp.buf);
              acc++;
            }
          }
          if (acc >= this.chunk) {
            this.part();
            acc = 0;
          }
        }
        return true;
      }
      default:
        return false;
    }
  }

  /** A key whose value goes through the record model (rare encodings). */
  private viaRecords(span: KeySpan): Promise<void> | undefined {
    const record = spanKeyRecord(span, this.r, this.lp);
    // Keys the reader would deliver in parts are made of node-sized parts this path cannot see.
    if (valueSize(record.value) >= this.chunk) throw new DirectFallback(`a big value of type ${span.type}`);
    const line = `${keyRecordToJson(record)}\n`;
    const out = this.out;
    out.ensure(Buffer.byteLength(line));
    out.pos += out.buf.write(line, out.pos, 'utf8');
    this.keys++;
    return undefined;
  }

  /** Entry counts after each node of the stream being written (see `spanStream`). */
  private readonly nodeEnds: number[] = [];

  /**
   * A stream's lines as the record reader's records make them: one line, or for a big stream
   * (`chunk` entries or more) its entries in parts cut after a node, as the reader cuts them, and
   * a last line with the metadata and groups.
   */
  private stream(v: StreamValue): void {
    const out = this.out;
    this.typeName = 'stream';
    const n = v.entries.length;
    if (n < this.chunk) {
      this.open(false);
      out.text('{"entries":[');
      this.streamEntries(v, 0, n);
      out.byte(0x5d);
      this.streamMeta(v);
      out.byte(0x7d);
      this.close();
      return;
    }
    let from = 0;
    const part = (to: number): void => {
      this.open(false);
      out.text('{"entries":[');
      this.streamEntries(v, from, to);
      out.text(']}');
      this.close();
      this.first = false;
      from = to;
    };
    for (const end of this.nodeEnds) if (end - from >= this.chunk) part(end);
    if (from < n) part(n);
    this.open(false);
    out.text('{"entries":[]');
    this.streamMeta(v);
    out.byte(0x7d);
    this.close();
  }

  private streamId(i: StreamId): void {
    this.out.text(`"${i.ms}-${i.seq}"`);
  }

  /** Entries `[from, to)` of a stream, comma-separated. */
  private streamEntries(v: StreamValue, from: number, to: number): void {
    const out = this.out;
    for (let i = from; i < to; i++) {
      const e = v.entries[i]!;
      out.text(i > from ? ',[' : '[');
      this.streamId(e.id);
      out.text(',[');
      for (let j = 0; j < e.fields.length; j++) {
        const [f, x] = e.fields[j]!;
        if (j > 0) out.byte(0x2c);
        out.str(f, 0, f.length);
        out.byte(0x2c);
        out.str(x, 0, x.length);
      }
      out.text(']]');
    }
  }

  /** `,"length":...` to the groups: what `keyRecordToJson` writes after a stream's entries. */
  private streamMeta(v: StreamValue): void {
    const out = this.out;
    const bytes = (b: Buffer): void => out.str(b, 0, b.length);
    out.text(`,"length":"${v.length}","lastId":`);
    this.streamId(v.lastId);
    if (v.firstId) out.text(`,"firstId":"${v.firstId.ms}-${v.firstId.seq}"`);
    if (v.maxDeletedId) out.text(`,"maxDeletedId":"${v.maxDeletedId.ms}-${v.maxDeletedId.seq}"`);
    if (v.entriesAdded !== undefined) out.text(`,"entriesAdded":"${v.entriesAdded}"`);
    out.text(',"groups":[');
    for (let g = 0; g < v.groups.length; g++) {
      const group = v.groups[g]!;
      out.text(g > 0 ? ',{"name":' : '{"name":');
      bytes(group.name);
      out.text(',"lastId":');
      this.streamId(group.lastId);
      if (group.entriesRead !== undefined) out.text(`,"entriesRead":"${group.entriesRead}"`);
      out.text(',"pending":[');
      for (let p = 0; p < group.pending.length; p++) {
        const pe = group.pending[p]!;
        out.text(p > 0 ? ',[' : '[');
        this.streamId(pe.id);
        out.byte(0x2c);
        bytes(pe.consumer);
        out.text(`,${pe.deliveryTime},${pe.deliveryCount}]`);
      }
      out.text('],"consumers":[');
      for (let c = 0; c < group.consumers.length; c++) {
        const consumer = group.consumers[c]!;
        out.text(c > 0 ? ',{"name":' : '{"name":');
        bytes(consumer.name);
        out.text(`,"seenTime":${consumer.seenTime}`);
        if (consumer.activeTime !== undefined) out.text(`,"activeTime":${consumer.activeTime}`);
        out.text(',"pending":[');
        for (let p = 0; p < consumer.pending.length; p++) {
          if (p > 0) out.byte(0x2c);
          this.streamId(consumer.pending[p]!);
        }
        out.text(']}');
      }
      out.text(']}');
    }
    out.byte(0x5d);
  }
}

/** The JSONL bytes of an RDB file through the walk (see `rdbFileToChunks`). */
export function rdbFileToJsonl(
  path: string,
  options: {
    onProgress?: (bytesRead: number, keys: number) => void;
    /** Convert a big file's second half on a worker thread, its output kept here meanwhile. */
    spillPath?: string;
  } = {},
): AsyncIterable<Buffer> & { keys: () => number; threads: () => number } {
  const split =
    options.spillPath !== undefined
      ? { spillPath: options.spillPath, encoder: { format: 'jsonl' as const, options: {} } }
      : undefined;
  return rdbFileToChunks(path, new RdbToJsonl(), options.onProgress, split);
}
