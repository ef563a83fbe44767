/**
 * JSONL codec for key records: one JSON object per line, one line per key.
 *
 * Binary safety: every byte string (key, member, field, value, consumer name...) is written as a
 * JSON string when it is valid UTF-8, and otherwise as `{"$b64": "<base64>"}`. A reader never
 * has to guess: a JSON string always means its UTF-8 bytes, an object always means base64.
 *
 * Line shapes (`expiresAt`, `lruIdle`, `lfuFreq` optional; times are absolute Unix ms):
 * ```
 * {"db":0,"key":"k","type":"string","value":"v","expiresAt":1767225600000}
 * {"db":0,"key":"l","type":"list","value":["a",{"$b64":"/w=="}]}
 * {"db":0,"key":"s","type":"set","value":["a","b"]}
 * {"db":0,"key":"z","type":"zset","value":[["m",1.5],["top","inf"]]}      scores: numbers, or "inf" / "-inf" / "-0"
 * {"db":0,"key":"h","type":"hash","value":[["f","v"],["f2","v2",1767225600000]]}   third item: field expiry
 * {"db":0,"key":"x","type":"stream","value":{"entries":[["1-1",["f","v"]]],"length":"1","lastId":"1-1",
 *    "firstId":"1-1","maxDeletedId":"0-0","entriesAdded":"1","groups":[{"name":"g","lastId":"1-1","entriesRead":"1",
 *    "pending":[["1-1","alice",1767225600000,1]],"consumers":[{"name":"alice","seenTime":..,"activeTime":..,"pending":["1-1"]}]}]}}
 * {"db":0,"key":"m","type":"module","value":{"moduleId":"...","moduleName":"ReJSON-RL","encodingVersion":3,"raw":{"$b64":"..."}}}
 * {"function":"#!lua name=lib\n..."}                                       a function library
 * ```
 * 64-bit counters and stream ids are strings. A key delivered in parts (chunked reading) becomes
 * several lines: the first carries the metadata, the following ones have `"append": true`; the
 * parser joins them back into one record.
 */
import { StringDecoder } from 'node:string_decoder';
import type {
  FunctionRecord,
  HashEntry,
  KeyRecord,
  RdbRecord,
  StreamEntry,
  StreamGroup,
  StreamId,
  StreamValue,
  Value,
  ZSetEntry,
} from '../model.js';
import { RdbError } from '../errors.js';
import { appendValueElements, emptyValue } from '../rdb/value-parts.js';
import type { RdbChunkRecord } from '../rdb/reader.js';
import { bytesToText } from '../rdb/text.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type B64 = { $b64: string };

export function bytesToJson(b: Buffer): string | B64 {
  const text = bytesToText(b);
  return text !== null ? text : { $b64: b.toString('base64') };
}

const idText = (id: StreamId): string => `${id.ms}-${id.seq}`;

function scoreToJson(s: number): number | string {
  if (s === Infinity) return 'inf';
  if (s === -Infinity) return '-inf';
  if (Object.is(s, -0)) return '-0';
  return s;
}

function streamMeta(v: Omit<StreamValue, 'type' | 'entries'>): Record<string, Json> {
  const out: Record<string, Json> = { length: String(v.length), lastId: idText(v.lastId) };
  if (v.firstId) out.firstId = idText(v.firstId);
  if (v.maxDeletedId) out.maxDeletedId = idText(v.maxDeletedId);
  if (v.entriesAdded !== undefined) out.entriesAdded = String(v.entriesAdded);
  out.groups = v.groups.map((g) => {
    const o: Record<string, Json> = { name: bytesToJson(g.name), lastId: idText(g.lastId) };
    if (g.entriesRead !== undefined) o.entriesRead = String(g.entriesRead);
    o.pending = g.pending.map((p) => [
      idText(p.id),
      bytesToJson(p.consumer),
      p.deliveryTime,
      p.deliveryCount,
    ]);
    o.consumers = g.consumers.map((c) => {
      const co: Record<string, Json> = { name: bytesToJson(c.name), seenTime: c.seenTime };
      if (c.activeTime !== undefined) co.activeTime = c.activeTime;
      co.pending = c.pending.map(idText);
      return co;
    });
    return o;
  });
  return out;
}

function streamEntriesToJson(entries: StreamEntry[]): Json[] {
  return entries.map((e) => [idText(e.id), e.fields.flatMap(([f, v]) => [bytesToJson(f), bytesToJson(v)])]);
}

function valueToJson(v: Value, withStreamMeta = true): Json {
  switch (v.type) {
    case 'string':
      return bytesToJson(v.value);
    case 'list':
      return v.items.map(bytesToJson);
    case 'set':
      return v.members.map(bytesToJson);
    case 'zset':
      return v.entries.map((e) => [bytesToJson(e.member), scoreToJson(e.score)]);
    case 'hash':
      return v.entries.map((e) =>
        e.expiresAt === undefined
          ? [bytesToJson(e.field), bytesToJson(e.value)]
          : [bytesToJson(e.field), bytesToJson(e.value), e.expiresAt],
      );
    case 'stream':
      return withStreamMeta
        ? { entries: streamEntriesToJson(v.entries), ...streamMeta(v) }
        : { entries: streamEntriesToJson(v.entries) };
    case 'module':
      return {
        moduleId: String(v.moduleId),
        moduleName: v.moduleName,
        encodingVersion: v.encodingVersion,
        raw: bytesToJson(v.raw),
      };
  }
}

/** One JSONL line (without the newline) for a key record. */
export function keyRecordToJson(r: Omit<KeyRecord, 'kind' | 'encoding'>): string {
  const o: Record<string, Json> = {
    db: r.db,
    key: bytesToJson(r.key),
    type: r.value.type,
    value: valueToJson(r.value),
  };
  if (r.expiresAt !== undefined) o.expiresAt = r.expiresAt;
  if (r.lruIdle !== undefined) o.lruIdle = r.lruIdle;
  if (r.lfuFreq !== undefined) o.lfuFreq = r.lfuFreq;
  return JSON.stringify(o);
}

export interface RecordsToJsonlOptions {
  /** Emit `{"function": ...}` lines for function libraries (default true). */
  functions?: boolean;
}

/**
 * Turns records (from `readRdb`, also in chunked mode) into JSONL lines, each ending in "\n".
 * Non-key records other than functions are dropped.
 */
export async function* recordsToJsonl(
  records: AsyncIterable<RdbRecord | RdbChunkRecord> | Iterable<RdbRecord | RdbChunkRecord>,
  options: RecordsToJsonlOptions = {},
): AsyncGenerator<string> {
  const lines = new JsonlLines(options);
  for await (const r of records as AsyncIterable<RdbRecord | RdbChunkRecord>) {
    const line = lines.line(r);
    if (line !== null) yield line;
  }
}

/**
 * The JSONL line of each record in turn (synchronous; `recordsToJsonl` over an iterable). Keeps
 * the state of a key delivered in parts between its records.
 */
export class JsonlLines {
  private begin: Extract<RdbChunkRecord, { kind: 'key-begin' }> | null = null;
  private first = true;

  constructor(private readonly options: RecordsToJsonlOptions = {}) {}

  /** The line (ending in "\n") for `r`, or null when it makes none. */
  line(r: RdbRecord | RdbChunkRecord): string | null {
    switch (r.kind) {
      case 'key':
        return `${keyRecordToJson(r)}\n`;
      case 'function':
        return this.options.functions !== false
          ? `${JSON.stringify({ function: bytesToJson(r.code) })}\n`
          : null;
      case 'key-begin':
        this.begin = r;
        this.first = true;
        return null;
      case 'key-part': {
        const begin = this.begin;
        if (!begin) throw new RdbError('ERR_RDB_BAD_RECORD', 'key-part record without a key-begin');
        if (this.first) {
          const o: Record<string, Json> = {
            db: begin.db,
            key: bytesToJson(begin.key),
            type: r.value.type,
            value: valueToJson(r.value, false),
          };
          if (begin.expiresAt !== undefined) o.expiresAt = begin.expiresAt;
          if (begin.lruIdle !== undefined) o.lruIdle = begin.lruIdle;
          if (begin.lfuFreq !== undefined) o.lfuFreq = begin.lfuFreq;
          this.first = false;
          return `${JSON.stringify(o)}\n`;
        }
        return `${JSON.stringify({ db: r.db, key: bytesToJson(r.key), type: r.value.type, append: true, value: valueToJson(r.value, false) })}\n`;
      }
      case 'key-end': {
        const begin = this.begin;
        this.begin = null;
        if (begin && r.stream) {
          return `${JSON.stringify({ db: r.db, key: bytesToJson(r.key), type: 'stream', append: true, value: { entries: [], ...streamMeta(r.stream) } })}\n`;
        }
        if (begin && this.first) {
          const { kind: _k, type, encoding: _e, ...meta } = begin;
          return `${keyRecordToJson({ ...meta, value: emptyValue(type) ?? emptyValue('stream')! })}\n`;
        }
        return null;
      }
      default:
        return null;
    }
  }
}

// ---- parsing -----------------------------------------------------------------------------

class LineError extends Error {}

function bytesFromJson(j: unknown, what: string): Buffer {
  if (typeof j === 'string') return Buffer.from(j, 'utf8');
  if (j && typeof j === 'object' && typeof (j as B64).$b64 === 'string')
    return Buffer.from((j as B64).$b64, 'base64');
  throw new LineError(`${what} must be a string or {"$b64": ...}`);
}

function arr(j: unknown, what: string): unknown[] {
  if (!Array.isArray(j)) throw new LineError(`${what} must be an array`);
  return j;
}

function num(j: unknown, what: string): number {
  if (typeof j !== 'number' || !Number.isFinite(j)) throw new LineError(`${what} must be a number`);
  return j;
}

function big(j: unknown, what: string): bigint {
  if (
    (typeof j === 'string' && /^\d+$/.test(j)) ||
    (typeof j === 'number' && Number.isSafeInteger(j) && j >= 0)
  )
    return BigInt(j);
  throw new LineError(`${what} must be an unsigned integer (string)`);
}

function idFromJson(j: unknown, what: string): StreamId {
  if (typeof j !== 'string') throw new LineError(`${what} must be a "ms-seq" string`);
  const m = /^(\d+)-(\d+)$/.exec(j);
  if (!m) throw new LineError(`${what} must be a "ms-seq" string, got ${JSON.stringify(j)}`);
  return { ms: BigInt(m[1]!), seq: BigInt(m[2]!) };
}

function scoreFromJson(j: unknown): number {
  if (j === 'inf' || j === '+inf') return Infinity;
  if (j === '-inf') return -Infinity;
  if (j === '-0') return -0;
  return num(j, 'zset score');
}

function streamFromJson(o: Record<string, unknown>): StreamValue {
  const entries = arr(o.entries ?? [], 'stream entries').map((e): StreamEntry => {
    const [id, kv] = arr(e, 'stream entry');
    const flat = arr(kv, 'stream entry fields');
    if (flat.length % 2) throw new LineError('stream entry fields must be field/value pairs');
    const fields: Array<[Buffer, Buffer]> = [];
    for (let i = 0; i < flat.length; i += 2)
      fields.push([bytesFromJson(flat[i], 'stream field'), bytesFromJson(flat[i + 1], 'stream value')]);
    return { id: idFromJson(id, 'stream entry id'), fields };
  });
  // Without lastId the metadata comes in a later "append" line (a stream delivered in parts).
  if (o.lastId === undefined)
    return { type: 'stream', entries, length: 0n, lastId: { ms: 0n, seq: 0n }, groups: [] };
  const v: StreamValue = {
    type: 'stream',
    entries,
    length: big(o.length ?? String(entries.length), 'stream length'),
    lastId: idFromJson(o.lastId, 'stream lastId'),
    groups: arr(o.groups ?? [], 'stream groups').map((gj): StreamGroup => {
      const g = gj as Record<string, unknown>;
      const group: StreamGroup = {
        name: bytesFromJson(g.name, 'group name'),
        lastId: idFromJson(g.lastId, 'group lastId'),
        pending: arr(g.pending ?? [], 'group pending').map((pj) => {
          const [id, consumer, deliveryTime, deliveryCount] = arr(pj, 'pending entry');
          return {
            id: idFromJson(id, 'pending id'),
            consumer: bytesFromJson(consumer, 'pending consumer'),
            deliveryTime: num(deliveryTime, 'delivery time'),
            deliveryCount: num(deliveryCount, 'delivery count'),
          };
        }),
        consumers: arr(g.consumers ?? [], 'group consumers').map((cj) => {
          const c = cj as Record<string, unknown>;
          return {
            name: bytesFromJson(c.name, 'consumer name'),
            seenTime: num(c.seenTime, 'consumer seenTime'),
            ...(c.activeTime !== undefined ? { activeTime: num(c.activeTime, 'consumer activeTime') } : {}),
            pending: arr(c.pending ?? [], 'consumer pending').map((x) =>
              idFromJson(x, 'consumer pending id'),
            ),
          };
        }),
      };
      if (g.entriesRead !== undefined) group.entriesRead = big(g.entriesRead, 'group entriesRead');
      return group;
    }),
  };
  if (o.firstId !== undefined) v.firstId = idFromJson(o.firstId, 'stream firstId');
  if (o.maxDeletedId !== undefined) v.maxDeletedId = idFromJson(o.maxDeletedId, 'stream maxDeletedId');
  if (o.entriesAdded !== undefined) v.entriesAdded = big(o.entriesAdded, 'stream entriesAdded');
  return v;
}

function valueFromJson(type: unknown, j: unknown): Value {
  switch (type) {
    case 'string':
      return { type, value: bytesFromJson(j, 'string value') };
    case 'list':
      return { type, items: arr(j, 'list value').map((x) => bytesFromJson(x, 'list item')) };
    case 'set':
      return { type, members: arr(j, 'set value').map((x) => bytesFromJson(x, 'set member')) };
    case 'zset':
      return {
        type,
        entries: arr(j, 'zset value').map((e): ZSetEntry => {
          const [m, s] = arr(e, 'zset entry');
          return { member: bytesFromJson(m, 'zset member'), score: scoreFromJson(s) };
        }),
      };
    case 'hash':
      return {
        type,
        entries: arr(j, 'hash value').map((e): HashEntry => {
          const [f, v, ttl] = arr(e, 'hash entry');
          const entry: HashEntry = {
            field: bytesFromJson(f, 'hash field'),
            value: bytesFromJson(v, 'hash value'),
          };
          if (ttl !== undefined && ttl !== null) entry.expiresAt = num(ttl, 'hash field expiry');
          return entry;
        }),
      };
    case 'stream':
      if (!j || typeof j !== 'object' || Array.isArray(j))
        throw new LineError('stream value must be an object');
      return streamFromJson(j as Record<string, unknown>);
    case 'module': {
      const o = j as Record<string, unknown>;
      if (!o || typeof o !== 'object') throw new LineError('module value must be an object');
      return {
        type,
        moduleId: big(o.moduleId, 'moduleId'),
        moduleName: String(o.moduleName ?? ''),
        encodingVersion: num(o.encodingVersion ?? 0, 'encodingVersion'),
        raw: bytesFromJson(o.raw, 'module raw'),
      };
    }
    default:
      throw new LineError(`unknown type ${JSON.stringify(type)}`);
  }
}

function encodingFor(v: Value): string {
  return v.type === 'string'
    ? 'string'
    : v.type === 'module'
      ? 'module2'
      : v.type === 'stream'
        ? 'stream-listpacks3'
        : 'jsonl';
}

function appendTo(into: Value, part: Value): void {
  if (!appendValueElements(into, part))
    throw new LineError(`an append line of type ${part.type} does not match the key's type ${into.type}`);
  if (into.type === 'stream' && part.type === 'stream') {
    const { entries: _e, ...meta } = part;
    if (part.lastId.ms !== 0n || part.lastId.seq !== 0n || part.groups.length) Object.assign(into, meta);
  }
}

/** Longest JSONL line accepted (V8 strings top out near 2^29 characters; a hostile file must not get there). */
export const MAX_JSONL_LINE_CHARS = 256 * 1024 * 1024;

/**
 * Parses JSONL (strings or byte chunks, split anywhere) back into records: `key` records (in the
 * order given; the writer emits SELECTDB as needed) and `function` records, the records each input
 * chunk completes at a time (no await per record). Blank lines are skipped. Throws `RdbError` code
 * ERR_JSONL_PARSE naming the line.
 */
export async function* jsonlToRecordBatches(
  input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: { maxLineChars?: number } = {},
): AsyncGenerator<Array<KeyRecord | FunctionRecord>> {
  const maxLineChars = options.maxLineChars ?? MAX_JSONL_LINE_CHARS;
  const decoder = new StringDecoder('utf8');
  let lineNo = 0;
  let pending: KeyRecord | null = null;
  const parse = (line: string): KeyRecord | FunctionRecord | 'appended' | null => {
    lineNo++;
    if (line.trim() === '') return null;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (!o || typeof o !== 'object' || Array.isArray(o))
        throw new LineError('a line must be a JSON object');
      if (o.function !== undefined) return { kind: 'function', code: bytesFromJson(o.function, 'function') };
      const db = o.db ?? 0;
      if (typeof db !== 'number' || !Number.isSafeInteger(db) || db < 0)
        throw new LineError('db must be a non-negative integer');
      const key = bytesFromJson(o.key, 'key');
      const value = valueFromJson(o.type, o.value);
      if (o.append === true) {
        if (!pending || pending.db !== db || !pending.key.equals(key))
          throw new LineError('an "append" line must follow a line for the same key');
        appendTo(pending.value, value);
        return 'appended';
      }
      const rec: KeyRecord = { kind: 'key', db, key, encoding: encodingFor(value), value };
      if (o.expiresAt !== undefined) rec.expiresAt = num(o.expiresAt, 'expiresAt');
      if (o.lruIdle !== undefined) rec.lruIdle = num(o.lruIdle, 'lruIdle');
      if (o.lfuFreq !== undefined) rec.lfuFreq = num(o.lfuFreq, 'lfuFreq');
      return rec;
    } catch (err) {
      const reason = err instanceof LineError || err instanceof SyntaxError ? err.message : String(err);
      throw new RdbError('ERR_JSONL_PARSE', `invalid JSONL: ${reason}`, {
        details: { line: lineNo },
        cause: err,
      });
    }
  };
  /** The records complete so far (a key is complete once the next line is not its "append"). */
  let out: Array<KeyRecord | FunctionRecord> = [];
  const handle = (line: string): void => {
    const r = parse(line);
    if (r === null || r === 'appended') return;
    if (pending) out.push(pending);
    pending = null;
    if (r.kind === 'key') pending = r;
    else out.push(r);
  };
  // Pieces of the current (unfinished) line: joined once when its newline arrives, so long lines
  // fed in small chunks stay linear.
  let pieces: string[] = [];
  let pendingChars = 0;
  const tooLong = () =>
    new RdbError(
      'ERR_JSONL_PARSE',
      `invalid JSONL: line ${lineNo + 1} is longer than ${maxLineChars} characters`,
      {
        details: { line: lineNo + 1 },
        hint: 'Write big keys as several lines ("append": true), as recordsToJsonl does',
      },
    );
  for await (const chunk of input as AsyncIterable<string | Uint8Array>) {
    const text =
      typeof chunk === 'string'
        ? chunk
        : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      if (pendingChars + (nl - start) > maxLineChars) throw tooLong();
      if (pieces.length === 0) handle(text.slice(start, nl));
      else {
        pieces.push(text.slice(start, nl));
        const line = pieces.join('');
        pieces = [];
        pendingChars = 0;
        handle(line);
      }
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (start < text.length) {
      pendingChars += text.length - start;
      if (pendingChars > maxLineChars) throw tooLong();
      pieces.push(text.slice(start));
    }
    if (out.length > 0) {
      yield out;
      out = [];
    }
  }
  const rest = pieces.join('') + decoder.end();
  if (rest !== '') handle(rest);
  if (pending) out.push(pending);
  if (out.length > 0) yield out;
}

/**
 * Records of a JSONL stream (see `jsonlToRecordBatches`, which gives them a chunk's worth at a
 * time).
 */
export async function* jsonlToRecords(
  input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: { maxLineChars?: number } = {},
): AsyncGenerator<KeyRecord | FunctionRecord> {
  for await (const batch of jsonlToRecordBatches(input, options)) yield* batch;
}

/** JSONL lines of a record stream, as byte chunks of about 64 KiB. */
export async function* recordsToJsonlChunks(
  records: AsyncIterable<RdbRecord | RdbChunkRecord>,
): AsyncGenerator<Buffer> {
  async function* each(): AsyncGenerator<Array<RdbRecord | RdbChunkRecord>> {
    for await (const r of records) yield [r];
  }
  yield* recordBatchesToJsonlChunks(each());
}

/** JSONL text of record batches, in chunks of about 64 KiB (one await per chunk, not per record). */
export async function* recordBatchesToJsonlChunks(
  batches: AsyncIterable<Array<RdbRecord | RdbChunkRecord>>,
): AsyncGenerator<Buffer> {
  const lines = new JsonlLines();
  let batch: string[] = [];
  let size = 0;
  for await (const records of batches) {
    for (const r of records) {
      const line = lines.line(r);
      if (line === null) continue;
      batch.push(line);
      size += line.length;
    }
    if (size >= 64 * 1024) {
      yield Buffer.from(batch.join(''), 'utf8');
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) yield Buffer.from(batch.join(''), 'utf8');
}
