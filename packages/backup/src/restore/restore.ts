import { compileFilter } from '../io/filter.js';
import type { InputFormat } from '../io/formats.js';
import { inputFormat } from '../io/input.js';
import { BackupError } from '../errors.js';
import { checkWholeInput, verifyWholeRdb } from './check-whole.js';
import { RestoreRun } from './run.js';
import { ItemSender } from './send-items.js';
import { restorePassThrough } from './strategy-pass-through.js';
import { restoreRawRdbFile } from './strategy-raw-rdb.js';
import { restoreRecords } from './strategy-records.js';
import type { RestoreOptions, RestoreResult } from './types.js';

export type {
  RestoreFailure,
  RestoreNodeResult,
  RestoreOptions,
  RestoreProgress,
  RestoreResult,
} from './types.js';

/**
 * How a restore sends its input (each strategy is a module of its own):
 * - `raw-rdb`: an RDB file, its values sent to RESTORE as the file encodes them, never decoded
 *   (the file may still turn out to need the record reader: then `records`);
 * - `pass-through`: a `.valkey` file into an empty standalone server with nothing to filter, remap
 *   or replace, its commands sent byte for byte;
 * - `records`: everything decoded first (JSONL, AOF, other command files, records from a live
 *   source, an RDB file when RESTORE is not to be used).
 */
export type RestoreStrategy = 'raw-rdb' | 'pass-through' | 'records';

/** Chooses the strategy (before anything is sent: the target is known, the input checked). */
export function chooseStrategy(run: RestoreRun, format: InputFormat | null): RestoreStrategy {
  const { options } = run;
  if (typeof options.input !== 'string' || format === null) return 'records';
  if (format === 'rdb') return run.restoreRefused ? 'records' : 'raw-rdb';
  const passThrough =
    format === 'resp' &&
    !run.target.isCluster &&
    run.targetEmpty &&
    !run.replace &&
    !run.filter.any &&
    options.targetDb === undefined;
  return passThrough ? 'pass-through' : 'records';
}

/**
 * Restores a backup into a running server or cluster: pipelined with a bounded window, progress
 * events, failures collected with key names. Keys from RDB/JSONL go through `RESTORE` when the
 * target accepts the payload version (plain commands otherwise); `.valkey` files are replayed
 * key by key (`replace` deletes a key before re-creating it, otherwise an existing key is a
 * failure); AOF files are replayed command by command. Re-running an interrupted restore with
 * `replace: true` converges to the source dataset.
 *
 * Nothing destructive (`flush`, a key replaced) happens before the whole input has been checked:
 * a command or JSONL file is read once first, an RDB file verified (see `RestoreRun.inputChecked`).
 */
export async function restore(options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const filter = compileFilter(options);
  if (options.targetDb !== undefined && (!Number.isInteger(options.targetDb) || options.targetDb < 0)) {
    throw new BackupError(
      'ERR_INVALID_OPTION',
      `targetDb must be a non-negative integer, got ${options.targetDb}`,
    );
  }
  const run = await RestoreRun.open(options, filter, started);
  const { target, conn, stats } = run;
  const items = new ItemSender(run);
  try {
    await run.countKeysBefore();
    const input = options.input;
    // The input is checked whole first (an RDB file: by the strategy that reads it).
    let format: InputFormat | null = null;
    if (typeof input === 'string') {
      format = await inputFormat(input, options.from);
      if (format !== 'rdb') await checkWholeInput(run, input, format);
    } else await run.inputChecked(); // records from a live source: nothing to read ahead
    switch (chooseStrategy(run, format)) {
      case 'pass-through':
        await restorePassThrough(run, items, input as string);
        break;
      case 'raw-rdb':
        if (await restoreRawRdbFile(run, items, input as string)) break;
        // The file needs the record reader after all (nothing was sent): records.
        if (!run.checked) await verifyWholeRdb(run, input as string); // it could not be read
        await restoreRecords(run, items);
        break;
      case 'records':
        if (!run.checked) await verifyWholeRdb(run, input as string); // only an RDB file is unchecked here
        await restoreRecords(run, items);
        break;
    }
    await items.finish();
    await run.settle();
  } catch (err) {
    throw await run.failed(err);
  }
  const held = await target.keyCounts().catch(() => []);
  const nodes = target.traffic().map((t) => ({
    ...t,
    keysHeld: held.find((h) => h.node === t.node)?.keys ?? 0,
  }));
  await target.close();
  await conn.close();
  run.progress(true);
  if (run.stopped) throw run.stoppedError(run.stopped);
  return {
    ...stats,
    skipped: run.skipped,
    errors: run.errors,
    errorCount: run.errorCount,
    elapsedMs: Date.now() - started,
    usedRestore: run.usedRestore,
    fellBack: run.fellBack,
    dropped: run.dropped,
    nodes,
  };
}
