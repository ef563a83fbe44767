import { Readable } from 'node:stream';
import { writeStreamAtomic } from '@valkey-tools/core';
import type {
  HashValue,
  KeyRecord,
  ListValue,
  RdbRecord,
  SetValue,
  StreamId,
  StreamValue,
  Value,
  ZSetValue,
} from '../model.js';
import { RdbOpcode, RdbType } from './constants.js';
import { ListpackBuilder, parseCanonicalInt64 } from './containers.js';
import { Crc64 } from './crc64.js';
import { RdbError } from '../errors.js';
import { lzfCompress } from './lzf.js';
import { appendValueElements, emptyValue, isEmptyCollection } from './value-parts.js';
import type { RdbChunkRecord } from './reader.js';
import { displayBytes } from './text.js';

/** Which loader the output is for: RDB 9 (Redis 5/6), 10 (Redis 7.0), 11 (Valkey 7.2/8.x, Redis 7.2), or Valkey 9 (`VALKEY080`). */
export type RdbTarget = 9 | 10 | 11 | 'VALKEY080';

/** Size limits deciding compact encodings; the defaults are Valkey 8's config defaults. */
export interface EncodingLimits {
  hashMaxListpackEntries: number;
  hashMaxListpackValue: number;
  setMaxIntsetEntries: number;
  setMaxListpackEntries: number;
  setMaxListpackValue: number;
  zsetMaxListpackEntries: number;
  zsetMaxListpackValue: number;
  /** Like `list-max-listpack-size`: negative = node byte class (-1 4 KiB .. -5 64 KiB), positive = entries per node. */
  listMaxListpackSize: number;
  streamNodeMaxEntries: number;
  streamNodeMaxBytes: number;
}

export const DEFAULT_ENCODING_LIMITS: Readonly<EncodingLimits> = Object.freeze({
  hashMaxListpackEntries: 512,
  hashMaxListpackValue: 64,
  setMaxIntsetEntries: 512,
  setMaxListpackEntries: 128,
  setMaxListpackValue: 64,
  zsetMaxListpackEntries: 128,
  zsetMaxListpackValue: 64,
  listMaxListpackSize: -2,
  streamNodeMaxEntries: 100,
  streamNodeMaxBytes: 4096,
});

export interface EncodeOptions {
  /** Output format (default 11 = `REDIS0011`, what Valkey 7.2-8.x write and load). */
  target?: RdbTarget;
  /** LZF-compress strings longer than 20 bytes when it saves bytes, like `rdbcompression yes` (default true). */
  compression?: boolean;
  /** Use compact encodings (intset, listpack) for small collections like the server (default true); false writes plain hashtable/skiplist/linked-list types. */
  compact?: boolean;
  limits?: Partial<EncodingLimits>;
  /**
   * Hash fields with a per-field TTL can only be written for `VALKEY080`. For older targets:
   * 'error' (default) fails naming the key; 'drop' writes the fields without their TTL.
   */
  fieldExpiry?: 'error' | 'drop';
}

export interface WriteRdbOptions extends EncodeOptions {
  /** Write the CRC-64 trailer (default true); false writes 8 zero bytes like `rdbchecksum no`. */
  checksum?: boolean;
  /** Copy `aux` records from the input (default true). */
  keepAux?: boolean;
  /** Extra AUX fields written right after the header. */
  aux?: Record<string, string | Buffer>;
  /** Write LRU idle / LFU frequency when records carry them (default true). */
  keepLruLfu?: boolean;
  /** Size of the yielded chunks (default 64 KiB). */
  chunkBytes?: number;
  /**
   * Fail with ERR_RDB_BAD_RECORD when a key appears twice in the same db (valkey-server refuses
   * such a file). Costs memory per key, so it is off by default.
   */
  checkDuplicateKeys?: boolean;
  /** Called every `progressEvery` keys (default 10000) and at the end. */
  onProgress?: (progress: { keys: number; bytes: number }) => void;
  progressEvery?: number;
}

const U64_MAX = (1n << 64n) - 1n;
const PLAIN_NODE_THRESHOLD = 1 << 30;

function targetVersion(t: RdbTarget): number {
  return t === 'VALKEY080' ? 80 : t;
}

/** Growable output with batched small writes. */
class Out {
  private chunks: Buffer[] = [];
  private cur = Buffer.allocUnsafe(65536);
  private pos = 0;
  size = 0;

  u8(b: number): void {
    if (this.pos >= this.cur.length) this.spill();
    this.cur[this.pos++] = b;
    this.size++;
  }

  raw(buf: Uint8Array): void {
    const n = buf.length;
    if (n <= this.cur.length - this.pos) {
      this.cur.set(buf, this.pos);
      this.pos += n;
    } else if (n < 4096) {
      this.spill();
      this.cur.set(buf, 0);
      this.pos = n;
    } else {
      this.spill();
      this.chunks.push(Buffer.from(buf.buffer, buf.byteOffset, n));
    }
    this.size += n;
  }

  private spill(): void {
    if (this.pos > 0) {
      this.chunks.push(this.cur.subarray(0, this.pos));
      this.cur = Buffer.allocUnsafe(65536);
      this.pos = 0;
    }
  }

  /** Everything written so far as one Buffer; the scratch space is kept for reuse. */
  take(): Buffer {
    let out: Buffer;
    if (this.chunks.length === 0) {
      out = Buffer.allocUnsafe(this.pos);
      this.cur.copy(out, 0, 0, this.pos);
    } else {
      if (this.pos > 0) this.chunks.push(Buffer.from(this.cur.subarray(0, this.pos)));
      out = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [];
    }
    this.pos = 0;
    this.size = 0;
    return out;
  }
}

/** Encodes values in RDB form; shared by the file writer and DUMP payloads. */
export class ValueEncoder {
  readonly version: number;
  readonly limits: EncodingLimits;
  private readonly compression: boolean;
  private readonly compact: boolean;
  readonly fieldExpiry: 'error' | 'drop';

  constructor(options: EncodeOptions = {}) {
    const target = options.target ?? 11;
    if (![9, 10, 11, 'VALKEY080'].includes(target)) {
      throw new RdbError('ERR_RDB_BAD_RECORD', `unsupported target ${String(target)}`, {
        hint: 'Use 9, 10, 11 or "VALKEY080"',
      });
    }
    this.version = targetVersion(target);
    this.limits = { ...DEFAULT_ENCODING_LIMITS, ...options.limits };
    this.compression = options.compression !== false;
    this.compact = options.compact !== false;
    this.fieldExpiry = options.fieldExpiry ?? 'error';
  }

  len(out: Out, n: number | bigint): void {
    if (typeof n === 'number' && n < 64) out.u8(n);
    else if (typeof n === 'number' && n < 16384) {
      out.u8(0x40 | (n >> 8));
      out.u8(n & 0xff);
    } else if (n <= 0xffffffff) {
      const b = Buffer.allocUnsafe(5);
      b[0] = 0x80;
      b.writeUInt32BE(Number(n), 1);
      out.raw(b);
    } else {
      const b = Buffer.allocUnsafe(9);
      b[0] = 0x81;
      b.writeBigUInt64BE(BigInt(n), 1);
      out.raw(b);
    }
  }

  string(out: Out, s: Buffer): void {
    const n = s.length;
    if (n <= 11 && n > 0) {
      const v = parseCanonicalInt64(s);
      if (v !== null && v >= -2147483648n && v <= 2147483647n) {
        const x = Number(v);
        if (x >= -128 && x <= 127) {
          out.u8(0xc0);
          out.u8(x & 0xff);
        } else if (x >= -32768 && x <= 32767) {
          const b = Buffer.allocUnsafe(3);
          b[0] = 0xc1;
          b.writeInt16LE(x, 1);
          out.raw(b);
        } else {
          const b = Buffer.allocUnsafe(5);
          b[0] = 0xc2;
          b.writeInt32LE(x, 1);
          out.raw(b);
        }
        return;
      }
    }
    if (this.compression && n > 20) {
      const c = lzfCompress(s, n - 4);
      if (c) {
        out.u8(0xc3);
        this.len(out, c.length);
        this.len(out, n);
        out.raw(c);
        return;
      }
    }
    this.len(out, n);
    out.raw(s);
  }

  millis(out: Out, ms: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64LE(BigInt(Math.trunc(ms)), 0);
    out.raw(b);
  }

  /** Writes the value body and returns its type byte. `key` is only used in error messages. */
  value(out: Out, v: Value, key?: Buffer): number {
    switch (v.type) {
      case 'string':
        this.string(out, v.value);
        return RdbType.STRING;
      case 'list':
        return this.list(out, v);
      case 'set':
        this.unique(v.members, 'set member', key);
        return this.set(out, v);
      case 'zset':
        this.unique(
          v.entries.map((e) => e.member),
          'zset member',
          key,
        );
        for (const e of v.entries) if (Number.isNaN(e.score)) this.bad('zset score is NaN', key);
        return this.zset(out, v);
      case 'hash':
        this.unique(
          v.entries.map((e) => e.field),
          'hash field',
          key,
        );
        return this.hash(out, v, key);
      case 'stream':
        this.checkStream(v, key);
        return this.stream(out, v);
      case 'module':
        out.raw(v.raw);
        return RdbType.MODULE_2;
      default:
        throw new RdbError('ERR_RDB_BAD_RECORD', `unknown value type ${(v as { type: string }).type}`);
    }
  }

  private list(out: Out, v: ListValue): number {
    if (this.version < 10 || !this.compact) {
      this.len(out, v.items.length);
      for (const item of v.items) this.string(out, item);
      return RdbType.LIST;
    }
    const sizeLimit = this.limits.listMaxListpackSize;
    const maxBytes = sizeLimit < 0 ? 4096 * 2 ** (Math.min(5, -sizeLimit) - 1) : Number.POSITIVE_INFINITY;
    const maxEntries = sizeLimit > 0 ? sizeLimit : Number.POSITIVE_INFINITY;
    const nodes: Array<{ plain: Buffer } | { lp: ListpackBuilder }> = [];
    let lp: ListpackBuilder | null = null;
    for (const item of v.items) {
      if (item.length >= PLAIN_NODE_THRESHOLD) {
        nodes.push({ plain: item });
        lp = null;
        continue;
      }
      if (lp && (lp.count >= maxEntries || lp.size + item.length + 11 > maxBytes)) lp = null;
      if (!lp) {
        lp = new ListpackBuilder();
        nodes.push({ lp });
      }
      lp.append(item);
    }
    this.len(out, nodes.length);
    for (const node of nodes) {
      if ('plain' in node) {
        this.len(out, 1);
        this.string(out, node.plain);
      } else {
        this.len(out, 2);
        this.string(out, node.lp.finish());
      }
    }
    return RdbType.LIST_QUICKLIST_2;
  }

  /** A record the server could not load (it refuses duplicates, NaN scores, inconsistent PELs). */
  private bad(message: string, key?: Buffer): never {
    throw new RdbError('ERR_RDB_BAD_RECORD', message, {
      ...(key ? { details: { key: displayBytes(key) } } : {}),
      hint: 'valkey-server would refuse to load this; fix the input records',
    });
  }

  private unique(items: Buffer[], what: string, key?: Buffer): void {
    if (items.length < 2) return;
    const seen = new Set<string>();
    for (const b of items) {
      const s = b.toString('latin1');
      if (seen.has(s)) this.bad(`duplicate ${what} ${JSON.stringify(displayBytes(b))}`, key);
      seen.add(s);
    }
  }

  private checkStream(v: StreamValue, key?: Buffer): void {
    const idText = (id: StreamId) => `${id.ms}-${id.seq}`;
    const after = (a: StreamId, b: StreamId) => a.ms > b.ms || (a.ms === b.ms && a.seq > b.seq);
    let prev: StreamId | undefined;
    for (const e of v.entries) {
      if (prev && !after(e.id, prev)) this.bad(`stream entry ids are not increasing at ${idText(e.id)}`, key);
      prev = e.id;
    }
    if (prev && after(prev, v.lastId))
      this.bad(`stream last id ${idText(v.lastId)} is below the last entry ${idText(prev)}`, key);
    for (const g of v.groups) {
      const owners = new Map<string, string>();
      for (const p of g.pending) owners.set(idText(p.id), p.consumer.toString('latin1'));
      const names = new Set(g.consumers.map((c) => c.name.toString('latin1')));
      for (const [id, owner] of owners) {
        if (!names.has(owner))
          this.bad(
            `group ${JSON.stringify(displayBytes(g.name))}: pending entry ${id} belongs to no consumer of the group`,
            key,
          );
      }
      for (const c of g.consumers) {
        for (const id of c.pending) {
          if (owners.get(idText(id)) !== c.name.toString('latin1')) {
            this.bad(
              `group ${JSON.stringify(displayBytes(g.name))}: consumer ${JSON.stringify(displayBytes(c.name))} lists pending id ${idText(id)} that the group PEL does not give it`,
              key,
            );
          }
        }
      }
    }
  }

  private set(out: Out, v: SetValue): number {
    const n = v.members.length;
    const L = this.limits;
    if (this.compact && n <= L.setMaxIntsetEntries) {
      const ints: bigint[] = [];
      for (const m of v.members) {
        const x = parseCanonicalInt64(m);
        if (x === null) break;
        ints.push(x);
      }
      if (ints.length === n) {
        ints.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        let width = 2;
        for (const x of ints) {
          if (x < -2147483648n || x > 2147483647n) width = 8;
          else if ((x < -32768n || x > 32767n) && width < 4) width = 4;
        }
        const blob = Buffer.allocUnsafe(8 + n * width);
        blob.writeUInt32LE(width, 0);
        blob.writeUInt32LE(n, 4);
        ints.forEach((x, i) => {
          const at = 8 + i * width;
          if (width === 2) blob.writeInt16LE(Number(x), at);
          else if (width === 4) blob.writeInt32LE(Number(x), at);
          else blob.writeBigInt64LE(x, at);
        });
        this.string(out, blob);
        return RdbType.SET_INTSET;
      }
    }
    if (
      this.compact &&
      this.version >= 11 &&
      n <= L.setMaxListpackEntries &&
      v.members.every((m) => m.length <= L.setMaxListpackValue)
    ) {
      const lp = new ListpackBuilder();
      for (const m of v.members) lp.append(m);
      this.string(out, lp.finish());
      return RdbType.SET_LISTPACK;
    }
    this.len(out, n);
    for (const m of v.members) this.string(out, m);
    return RdbType.SET;
  }

  private zset(out: Out, v: ZSetValue): number {
    const n = v.entries.length;
    const L = this.limits;
    const sorted = [...v.entries].sort((a, b) =>
      a.score < b.score ? -1 : a.score > b.score ? 1 : Buffer.compare(a.member, b.member),
    );
    if (
      this.compact &&
      this.version >= 10 &&
      n <= L.zsetMaxListpackEntries &&
      v.entries.every((e) => e.member.length <= L.zsetMaxListpackValue)
    ) {
      const lp = new ListpackBuilder();
      for (const e of sorted) {
        lp.append(e.member);
        const s = e.score;
        if (Number.isSafeInteger(s) && !Object.is(s, -0)) lp.appendInt(s);
        else lp.appendString(Buffer.from(scoreText(s)));
      }
      this.string(out, lp.finish());
      return RdbType.ZSET_LISTPACK;
    }
    this.len(out, n);
    const b = Buffer.allocUnsafe(8);
    // Greatest score first, like the server, so loading appends at the skiplist head.
    for (let i = sorted.length - 1; i >= 0; i--) {
      const e = sorted[i]!;
      this.string(out, e.member);
      b.writeDoubleLE(e.score, 0);
      out.raw(b);
    }
    return RdbType.ZSET_2;
  }

  private hash(out: Out, v: HashValue, key?: Buffer): number {
    const n = v.entries.length;
    const L = this.limits;
    const withTtl = v.entries.some((e) => e.expiresAt !== undefined);
    if (withTtl && this.version >= 80) {
      this.len(out, n);
      for (const e of v.entries) {
        this.string(out, e.field);
        this.string(out, e.value);
        this.millis(out, e.expiresAt ?? -1);
      }
      return RdbType.HASH_2;
    }
    if (withTtl && this.fieldExpiry === 'error') {
      throw new RdbError(
        'ERR_RDB_UNSUPPORTED_VALUE',
        `hash ${key ? JSON.stringify(displayBytes(key)) : ''} has fields with a TTL, which RDB ${this.version} cannot store`,
        {
          ...(key ? { details: { key: displayBytes(key) } } : {}),
          hint: 'Write target "VALKEY080" (Valkey 9), or pass fieldExpiry: "drop" to write the fields without TTLs',
        },
      );
    }
    if (
      this.compact &&
      this.version >= 10 &&
      n <= L.hashMaxListpackEntries &&
      v.entries.every(
        (e) => e.field.length <= L.hashMaxListpackValue && e.value.length <= L.hashMaxListpackValue,
      )
    ) {
      const lp = new ListpackBuilder();
      for (const e of v.entries) {
        lp.append(e.field);
        lp.append(e.value);
      }
      this.string(out, lp.finish());
      return RdbType.HASH_LISTPACK;
    }
    this.len(out, n);
    for (const e of v.entries) {
      this.string(out, e.field);
      this.string(out, e.value);
    }
    return RdbType.HASH;
  }

  private id(out: Out, id: StreamId): void {
    this.len(out, id.ms);
    this.len(out, id.seq);
  }

  private stream(out: Out, v: StreamValue): number {
    const type =
      this.version >= 11
        ? RdbType.STREAM_LISTPACKS_3
        : this.version >= 10
          ? RdbType.STREAM_LISTPACKS_2
          : RdbType.STREAM_LISTPACKS;
    const L = this.limits;
    const nodes: Array<{ master: StreamId; entries: StreamValue['entries'] }> = [];
    let bytes = 0;
    for (const e of v.entries) {
      const last = nodes.at(-1);
      const size = e.fields.reduce((s, [f, x]) => s + f.length + x.length + 4, 8);
      if (!last || last.entries.length >= L.streamNodeMaxEntries || bytes + size > L.streamNodeMaxBytes) {
        nodes.push({ master: e.id, entries: [e] });
        bytes = size;
      } else {
        last.entries.push(e);
        bytes += size;
      }
    }
    this.len(out, nodes.length);
    for (const node of nodes) {
      const key = Buffer.allocUnsafe(16);
      key.writeBigUInt64BE(node.master.ms, 0);
      key.writeBigUInt64BE(node.master.seq, 8);
      this.string(out, key);
      const masterFields = node.entries[0]!.fields.map(([f]) => f);
      const lp = new ListpackBuilder();
      lp.appendInt(node.entries.length);
      lp.appendInt(0);
      lp.appendInt(masterFields.length);
      for (const f of masterFields) lp.append(f);
      lp.appendInt(0);
      for (const e of node.entries) {
        const same =
          e.fields.length === masterFields.length && e.fields.every(([f], i) => f.equals(masterFields[i]!));
        lp.appendInt(same ? 2 : 0);
        lp.appendInt(e.id.ms - node.master.ms);
        lp.appendInt(e.id.seq - node.master.seq);
        if (same) {
          for (const [, x] of e.fields) lp.append(x);
          lp.appendInt(e.fields.length + 3);
        } else {
          lp.appendInt(e.fields.length);
          for (const [f, x] of e.fields) {
            lp.append(f);
            lp.append(x);
          }
          lp.appendInt(e.fields.length * 2 + 4);
        }
      }
      this.string(out, lp.finish());
    }
    const length = BigInt(v.entries.length);
    this.len(out, length);
    this.id(out, v.lastId);
    const zero = { ms: 0n, seq: 0n };
    if (type !== RdbType.STREAM_LISTPACKS) {
      this.id(out, v.firstId ?? v.entries[0]?.id ?? zero);
      this.id(out, v.maxDeletedId ?? zero);
      this.len(out, v.entriesAdded ?? length);
    }
    this.len(out, v.groups.length);
    const cmp = (a: StreamId, b: StreamId) =>
      a.ms < b.ms ? -1 : a.ms > b.ms ? 1 : a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;
    const rawId = (id: StreamId) => {
      const b = Buffer.allocUnsafe(16);
      b.writeBigUInt64BE(id.ms, 0);
      b.writeBigUInt64BE(id.seq, 8);
      out.raw(b);
    };
    for (const g of v.groups) {
      this.string(out, g.name);
      this.id(out, g.lastId);
      if (type !== RdbType.STREAM_LISTPACKS) this.len(out, g.entriesRead ?? U64_MAX);
      const pel = [...g.pending].sort((a, b) => cmp(a.id, b.id));
      this.len(out, pel.length);
      for (const p of pel) {
        rawId(p.id);
        this.millis(out, p.deliveryTime);
        this.len(out, p.deliveryCount);
      }
      this.len(out, g.consumers.length);
      for (const c of g.consumers) {
        this.string(out, c.name);
        this.millis(out, c.seenTime);
        if (type === RdbType.STREAM_LISTPACKS_3) this.millis(out, c.activeTime ?? c.seenTime);
        // The group PEL says who owns what: every pending entry must end up in its owner's PEL.
        const cpel = pel.filter((p) => p.consumer.equals(c.name)).map((p) => p.id);
        this.len(out, cpel.length);
        for (const id of cpel) rawId(id);
      }
    }
    return type;
  }

  /** Encodes one value into a standalone buffer; returns the type byte and the body. */
  private readonly scratch = new Out();

  encode(v: Value, key?: Buffer): { type: number; body: Buffer } {
    const out = this.scratch;
    const type = this.value(out, v, key);
    return { type, body: out.take() };
  }
}

/** Text of a score that C's strtod parses back to the same double. */
/** A score as listpack text: `inf`, `-inf`, `-0`, or the shortest decimal that reads back the same. */
export function scoreText(s: number): string {
  if (s === Infinity) return 'inf';
  if (s === -Infinity) return '-inf';
  if (Object.is(s, -0)) return '-0';
  return String(s);
}

/** Joins key-begin/part/end records back into one value (the writer needs counts up front). */
/** A value to collect a chunked key into (module values are never delivered in parts). */
function emptyPartialValue(type: Value['type']): Value {
  const value = emptyValue(type);
  if (!value) throw new RdbError('ERR_RDB_BAD_RECORD', `a ${type} value cannot be delivered in parts`);
  return value;
}

/**
 * Writes records as an RDB file, yielding chunks of bytes. The header, SELECTDB, the EOF opcode
 * and the CRC-64 trailer are written by the writer (input header/select-db/end records only guide
 * it); keys are encoded compactly like the server does. Accepts the chunked records of
 * `readRdb(..., { chunked })` too (each such key is re-assembled in memory before it is written).
 */
/**
 * A key whose value is already in RDB encoding, as a DUMP payload holds it (see
 * `splitDumpPayload`): `type` and the value's bytes (`body`) are written as they are. Its RDB
 * `version` must be one the target's files hold: up to 11 for targets 9-11 (not above the
 * target), 80 for `VALKEY080`.
 */
export interface EncodedKeyRecord extends Omit<KeyRecord, 'kind' | 'value' | 'encoding'> {
  kind: 'encoded-key';
  type: number;
  body: Buffer;
  version: number;
}

export async function* writeRdb(
  records:
    | AsyncIterable<RdbRecord | RdbChunkRecord | EncodedKeyRecord>
    | Iterable<RdbRecord | RdbChunkRecord | EncodedKeyRecord>,
  options: WriteRdbOptions = {},
): AsyncGenerator<Buffer> {
  const enc = new ValueEncoder(options);
  const out = new Out();
  const crc = options.checksum === false ? null : new Crc64();
  const chunkBytes = options.chunkBytes ?? 65536;
  const keepAux = options.keepAux !== false;
  const keepLruLfu = options.keepLruLfu !== false;
  const progressEvery = options.progressEvery ?? 10000;
  let keys = 0;
  let total = 0;
  const drain = (): Buffer => {
    const b = out.take();
    crc?.update(b);
    total += b.length;
    return b;
  };
  const magic =
    enc.version >= 80
      ? `VALKEY${String(enc.version).padStart(3, '0')}`
      : `REDIS${String(enc.version).padStart(4, '0')}`;
  out.raw(Buffer.from(magic, 'latin1'));
  const aux = (k: Buffer, v: Buffer) => {
    out.u8(RdbOpcode.AUX);
    enc.string(out, k);
    enc.string(out, v);
  };
  for (const [k, v] of Object.entries(options.aux ?? {}))
    aux(Buffer.from(k), typeof v === 'string' ? Buffer.from(v) : v);
  let currentDb = -1;
  let announcedDb = -1;
  let pendingResize: { db: number; dbSize: number; expiresSize: number } | null = null;
  let partial: { rec: Omit<KeyRecord, 'kind' | 'value'>; value: Value } | null = null;
  // A huge key written as its parts arrive (key-begin told the element count up front).
  let streaming: { key: Buffer; type: Value['type']; declared: number; written: number } | null = null;
  const L = enc.limits;
  const streamAbove: Partial<Record<Value['type'], number>> = {
    string: 1 << 20,
    list: 1024,
    set: Math.max(L.setMaxIntsetEntries, L.setMaxListpackEntries),
    zset: L.zsetMaxListpackEntries,
    hash: L.hashMaxListpackEntries,
  };
  const f64 = Buffer.alloc(8);
  const writePart = (v: Value): number => {
    switch (v.type) {
      case 'string':
        out.raw(v.value);
        return v.value.length;
      case 'list':
        for (const x of v.items) enc.string(out, x);
        return v.items.length;
      case 'set':
        for (const x of v.members) enc.string(out, x);
        return v.members.length;
      case 'zset':
        for (const e of v.entries) {
          enc.string(out, e.member);
          f64.writeDoubleLE(e.score, 0);
          out.raw(f64);
        }
        return v.entries.length;
      case 'hash':
        for (const e of v.entries) {
          if (e.expiresAt !== undefined && enc.version < 80 && enc.fieldExpiry === 'error') {
            throw new RdbError(
              'ERR_RDB_UNSUPPORTED_VALUE',
              `hash ${JSON.stringify(displayBytes(streaming!.key))} has fields with a TTL, which RDB ${enc.version} cannot store`,
              {
                details: { key: displayBytes(streaming!.key) },
                hint: 'Write target "VALKEY080" (Valkey 9), or pass fieldExpiry: "drop" to write the fields without TTLs',
              },
            );
          }
          enc.string(out, e.field);
          enc.string(out, e.value);
          if (enc.version >= 80) enc.millis(out, e.expiresAt ?? -1);
        }
        return v.entries.length;
      default:
        throw new RdbError('ERR_RDB_BAD_RECORD', `a ${v.type} value cannot be streamed`);
    }
  };

  const seen = options.checkDuplicateKeys ? new Set<string>() : null;
  const writePrefix = (r: Omit<KeyRecord, 'kind' | 'value' | 'encoding'>) => {
    if (seen) {
      const id = `${r.db}:${r.key.toString('latin1')}`;
      if (seen.has(id)) {
        throw new RdbError('ERR_RDB_BAD_RECORD', `duplicate key in db ${r.db}`, {
          details: { key: displayBytes(r.key), db: r.db },
          hint: 'valkey-server refuses an RDB with duplicate keys; de-duplicate the input',
        });
      }
      seen.add(id);
    }
    if (r.db !== currentDb) {
      out.u8(RdbOpcode.SELECTDB);
      enc.len(out, r.db);
      if (pendingResize && pendingResize.db === r.db) {
        out.u8(RdbOpcode.RESIZEDB);
        enc.len(out, pendingResize.dbSize);
        enc.len(out, pendingResize.expiresSize);
      }
      pendingResize = null;
      currentDb = r.db;
    }
    if (r.expiresAt !== undefined) {
      out.u8(RdbOpcode.EXPIRETIME_MS);
      enc.millis(out, r.expiresAt);
    }
    if (keepLruLfu && r.lruIdle !== undefined) {
      out.u8(RdbOpcode.IDLE);
      enc.len(out, r.lruIdle);
    }
    if (keepLruLfu && r.lfuFreq !== undefined) {
      out.u8(RdbOpcode.FREQ);
      out.u8(r.lfuFreq & 0xff);
    }
  };

  const writeKey = (r: Omit<KeyRecord, 'kind'>) => {
    if (isEmptyCollection(r.value)) return;
    writePrefix(r);
    const { type, body } = enc.encode(r.value, r.key);
    out.u8(type);
    enc.string(out, r.key);
    out.raw(body);
    keys++;
    if (options.onProgress && keys % progressEvery === 0)
      options.onProgress({ keys, bytes: total + out.size });
  };

  for await (const r of records as AsyncIterable<RdbRecord | RdbChunkRecord | EncodedKeyRecord>) {
    switch (r.kind) {
      case 'key':
        writeKey(r);
        break;
      case 'encoded-key': {
        const v = enc.version;
        if (v >= 80 ? r.version !== v && r.version > 11 : r.version > v) {
          throw new RdbError(
            'ERR_RDB_BAD_RECORD',
            `a value of RDB version ${r.version} cannot go into an RDB ${v} file as it is`,
            { details: { key: displayBytes(r.key), db: r.db }, hint: 'Write a target of that version' },
          );
        }
        writePrefix(r);
        out.u8(r.type);
        enc.string(out, r.key);
        out.raw(r.body);
        keys++;
        if (options.onProgress && keys % progressEvery === 0)
          options.onProgress({ keys, bytes: total + out.size });
        break;
      }
      case 'key-begin': {
        const { kind: _k, type, elements, ...rest } = r;
        const above = streamAbove[type];
        if (elements !== undefined && above !== undefined && elements > above) {
          writePrefix(rest);
          out.u8(
            type === 'string'
              ? RdbType.STRING
              : type === 'list'
                ? RdbType.LIST
                : type === 'set'
                  ? RdbType.SET
                  : type === 'zset'
                    ? RdbType.ZSET_2
                    : enc.version >= 80
                      ? RdbType.HASH_2
                      : RdbType.HASH,
          );
          enc.string(out, r.key);
          enc.len(out, elements);
          streaming = { key: r.key, type, declared: elements, written: 0 };
        } else {
          partial = { rec: rest, value: emptyPartialValue(type) };
        }
        break;
      }
      case 'key-part':
        if (streaming) {
          if (r.value.type !== streaming.type) {
            throw new RdbError(
              'ERR_RDB_BAD_RECORD',
              `key-part of type ${r.value.type} inside a ${streaming.type} key`,
            );
          }
          streaming.written += writePart(r.value);
          if (streaming.written > streaming.declared) {
            throw new RdbError(
              'ERR_RDB_BAD_RECORD',
              `key ${JSON.stringify(displayBytes(streaming.key))} declared ${streaming.declared} elements but more arrived`,
            );
          }
          break;
        }
        if (!partial) throw new RdbError('ERR_RDB_BAD_RECORD', 'key-part record without a key-begin');
        appendValueElements(partial.value, r.value);
        break;
      case 'key-end':
        if (streaming) {
          if (streaming.written !== streaming.declared) {
            throw new RdbError(
              'ERR_RDB_BAD_RECORD',
              `key ${JSON.stringify(displayBytes(streaming.key))} declared ${streaming.declared} elements but ${streaming.written} arrived`,
            );
          }
          streaming = null;
          keys++;
          break;
        }
        if (!partial) throw new RdbError('ERR_RDB_BAD_RECORD', 'key-end record without a key-begin');
        if (partial.value.type === 'stream' && r.stream) Object.assign(partial.value, r.stream);
        writeKey({ ...partial.rec, value: partial.value });
        partial = null;
        break;
      case 'aux':
        if (keepAux) aux(r.key, r.value);
        break;
      case 'module-aux':
        out.u8(RdbOpcode.MODULE_AUX);
        out.raw(r.raw);
        break;
      case 'function':
        out.u8(RdbOpcode.FUNCTION2);
        enc.string(out, r.code);
        break;
      case 'select-db':
        announcedDb = r.db;
        break;
      case 'resize-db':
        if (announcedDb >= 0) pendingResize = { db: announcedDb, ...r };
        break;
      case 'slot-info':
        if (enc.version >= 80) {
          out.u8(RdbOpcode.SLOT_INFO);
          enc.len(out, r.slot);
          enc.len(out, r.slotSize);
          enc.len(out, r.expiresSlotSize);
        } else {
          aux(Buffer.from('slot-info'), Buffer.from(`${r.slot},${r.slotSize},${r.expiresSlotSize}`));
        }
        break;
      default:
        break;
    }
    if (out.size >= chunkBytes) yield drain();
  }
  if (partial)
    throw new RdbError('ERR_RDB_BAD_RECORD', 'the input ended inside a key delivered in parts (no key-end)');
  out.u8(RdbOpcode.EOF);
  const body = drain();
  const trailer = crc ? crc.digestBytes() : Buffer.alloc(8);
  total += 8;
  options.onProgress?.({ keys, bytes: total });
  yield Buffer.concat([body, trailer]);
}

/** `writeRdb` as a Node Readable stream. */
export function createRdbWriteStream(
  records: AsyncIterable<RdbRecord | RdbChunkRecord> | Iterable<RdbRecord | RdbChunkRecord>,
  options: WriteRdbOptions = {},
): Readable {
  return Readable.from(writeRdb(records, options), { objectMode: false });
}

/**
 * Writes records to `path` atomically: into a temp file in the same directory, renamed over
 * `path` only when complete. Returns the number of keys and bytes written.
 */
export async function writeRdbFile(
  path: string,
  records: AsyncIterable<RdbRecord | RdbChunkRecord> | Iterable<RdbRecord | RdbChunkRecord>,
  options: WriteRdbOptions = {},
): Promise<{ keys: number; bytes: number }> {
  let result = { keys: 0, bytes: 0 };
  const onProgress = options.onProgress;
  const chunks = writeRdb(records, {
    ...options,
    onProgress: (p) => {
      result = p;
      onProgress?.(p);
    },
  });
  await writeStreamAtomic(path, chunks);
  return result;
}
