import { redactUrl, ValkeyToolsError } from '@valkey-tools/core';
import {
  type CompiledFilter,
  commandValueType,
  compileFilter,
  type KeyFilter,
  rdbTypeValueType,
} from '../io/filter.js';
import type { InputFormat } from '../io/formats.js';
import { type InputSegment, inputFormat, openInput } from '../io/input.js';
import { connect, type TlsFiles } from '@valkey-tools/core';
import { dumpVersionFor, serverVersion } from '../io/connect.js';
import type { KeyRecord, RdbRecord } from '../model.js';
import { RdbType } from '../rdb/constants.js';
import { checkDumpPayload, dumpPayload, encodeDump } from '../rdb/dump.js';
import type { KeySpan } from '../rdb/fast-verify.js';
import {
  bulkSize,
  type Command,
  command,
  decodeCommandAt,
  encodedLength,
  writeHeader,
} from '../resp/encode.js';
import type { CommandSpan } from '../resp/parser.js';
import { parseHeaderCommand } from '../resp/writer.js';
import { keyToText } from '../rdb/text.js';
import { BackupError, type BackupErrorCode } from '../errors.js';
import {
  commandBatchesToItems,
  ItemGrouper,
  keyIndex,
  upper,
  type RecordsToItemsOptions,
  type RestoreItem,
  recordToItem,
  restoreCommand,
  restoreFallback,
} from '../io/items.js';
import { CollectionPayload } from './collection-payload.js';
import { MSET_ROOM, MsetBatch } from './mset-batch.js';
import { batchRdbString, RestoreEncoder, restoreRawRdb, STOP_RAW_RESTORE } from './raw-rdb.js';
import { nameIs, passThroughResp, spanKeyIndex } from './pass-through.js';
import { checkInput, KeySet } from './check-input.js';
import { dataCommand, splitPerKey } from './data-commands.js';
import { verifyRdb } from '../rdb/inspect.js';
import { isEmptyCollection } from '../rdb/value-parts.js';
import { type CommandEncoder, type NodeTraffic, type ReplyHandler, RestoreTarget } from './target.js';

export interface RestoreProgress {
  /** Keys sent so far. */
  keys: number;
  /** Function libraries loaded. */
  functions: number;
  /** Commands sent. */
  commands: number;
  /** RESP bytes sent. */
  bytes: number;
  /** Bytes read from the input file, when it is a file (in the current phase). */
  inputBytes: number;
  /**
   * `checking`: the whole input is read once before anything is sent (text and JSONL files;
   * an RDB file's verify pass reports no progress); `restoring`: keys are being sent.
   */
  phase: 'checking' | 'restoring';
  errors: number;
  elapsedMs: number;
  keysPerSecond: number;
  bytesPerSecond: number;
  /**
   * What each server was sent so far: one entry for a standalone server, one per primary of a
   * cluster (each fed by a pipeline of its own).
   */
  nodes: NodeTraffic[];
  /** True on the last event. */
  done: boolean;
}

/** What one server (a cluster primary) was sent by a restore, and the keys it holds after it. */
export interface RestoreNodeResult extends NodeTraffic {
  /** Keys the node holds once the restore is done (every db). */
  keysHeld: number;
}

export interface RestoreFailure {
  /** The key as text (latin1, byte for byte), or the library name / command for non-key work. */
  key: string;
  /** The raw key bytes (keys may be binary). */
  keyBytes?: Buffer;
  db: number;
  /** The command that failed (its name). */
  command: string;
  /** The server's error reply. */
  message: string;
}

export interface RestoreOptions extends KeyFilter {
  /**
   * A file (`.rdb`, `.valkey`/`.resp`, `.txt`, `.jsonl`, `.aof`), a multi-part AOF directory, or
   * records from any reader (e.g. a live source: see `migrate`).
   */
  input: string | { records: AsyncIterable<RdbRecord>; source: string };
  /** The input format when the name does not tell. */
  from?: InputFormat;
  /** Target server (`redis://`, `rediss://`, `valkey://`...); a cluster node URL restores into the whole cluster. */
  url: string;
  tls?: TlsFiles;
  /**
   * Keys that exist on the target end up exactly as the input has them: deleted first, never
   * merged into (default false: an existing key is left as it was and reported, see `onError`).
   * Function libraries are replaced too.
   */
  replace?: boolean;
  /**
   * FLUSHALL the target (every primary of a cluster) once the whole input has been checked and
   * before anything is written (a bad input leaves the target as it was).
   */
  flush?: boolean;
  /**
   * Replay a command file's commands exactly as they come: any command (not only the ones that
   * write data), commands that span keys, and no per-key rule (existing keys may be changed or
   * merged into). Only for files you trust. Default false: a file with such a command is refused
   * before anything is sent.
   */
  verbatim?: boolean;
  /** Write every key into this db instead of its source db (a cluster only has db 0). */
  targetDb?: number;
  /** `stop` at the first failed key (default) or `continue` and report all failures. */
  onError?: 'stop' | 'continue';
  onProgress?: (progress: RestoreProgress) => void;
  /** Minimum time between progress events (default 250 ms). */
  progressIntervalMs?: number;
  /** Commands in flight (default 5000). */
  maxInFlight?: number;
  /** Bytes in flight (default 16 MiB). */
  maxInFlightBytes?: number;
  /** Elements per command when keys are written as plain commands (default 64). */
  batchSize?: number;
  /**
   * Use RESTORE with a DUMP payload for RDB/JSONL input (`auto`, the default: yes, falling back to
   * plain commands for the rest of the run once the target refuses the payload version).
   */
  useRestore?: 'auto' | 'never';
  /** An incomplete last command in RESP/AOF input: `error` (default) or `drop`. */
  truncated?: 'error' | 'drop';
  /** Stops the restore (after the commands in flight are answered); it then rejects with ERR_ABORTED. */
  signal?: AbortSignal;
}

export interface RestoreResult {
  /**
   * Keys restored. For commands replayed as they come (a RESP file without our header, an AOF's
   * increments): the keys of the file that the target holds afterwards (keys the file deletes
   * again are not counted).
   */
  keys: number;
  /**
   * Keys the input has that already existed on the target and were left exactly as they were
   * (without `replace`, with `onError: 'continue'`); each is also in `errors` (BUSYKEY).
   */
  skipped: number;
  functions: number;
  commands: number;
  bytes: number;
  /** Keys of the input whose expiry had passed: not restored (the server would not load them either). */
  expired: number;
  /** Failures (the first 1000); `errorCount` has them all. */
  errors: RestoreFailure[];
  errorCount: number;
  elapsedMs: number;
  /** True when at least one key went through the RESTORE fast path. */
  usedRestore: boolean;
  /** True when the target refused RESTORE payloads and keys were rewritten as plain commands. */
  fellBack: boolean;
  /** Incomplete trailing commands dropped from the input (truncated: 'drop'). */
  dropped: Array<{ source: string; offset: number; bytes: number }>;
  /**
   * Per server: one entry for a standalone server, one per primary of a cluster (`redirected`:
   * commands a node refused because their slot moved, sent again to the slot's owner).
   */
  nodes: RestoreNodeResult[];
}

type KeyItem = Extract<RestoreItem, { kind: 'key' }>;

/** An error's message without the hint our errors append to it (to say more, then hint anew). */
function withoutHint(err: unknown): string {
  const e = err as { message?: unknown; hint?: unknown };
  const message = String(e.message ?? err);
  const tail = typeof e.hint === 'string' ? `. ${e.hint}` : '';
  return tail && message.endsWith(tail) ? message.slice(0, -tail.length) : message;
}

const CONVERGE_HINT =
  'Fix the cause, then run the same restore again with --replace (replace: true): it converges to the input';
const RESUME_HINT = 'Run the same restore again with --replace (replace: true): it converges to the input';
type RawItem = Extract<RestoreItem, { kind: 'raw' }>;

const display = (b: Buffer) => b.toString('latin1');

/** The commands a .valkey restore may turn into one RESTORE (see CollectionPayload). */
const COLLECTION_COMMANDS = ['HSET', 'SADD', 'ZADD', 'RPUSH', 'HMSET'];

/** True when `b` is `name` (upper-case ASCII) in any case, without building a string. */
function isName(b: Buffer | undefined, name: string): boolean {
  if (!b || b.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((b[i]! & 0xdf) !== name.charCodeAt(i)) return false;
  return true;
}
const PAYLOAD_REFUSED = /payload version or checksum are wrong|Bad data format/i;

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

/**
 * Restores a backup into a running server or cluster: pipelined with a bounded window, progress
 * events, failures collected with key names. Keys from RDB/JSONL go through `RESTORE` when the
 * target accepts the payload version (plain commands otherwise); `.valkey` files are replayed
 * key by key (`replace` deletes a key before re-creating it, otherwise an existing key is a
 * failure); AOF files are replayed command by command. Re-running an interrupted restore with
 * `replace: true` converges to the source dataset.
 */
export async function restore(options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const filter = compileFilter(options);
  const onError = options.onError ?? 'stop';
  const replace = options.replace ?? false;
  if (options.targetDb !== undefined && (!Number.isInteger(options.targetDb) || options.targetDb < 0)) {
    throw new BackupError(
      'ERR_INVALID_OPTION',
      `targetDb must be a non-negative integer, got ${options.targetDb}`,
    );
  }
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
  const inputName = typeof options.input === 'string' ? options.input : options.input.source;
  const payloadVersion = dumpVersionFor(conn.info);
  // SET ... PXAT needs Valkey, or Redis 6.2+ (payload version 9 means older than 7.0).
  const supportsPxat =
    serverVersion(conn.info).flavor === 'valkey' ||
    payloadVersion >= 10 ||
    /^6\.2\./.test(serverVersion(conn.info).version);
  const stats = { keys: 0, functions: 0, commands: 0, bytes: 0, inputBytes: 0, expired: 0 };
  /** Keys that expire before this time are not restored (the server does not load them either). */
  const loadedAt = Date.now();
  const errors: RestoreFailure[] = [];
  let errorCount = 0;
  let stopped: RestoreFailure | null = null;
  let restoreRefused = options.useRestore === 'never';
  /** The target held no key when the restore started (or was flushed). */
  let targetEmpty = false;
  let usedRestore = false;
  // Commands replayed as they come (a file without our header, an AOF's increments) do not say
  // which keys they make: the count is then what the target gained.
  let rawReplay = false;
  let fellBack = false;
  const dropped: RestoreResult['dropped'] = [];
  const pendingFallbacks: Array<Promise<void>> = [];
  let lastProgress = 0;
  const interval = options.progressIntervalMs ?? 250;
  let phase: RestoreProgress['phase'] = 'restoring';
  const verbatim = options.verbatim === true;
  /** Keys that existed on the target before the restore (BUSYKEY failures, or the per-key rule). */
  let skipped = 0;
  /**
   * Commands replayed as they come (a RESP file without our header, an AOF) into a target with
   * keys: the input's keys (by source db) that the target held before, until the first command on
   * each decides (replace: DEL first; otherwise skip all its commands), and the input's keys.
   */
  let existing = null as KeySet | null;
  let inputKeys = null as KeySet | null;
  const keptAsTheyWere = new KeySet();

  const progress = (done: boolean) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!done && now - lastProgress < interval) return;
    lastProgress = now;
    const elapsedMs = now - started;
    const secs = Math.max(elapsedMs, 1) / 1000;
    options.onProgress({
      ...stats,
      phase,
      errors: errorCount,
      elapsedMs,
      keysPerSecond: stats.keys / secs,
      bytesPerSecond: stats.bytes / secs,
      nodes: target.traffic(),
      done,
    });
  };

  const fail = (f: RestoreFailure) => {
    errorCount++;
    if (f.message.startsWith('BUSYKEY')) skipped++;
    if (errors.length < 1000) errors.push(f);
    if (onError === 'stop' && !stopped) stopped = f;
  };

  const dbOf = (db: number): number => {
    const d = options.targetDb ?? db;
    if (target.isCluster && d !== 0) {
      throw new BackupError(
        'ERR_UNSUPPORTED',
        `the input has keys in db ${db}, but a cluster only has db 0`,
        {
          details: { db, url: conn.where },
          hint: 'Pass db to restore one source db, and targetDb: 0 to write it into the cluster',
        },
      );
    }
    return d;
  };

  const sendAll = async (item: KeyItem, cmds: Command[], db: number): Promise<void> => {
    for (const c of cmds) {
      const bytes = encodedLength(c);
      if (!target.hasRoom(bytes)) await target.room(bytes);
      stats.commands++;
      stats.bytes += bytes;
      target.send(c, bytes, db, item.key, keyErrors, item);
    }
    stats.keys++;
    progress(false);
  };

  const plainCommands = async (item: KeyItem, fromFallback: boolean): Promise<Command[]> => {
    const cmds = fromFallback ? await item.fallback!() : item.commands;
    // With replace, a key is deleted first so the plain commands re-create it exactly.
    return replace ? [command('DEL', item.key), ...cmds] : cmds;
  };

  const onKeyError = (item: KeyItem, c: Command, db: number, err: Error) => {
    const name = display(c[0]!).toUpperCase();
    if (name === 'RESTORE' && item.fallback && PAYLOAD_REFUSED.test(err.message)) {
      restoreRefused = true;
      fellBack = true;
      stats.keys--;
      pendingFallbacks.push(
        plainCommands(item, true).then(
          (cmds) => sendAll(item, cmds, db),
          (e: Error) =>
            fail({
              key: display(item.key),
              keyBytes: item.key,
              db,
              command: 'RESTORE',
              message: `${err.message}; decoding the payload failed too: ${e.message}`,
            }),
        ),
      );
      return;
    }
    // A key sent as one command that failed was not restored.
    if (item.commands.length === 1) stats.keys--;
    fail({ key: display(item.key), keyBytes: item.key, db, command: name, message: err.message });
  };

  // Reply handlers: shared objects called with the item a command belongs to (nothing is
  // allocated per command to hear back from it).
  const keyErrors: ReplyHandler<KeyItem> = {
    error: (item, c, err) => onKeyError(item, c, dbOf(item.db), err),
  };
  const setReply: ReplyHandler<KeyItem> = {
    reply: (item, _c, reply) => {
      // SET ... NX answers nil when the key exists.
      if (reply !== null) return;
      stats.keys--;
      fail({
        key: display(item.key),
        keyBytes: item.key,
        db: dbOf(item.db),
        command: 'SET',
        message: 'BUSYKEY Target key name already exists.',
      });
    },
    error: keyErrors.error!,
  };
  const existsReply: ReplyHandler<(exists: boolean) => void> = {
    reply: (resolve, _c, r) => resolve(Number(r) > 0),
    error: (resolve) => resolve(false),
  };
  const rawErrors: ReplyHandler<RawItem> = {
    error: (item, c, err) =>
      fail({
        key: c[1] ? display(c[1]) : '',
        ...(c[1] ? { keyBytes: c[1] } : {}),
        db: dbOf(item.db),
        command: display(c[0]!).toUpperCase(),
        message: err.message,
      }),
  };

  /**
   * Non-replace plain keys: an EXISTS goes out as soon as a key is queued, and the key's commands
   * follow a few hundred keys later, when the answer is long back: the pipeline never drains.
   */
  const pending: Array<{ item: KeyItem; db: number; exists: Promise<boolean> }> = [];
  const drainPending = async (keep: number) => {
    while (pending.length > keep && !stopped) {
      const { item, db, exists } = pending.shift()!;
      if (await exists) {
        fail({
          key: display(item.key),
          keyBytes: item.key,
          db,
          command: display(item.commands[0]![0]!).toUpperCase(),
          message: 'BUSYKEY Target key name already exists.',
        });
      } else await sendAll(item, item.commands, db);
    }
  };
  const flushPending = () => drainPending(0);
  const queueChecked = async (item: KeyItem, db: number) => {
    await target.room(32);
    const exists = new Promise<boolean>((resolve) =>
      target.send(command('EXISTS', item.key), 32, db, item.key, existsReply, resolve),
    );
    pending.push({ item, db, exists });
    if (pending.length >= 512) await drainPending(256);
  };

  /** `SET k v` (+ `PEXPIREAT k t`) as one command: `SET k v [NX] [PXAT t]`; null when not that shape. */
  const asSingleSet = (item: KeyItem): Command | null => {
    const [set, expire, ...more] = item.commands;
    if (!set || more.length > 0 || set.length !== 3 || !isName(set[0], 'SET')) return null;
    const out = [...set];
    if (!replace) out.push(Buffer.from('NX'));
    if (expire) {
      if (!supportsPxat || expire.length !== 3 || !isName(expire[0], 'PEXPIREAT')) return null;
      out.push(Buffer.from('PXAT'), expire[2]!);
    }
    return out;
  };

  const sendSet = async (item: KeyItem, args: Command, db: number) => {
    const bytes = encodedLength(args);
    if (!target.hasRoom(bytes)) await target.room(bytes);
    stats.commands++;
    stats.bytes += bytes;
    target.send(args, bytes, db, item.key, setReply, item);
    stats.keys++;
    progress(false);
  };

  /**
   * The per-key rule for a key of a replayed input at one of its commands: `send` it; `skip` it
   * (the key existed on the target: it stays as it was, reported once); or `replace`: delete the
   * key first (the first command on a key that existed, with `replace`).
   */
  const decide = (db: number, key: Buffer): 'send' | 'skip' | 'replace' => {
    if (existing === null) return 'send';
    if (keptAsTheyWere.has(db, key)) return 'skip';
    if (!existing.delete(db, key)) return 'send';
    if (replace) return 'replace';
    keptAsTheyWere.add(db, key);
    fail({
      key: display(key),
      keyBytes: key,
      db: dbOf(db),
      command: 'EXISTS',
      message: 'BUSYKEY Target key name already exists.',
    });
    return 'skip';
  };

  const handleKey = async (item: KeyItem) => {
    // A key of an AOF's base (its increments replay as they come): the per-key rule decides.
    if (existing !== null && decide(item.db, item.key) === 'skip') return;
    const db = dbOf(item.db);
    const first = item.commands[0]!;
    const isRestore = item.commands.length === 1 && isName(first[0], 'RESTORE');
    if (isRestore && !(restoreRefused && item.fallback)) {
      usedRestore = true;
      const args =
        replace && !first.some((a) => isName(a, 'REPLACE')) ? [...first, Buffer.from('REPLACE')] : first;
      await sendAll(item, [args], db);
      return;
    }
    if (isRestore) {
      fellBack = true;
      await sendAll(item, await plainCommands(item, true), db);
      return;
    }
    const single = asSingleSet(item);
    if (single) {
      await sendSet(item, single, db);
      return;
    }
    if (replace || targetEmpty) {
      await sendAll(item, await plainCommands(item, false), db);
      return;
    }
    await queueChecked(item, db);
  };

  const handleFunction = async (code: Buffer) => {
    await flushPending();
    await target.idle();
    const args = replace ? command('FUNCTION', 'LOAD', 'REPLACE', code) : command('FUNCTION', 'LOAD', code);
    stats.commands++;
    stats.bytes += encodedLength(args);
    const name = /^#!\S+\s+name=(\S+)/.exec(code.toString('utf8'))?.[1] ?? 'library';
    try {
      await target.sendToPrimaries(args);
      stats.functions++;
    } catch (err) {
      // The same library with the same code already there is not a conflict (a re-run converges).
      if (/already exists/.test((err as Error).message) && (await target.libraryCode(name))?.equals(code)) {
        stats.functions++;
        return;
      }
      fail({ key: `library ${name}`, db: 0, command: 'FUNCTION LOAD', message: (err as Error).message });
    }
  };

  const sendRaw = async (item: RawItem, args: Command, bytes: number, db: number) => {
    await target.room(bytes);
    stats.commands++;
    stats.bytes += bytes;
    target.send(args, bytes, db, undefined, rawErrors, item);
    progress(false);
  };

  const handleRaw = async (item: Extract<RestoreItem, { kind: 'raw' }>) => {
    await flushPending();
    const name = display(item.command[0]!).toUpperCase();
    if (target.isCluster && (name === 'MULTI' || name === 'EXEC')) return;
    const db = dbOf(item.db);
    const data = verbatim ? undefined : dataCommand(name, item.command);
    if (data && data.keys !== 'cross' && (existing !== null || filter.any)) {
      // One command per key, each kept, skipped or replaced on its own (see `decide`).
      for (const args of splitPerKey(data, item.command)) {
        const key = args[data.keys === 'group' ? 2 : 1];
        if (!key) continue;
        if (filter.any && !(filter.key(key) && (data.type === undefined || filter.type(data.type)))) continue;
        const what = decide(item.db, key);
        if (what === 'skip') continue;
        if (what === 'replace') {
          const del = command('DEL', key);
          await sendRaw(item, del, encodedLength(del), db);
        }
        await sendRaw(item, args, args === item.command ? item.bytes : encodedLength(args), db);
      }
      return;
    }
    await sendRaw(item, item.command, item.bytes, db);
  };

  /** What a restore that stopped part-way left on the target. */
  const partial = () =>
    stats.keys === 0
      ? stats.commands === 0
        ? 'nothing was written'
        : 'no key was written'
      : `${stats.keys} key${stats.keys === 1 ? ' was' : 's were'} written before it stopped: the target now holds part of the input`;

  const checkAborted = () => {
    if (options.signal?.aborted) {
      throw new BackupError('ERR_ABORTED', `restore into ${conn.where} was aborted`, {
        details: { url: conn.where, keys: stats.keys },
      });
    }
  };

  /** Handles one item; false once the restore has stopped. */
  const handleItem = async (item: RestoreItem): Promise<boolean> => {
    if (stopped) return false;
    checkAborted();
    if (item.kind === 'key') await handleKey(item);
    else if (item.kind === 'function') await handleFunction(item.code);
    else await handleRaw(item);
    return true;
  };

  /** The input's format (a file's), once known. */
  let format: InputFormat | null = null;
  let flushed = false;
  /** The input has been checked whole: now `flush` may empty the target. */
  const inputChecked = async () => {
    if (!options.flush || flushed) return;
    flushed = true;
    await target.sendToPrimaries(command('FLUSHALL'));
  };
  let rdbVerified = false;

  /** A key sent by the raw RDB path as a key item (built only for the rare key that needs it). */
  const rawKeyItem = (args: Command, db: number): KeyItem => ({
    kind: 'key',
    db,
    key: args[1]!,
    commands: [args],
    fallback: restoreFallback(args, db),
    bytes: encodedLength(args),
  });
  // ctx: the key's db in the file.
  const rawKeyErrors: ReplyHandler<number> = {
    error: (db, c, err) => onKeyError(rawKeyItem(c, db), c, dbOf(db), err),
  };

  // An MSET (of keys that start there) that fails fails for every key in it (ctx: the db).
  const msetErrors: ReplyHandler<number> = {
    error: (db, c, err) => {
      for (let i = 1; i < c.length; i += 2) {
        stats.keys--;
        fail({ key: display(c[i]!), keyBytes: c[i]!, db, command: 'MSET', message: err.message });
      }
    },
  };
  const msetSent = (bytes: number) => {
    stats.commands++;
    stats.bytes += bytes;
    progress(false);
  };

  /**
   * An RDB file whose values the target takes as they are goes to RESTORE without being decoded
   * (see restoreRawRdb): each command is written straight into the output. False when the file
   * needs the record reader (nothing was sent then).
   */
  const restoredRaw = async (): Promise<boolean> => {
    const input = options.input;
    if (typeof input !== 'string' || options.useRestore === 'never' || restoreRefused) return false;
    if (format !== 'rdb') return false;
    let encoder: RestoreEncoder | undefined;
    const sendEncoded = (bytes: number, db: number, fileDb: number) => {
      stats.commands++;
      stats.bytes += bytes;
      target.sendEncoded(bytes, db, encoder!.encode, rawKeyErrors, fileDb);
      stats.keys++;
      usedRestore = true;
      progress(false);
    };
    const sendRestore = (span: KeySpan, version: number, db: number): void | Promise<void> => {
      encoder ??= new RestoreEncoder(version, replace);
      const bytes = encoder.measure(span);
      if (target.hasRoom(bytes)) sendEncoded(bytes, db, span.db);
      else return target.room(bytes).then(() => sendEncoded(bytes, db, span.db));
    };
    // Plain string keys go out as MSETs, where nothing can be in their way; into a cluster, one key
    // each (a key's slot routes it): a plain string costs the server less as a SET than as RESTORE.
    const batch =
      targetEmpty || replace
        ? new MsetBatch(target, msetErrors, msetSent, target.isCluster ? 1 : undefined)
        : null;
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
    const done = await restoreRawRdb(input, {
      onVerified: async () => {
        rdbVerified = true;
        await inputChecked();
      },
      payloadVersion,
      targetIsValkey: serverVersion(conn.info).flavor === 'valkey',
      onBytes: (n) => {
        stats.inputBytes = n;
      },
      onFunction: async (code) => {
        if (!(await handleItem({ kind: 'function', code: Buffer.from(code), bytes: code.length })))
          throw STOP_RAW_RESTORE;
      },
      onKey: (span: KeySpan, version: number) => {
        if (stopped) throw STOP_RAW_RESTORE;
        checkAborted();
        // An expired key would not be created (RESTORE of a past ABSTTL answers OK and makes nothing).
        if (span.expiresAt !== undefined && span.expiresAt <= loadedAt) {
          stats.expired++;
          return;
        }
        if (filter.any) {
          if (!filter.db(span.db) || !filter.key(span.keyBuf.subarray(span.keyStart, span.keyEnd))) return;
          const type = rdbTypeValueType(span.type);
          if (type !== undefined && !filter.type(type)) return;
        }
        if (restoreRefused) {
          // The target refused a payload: every key from here on goes through the fallback.
          const key = Buffer.from(span.keyBuf.subarray(span.keyStart, span.keyEnd));
          const payload = dumpPayload(span.type, span.buf.subarray(span.valueStart, span.valueEnd), version);
          return handleItem(rawKeyItem(restoreCommand(key, payload, span), span.db)).then((going) => {
            if (!going) throw STOP_RAW_RESTORE;
          });
        }
        const db = dbOf(span.db);
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
    if (batch && batch.count > 0 && !stopped) {
      await target.room(MSET_ROOM);
      batch.flush();
    }
    return done;
  };

  /**
   * A `.valkey` file into an empty standalone server, with nothing to filter, remap or replace:
   * the commands that build keys go out byte for byte as the file has them (like `valkey-cli
   * --pipe`), found by their headers without argument buffers; the rest (the header, SELECT,
   * FUNCTION LOAD, RESTORE) takes the usual item path. False when the restore is not of that kind.
   */
  const restoredPassThrough = async (): Promise<boolean> => {
    const input = options.input;
    if (typeof input !== 'string' || target.isCluster || !targetEmpty || replace || filter.any) return false;
    if (options.targetDb !== undefined || format !== 'resp') return false;
    // Made at the first command: the header says whether each key's commands are grouped.
    let grouper: ItemGrouper | null = null;
    let grouped = false;
    // The key of the last command sent as it is: a command on another key starts a new key.
    let prevKey: Buffer | null = null;
    let prevStart = 0;
    let prevEnd = 0;
    let prevDb = -1;
    const firstOfKey = (db: number, buf: Buffer, start: number, end: number): number => {
      if (!grouped) return 0;
      if (
        prevKey !== null &&
        db === prevDb &&
        end - start === prevEnd - prevStart &&
        buf.compare(prevKey, prevStart, prevEnd, start, end) === 0
      )
        return 0;
      prevKey = buf;
      prevStart = start;
      prevEnd = end;
      prevDb = db;
      stats.keys++;
      return 1;
    };
    // ctx: db * 2 + 1 for the first command of a key (if it fails, the key is not counted).
    const passErrors: ReplyHandler<number> = {
      error: (ctx, c, err) => {
        const name = display(c[0]!).toUpperCase();
        const key = c[keyIndex(c, name)] ?? c[1]!;
        if (ctx & 1) stats.keys--;
        fail({
          key: display(key),
          keyBytes: key,
          db: Math.floor(ctx / 2),
          command: name,
          message: err.message,
        });
      },
    };
    let cur!: { buf: Buffer; start: number; end: number };
    const copySpan: CommandEncoder = (into, at) => at + cur.buf.copy(into, at, cur.start, cur.end);
    // A key's first command waits for the next one (`held`), which tells whether the key is that one
    // command (and maybe a PEXPIREAT): then it goes out in a form that costs the server less work.
    // - A plain `SET k v` joins an MSET of other such keys; with its PEXPIREAT, `SET k v PXAT t`.
    // - A small collection (HSET/HMSET, RPUSH, SADD, ZADD) becomes one RESTORE of a DUMP payload
    //   encoded here (listpack, intset...), its expiry as the ABSTTL ttl: loading a payload costs
    //   the server far less than building the value element by element. A value the encoder
    //   refuses (duplicates) goes as it is; a payload the server refuses falls back to the commands.
    // A key with more commands (a big collection, a stream) goes out as the file has it.
    const none: Buffer = Buffer.alloc(0);
    const held = {
      on: false,
      /** The command's name, upper case: SET, or a collection command CollectionPayload takes. */
      name: '',
      /** The command: buf[start, end); its key: buf[keyStart, keyEnd). */
      buf: none,
      start: 0,
      end: 0,
      keyStart: 0,
      keyEnd: 0,
      db: 0,
      first: 0,
      /** The PXAT time: tBuf[tStart, tEnd). */
      tBuf: none,
      tStart: 0,
      tEnd: 0,
    };
    const mergeSets = supportsPxat;
    // The payloads are in the encodings RDB 11 has (Valkey 7.2+, Redis 7.2+).
    const convertCollections = payloadVersion >= 11 && options.useRestore !== 'never';
    const PXAT = Buffer.from('$4\r\nPXAT\r\n');
    /** Where the held command's name starts (after its `*N` header). */
    const heldArgs = () => held.buf.indexOf(36, held.start);
    const mergedSet: CommandEncoder = (into, at) => {
      let p = writeHeader(into, at, 42, 5);
      p += held.buf.copy(into, p, heldArgs(), held.end);
      p += PXAT.copy(into, p);
      p = writeHeader(into, p, 36, held.tEnd - held.tStart);
      p += held.tBuf.copy(into, p, held.tStart, held.tEnd);
      into[p++] = 13;
      into[p++] = 10;
      return p;
    };
    // Plain SETs of different keys (no expiry) go out together as one MSET; a batch holds only
    // keys that start there.
    const batch = new MsetBatch(target, msetErrors, msetSent);
    /** Sends the held command as the file has it. */
    const sendHeldAsIs = () => {
      const bytes = held.end - held.start;
      stats.commands++;
      stats.bytes += bytes;
      cur = held;
      target.sendEncoded(bytes, held.db, copySpan, passErrors, held.db * 2 + held.first);
      progress(false);
    };
    /** The held plain SET into the MSET batch (or alone, when it does not fit). */
    const batchHeldSet = () => {
      // The pair: after `*3\r\n$3\r\nSET\r\n`.
      const start = heldArgs() + 9;
      if (held.first === 0 || !batch.begin(held.db, held.end - start)) return sendHeldAsIs();
      batch.commit(batch.len + held.buf.copy(batch.buf, batch.len, start, held.end));
    };
    // The held collection as one RESTORE: its value encoded from the command's bytes (see
    // CollectionPayload), the command written by the same encoder as an RDB restore's.
    const collection = new CollectionPayload();
    const restoreEncoder = new RestoreEncoder(payloadVersion, false);
    const restoreSpan: KeySpan = {
      db: 0,
      type: 0,
      keyBuf: none,
      keyStart: 0,
      keyEnd: 0,
      buf: none,
      valueStart: 0,
      valueEnd: 0,
      expiresAt: undefined,
      lruIdle: undefined,
      lfuFreq: undefined,
    };
    /** The held collection as one RESTORE (expiring at `expire`, the PEXPIREAT span); false when it cannot be. */
    const restoreHeld = (expire: CommandSpan | null): boolean => {
      if (restoreRefused) return false;
      let expiresAt: number | undefined;
      if (expire) {
        const t = expire.buf.toString('latin1', expire.a2Start, expire.a2End);
        if (!/^\d{1,15}$/.test(t)) return false;
        expiresAt = Number(t);
      }
      const n = collection.encode(held.buf, held.start, held.end, held.name);
      if (n < 0) return false;
      const span = restoreSpan;
      span.db = held.db;
      span.type = collection.type;
      span.keyBuf = held.buf;
      span.keyStart = held.keyStart;
      span.keyEnd = held.keyEnd;
      span.buf = collection.body;
      span.valueStart = collection.start;
      span.valueEnd = n;
      span.expiresAt = expiresAt;
      const bytes = restoreEncoder.measure(span);
      stats.commands++;
      stats.bytes += bytes;
      usedRestore = true;
      target.sendEncoded(bytes, held.db, restoreEncoder.encode, rawKeyErrors, held.db);
      progress(false);
      return true;
    };
    /** Sends the held command, with `expire` (a PEXPIREAT on its key) or not. */
    const releaseHeld = (expire: CommandSpan | null) => {
      held.on = false;
      if (held.name === 'SET') {
        if (!expire) return batchHeldSet();
        held.tBuf = expire.buf;
        held.tStart = expire.a2Start;
        held.tEnd = expire.a2End;
        const bytes = 4 + (held.end - heldArgs()) + PXAT.length + bulkSize(held.tEnd - held.tStart);
        stats.commands++;
        stats.bytes += bytes;
        target.sendEncoded(bytes, held.db, mergedSet, passErrors, held.db * 2 + held.first);
        progress(false);
        return;
      }
      if (restoreHeld(expire)) return;
      sendHeldAsIs();
      if (expire) sendSpan(expire, 1);
    };
    const flushHeld = async () => {
      if (!held.on && batch.count === 0) return;
      await target.room(2 * (held.end - held.start) + batch.len + 256);
      if (held.on) releaseHeld(null);
      batch.flush();
    };
    /** Largest command held back (bigger ones go as they are). */
    const HOLD_MAX = 64 * 1024;
    /** Window room `takeSpan(span)` may use (a payload is at most about the command's size). */
    const needed = (span: CommandSpan) =>
      span.end - span.start + (held.on ? 2 * (held.end - held.start) + 256 : 0) + MSET_ROOM;
    /** True when `span`'s key (argument `ki`) is the held command's key. */
    const onHeldKey = (span: CommandSpan, ki: number, db: number): boolean => {
      const s = ki === 1 ? span.a1Start : span.a2Start;
      const e = ki === 1 ? span.a1End : span.a2End;
      return (
        held.db === db &&
        e - s === held.keyEnd - held.keyStart &&
        span.buf.compare(held.buf, held.keyStart, held.keyEnd, s, e) === 0
      );
    };
    /** The name of `span`'s command (upper case) if it may be held: a plain SET or a collection command; else ''. */
    const holdName = (span: CommandSpan): string => {
      if (!grouped || span.end - span.start > HOLD_MAX) return '';
      const { buf, nameStart: s, nameEnd: e } = span;
      if (e - s === 3) return mergeSets && span.argc === 3 && nameIs(buf, s, e, 'SET') ? 'SET' : '';
      if (!convertCollections || span.argc < 3) return '';
      for (const name of COLLECTION_COMMANDS) if (nameIs(buf, s, e, name)) return name;
      return '';
    };
    /** Sends `span` (a key command) and/or the held command; the window must have `needed(span)`. */
    const takeSpan = (span: CommandSpan, ki: number) => {
      const db = grouper!.currentDb;
      if (held.on) {
        const same = onHeldKey(span, ki, db);
        if (same && span.argc === 3 && nameIs(span.buf, span.nameStart, span.nameEnd, 'PEXPIREAT')) {
          releaseHeld(span);
          return;
        }
        if (same) {
          // The key has more commands: they go as the file has them.
          held.on = false;
          sendHeldAsIs();
        } else releaseHeld(null);
      }
      const name = holdName(span);
      if (name !== '') {
        const first = firstOfKey(db, span.buf, span.a1Start, span.a1End);
        if (first === 1) {
          held.on = true;
          held.name = name;
          held.buf = span.buf;
          held.start = span.start;
          held.end = span.end;
          held.db = db;
          held.keyStart = span.a1Start;
          held.keyEnd = span.a1End;
          held.first = first;
          return;
        }
        sendSpan(span, ki, first);
        return;
      }
      sendSpan(span, ki);
    };
    /** Sends `span` as it is; `first`: whether it starts a key, when already known. */
    const sendSpan = (span: CommandSpan, ki: number, first?: number) => {
      const db = grouper!.currentDb;
      const starts =
        first ??
        (ki === 1
          ? firstOfKey(db, span.buf, span.a1Start, span.a1End)
          : firstOfKey(db, span.buf, span.a2Start, span.a2End));
      const bytes = span.end - span.start;
      stats.commands++;
      stats.bytes += bytes;
      cur = span;
      target.sendEncoded(bytes, db, copySpan, passErrors, db * 2 + starts);
      progress(false);
    };
    /** A command that is not sent as it is: through the item path, alone (order is kept). */
    const viaItems = async (args: Command): Promise<boolean> => {
      await flushHeld();
      if (!grouper) {
        const header = parseHeaderCommand(args);
        grouped = header !== null && header.replay !== 'raw';
        grouper = new ItemGrouper({ grouped });
      }
      const ki = args[0] && !isName(args[0], 'RESTORE') ? keyIndex(args, upper(args[0])) : -1;
      if (ki !== -1) {
        // A key command split across input chunks: sent as it is too.
        const bytes = encodedLength(args);
        await target.room(bytes);
        if (stopped) return false;
        const db = grouper.currentDb;
        const first = firstOfKey(db, args[ki]!, 0, args[ki]!.length);
        stats.commands++;
        stats.bytes += bytes;
        target.send(args, bytes, db, args[ki], passErrors, db * 2 + first);
        progress(false);
        return true;
      }
      prevKey = null;
      const items: RestoreItem[] = [];
      grouper.push(args, items);
      grouper.end(items);
      for (const item of items) if (!(await handleItem(item))) return false;
      return true;
    };
    await passThroughResp(input, {
      truncated: options.truncated ?? 'error',
      onTruncated: (t) => dropped.push(t),
      onBytes: (n) => {
        stats.inputBytes += n;
      },
      onSpan: (span) => {
        if (stopped || !grouper) return false;
        const ki = spanKeyIndex(span);
        if (ki === -1 || !target.hasRoom(needed(span))) return false;
        checkAborted();
        takeSpan(span, ki);
        return true;
      },
      onSpanAsync: async (span) => {
        if (stopped) return false;
        const ki = grouper ? spanKeyIndex(span) : -1;
        if (ki === -1) return viaItems(decodeCommandAt(span.buf, span.start));
        checkAborted();
        await target.room(needed(span));
        if (stopped) return false;
        takeSpan(span, ki);
        return true;
      },
      onEnd: flushHeld,
      onCommand: (c) => {
        if (stopped) return Promise.resolve(false);
        checkAborted();
        return viaItems(c.args);
      },
    });
    // A file without our header does not say which commands make a key (counted at the end).
    if (!grouped) rawReplay = true;
    return true;
  };

  const itemsOf = (seg: InputSegment): AsyncIterable<RestoreItem[]> => {
    if (seg.kind === 'records') {
      const useDump = options.useRestore !== 'never';
      const encode = (r: KeyRecord) => encodeDump(r, payloadVersion);
      // restore() does not ask openInput for chunked records: every key arrives whole.
      return recordItemBatches(
        seg.records as AsyncIterable<RdbRecord>,
        filter,
        {
          ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
          ...(useDump ? { encodeDump: encode } : {}),
          dumpPayload: encode,
        },
        loadedAt,
        () => stats.expired++,
      );
    }
    if (!seg.grouped) rawReplay = true;
    return filterItemBatches(commandBatchesToItems(seg.batches, { grouped: seg.grouped }), filter);
  };

  /** The keys of `keys` (by source db) that exist on the target. */
  const existingKeys = async (keys: KeySet): Promise<KeySet> => {
    const found = new KeySet();
    let refused: Error | undefined;
    const onReply: ReplyHandler<[number, Buffer]> = {
      reply: ([db, key], _c, r) => {
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
      if (!target.hasRoom(bytes)) await target.room(bytes);
      target.send(args, bytes, dbOf(db), key, onReply, [db, key]);
    }
    await target.idle();
    if (refused) {
      throw new BackupError(
        'ERR_RESTORE',
        `cannot tell which keys of the input exist on ${conn.where}: EXISTS failed: ${refused.message}${stats.commands === 0 ? '; nothing was written' : ''}`,
        {
          cause: refused,
          details: { url: conn.where },
          hint: 'The restore user needs +exists (see the security guide)',
        },
      );
    }
    return found;
  };

  /**
   * Reads the whole input once before anything is sent (an RDB file: in its verify pass): a bad
   * input, or one that runs other commands than data, leaves the target as it was — `flush`
   * included. For commands replayed as they come into a target with keys, finds which of the
   * input's keys the target holds (the per-key rule).
   */
  const checkWhole = async (input: string): Promise<void> => {
    if (format === 'rdb') return;
    phase = 'checking';
    const check = await checkInput(input, {
      format: format!,
      filter,
      truncated: options.truncated ?? 'error',
      verbatim,
      collectKeys: !targetEmpty && !verbatim,
      // A RESTORE payload in a command file is checked like an RDB value: the server (with the
      // default sanitize-dump-payload no) would load a crafted one and crash on it later.
      checkPayload: (payload, where) => {
        try {
          checkDumpPayload(payload, { maxVersion: 0xffff });
        } catch (err) {
          throw new BackupError(
            'ERR_RESTORE',
            `${where}: the payload would not pass the server's checks: ${withoutHint(err)}; nothing was sent`,
            {
              cause: err,
              details: { input, payloadOffset: (err as { details?: { offset?: number } }).details?.offset },
              hint: 'The file is damaged or crafted: restore from a good copy',
            },
          );
        }
      },
      onBytes: (n) => {
        checkAborted();
        stats.inputBytes += n;
        progress(false);
      },
    });
    phase = 'restoring';
    stats.inputBytes = 0;
    if (check.replay && check.keys) {
      inputKeys = check.keys;
      existing = await existingKeys(check.keys);
      if (existing.size > 0 && !replace && onError === 'stop') {
        const [db, key] = existing.entries().next().value!;
        throw new BackupError(
          'ERR_RESTORE',
          `${existing.size} of the keys in ${input} already exist on ${conn.where} (the first: "${keyToText(key)}" in db ${dbOf(db)}); nothing was written`,
          {
            details: {
              url: conn.where,
              input,
              key: display(key),
              db: dbOf(db),
              existing: existing.size,
              keysRestored: 0,
            },
            hint: 'Pass --replace (replace: true) to make those keys exactly what the file says, --on-error continue (onError: "continue") to leave them as they are and restore the rest, or --flush (flush: true) to empty the target first',
          },
        );
      }
    }
    await inputChecked();
  };

  let keysBefore = 0;
  try {
    // Into an empty target (the usual restore) no key can be in the way: keys are written without
    // an EXISTS round first. A key written by another client meanwhile is not detected (it is not
    // with EXISTS either: the check and the write are not atomic). A flush happens once the input
    // has been checked, before anything else is sent.
    keysBefore = options.flush === true ? 0 : await target.keyCount();
    targetEmpty = keysBefore === 0;
    const input = options.input;
    if (typeof input === 'string') {
      format = await inputFormat(input, options.from);
      await checkWhole(input);
    } else await inputChecked(); // records from a live source: nothing to read ahead
    const segments: AsyncIterable<InputSegment> | InputSegment[] =
      typeof input === 'string'
        ? openInput(input, {
            ...(options.from === undefined ? {} : { from: options.from }),
            truncated: options.truncated ?? 'error',
            onTruncated: (t) => dropped.push(t),
            onBytes: (n) => (stats.inputBytes += n),
          })
        : [{ kind: 'records' as const, source: input.source, records: input.records }];
    if (!(await restoredRaw()) && !(await restoredPassThrough())) {
      if (format === 'rdb' && !rdbVerified) {
        // The raw path did not run: the file is verified whole before anything is sent.
        const v = await verifyRdb(input as string);
        if (v.error) {
          throw new BackupError(
            'ERR_RESTORE',
            `${input as string} is not a valid RDB file: ${v.error.message}`,
            {
              details: { path: input as string, ...v.error },
              hint: 'Nothing was written. `valkey-tools verify` shows the damage; restore from a good copy',
            },
          );
        }
        await inputChecked();
      }
      outer: for await (const seg of segments) {
        for await (const batch of itemsOf(seg))
          for (const item of batch) if (!(await handleItem(item))) break outer;
      }
    }
    if (!stopped) await flushPending();
    await target.idle();
    await Promise.all(pendingFallbacks);
    await target.idle();
    if (targetEmpty && !rawReplay && !stopped && !verbatim) {
      // Into an empty target, what it now holds is exact (keys whose commands made nothing, an
      // expiry already past, are not counted). Another client writing meanwhile would show here too.
      stats.keys = Math.max(0, (await target.keyCount()) - keysBefore);
    }
    if (rawReplay && !stopped) {
      if (inputKeys !== null) {
        // Into a target with keys: the input's keys it now holds (the ones it kept as they were aside).
        const kept = inputKeys;
        for (const [db, key] of keptAsTheyWere.entries()) kept.delete(db, key);
        stats.keys = (await existingKeys(kept)).size;
      } else stats.keys = Math.max(0, (await target.keyCount()) - keysBefore);
    }
  } catch (err) {
    await target.idle().catch(() => {});
    const written = stats.commands > 0;
    if (written && targetEmpty && !verbatim) {
      // What the target now holds of the input (keys counted as they were queued may not have gone out).
      stats.keys = await target.keyCount().then(
        (n) => Math.max(0, n - keysBefore),
        () => stats.keys,
      );
    }
    await target.close();
    await conn.close();
    // Any of our errors (an RdbError from the input, a BackupError from the target) gets the partial report.
    if (ValkeyToolsError.isInstance(err)) {
      // A failure after keys went out says so (a check that failed first wrote nothing).
      if (!written && err.code !== 'ERR_ABORTED') throw err;
      throw new BackupError(err.code as BackupErrorCode, `${withoutHint(err)}; ${partial()}`, {
        cause: err,
        details: { ...err.details, keysRestored: stats.keys },
        hint: !written
          ? 'Nothing was written; run the restore again'
          : err.code === 'ERR_ABORTED'
            ? RESUME_HINT
            : CONVERGE_HINT,
      });
    }
    throw new BackupError(
      'ERR_RESTORE',
      `restore into ${conn.where} failed: ${redactUrl(String((err as Error).message ?? err))}${written ? `; ${partial()}` : '; nothing was written'}`,
      {
        cause: err,
        details: { url: conn.where, input: inputName, keys: stats.keys, keysRestored: stats.keys },
        ...(written ? { hint: CONVERGE_HINT } : {}),
      },
    );
  }
  const held = await target.keyCounts().catch(() => []);
  const nodes = target.traffic().map((t) => ({
    ...t,
    keysHeld: held.find((h) => h.node === t.node)?.keys ?? 0,
  }));
  await target.close();
  await conn.close();
  progress(true);
  if (stopped) {
    const s: RestoreFailure = stopped;
    throw new BackupError(
      'ERR_RESTORE',
      `restore into ${conn.where} stopped at key "${s.keyBytes ? keyToText(s.keyBytes) : s.key}" (db ${s.db}): ${s.command} failed: ${s.message.replace(/\.$/, '')}; ${partial()}`,
      {
        details: {
          url: conn.where,
          input: inputName,
          key: s.key,
          db: s.db,
          keysRestored: stats.keys,
          errors,
        },
        hint: /BUSYKEY/.test(s.message)
          ? 'The key already exists: pass --replace (replace: true) to overwrite, --flush (flush: true) to empty the target first, or --on-error continue (onError: "continue") to leave existing keys as they are'
          : `Pass --on-error continue (onError: "continue") to restore the other keys and collect every failure. ${CONVERGE_HINT}`,
      },
    );
  }
  return {
    ...stats,
    skipped,
    errors,
    errorCount,
    elapsedMs: Date.now() - started,
    usedRestore,
    fellBack,
    dropped,
    nodes,
  };
}
