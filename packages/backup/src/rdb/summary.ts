import { open as openFile } from 'node:fs/promises';
import type { RdbFlavor, ValueType } from '../model.js';
import type { WalkResult, KeySpan } from './walk.js';
import {
  walkRdbSource,
  type RdbSource,
  type RdbWarningInfo,
  type ScanOptions,
  scanWithReader,
} from './inspect.js';
import { valueSize } from './reader.js';
import { ListpackCursor, SpanReader, spanKeyRecord } from './span.js';
import { displayBytes } from './text.js';

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
  return (await inspectWithWalk(source, options)) ?? inspectWithReader(source, options);
}

/** A report with nothing counted yet. */
function emptyReport(top: TopN): InspectReport {
  return {
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
    warnings: [],
  };
}

/** Counts keys into a report, by db, type and encoding. */
class KeyCounter {
  private readonly dbs = new Map<number, DbSummary>();
  constructor(
    private readonly report: InspectReport,
    private readonly now: number,
  ) {}

  db(db: number): DbSummary {
    let s = this.dbs.get(db);
    if (!s) {
      s = { db, keys: 0, expires: 0, types: {}, bytes: 0 };
      this.dbs.set(db, s);
    }
    return s;
  }

  key(
    db: number,
    type: ValueType,
    encoding: string,
    expiresAt: number | undefined,
    lru: unknown,
    lfu: unknown,
  ): void {
    const report = this.report;
    const d = this.db(db);
    d.keys++;
    d.types[type] = (d.types[type] ?? 0) + 1;
    report.keys++;
    report.encodings[encoding] = (report.encodings[encoding] ?? 0) + 1;
    if (expiresAt !== undefined) {
      d.expires++;
      report.expires++;
      if (expiresAt <= this.now) report.expired++;
    }
    if (lru !== undefined) report.withLruIdle++;
    if (lfu !== undefined) report.withLfuFreq++;
  }

  /** The databases with keys (or a RESIZEDB hint), in order. */
  databases(): DbSummary[] {
    return [...this.dbs.values()].filter((d) => d.keys > 0 || d.resize).sort((a, b) => a.db - b.db);
  }
}

/** The name a function library's code gives itself (`#!lua name=...`). */
function libraryName(code: Buffer): string {
  return /^#!\w+\s+name=(\S+)/.exec(code.toString('utf8'))?.[1] ?? '(unnamed)';
}

/**
 * `inspectRdb` through the structure walk (paths and byte arrays): the report made from the
 * file's bytes, each key decoded from the window only as far as its size needs. Null when the walk
 * gives up (warnings, module values, rare encodings, damage): the record reader then makes the
 * report (and the error).
 */
export async function inspectWithWalk(
  source: RdbSource,
  options: InspectOptions = {},
): Promise<InspectReport | null> {
  if (typeof source !== 'string' && !(source instanceof Uint8Array)) return null;
  const top = new TopN(options.top ?? 10);
  const report = emptyReport(top);
  const count = new KeyCounter(report, options.now ?? Date.now());
  const r = new SpanReader();
  const lp = new ListpackCursor();
  const onKey = (span: KeySpan): void => {
    const size = span.base + span.valueEnd - span.recordOffset;
    const rec = spanKeyRecord(span, r, lp, true);
    const type = rec.value.type;
    count.key(rec.db, type, rec.encoding, rec.expiresAt, rec.lruIdle, rec.lfuFreq);
    count.db(rec.db).bytes += size;
    const n = rec.value.type === 'string' ? rec.value.value.length : valueSize(rec.value);
    top.offer({
      db: rec.db,
      key: displayBytes(rec.key),
      type,
      encoding: rec.encoding,
      bytes: size,
      elements: Math.max(n, 0),
    });
  };
  const walked = await walkRdbSource(source, {
    ...(options.checksum === false ? { checksum: false } : {}),
    ...(options.allowUnknownVersion ? { allowUnknownVersion: true } : {}),
    ...(options.maxStringBytes !== undefined ? { maxStringBytes: options.maxStringBytes } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.progressEvery !== undefined ? { progressEvery: options.progressEvery } : {}),
    // Sizes only: long LZF strings are not decompressed (the walk checks them cheaper).
    keepLzf: 'containers',
    onHeader: (h) => {
      report.magic = h.magic;
      report.version = h.version;
      report.flavor = h.flavor;
    },
    onAux: (key, value) => {
      report.aux[displayBytes(key)] = displayBytes(value, 1000);
    },
    onFunction: (code) => {
      report.functions.push(libraryName(code));
    },
    onResizeDb: (db, dbSize, expiresSize) => {
      count.db(db).resize = { dbSize, expiresSize };
    },
    onKey,
  });
  if (!walked) return null;
  report.bytes = walked.bytes;
  report.checksum = await storedChecksum(source, walked);
  report.databases = count.databases();
  return report;
}

/** The CRC-64 the file stores (16 hex digits), or null when it has none or it is zero. */
async function storedChecksum(source: string | Uint8Array, walked: WalkResult): Promise<string | null> {
  if (walked.version < 5) return null;
  let trailer: Uint8Array;
  if (typeof source === 'string') {
    const fh = await openFile(source, 'r');
    try {
      trailer = Buffer.alloc(8);
      await fh.read(trailer, 0, 8, walked.bytes - 8);
    } finally {
      await fh.close();
    }
  } else trailer = source.subarray(walked.bytes - 8, walked.bytes);
  const stored = Buffer.from(trailer.buffer, trailer.byteOffset, 8).readBigUInt64LE(0);
  return stored === 0n ? null : stored.toString(16).padStart(16, '0');
}

/** `inspectRdb` through the record reader (any input; the exact errors and warnings). */
export async function inspectWithReader(
  source: RdbSource,
  options: InspectOptions = {},
): Promise<InspectReport> {
  const top = new TopN(options.top ?? 10);
  const report = emptyReport(top);
  const count = new KeyCounter(report, options.now ?? Date.now());
  let lastDb = 0;
  let prevOffset = 0;
  let open_: { big: BigKey; start: number } | null = null;
  const batches = await scanWithReader(source, options, report.warnings, (w) => {
    if (w.code === 'empty-key') report.emptyKeysSkipped++;
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
        case 'function':
          report.functions.push(libraryName(r.code));
          break;
        case 'select-db':
          lastDb = r.db;
          count.db(r.db);
          break;
        case 'resize-db':
          count.db(lastDb).resize = { dbSize: r.dbSize, expiresSize: r.expiresSize };
          break;
        case 'key': {
          count.key(r.db, r.value.type, r.encoding, r.expiresAt, r.lruIdle, r.lfuFreq);
          count.db(r.db).bytes += size;
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
          count.key(r.db, r.type, r.encoding, r.expiresAt, r.lruIdle, r.lfuFreq);
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
            count.db(r.db).bytes += open_.big.bytes;
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
  report.databases = count.databases();
  return report;
}
