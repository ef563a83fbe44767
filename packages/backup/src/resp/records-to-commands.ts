import type { FunctionRecord, KeyRecord, RdbRecord, StreamId, StreamValue, Value } from '../model.js';
import type { KeyBeginRecord, RdbChunkRecord } from '../rdb/reader.js';
import { type Command, type CommandArg, command } from './encode.js';
import { BackupError } from '../errors.js';

export interface RecordsToCommandsOptions {
  /** Elements per RPUSH/SADD/ZADD/HSET command (default 64, like the server's AOF rewrite). */
  batchSize?: number;
  /**
   * How to write module values (which have no plain-command form): a function that turns the
   * value into a DUMP payload for `RESTORE` (default: `encodeDumpPayload` from the RDB codec).
   */
  dumpPayload?: (record: KeyRecord) => Buffer;
  /**
   * Write a sorted set holding a -0 score as `RESTORE` (with `dumpPayload`) instead of ZADD,
   * which stores -0 as 0 (the server keeps -0 read from an old ziplist's "-0"). Default false.
   */
  exactScores?: boolean;
  /** Always emit `SELECT <db>` before the first key, even for db 0 (default true). */
  selectFirstDb?: boolean;
}

/** `<ms>-<seq>` */
export function formatStreamId(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

/**
 * Formats a sorted-set score so the server parses back exactly the same double: shortest
 * round-trip digits (JavaScript's `Number#toString`), and `inf`, `-inf`, `-0` spelled the way
 * `strtod` reads them.
 */
export function formatScore(score: number): string {
  if (Number.isNaN(score)) {
    throw new BackupError('ERR_UNSUPPORTED', 'a sorted-set score is NaN, which the server cannot store', {
      hint: 'The source data is corrupt; check the file with valkey-check-rdb',
    });
  }
  if (score === Number.POSITIVE_INFINITY) return 'inf';
  if (score === Number.NEGATIVE_INFINITY) return '-inf';
  if (Object.is(score, -0)) return '-0';
  return String(score);
}

const U64_MAX = 2n ** 64n - 1n;

function entriesRead(n: bigint): string {
  // The RDB stores "unknown" as -1 (written as an unsigned 64-bit length).
  return n === U64_MAX || n < 0n ? '-1' : String(n);
}

function* batched<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function xaddCommands(key: Buffer, entries: StreamValue['entries']): Command[] {
  return entries.map((e) => {
    const args: CommandArg[] = ['XADD', key, formatStreamId(e.id)];
    for (const [f, val] of e.fields) args.push(f, val);
    return command(...args);
  });
}

function streamCommands(key: Buffer, v: StreamValue): Command[] {
  const out: Command[] = xaddCommands(key, v.entries);
  if (v.entries.length === 0) {
    // An empty stream: create it with one entry trimmed away at once (the AOF rewrite's trick).
    const id = v.lastId.ms === 0n && v.lastId.seq === 0n ? '0-1' : formatStreamId(v.lastId);
    out.push(command('XADD', key, 'MAXLEN', '0', id, 'x', 'y'));
  }
  out.push(...streamMetaCommands(key, v));
  return out;
}

/** XSETID, consumer groups, their PELs and idle consumers: everything after the entries. */
function streamMetaCommands(key: Buffer, v: Omit<StreamValue, 'type' | 'entries'>): Command[] {
  const out: Command[] = [];
  const setid: CommandArg[] = ['XSETID', key, formatStreamId(v.lastId)];
  if (v.entriesAdded !== undefined) setid.push('ENTRIESADDED', v.entriesAdded);
  if (v.maxDeletedId !== undefined) setid.push('MAXDELETEDID', formatStreamId(v.maxDeletedId));
  out.push(command(...setid));
  for (const g of v.groups) {
    const create: CommandArg[] = ['XGROUP', 'CREATE', key, g.name, formatStreamId(g.lastId)];
    if (g.entriesRead !== undefined) create.push('ENTRIESREAD', entriesRead(g.entriesRead));
    out.push(command(...create));
    for (const p of g.pending) {
      out.push(
        command(
          'XCLAIM',
          key,
          g.name,
          p.consumer,
          '0',
          formatStreamId(p.id),
          'TIME',
          p.deliveryTime,
          'RETRYCOUNT',
          p.deliveryCount,
          'JUSTID',
          'FORCE',
        ),
      );
    }
    const owners = new Set(g.pending.map((p) => p.consumer.toString('latin1')));
    for (const c of g.consumers) {
      if (!owners.has(c.name.toString('latin1'))) {
        out.push(command('XGROUP', 'CREATECONSUMER', key, g.name, c.name));
      }
    }
  }
  return out;
}

/**
 * The commands that re-create one key, following the server's own AOF rewrite: one creating
 * command per batch of elements, then per-field TTLs, then `PEXPIREAT` with the absolute expiry.
 */
export function keyRecordToCommands(record: KeyRecord, options: RecordsToCommandsOptions = {}): Command[] {
  const out = valueCommands(record.key, record.value, options, 'whole');
  if (record.expiresAt !== undefined) out.push(command('PEXPIREAT', record.key, record.expiresAt));
  return out;
}

/**
 * Commands for a value, or for one part of a huge key delivered in parts (`first` false for the
 * later parts: a string piece is then appended).
 */
function valueCommands(
  key: Buffer,
  value: Value,
  options: RecordsToCommandsOptions,
  mode: 'whole' | 'first-part' | 'later-part',
): Command[] {
  const size = options.batchSize ?? 64;
  const out: Command[] = [];
  switch (value.type) {
    case 'string':
      out.push(command(mode === 'later-part' ? 'APPEND' : 'SET', key, value.value));
      break;
    case 'list':
      for (const b of batched(value.items, size)) out.push(command('RPUSH', key, ...b));
      break;
    case 'set':
      for (const b of batched(value.members, size)) out.push(command('SADD', key, ...b));
      break;
    case 'zset':
      // ZADD stores -0 as 0; only a DUMP payload (a listpack "-0", a binary double) keeps -0.
      if (
        mode === 'whole' &&
        options.exactScores &&
        options.dumpPayload &&
        value.entries.some((e) => Object.is(e.score, -0))
      ) {
        out.push(
          command('RESTORE', key, '0', options.dumpPayload({ kind: 'key', db: 0, key, encoding: '', value })),
        );
        break;
      }
      for (const b of batched(value.entries, size)) {
        out.push(command('ZADD', key, ...b.flatMap((e) => [formatScore(e.score), e.member])));
      }
      break;
    case 'hash': {
      for (const b of batched(value.entries, size)) {
        out.push(command('HSET', key, ...b.flatMap((e) => [e.field, e.value])));
      }
      const byTime = new Map<number, Buffer[]>();
      for (const e of value.entries) {
        if (e.expiresAt === undefined) continue;
        const list = byTime.get(e.expiresAt);
        if (list) list.push(e.field);
        else byTime.set(e.expiresAt, [e.field]);
      }
      for (const [at, fields] of byTime) {
        for (const b of batched(fields, size)) {
          out.push(command('HPEXPIREAT', key, at, 'FIELDS', b.length, ...b));
        }
      }
      break;
    }
    case 'stream':
      out.push(...(mode === 'whole' ? streamCommands(key, value) : xaddCommands(key, value.entries)));
      break;
    case 'module': {
      if (!options.dumpPayload) {
        throw new BackupError(
          'ERR_UNSUPPORTED',
          `key "${key.toString('latin1')}" holds a module value (${value.moduleName}) which has no plain-command form`,
          {
            details: { key: key.toString('latin1'), module: value.moduleName },
            hint: 'Pass dumpPayload to write it as RESTORE',
          },
        );
      }
      out.push(
        command('RESTORE', key, '0', options.dumpPayload({ kind: 'key', db: 0, key, encoding: '', value })),
      );
      break;
    }
  }
  return out;
}

/**
 * Commands for the records of one huge key delivered in parts (`readRdb(..., { chunked })`):
 * the key is streamed part by part, never held whole.
 */
export class ChunkedKeyCommands {
  private begin: KeyBeginRecord | null = null;
  private first = true;
  constructor(private readonly options: RecordsToCommandsOptions = {}) {}

  push(r: RdbChunkRecord): Command[] {
    if (r.kind === 'key-begin') {
      this.begin = r;
      this.first = true;
      return [];
    }
    if (r.kind === 'key-part') {
      const out = valueCommands(r.key, r.value, this.options, this.first ? 'first-part' : 'later-part');
      this.first = false;
      return out;
    }
    const out: Command[] = [];
    if (r.stream) out.push(...streamMetaCommands(r.key, r.stream));
    if (this.begin?.expiresAt !== undefined) out.push(command('PEXPIREAT', r.key, this.begin.expiresAt));
    this.begin = null;
    return out;
  }
}

export function functionRecordToCommand(record: FunctionRecord): Command {
  return command('FUNCTION', 'LOAD', 'REPLACE', record.code);
}

/**
 * Turns a record stream (from an RDB file, JSONL, a live server) into the commands that re-create
 * it: `FUNCTION LOAD REPLACE` per library, `SELECT` whenever the db changes, then each key's
 * commands. Streaming: holds one key at a time.
 */
export async function* recordsToCommands(
  records: AsyncIterable<RdbRecord | RdbChunkRecord> | Iterable<RdbRecord | RdbChunkRecord>,
  options: RecordsToCommandsOptions = {},
): AsyncGenerator<Command> {
  let db = options.selectFirstDb === false ? 0 : -1;
  const chunked = new ChunkedKeyCommands(options);
  for await (const r of records as AsyncIterable<RdbRecord | RdbChunkRecord>) {
    if (r.kind === 'function') yield functionRecordToCommand(r);
    else if (r.kind === 'key' || r.kind === 'key-begin') {
      if (r.db !== db) {
        yield command('SELECT', r.db);
        db = r.db;
      }
      if (r.kind === 'key') yield* keyRecordToCommands(r, options);
      else chunked.push(r);
    } else if (r.kind === 'key-part' || r.kind === 'key-end') yield* chunked.push(r);
  }
}
