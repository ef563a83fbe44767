import { type CompiledFilter, compileFilter } from '../io/filter.js';
import { followFailovers } from '../io/connect.js';
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
 * - `pass-through`: a `.valkey` file into an empty server or cluster with nothing to filter, remap
 *   or replace, its commands sent byte for byte;
 * - `records`: everything decoded first (JSONL, AOF, other command files, records from a live
 *   source, an RDB file when RESTORE is not to be used).
 */
export type RestoreStrategy = 'raw-rdb' | 'pass-through' | 'records';

/** A file to restore from, and its format. */
interface InputFile {
  path: string;
  format: InputFormat;
}

/** Chooses how the input is sent (from the options, the input's format and the target). */
export function chooseStrategy(run: RestoreRun, file: InputFile | null): RestoreStrategy {
  const { options } = run;
  if (file === null) return 'records';
  if (file.format === 'rdb') return run.restoreRefused ? 'records' : 'raw-rdb';
  const passThrough =
    file.format === 'resp' &&
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
 * a command or JSONL file is read once first, an RDB file is verified.
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
  // Records (a live source) cannot be read twice: `migrate` follows failovers itself.
  if (typeof options.input !== 'string') return restoreOnce(options, filter, started);
  const { result, failovers } = await followFailovers(
    {
      urls: [{ url: options.url, connect: options.tls ? { tls: options.tls } : {} }],
      started,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onFailover ? { onFailover: options.onFailover } : {}),
    },
    // After a failover the input is restored again into the new primary, replacing what got there.
    (done) => restoreOnce(done.length > 0 ? { ...options, replace: true } : options, filter, started),
  );
  return failovers.length > 0 ? { ...result, elapsedMs: Date.now() - started, failovers } : result;
}

async function restoreOnce(
  options: RestoreOptions,
  filter: CompiledFilter,
  started: number,
): Promise<RestoreResult> {
  const run = await RestoreRun.open(options, filter, started);
  const { target, conn, stats } = run;
  const items = new ItemSender(run);
  try {
    await run.countKeysBefore();
    const input = options.input;
    const file =
      typeof input === 'string' ? { path: input, format: await inputFormat(input, options.from) } : null;
    const strategy = chooseStrategy(run, file);
    // Nothing is written before the whole input has been checked (`flush` happens then): records
    // from a live source have nothing to read ahead; the raw RDB strategy verifies the file in a
    // first pass of its own before it sends anything.
    if (file === null) await run.inputChecked();
    else if (file.format !== 'rdb') await checkWholeInput(run, file.path, file.format);
    else if (strategy === 'records') await verifyWholeRdb(run, file.path);
    const records = async () => {
      // The raw RDB strategy may have declined a file it could not read (then it is unchecked).
      if (!run.checked && file !== null) await verifyWholeRdb(run, file.path);
      await restoreRecords(run, items);
    };
    switch (strategy) {
      case 'pass-through':
        await restorePassThrough(run, items, file!.path);
        break;
      case 'raw-rdb':
        // False when the file needs the record reader after all (nothing was sent then).
        if (!(await restoreRawRdbFile(run, items, file!.path))) await records();
        break;
      case 'records':
        await records();
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
