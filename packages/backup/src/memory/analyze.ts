import { once } from 'node:events';
import type { RdbRecord, ValueType } from '../model.js';
import type { RdbChunkRecord } from '../rdb/reader.js';
import type { PackedSummary } from '../rdb/span.js';
import type { MemoryModelConfig } from './config.js';
import { keyMemoryToCsvLine, MEMORY_CSV_HEADER } from './csv.js';
import { MemoryError } from '../errors.js';
import {
  type EstimateOptions,
  estimatePackedKey,
  type KeyMemory,
  KeyMemoryEstimator,
  type KeyMeta,
  type MemoryEncoding,
} from './estimate.js';
import { keyToText } from '../rdb/text.js';
import { type PrefixNode, PrefixTree } from './prefix-tree.js';

/** One key in the report (JSON-friendly: the key as text, no Buffers). */
export interface MemoryRow {
  db: number;
  /** The key as text (`keyToText`: UTF-8, control bytes as `\xNN`). */
  key: string;
  type: ValueType;
  encoding: MemoryEncoding;
  bytes: number;
  expiryBytes: number;
  elements: number;
  largestElement: number;
  /** Absolute expiry, Unix ms, or null. */
  expiresAt: number | null;
}

export interface MemoryTotals {
  keys: number;
  /** Sum of the per-key estimates (what `MEMORY USAGE` would add up to). */
  bytes: number;
  /** `expires` dict entries of keys with a TTL, not in `bytes`. */
  expiryBytes: number;
  elements: number;
  keysWithExpiry: number;
}

export interface MemoryGroup {
  keys: number;
  bytes: number;
  elements: number;
}

export type ExpiryBucket = 'none' | 'expired' | 'under-1h' | 'under-1d' | 'under-7d' | 'later';

export interface MemoryReport {
  /** Format version of this object. */
  version: 1;
  generatedAt: string;
  /** The reference time of the expiry buckets, Unix ms. */
  now: number;
  /** Where the records came from, when the caller said (a file name, a redacted URL). */
  source?: string;
  /** Facts from the snapshot header and aux fields (`valkey-ver`, `ctime`, `used-mem`...). */
  snapshot: { magic?: string; rdbVersion?: number; aux: Record<string, string> };
  options: {
    top: number;
    separators: string[];
    maxPrefixNodes: number;
    prefixDepth: number;
    state: 'loaded' | 'written';
  };
  totals: MemoryTotals;
  byDb: Array<MemoryGroup & { db: number }>;
  byType: Array<MemoryGroup & { type: ValueType }>;
  byEncoding: Array<MemoryGroup & { type: ValueType; encoding: MemoryEncoding }>;
  expiry: Array<{ bucket: ExpiryBucket; keys: number; bytes: number }>;
  /** The `top` largest keys, largest first. */
  topKeys: MemoryRow[];
  /** Per type, the key with the most elements (as `valkey-cli --bigkeys` shows). */
  biggestByType: MemoryRow[];
  prefixes: PrefixNode;
}

export interface MemoryProgress {
  /** Keys estimated so far. */
  keys: number;
  /** Their estimated memory. */
  bytes: number;
  /** Input bytes consumed and the input size, when the source knows them (files, replication). */
  readBytes?: number;
  totalBytes?: number;
  done: boolean;
}

export interface AnalyzeMemoryOptions extends EstimateOptions {
  /** How many of the largest keys to keep (default 100). */
  top?: number;
  /** Key-prefix separators (default `[':', '/']`). */
  separators?: string | readonly string[];
  /** Most prefix nodes held (default 2000); smaller prefixes fold into their parent. */
  maxPrefixNodes?: number;
  /** Deepest prefix level (default 4). */
  prefixDepth?: number;
  /** Reference time for the expiry buckets, Unix ms (default: now). */
  now?: number;
  /** A name for the source, copied into the report. */
  source?: string;
  /**
   * Writes one rdbtools-style CSV line per key here (header first), waiting on backpressure. The
   * stream is left open: end it (and await 'finish') after the promise resolves.
   */
  csv?: NodeJS.WritableStream;
  /** Called with every key's estimate, in file order (awaited). */
  onKey?: (key: KeyMemory) => void | Promise<void>;
  /** Called every `progressEvery` keys and once at the end. */
  onProgress?: (progress: MemoryProgress) => void;
  /** Keys between two `onProgress` calls (default 10 000). */
  progressEvery?: number;
  /** Stops the analysis (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Anything an RDB reader yields. */
export type AnyRecord = RdbRecord | RdbChunkRecord;

const EXPIRY_BUCKETS: readonly ExpiryBucket[] = [
  'none',
  'expired',
  'under-1h',
  'under-1d',
  'under-7d',
  'later',
];
const HOUR = 3_600_000;

/**
 * Rank order of the top keys: more bytes first, then the key text, so the top is the same whatever
 * order the keys arrive in.
 */
function ranksBelow(a: MemoryRow, bytes: number, key: string): boolean {
  return a.bytes < bytes || (a.bytes === bytes && a.key > key);
}

/** Lowest-ranked-at-the-top heap of rows, bounded to `capacity`. */
class TopRows {
  private readonly heap: MemoryRow[] = [];
  constructor(private readonly capacity: number) {}

  /** True when a key of `bytes` named `key` would make it into the top. */
  wants(bytes: number, key: string): boolean {
    if (this.capacity === 0) return false;
    return this.heap.length < this.capacity || ranksBelow(this.heap[0]!, bytes, key);
  }

  push(row: MemoryRow): void {
    const h = this.heap;
    const below = (a: MemoryRow, b: MemoryRow) => ranksBelow(a, b.bytes, b.key);
    if (h.length < this.capacity) {
      h.push(row);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!below(h[i]!, h[p]!)) break;
        [h[p], h[i]] = [h[i]!, h[p]!];
        i = p;
      }
      return;
    }
    h[0] = row;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && below(h[l]!, h[m]!)) m = l;
      if (r < h.length && below(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }

  sorted(): MemoryRow[] {
    return [...this.heap].sort((a, b) => b.bytes - a.bytes || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

function toRow(k: KeyMemory, key = keyToText(k.key)): MemoryRow {
  return {
    db: k.db,
    key,
    type: k.type,
    encoding: k.encoding,
    bytes: k.bytes,
    expiryBytes: k.expiryBytes,
    elements: k.elements,
    largestElement: k.largestElement,
    expiresAt: k.expiresAt ?? null,
  };
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new MemoryError(
      'ERR_MEMORY_OPTION',
      `${name} must be an integer of at least ${min}, got ${String(value)}`,
      {
        details: { option: name, value },
      },
    );
  }
  return value;
}

/**
 * Aggregates key estimates one at a time in memory bounded by the options (top keys, prefix nodes),
 * whatever the number of keys. `analyzeMemory` drives one over a record stream; use it directly to
 * feed estimates from elsewhere.
 */
function bump(g: MemoryGroup, k: KeyMemory): void {
  g.keys++;
  g.bytes += k.bytes;
  g.elements += k.elements;
}

export class MemoryAnalyzer {
  private readonly top: TopRows;
  private readonly prefixes: PrefixTree;
  private readonly totals: MemoryTotals = {
    keys: 0,
    bytes: 0,
    expiryBytes: 0,
    elements: 0,
    keysWithExpiry: 0,
  };
  private readonly byDb = new Map<number, MemoryGroup>();
  private readonly byType = new Map<ValueType, MemoryGroup>();
  /** By type, then encoding (in the order first seen). */
  private readonly byEncoding = new Map<
    ValueType,
    Map<MemoryEncoding, MemoryGroup & { type: ValueType; encoding: MemoryEncoding }>
  >();
  private readonly expiry = new Map<ExpiryBucket, { keys: number; bytes: number }>();
  private readonly biggest = new Map<ValueType, MemoryRow>();
  private readonly snapshot: MemoryReport['snapshot'] = { aux: {} };
  readonly options: MemoryReport['options'];
  private readonly now: number;
  private readonly source: string | undefined;

  constructor(options: Omit<AnalyzeMemoryOptions, 'csv' | 'onKey' | 'onProgress' | 'signal'> = {}) {
    const separators =
      options.separators === undefined
        ? [':', '/']
        : typeof options.separators === 'string'
          ? [options.separators]
          : [...options.separators];
    if (separators.length === 0 || separators.some((s) => typeof s !== 'string' || s.length === 0)) {
      throw new MemoryError(
        'ERR_MEMORY_OPTION',
        `separators must be non-empty strings, got ${JSON.stringify(options.separators)}`,
        {
          details: { option: 'separators' },
          hint: "Pass e.g. [':'] or [':', '/']",
        },
      );
    }
    this.options = {
      top: positiveInt('top', options.top, 100, 0),
      separators,
      maxPrefixNodes: positiveInt('maxPrefixNodes', options.maxPrefixNodes, 2000),
      prefixDepth: positiveInt('prefixDepth', options.prefixDepth, 4),
      state: options.state ?? 'loaded',
    };
    this.top = new TopRows(this.options.top);
    this.prefixes = new PrefixTree(separators, this.options.maxPrefixNodes, this.options.prefixDepth);
    this.now = options.now ?? Date.now();
    this.source = options.source;
    for (const b of EXPIRY_BUCKETS) this.expiry.set(b, { keys: 0, bytes: 0 });
  }

  /** Keys counted so far. */
  get keys(): number {
    return this.totals.keys;
  }

  /** Their estimated memory so far. */
  get bytes(): number {
    return this.totals.bytes;
  }

  /** Records what the snapshot says about itself (header, aux fields). */
  noteRecord(record: AnyRecord): void {
    if (record.kind === 'header') {
      this.snapshot.magic = record.magic;
      this.snapshot.rdbVersion = record.version;
    } else if (record.kind === 'aux') {
      this.snapshot.aux[keyToText(record.key)] = keyToText(record.value);
    }
  }

  add(k: KeyMemory): void {
    const t = this.totals;
    t.keys++;
    t.bytes += k.bytes;
    t.expiryBytes += k.expiryBytes;
    t.elements += k.elements;
    if (k.expiresAt !== undefined) t.keysWithExpiry++;
    bump(this.byDb.get(k.db) ?? this.byDb.set(k.db, { keys: 0, bytes: 0, elements: 0 }).get(k.db)!, k);
    bump(
      this.byType.get(k.type) ?? this.byType.set(k.type, { keys: 0, bytes: 0, elements: 0 }).get(k.type)!,
      k,
    );
    let encodings = this.byEncoding.get(k.type);
    if (!encodings) {
      encodings = new Map();
      this.byEncoding.set(k.type, encodings);
    }
    let enc = encodings.get(k.encoding);
    if (!enc) {
      enc = { type: k.type, encoding: k.encoding, keys: 0, bytes: 0, elements: 0 };
      encodings.set(k.encoding, enc);
    }
    bump(enc, k);
    const bucket = this.expiry.get(this.expiryBucket(k.expiresAt))!;
    bucket.keys++;
    bucket.bytes += k.bytes;

    const text = keyToText(k.key);
    this.prefixes.add(text, k.bytes);
    if (this.top.wants(k.bytes, text)) this.top.push(toRow(k, text));
    const big = this.biggest.get(k.type);
    if (
      !big ||
      k.elements > big.elements ||
      (k.elements === big.elements && (k.bytes > big.bytes || (k.bytes === big.bytes && text < big.key)))
    ) {
      this.biggest.set(k.type, toRow(k, text));
    }
  }

  private expiryBucket(expiresAt: number | undefined): ExpiryBucket {
    if (expiresAt === undefined) return 'none';
    const left = expiresAt - this.now;
    if (left <= 0) return 'expired';
    if (left < HOUR) return 'under-1h';
    if (left < 24 * HOUR) return 'under-1d';
    if (left < 7 * 24 * HOUR) return 'under-7d';
    return 'later';
  }

  report(): MemoryReport {
    const bySize = <T extends { bytes: number }>(a: T, b: T) => b.bytes - a.bytes;
    const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const report: MemoryReport = {
      version: 1,
      generatedAt: new Date().toISOString(),
      now: this.now,
      snapshot: { ...this.snapshot, aux: { ...this.snapshot.aux } },
      options: { ...this.options, separators: [...this.options.separators] },
      totals: { ...this.totals },
      byDb: [...this.byDb].map(([db, g]) => ({ db, ...g })).sort((a, b) => a.db - b.db),
      byType: [...this.byType].map(([type, g]) => ({ type, ...g })).sort(bySize),
      byEncoding: [...this.byEncoding.values()]
        .flatMap((m) => [...m.values()].map((g) => ({ ...g })))
        .sort((a, b) => bySize(a, b) || byName(`${a.type}/${a.encoding}`, `${b.type}/${b.encoding}`)),
      expiry: EXPIRY_BUCKETS.map((bucket) => ({ bucket, ...this.expiry.get(bucket)! })),
      topKeys: this.top.sorted(),
      biggestByType: [...this.biggest.values()].sort(bySize),
      prefixes: this.prefixes.toJSON(),
    };
    if (this.source !== undefined) report.source = this.source;
    return report;
  }
}

/**
 * Estimates every key of a record stream (an RDB reader's output, plain or chunked) and aggregates
 * the estimates in bounded memory: top keys, totals per db/type/encoding, a key-prefix tree and the
 * expiry distribution. Optionally streams one CSV line per key to `options.csv`.
 *
 * ```ts
 * const report = await analyzeMemory(readRdbFile('dump.rdb'), { top: 50, csv: createWriteStream('keys.csv') });
 * await writeFile('report.html', memoryReportToHtml(report));
 * ```
 */
export async function analyzeMemory(
  records: AsyncIterable<AnyRecord> | Iterable<AnyRecord>,
  options: AnalyzeMemoryOptions = {},
): Promise<MemoryReport> {
  return analyzeMemoryBatches(records, false, options);
}

/**
 * `analyzeMemory` over records in batches (`readRdbBatches`' records): each batch is estimated
 * synchronously, awaiting only for a CSV stream or `onKey`.
 */
export function analyzeMemoryOfBatches(
  batches: AsyncIterable<readonly AnyRecord[]> | Iterable<readonly AnyRecord[]>,
  options: AnalyzeMemoryOptions = {},
): Promise<MemoryReport> {
  return analyzeMemoryBatches(batches, true, options);
}

async function analyzeMemoryBatches(
  input: AsyncIterable<AnyRecord | readonly AnyRecord[]> | Iterable<AnyRecord | readonly AnyRecord[]>,
  batched: boolean,
  options: AnalyzeMemoryOptions,
): Promise<MemoryReport> {
  const analyzer = new MemoryAnalyzer(options);
  const estimateOptions: EstimateOptions = { state: analyzer.options.state };
  if (options.config) estimateOptions.config = options.config as Partial<MemoryModelConfig>;
  if (options.scoreFormat) estimateOptions.scoreFormat = options.scoreFormat;
  const progressEvery = positiveInt('progressEvery', options.progressEvery, 10_000);
  const { csv, onKey, onProgress, signal } = options;
  if (csv) await write(csv, `${MEMORY_CSV_HEADER}\n`);

  const estimator = new RecordEstimator(estimateOptions, (r) => analyzer.noteRecord(r));
  // Awaits only where a consumer may push back (CSV stream, onKey): the per-key path stays synchronous.
  const one: AnyRecord[] = [];
  for await (const item of input) {
    let batch: readonly AnyRecord[];
    if (batched) batch = item as readonly AnyRecord[];
    else {
      one[0] = item as AnyRecord;
      batch = one;
    }
    for (const record of batch) {
      signal?.throwIfAborted();
      const k = estimator.push(record);
      if (!k) continue;
      analyzer.add(k);
      if (csv) await write(csv, `${keyMemoryToCsvLine(k)}\n`);
      if (onKey) await onKey(k);
      if (onProgress && analyzer.keys % progressEvery === 0) {
        onProgress({ keys: analyzer.keys, bytes: analyzer.bytes, done: false });
      }
    }
  }
  estimator.end();
  const report = analyzer.report();
  onProgress?.({ keys: report.totals.keys, bytes: report.totals.bytes, done: true });
  return report;
}

/**
 * `analyzeMemory` fed one record at a time, synchronously (records valid only during `push`, as
 * `walkRdbRecords` hands them): for callers without `csv` or `onKey`, which would need to wait.
 */
export function memoryAnalysis(options: Omit<AnalyzeMemoryOptions, 'csv' | 'onKey'> = {}): {
  push: (record: AnyRecord) => void;
  /**
   * A string or listpack key by its sizes (see `estimatePackedKey`; its name may be a view, used
   * during the call only); false: push its record instead.
   */
  pushPacked: (key: KeyMeta, summary: PackedSummary) => boolean;
  finish: () => MemoryReport;
} {
  const analyzer = new MemoryAnalyzer(options);
  const estimateOptions: EstimateOptions = { state: analyzer.options.state };
  if (options.config) estimateOptions.config = options.config as Partial<MemoryModelConfig>;
  if (options.scoreFormat) estimateOptions.scoreFormat = options.scoreFormat;
  const progressEvery = positiveInt('progressEvery', options.progressEvery, 10_000);
  const { onProgress, signal } = options;
  const estimator = new RecordEstimator(estimateOptions, (r) => analyzer.noteRecord(r));
  const add = (k: KeyMemory) => {
    analyzer.add(k);
    if (onProgress && analyzer.keys % progressEvery === 0) {
      onProgress({ keys: analyzer.keys, bytes: analyzer.bytes, done: false });
    }
  };
  return {
    push: (record) => {
      signal?.throwIfAborted();
      const k = estimator.push(record);
      if (k) add(k);
    },
    pushPacked: (key, summary) => {
      signal?.throwIfAborted();
      const k = estimator.packed(key, summary);
      if (!k) return false;
      add(k);
      return true;
    },
    finish: () => {
      estimator.end();
      const report = analyzer.report();
      onProgress?.({ keys: report.totals.keys, bytes: report.totals.bytes, done: true });
      return report;
    },
  };
}

function outOfOrder(key: Buffer, what: string): MemoryError {
  return new MemoryError(
    'ERR_MEMORY_RECORDS',
    `unexpected ${what} for key ${JSON.stringify(keyToText(key))}`,
    {
      details: { key: keyToText(key) },
      hint: 'Pass the records of one RDB reader in the order it yields them',
    },
  );
}

/** Writes to a Node stream, waiting for 'drain' when its buffer is full. */
async function write(stream: NodeJS.WritableStream, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream as unknown as import('node:events').EventEmitter, 'drain');
}

export interface EstimateRecordsOptions extends EstimateOptions {
  /** Called with every record that is not (part of) a key: header, aux, select-db, end... */
  onOtherRecord?: (record: AnyRecord) => void;
  signal?: AbortSignal;
}

/**
 * The estimate of every key in a record stream, in order, one at a time. Keys the reader delivers in
 * parts (chunked mode) are estimated batch by batch without holding their elements.
 */
export async function* estimateRecords(
  records: AsyncIterable<AnyRecord> | Iterable<AnyRecord>,
  options: EstimateRecordsOptions = {},
): AsyncGenerator<KeyMemory> {
  const { onOtherRecord, signal, ...estimateOptions } = options;
  const estimator = new RecordEstimator(estimateOptions, onOtherRecord);
  for await (const record of records) {
    signal?.throwIfAborted();
    const k = estimator.push(record);
    if (k) yield k;
  }
  estimator.end();
}

/** Turns records into key estimates one record at a time (the state of a key read in parts). */
class RecordEstimator {
  private pending: { estimator: KeyMemoryEstimator; db: number; key: Buffer; expiresAt?: number } | null =
    null;
  private legacyScores = false;
  private readonly legacyOptions: EstimateOptions;

  constructor(
    private readonly options: EstimateOptions,
    private readonly onOtherRecord: ((record: AnyRecord) => void) | undefined,
  ) {
    this.legacyOptions = { ...options, scoreFormat: 'legacy' };
  }

  /** A zset kept as a listpack keeps the score text its writer printed; Redis <= 7.0 used %.17g. */
  private optionsFor(type: ValueType, encoding: string): EstimateOptions {
    return this.legacyScores && type === 'zset' && (encoding === 'listpack' || encoding === 'ziplist')
      ? this.legacyOptions
      : this.options;
  }

  /** The estimate of a listpack key from its sizes, when they are enough (see `estimatePackedKey`). */
  packed(key: KeyMeta, summary: PackedSummary): KeyMemory | undefined {
    if (this.pending) throw outOfOrder(key.key, 'key');
    return estimatePackedKey(key, summary, this.options);
  }

  /** The key's estimate when `record` completes one, else undefined. */
  push(record: AnyRecord): KeyMemory | undefined {
    switch (record.kind) {
      case 'key': {
        const estimator = new KeyMemoryEstimator(
          record.value.type,
          this.optionsFor(record.value.type, record.encoding),
        );
        estimator.add(record.value);
        return estimator.finish(record);
      }
      case 'key-begin': {
        if (this.pending) throw outOfOrder(record.key, 'key-begin');
        this.pending = {
          estimator: new KeyMemoryEstimator(record.type, this.optionsFor(record.type, record.encoding)),
          db: record.db,
          key: record.key,
        };
        if (record.expiresAt !== undefined) this.pending.expiresAt = record.expiresAt;
        return undefined;
      }
      case 'key-part': {
        if (!this.pending?.key.equals(record.key)) throw outOfOrder(record.key, 'key-part');
        this.pending.estimator.add(record.value);
        return undefined;
      }
      case 'key-end': {
        const pending = this.pending;
        if (!pending?.key.equals(record.key)) throw outOfOrder(record.key, 'key-end');
        const meta: Parameters<KeyMemoryEstimator['finish']>[0] = { db: pending.db, key: pending.key };
        if (pending.expiresAt !== undefined) meta.expiresAt = pending.expiresAt;
        if (record.stream) meta.stream = record.stream;
        this.pending = null;
        return pending.estimator.finish(meta);
      }
      default:
        if (record.kind === 'header') this.legacyScores = record.magic === 'REDIS' && record.version <= 10;
        this.onOtherRecord?.(record);
        return undefined;
    }
  }

  /** Checks that no key was left half read. */
  end(): void {
    if (this.pending) throw outOfOrder(this.pending.key, 'end of records');
  }
}
