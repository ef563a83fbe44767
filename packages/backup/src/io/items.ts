import type { RdbRecord } from '../model.js';
import { type Command, command, encodedLength } from '../resp/encode.js';
import { decodeDump } from '../rdb/dump.js';
import { keyRecordToCommands, type RecordsToCommandsOptions } from '../resp/records-to-commands.js';
import { parseHeaderCommand } from '../resp/writer.js';

/** One unit of restore work. */
export type RestoreItem =
  | {
      kind: 'key';
      db: number;
      key: Buffer;
      /** Commands that create the key from nothing (a RESTORE, or SET/RPUSH/... + PEXPIREAT). */
      commands: Command[];
      /** Plain commands to use instead when the target refuses the RESTORE payload. */
      fallback?: () => Command[] | Promise<Command[]>;
      bytes: number;
    }
  | { kind: 'function'; code: Buffer; bytes: number }
  /** A command replayed as it is (AOF, foreign RESP files): no per-key semantics. */
  | { kind: 'raw'; db: number; command: Command; bytes: number };

export const upper = (b: Buffer | undefined) => (b ? b.toString('latin1').toUpperCase() : '');

/** Where the key is in the commands our RESP files (and the AOF rewrite) use to build a key. */
export function keyIndex(args: Command, name: string): number {
  switch (name) {
    case 'SET':
    case 'APPEND':
    case 'RPUSH':
    case 'SADD':
    case 'ZADD':
    case 'HSET':
    case 'HMSET':
    case 'XADD':
    case 'XSETID':
    case 'XCLAIM':
    case 'PEXPIREAT':
    case 'HPEXPIREAT':
    case 'RESTORE':
      return args.length > 1 ? 1 : -1;
    case 'XGROUP': {
      const sub = upper(args[1]);
      return (sub === 'CREATE' || sub === 'CREATECONSUMER' || sub === 'SETID') && args.length > 2 ? 2 : -1;
    }
    default:
      return -1;
  }
}

/**
 * Plain commands equivalent to `RESTORE key ttl payload [ABSTTL]`, for targets that refuse the
 * payload's RDB version (a Valkey 9 backup into Valkey 8): the payload is decoded here.
 */
export function restoreFallback(args: Command, db: number): () => Promise<Command[]> {
  return async () => {
    const key = args[1]!;
    const record = await decodeDump(args[3]!, key, db);
    const ttl = Number(args[2]!.toString('latin1'));
    const abs = args.slice(4).some((a) => upper(a) === 'ABSTTL');
    if (ttl > 0) record.expiresAt = abs ? ttl : Date.now() + ttl;
    return keyRecordToCommands(record);
  };
}

export interface CommandsToItemsOptions {
  /**
   * The stream groups each key's commands together (our `.valkey` files and AOF rewrites):
   * consecutive commands on one key become one key item. Otherwise every command is replayed raw.
   */
  grouped: boolean;
  /** The db the stream starts in (default 0). */
  db?: number;
}

/**
 * Groups a command stream into restore items. `SELECT` changes the db of the following items;
 * our header `ECHO` is dropped; `FUNCTION LOAD` becomes a function item.
 */
/** Groups commands into restore items synchronously: `push` returns the items a command completes. */
export class ItemGrouper {
  private db: number;
  private current: Extract<RestoreItem, { kind: 'key' }> | null = null;
  constructor(private readonly options: CommandsToItemsOptions) {
    this.db = options.db ?? 0;
  }

  /** The db the commands pushed next go to. */
  get currentDb(): number {
    return this.db;
  }

  push(args: Command, out: RestoreItem[]): void {
    const name = upper(args[0]);
    if (name === 'SELECT' && args.length === 2) {
      this.end(out);
      this.db = Number(args[1]!.toString('latin1'));
      return;
    }
    if (name === 'ECHO' && parseHeaderCommand(args)) return;
    if (name === 'FUNCTION' && upper(args[1]) === 'LOAD') {
      this.end(out);
      out.push({ kind: 'function', code: args[args.length - 1]!, bytes: encodedLength(args) });
      return;
    }
    const ki = this.options.grouped ? keyIndex(args, name) : -1;
    if (ki === -1) {
      this.end(out);
      out.push({ kind: 'raw', db: this.db, command: args, bytes: encodedLength(args) });
      return;
    }
    const key = args[ki]!;
    const cur = this.current;
    if (cur && cur.db === this.db && cur.key.equals(key)) {
      cur.commands.push(args);
      cur.bytes += encodedLength(args);
    } else {
      this.end(out);
      const next: Extract<RestoreItem, { kind: 'key' }> = {
        kind: 'key',
        db: this.db,
        key,
        commands: [args],
        bytes: encodedLength(args),
      };
      if (name === 'RESTORE' && args.length >= 4) next.fallback = restoreFallback(args, this.db);
      this.current = next;
    }
  }

  /** Flushes the key being built. */
  end(out: RestoreItem[]): void {
    if (this.current) out.push(this.current);
    this.current = null;
  }
}

export async function* commandsToItems(
  commands: AsyncIterable<Command> | Iterable<Command>,
  options: CommandsToItemsOptions,
): AsyncGenerator<RestoreItem> {
  const grouper = new ItemGrouper(options);
  const out: RestoreItem[] = [];
  for await (const args of commands) {
    grouper.push(args, out);
    if (out.length > 0) yield* out.splice(0);
  }
  grouper.end(out);
  yield* out;
}

/** `commandsToItems` over batches of commands, yielding batches of items (one await per batch). */
export async function* commandBatchesToItems(
  batches: AsyncIterable<Command[]>,
  options: CommandsToItemsOptions,
): AsyncGenerator<RestoreItem[]> {
  const grouper = new ItemGrouper(options);
  for await (const batch of batches) {
    const out: RestoreItem[] = [];
    for (const args of batch) grouper.push(args, out);
    if (out.length > 0) yield out;
  }
  const out: RestoreItem[] = [];
  grouper.end(out);
  if (out.length > 0) yield out;
}

export interface RecordsToItemsOptions extends RecordsToCommandsOptions {
  /**
   * Encodes a value as a DUMP payload for the RESTORE fast path (the RDB codec's
   * `encodeDumpPayload`). Without it every key is written with plain commands.
   */
  encodeDump?: (record: Extract<RdbRecord, { kind: 'key' }>) => Buffer;
}

/**
 * `RESTORE key ttl payload [ABSTTL] [FREQ f | IDLETIME s]` for a key with these attributes. RESTORE
 * takes one of FREQ and IDLETIME (a file has the one the source's maxmemory-policy kept).
 */
export function restoreCommand(
  key: Buffer,
  payload: Buffer,
  attrs: { expiresAt?: number | undefined; lfuFreq?: number | undefined; lruIdle?: number | undefined },
): Command {
  const args = command('RESTORE', key, attrs.expiresAt ?? 0, payload);
  if (attrs.expiresAt !== undefined) args.push(Buffer.from('ABSTTL'));
  if (attrs.lfuFreq !== undefined) args.push(Buffer.from('FREQ'), Buffer.from(String(attrs.lfuFreq)));
  else if (attrs.lruIdle !== undefined)
    args.push(Buffer.from('IDLETIME'), Buffer.from(String(attrs.lruIdle)));
  return args;
}

/**
 * One record as a restore item: RESTORE when a payload encoder is given (and can carry the value),
 * plain commands otherwise; undefined for records that restore nothing.
 */
export function recordToItem(r: RdbRecord, options: RecordsToItemsOptions = {}): RestoreItem | undefined {
  if (r.kind === 'function') {
    const c = command('FUNCTION', 'LOAD', 'REPLACE', r.code);
    return { kind: 'function', code: r.code, bytes: encodedLength(c) };
  }
  if (r.kind !== 'key') return undefined;
  const plain = () => keyRecordToCommands(r, options);
  let payload: Buffer | undefined;
  try {
    payload = options.encodeDump?.(r);
  } catch {
    // A value the payload version cannot carry (e.g. field TTLs before RDB 80): plain commands.
    payload = undefined;
  }
  if (payload) {
    const args = restoreCommand(r.key, payload, r);
    return {
      kind: 'key',
      db: r.db,
      key: r.key,
      commands: [args],
      fallback: plain,
      bytes: encodedLength(args),
    };
  }
  const cmds = plain();
  return {
    kind: 'key',
    db: r.db,
    key: r.key,
    commands: cmds,
    bytes: cmds.reduce((n, c) => n + encodedLength(c), 0),
  };
}

/** Turns records into restore items (see `recordToItem`). */
export async function* recordsToItems(
  records: AsyncIterable<RdbRecord> | Iterable<RdbRecord>,
  options: RecordsToItemsOptions = {},
): AsyncGenerator<RestoreItem> {
  for await (const r of records) {
    const item = recordToItem(r, options);
    if (item) yield item;
  }
}
