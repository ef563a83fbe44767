import { type CompiledFilter, commandValueType } from '../io/filter.js';
import { type InputSegment, openInput } from '../io/input.js';
import {
  commandBatchesToItems,
  type RecordsToItemsOptions,
  type RestoreItem,
  recordToItem,
} from '../io/items.js';
import type { KeyRecord, RdbRecord } from '../model.js';
import { encodeDump } from '../rdb/dump.js';
import { isEmptyCollection } from '../rdb/value-parts.js';
import type { RestoreRun } from './run.js';
import type { ItemSender } from './send-items.js';

/**
 * Records as batches of restore items, filtered, in one generator (no await per layer per key):
 * a batch is yielded every `size` items.
 */
async function* recordItemBatches(
  records: AsyncIterable<RdbRecord>,
  f: CompiledFilter,
  options: RecordsToItemsOptions,
  /** Keys expiring before this are skipped (counted with `onExpired`). */
  loadedAt: number,
  onExpired: () => void,
  size = 64,
): AsyncGenerator<RestoreItem[]> {
  let batch: RestoreItem[] = [];
  for await (const r of records) {
    if (f.any && r.kind === 'key' && !(f.db(r.db) && f.key(r.key) && f.type(r.value.type))) continue;
    // An empty collection makes no key (the server refuses one).
    if (r.kind === 'key' && isEmptyCollection(r.value)) continue;
    if (r.kind === 'key' && r.expiresAt !== undefined && r.expiresAt <= loadedAt) {
      onExpired();
      continue;
    }
    const item = recordToItem(r, options);
    if (!item) continue;
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function keepItem(item: RestoreItem, f: CompiledFilter): boolean {
  if (item.kind === 'function') return true;
  if (item.kind === 'raw') return f.db(item.db);
  if (!(f.db(item.db) && f.key(item.key))) return false;
  const t = commandValueType(item.commands[0]!);
  return t === undefined || f.type(t);
}

async function* filterItemBatches(
  batches: AsyncIterable<RestoreItem[]>,
  f: CompiledFilter,
): AsyncGenerator<RestoreItem[]> {
  for await (const batch of batches) yield f.any ? batch.filter((i) => keepItem(i, f)) : batch;
}

function itemsOf(run: RestoreRun, seg: InputSegment): AsyncIterable<RestoreItem[]> {
  const { options, filter } = run;
  if (seg.kind === 'records') {
    const useDump = options.useRestore !== 'never';
    const encode = (r: KeyRecord) => encodeDump(r, run.payloadVersion);
    // restore() does not ask openInput for chunked records: every key arrives whole.
    return recordItemBatches(
      seg.records as AsyncIterable<RdbRecord>,
      filter,
      {
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
        ...(useDump ? { encodeDump: encode } : {}),
        dumpPayload: encode,
      },
      run.loadedAt,
      () => run.stats.expired++,
    );
  }
  if (!seg.grouped) run.rawReplay = true;
  return filterItemBatches(commandBatchesToItems(seg.batches, { grouped: seg.grouped }), filter);
}

/**
 * The records strategy: the input decoded (JSONL, AOF, a command file that cannot pass through,
 * an RDB file the raw strategy cannot take, records from a live source), filtered, and sent item
 * by item (see ItemSender). The input must have been checked whole already.
 */
export async function restoreRecords(run: RestoreRun, items: ItemSender): Promise<void> {
  const { options, stats } = run;
  const input = options.input;
  const segments: AsyncIterable<InputSegment> | InputSegment[] =
    typeof input === 'string'
      ? openInput(input, {
          ...(options.from === undefined ? {} : { from: options.from }),
          truncated: run.truncated,
          onTruncated: (t) => run.dropped.push(t),
          onBytes: (n) => (stats.inputBytes += n),
        })
      : [{ kind: 'records' as const, source: input.source, records: input.records }];
  for await (const seg of segments) {
    for await (const batch of itemsOf(run, seg))
      for (const item of batch) if (!(await items.handle(item))) return;
  }
}
