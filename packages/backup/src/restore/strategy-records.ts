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
import { singles } from '../rdb/records.js';
import { isEmptyCollection } from '../rdb/value-parts.js';
import { bulkSize, copyBytes, writeHeader } from '../resp/encode.js';
import { MSET_ROOM, MsetBatch, type PairBatch } from './mset-batch.js';
import type { RestoreRun } from './run.js';
import type { ItemSender } from './send-items.js';
import { SlotMsetBatch } from './slot-batch.js';

/** A plain string key (no expiry, LRU or LFU data): it may join an MSET. */
type PlainString = KeyRecord & { value: { type: 'string'; value: Buffer } };

function isPlainString(r: RdbRecord): r is PlainString {
  return (
    r.kind === 'key' &&
    r.value.type === 'string' &&
    r.expiresAt === undefined &&
    r.lruIdle === undefined &&
    r.lfuFreq === undefined
  );
}

/**
 * Records as batches of restore items, filtered, in one generator (no await per layer per key):
 * a batch is yielded every `size` items.
 */
async function* recordItemBatches(
  records: AsyncIterable<RdbRecord[]>,
  f: CompiledFilter,
  options: RecordsToItemsOptions,
  /** Keys expiring before this are skipped (counted with `onExpired`). */
  loadedAt: number,
  onExpired: () => void,
  /** Plain string keys go here as they are (to join an MSET), not as items. */
  strings: boolean,
  size = 64,
): AsyncGenerator<Array<RestoreItem | PlainString>> {
  let batch: Array<RestoreItem | PlainString> = [];
  for await (const rs of records)
    for (const r of rs) {
      if (f.any && r.kind === 'key' && !(f.db(r.db) && f.key(r.key) && f.type(r.value.type))) continue;
      // An empty collection makes no key (the server refuses one).
      if (r.kind === 'key' && isEmptyCollection(r.value)) continue;
      if (r.kind === 'key' && r.expiresAt !== undefined && r.expiresAt <= loadedAt) {
        onExpired();
        continue;
      }
      if (strings && isPlainString(r)) {
        batch.push(r);
      } else {
        const item = recordToItem(r, options);
        if (!item) continue;
        batch.push(item);
      }
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

/** How records become items: RESTORE of a DUMP payload unless `useRestore: 'never'`. */
function itemOptions(run: RestoreRun): RecordsToItemsOptions {
  const encode = (r: KeyRecord) => encodeDump(r, run.payloadVersion);
  return {
    ...(run.options.batchSize === undefined ? {} : { batchSize: run.options.batchSize }),
    ...(run.options.useRestore !== 'never' ? { encodeDump: encode } : {}),
    dumpPayload: encode,
  };
}

function itemsOf(
  run: RestoreRun,
  seg: InputSegment,
  strings: boolean,
): AsyncIterable<Array<RestoreItem | PlainString>> {
  const { filter } = run;
  if (seg.kind === 'records') {
    // restore() does not ask openInput for chunked records: every key arrives whole.
    return recordItemBatches(
      (seg.batches ?? singles(seg.records)) as AsyncIterable<RdbRecord[]>,
      filter,
      itemOptions(run),
      run.loadedAt,
      () => run.stats.expired++,
      strings,
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
  const { options, stats, target } = run;
  // Plain strings gather into MSETs where nothing can be in their way (into a cluster, one per
  // slot), as from an RDB file: no DUMP payload to encode, and less work for the server.
  const batching = run.targetEmpty || run.replace;
  const batch: PairBatch | null = !batching
    ? null
    : target.isCluster
      ? new SlotMsetBatch(target, items.msetErrors, items.msetSent)
      : new MsetBatch(target, items.msetErrors, items.msetSent);
  const asItem = itemOptions(run);
  /** A plain string into the batch; false when it does not fit one (then it goes as an item). */
  const batchString = (r: PlainString): boolean => {
    const key = r.key;
    const value = r.value.value;
    const db = run.dbOf(r.db);
    if (!batch!.begin(db, bulkSize(key.length) + bulkSize(value.length), key, 0, key.length)) return false;
    const out = batch!.buf;
    let p = writeHeader(out, batch!.len, 36, key.length);
    p += copyBytes(key, 0, key.length, out, p);
    out[p++] = 13;
    out[p++] = 10;
    p = writeHeader(out, p, 36, value.length);
    p += copyBytes(value, 0, value.length, out, p);
    out[p++] = 13;
    out[p++] = 10;
    batch!.commit(p);
    stats.keys++;
    run.progress(false);
    return true;
  };
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
    for await (const list of itemsOf(run, seg, batch !== null)) {
      for (const entry of list) {
        if (run.stopped) return;
        // Room for the MSET a string or a settle may send (an item waits for its own room).
        if (batch && !target.hasRoom(MSET_ROOM)) await target.room(MSET_ROOM);
        let item: RestoreItem | undefined;
        if ('value' in entry) {
          // A plain string record (items have no value).
          run.checkAborted();
          if (batchString(entry)) continue;
          item = recordToItem(entry, asItem);
          if (!item) continue;
        } else item = entry;
        // What the key's slot gathered goes first (a key written twice keeps its order).
        if (batch && item.kind === 'key')
          batch.settle(target.slotOfKey(item.key, 0, item.key.length), item.key, 0, item.key.length);
        if (!(await items.handle(item))) return;
      }
    }
    // Commands that follow (an AOF's increments) run after the strings before them.
    if (batch && !run.stopped) await batch.drain();
  }
}
