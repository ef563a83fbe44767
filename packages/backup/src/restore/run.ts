import { redactUrl, ValkeyToolsError } from '@valkey-tools/core';
import type { CompiledFilter } from '../io/filter.js';
import { connect, type ServerConnection } from '@valkey-tools/core';
import { dumpVersionFor, serverVersion } from '../io/connect.js';
import { command, encodedLength } from '../resp/encode.js';
import { keyToText } from '../rdb/text.js';
import { BackupError, type BackupErrorCode } from '../errors.js';
import { KeySet } from './check-input.js';
import type { ReplyHandler } from '../io/pipeline.js';
import { RestoreTarget } from './target.js';
import type { RestoreFailure, RestoreOptions, RestoreProgress, RestoreResult } from './types.js';

/** An error's message without the hint our errors append to it (to say more, then hint anew). */
export function withoutHint(err: unknown): string {
  const e = err as { message?: unknown; hint?: unknown };
  const message = String(e.message ?? err);
  const tail = typeof e.hint === 'string' ? `. ${e.hint}` : '';
  return tail && message.endsWith(tail) ? message.slice(0, -tail.length) : message;
}

const CONVERGE_HINT =
  'Fix the cause, then run the same restore again with --replace (replace: true): it converges to the input';
const RESUME_HINT = 'Run the same restore again with --replace (replace: true): it converges to the input';

export const display = (b: Buffer) => b.toString('latin1');

/**
 * One restore as it runs, shared by every strategy: the target and what it is known to hold, the
 * counters, the failure policy (`onError`, the first failure that stops the run, what was written
 * before it), progress events and the abort signal.
 */
export class RestoreRun {
  readonly filter: CompiledFilter;
  readonly replace: boolean;
  readonly verbatim: boolean;
  readonly onError: 'stop' | 'continue';
  readonly truncated: 'error' | 'drop';
  /** The newest DUMP payload version the target accepts. */
  readonly payloadVersion: number;
  readonly targetIsValkey: boolean;
  /** SET ... PXAT needs Valkey, or Redis 6.2+ (payload version 9 means older than 7.0). */
  readonly supportsPxat: boolean;
  /** Keys that expire before this time are not restored (the server does not load them either). */
  readonly loadedAt = Date.now();
  readonly stats = { keys: 0, functions: 0, commands: 0, bytes: 0, inputBytes: 0, expired: 0 };
  readonly errors: RestoreFailure[] = [];
  errorCount = 0;
  /** Keys that existed on the target before the restore (BUSYKEY failures, or the per-key rule). */
  skipped = 0;
  /** The failure that stopped the run (`onError: 'stop'`). */
  stopped: RestoreFailure | null = null;
  /** The target refused a RESTORE payload (or `useRestore: 'never'`): keys go as plain commands. */
  restoreRefused: boolean;
  usedRestore = false;
  fellBack = false;
  /**
   * Commands replayed as they come (a file without our header, an AOF's increments) do not say
   * which keys they make: the count is then what the target gained.
   */
  rawReplay = false;
  /** Keys the target held when the restore started (0 with `flush`). */
  keysBefore = 0;
  /** The target held no key when the restore started (or was flushed). */
  targetEmpty = false;
  readonly dropped: RestoreResult['dropped'] = [];
  /** Keys whose RESTORE was refused, being sent again as plain commands. */
  readonly pendingFallbacks: Array<Promise<void>> = [];
  phase: RestoreProgress['phase'] = 'restoring';
  /**
   * Commands replayed as they come (a RESP file without our header, an AOF) into a target with
   * keys: the input's keys (by source db) that the target held before, until the first command on
   * each decides (replace: DEL first; otherwise skip all its commands), and the input's keys.
   */
  existing: KeySet | null = null;
  inputKeys: KeySet | null = null;
  readonly keptAsTheyWere = new KeySet();
  /** The whole input has been checked: from now on the target may be written. */
  checked = false;
  private lastProgress = 0;
  private progressCalls = 0;
  private readonly interval: number;

  private constructor(
    readonly options: RestoreOptions,
    filter: CompiledFilter,
    readonly conn: ServerConnection,
    readonly target: RestoreTarget,
    readonly started: number,
  ) {
    this.filter = filter;
    this.replace = options.replace ?? false;
    this.verbatim = options.verbatim === true;
    this.onError = options.onError ?? 'stop';
    this.truncated = options.truncated ?? 'error';
    this.restoreRefused = options.useRestore === 'never';
    this.interval = options.progressIntervalMs ?? 250;
    this.payloadVersion = dumpVersionFor(conn.info);
    const server = serverVersion(conn.info);
    this.targetIsValkey = server.flavor === 'valkey';
    this.supportsPxat = this.targetIsValkey || this.payloadVersion >= 10 || /^6\.2\./.test(server.version);
  }

  /** Connects to the target (a standalone server or a cluster). */
  static async open(options: RestoreOptions, filter: CompiledFilter, started: number): Promise<RestoreRun> {
    const conn = await connect(options.url, options.tls ? { tls: options.tls } : {});
    let target: RestoreTarget;
    try {
      target = await RestoreTarget.open(conn, {
        commands: options.maxInFlight ?? 5000,
        bytes: options.maxInFlightBytes ?? 16 * 1024 * 1024,
      });
    } catch (err) {
      await conn.close();
      throw err;
    }
    return new RestoreRun(options, filter, conn, target, started);
  }

  get inputName(): string {
    const input = this.options.input;
    return typeof input === 'string' ? input : input.source;
  }

  /** A progress event (at most one per interval unless `done`). */
  progress(done: boolean): void {
    if (!this.options.onProgress) return;
    // Called per key while restoring: the clock is read every 256th call (each at an interval of 0).
    if (!done && this.interval > 0 && this.phase === 'restoring' && (++this.progressCalls & 255) !== 0)
      return;
    const now = Date.now();
    if (!done && now - this.lastProgress < this.interval) return;
    this.lastProgress = now;
    const elapsedMs = now - this.started;
    const secs = Math.max(elapsedMs, 1) / 1000;
    this.options.onProgress({
      ...this.stats,
      phase: this.phase,
      errors: this.errorCount,
      elapsedMs,
      keysPerSecond: this.stats.keys / secs,
      bytesPerSecond: this.stats.bytes / secs,
      nodes: this.target.traffic(),
      done,
    });
  }

  /** Records a failure; with `onError: 'stop'` the first one stops the run. */
  fail(f: RestoreFailure): void {
    this.errorCount++;
    if (f.message.startsWith('BUSYKEY')) this.skipped++;
    if (this.errors.length < 1000) this.errors.push(f);
    // A server that takes no more writes (a primary demoted by a failover) stops any run.
    const targetWide = /^(READONLY|MASTERDOWN)\b/.test(f.message);
    if ((this.onError === 'stop' || targetWide) && !this.stopped) this.stopped = f;
  }

  /** The db a key of source db `db` goes to (`checking`: asked before anything is sent). */
  dbOf(db: number, checking = false): number {
    const d = this.options.targetDb ?? db;
    if (this.target.isCluster && d !== 0) {
      throw new BackupError(
        'ERR_UNSUPPORTED',
        `the input has keys in db ${db}, but a cluster only has db 0${checking ? '; nothing was written' : ''}`,
        {
          details: { db, url: this.conn.where },
          hint: 'Pass db to restore one source db, and targetDb: 0 to write it into the cluster',
        },
      );
    }
    return d;
  }

  checkAborted(): void {
    if (this.options.signal?.aborted) {
      throw new BackupError('ERR_ABORTED', `restore into ${this.conn.where} was aborted`, {
        details: { url: this.conn.where, keys: this.stats.keys },
      });
    }
  }

  /**
   * The input has been checked whole: now `flush` may empty the target (once). `dbs`, the source
   * dbs the input has keys in when known, are checked first (a cluster has db 0 only): an input the
   * target cannot take writes nothing.
   */
  async inputChecked(dbs?: Iterable<number> | null): Promise<void> {
    if (dbs) for (const db of dbs) if (this.filter.db(db)) this.dbOf(db, true);
    const flush = this.options.flush && !this.checked;
    this.checked = true;
    if (flush) await this.target.sendToPrimaries(command('FLUSHALL'));
  }

  /** Counts the keys the target holds before anything is sent (no count with `flush`). */
  async countKeysBefore(): Promise<void> {
    // Into an empty target (the usual restore) no key can be in the way: keys are written without
    // an EXISTS round first. A key written by another client meanwhile is not detected (it is not
    // with EXISTS either: the check and the write are not atomic). A flush happens once the input
    // has been checked, before anything else is sent.
    this.keysBefore = this.options.flush === true ? 0 : await this.target.keyCount();
    this.targetEmpty = this.keysBefore === 0;
  }

  /** The keys of `keys` (by source db) that exist on the target. */
  async existingKeys(keys: KeySet): Promise<KeySet> {
    const found = new KeySet();
    let refused: Error | undefined;
    const onReply: ReplyHandler<[number, Buffer]> = {
      reply: ([db, key], r) => {
        if (Number(r) > 0) found.add(db, key);
      },
      // A key we cannot ask about must not be taken for absent (it would be merged into).
      error: (_ctx, _c, err) => {
        refused ??= err;
      },
    };
    for (const [db, key] of keys.entries()) {
      if (refused) break;
      const args = command('EXISTS', key);
      const bytes = encodedLength(args);
      if (!this.target.hasRoom(bytes)) await this.target.room(bytes);
      this.target.send(args, bytes, this.dbOf(db), key, onReply, [db, key]);
    }
    await this.target.idle();
    if (refused) {
      throw new BackupError(
        'ERR_RESTORE',
        `cannot tell which keys of the input exist on ${this.conn.where}: EXISTS failed: ${refused.message}${this.stats.commands === 0 ? '; nothing was written' : ''}`,
        {
          cause: refused,
          details: { url: this.conn.where },
          hint: 'The restore user needs +exists (see the security guide)',
        },
      );
    }
    return found;
  }

  /**
   * Waits for every reply (and the RESTOREs sent again as plain commands), then counts what the
   * keys counter cannot know as things were sent.
   */
  async settle(): Promise<void> {
    const { target, stats } = this;
    await target.idle();
    await Promise.all(this.pendingFallbacks);
    await target.idle();
    if (this.targetEmpty && (!this.rawReplay || this.stopped) && !this.verbatim) {
      // Into an empty target, what it now holds is exact (keys whose commands made nothing, an
      // expiry already past, are not counted). Another client writing meanwhile would show here too.
      // A run stopped by a failure says what it left there.
      const held = this.stopped ? await target.keyCount().catch(() => null) : await target.keyCount();
      if (held !== null) stats.keys = Math.max(0, held - this.keysBefore);
    }
    if (this.rawReplay && !this.stopped) {
      if (this.inputKeys !== null) {
        // Into a target with keys: the input's keys it now holds (the ones it kept as they were aside).
        const kept = this.inputKeys;
        for (const [db, key] of this.keptAsTheyWere.entries()) kept.delete(db, key);
        stats.keys = (await this.existingKeys(kept)).size;
      } else stats.keys = Math.max(0, (await target.keyCount()) - this.keysBefore);
    }
  }

  /** What a restore that stopped part-way left on the target. */
  private partial(): string {
    const { keys, commands } = this.stats;
    return keys === 0
      ? commands === 0
        ? 'nothing was written'
        : 'no key was written'
      : `${keys} key${keys === 1 ? ' was' : 's were'} written before it stopped: the target now holds part of the input`;
  }

  /**
   * The run failed with `err`: closes the connections and returns the error to throw, which says
   * what was written before it (a check that failed first wrote nothing).
   */
  async failed(err: unknown): Promise<unknown> {
    const { target, conn, stats } = this;
    await target.idle().catch(() => {});
    const written = stats.commands > 0;
    if (written && this.targetEmpty && !this.verbatim) {
      // What the target now holds of the input (keys counted as they were queued may not have gone out).
      stats.keys = await target.keyCount().then(
        (n) => Math.max(0, n - this.keysBefore),
        () => stats.keys,
      );
    }
    await target.close();
    await conn.close();
    // Any of our errors (an RdbError from the input, a BackupError from the target) gets the partial report.
    if (ValkeyToolsError.isInstance(err)) {
      // A failure after keys went out says so (a check that failed first wrote nothing).
      if (!written && err.code !== 'ERR_ABORTED') return err;
      return new BackupError(err.code as BackupErrorCode, `${withoutHint(err)}; ${this.partial()}`, {
        cause: err,
        details: { ...err.details, keysRestored: stats.keys },
        hint: !written
          ? 'Nothing was written; run the restore again'
          : err.code === 'ERR_ABORTED'
            ? RESUME_HINT
            : CONVERGE_HINT,
      });
    }
    return new BackupError(
      'ERR_RESTORE',
      `restore into ${conn.where} failed: ${redactUrl(String((err as Error).message ?? err))}${written ? `; ${this.partial()}` : '; nothing was written'}`,
      {
        cause: err,
        details: { url: conn.where, input: this.inputName, keys: stats.keys, keysRestored: stats.keys },
        ...(written ? { hint: CONVERGE_HINT } : {}),
      },
    );
  }

  /** The error a run stopped by its first failure (`onError: 'stop'`) ends with. */
  stoppedError(s: RestoreFailure): BackupError {
    return new BackupError(
      'ERR_RESTORE',
      `restore into ${this.conn.where} stopped at key "${s.keyBytes ? keyToText(s.keyBytes) : s.key}" (db ${s.db}): ${s.command} failed: ${s.message.replace(/\.$/, '')}; ${this.partial()}`,
      {
        details: {
          url: this.conn.where,
          input: this.inputName,
          key: s.key,
          db: s.db,
          keysRestored: this.stats.keys,
          errors: this.errors,
        },
        hint: /BUSYKEY/.test(s.message)
          ? 'The key already exists: pass --replace (replace: true) to overwrite, --flush (flush: true) to empty the target first, or --on-error continue (onError: "continue") to leave existing keys as they are'
          : `Pass --on-error continue (onError: "continue") to restore the other keys and collect every failure. ${CONVERGE_HINT}`,
      },
    );
  }
}
