import { rdbTypeValueType } from '../io/filter.js';
import { restoreCommand } from '../io/items.js';
import { RdbType } from '../rdb/constants.js';
import { dumpPayload } from '../rdb/dump.js';
import type { KeySpan } from '../rdb/walk.js';
import { MSET_ROOM, MsetBatch } from './mset-batch.js';
import { SlotMsetBatch } from './slot-batch.js';
import { batchRdbString, RestoreEncoder, restoreRawRdb, STOP_RAW_RESTORE } from './raw-rdb.js';
import type { RestoreRun } from './run.js';
import type { ItemSender } from './send-items.js';

/**
 * The raw RDB strategy: an RDB file whose values the target takes as they are goes to RESTORE
 * without being decoded (see restoreRawRdb): each command is written straight into the output.
 * Plain string keys go out as MSETs when nothing can be in their way. The file is verified whole
 * first (then `flush` happens). False when the file needs the record reader (nothing was sent
 * then; `run.checked` tells whether it was verified).
 */
export async function restoreRawRdbFile(run: RestoreRun, items: ItemSender, path: string): Promise<boolean> {
  const { target, stats, filter } = run;
  let encoder: RestoreEncoder | undefined;
  // Plain string keys go out as MSETs, where nothing can be in their way (into a cluster, one MSET
  // per slot): a plain string costs the server less in an MSET than as RESTORE.
  const batch =
    run.targetEmpty || run.replace
      ? target.isCluster
        ? new SlotMsetBatch(target, items.msetErrors, items.msetSent)
        : new MsetBatch(target, items.msetErrors, items.msetSent)
      : null;
  const sendEncoded = (bytes: number, db: number, span: KeySpan, slot: number, clash: boolean) => {
    stats.commands++;
    stats.bytes += bytes;
    // What the batch gathered goes first if it may hold this key (a file that has a key twice).
    if (clash) batch!.settle(slot, span.keyBuf, span.keyStart, span.keyEnd);
    // Into a cluster, straight into the output of the primary that owns the key's slot.
    target.sendEncoded(bytes, db, encoder!.encode, items.rawKeyErrors, span.db, slot);
    stats.keys++;
    run.usedRestore = true;
    run.progress(false);
  };
  const sendRestore = (span: KeySpan, version: number, db: number): void | Promise<void> => {
    encoder ??= new RestoreEncoder(version, run.replace);
    const bytes = encoder.measure(span);
    const slot = target.slotOfKey(span.keyBuf, span.keyStart, span.keyEnd);
    const clash = batch?.mayHold(slot, span.keyBuf, span.keyStart, span.keyEnd) === true;
    // Room for the MSET a clash sends first, too.
    const room = clash ? bytes + MSET_ROOM : bytes;
    if (target.hasRoom(room)) sendEncoded(bytes, db, span, slot, clash);
    else return target.room(room).then(() => sendEncoded(bytes, db, span, slot, clash));
  };
  const batchString = (span: KeySpan, db: number): boolean => {
    if (!batchRdbString(batch!, db, span)) return false;
    stats.keys++;
    return true;
  };
  const plainString = (span: KeySpan) =>
    batch !== null &&
    span.type === RdbType.STRING &&
    span.expiresAt === undefined &&
    span.lruIdle === undefined &&
    span.lfuFreq === undefined;
  const done = await restoreRawRdb(path, {
    onVerified: (dbs) => run.inputChecked(dbs),
    payloadVersion: run.payloadVersion,
    targetIsValkey: run.targetIsValkey,
    onBytes: (n) => {
      stats.inputBytes = n;
    },
    onFunction: async (code) => {
      if (!(await items.handle({ kind: 'function', code: Buffer.from(code), bytes: code.length })))
        throw STOP_RAW_RESTORE;
    },
    onKey: (span: KeySpan, version: number) => {
      if (run.stopped) throw STOP_RAW_RESTORE;
      run.checkAborted();
      // An expired key would not be created (RESTORE of a past ABSTTL answers OK and makes nothing).
      if (span.expiresAt !== undefined && span.expiresAt <= run.loadedAt) {
        stats.expired++;
        return;
      }
      if (filter.any) {
        if (!filter.db(span.db) || !filter.key(span.keyBuf.subarray(span.keyStart, span.keyEnd))) return;
        const type = rdbTypeValueType(span.type);
        if (type !== undefined && !filter.type(type)) return;
      }
      if (run.restoreRefused) {
        // The target refused a payload: every key from here on goes through the fallback.
        const key = Buffer.from(span.keyBuf.subarray(span.keyStart, span.keyEnd));
        const payload = dumpPayload(span.type, span.buf.subarray(span.valueStart, span.valueEnd), version);
        const item = items.rawKeyItem(restoreCommand(key, payload, span), span.db);
        // What the batch gathered before goes first (the file may have one of its keys again).
        const before = batch !== null && batch.count > 0 ? batch.drain() : Promise.resolve();
        return before
          .then(() => items.handle(item))
          .then((going) => {
            if (!going) throw STOP_RAW_RESTORE;
          });
      }
      const db = run.dbOf(span.db);
      if (plainString(span)) {
        if (!target.hasRoom(MSET_ROOM))
          return target.room(MSET_ROOM).then(() => {
            if (!batchString(span, db)) return sendRestore(span, version, db);
          });
        if (batchString(span, db)) return;
      }
      return sendRestore(span, version, db);
    },
  });
  if (batch && !run.stopped) await batch.drain();
  return done;
}
