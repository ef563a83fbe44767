import { createReadStream } from 'node:fs';
import { readAof } from '../aof/read-aof.js';
import type { CompiledFilter } from '../io/filter.js';
import { counted } from '../io/input.js';
import { jsonlToRecordBatches } from '../jsonl/jsonl.js';
import type { InputFormat } from '../io/formats.js';
import { decodeCommandAt } from '../resp/encode.js';
import { BackupError } from '../errors.js';
import type { CommandSpan } from '../resp/parser.js';
import { readableToCommands } from '../resp/readable.js';
import { parseHeaderCommand } from '../resp/writer.js';
import { displayBytes } from '../rdb/text.js';
import { passThroughResp, spanKeyIndex } from './pass-through.js';
import { commandKeys, type DataCommand, dataCommand, GROUPED_KEY_COMMANDS } from './data-commands.js';

/** Keys by db, as latin1 strings (byte for byte). */
export class KeySet {
  private readonly dbs = new Map<number, Set<string>>();
  size = 0;

  add(db: number, key: Buffer): void {
    let s = this.dbs.get(db);
    if (!s) this.dbs.set(db, (s = new Set()));
    const k = key.toString('latin1');
    if (!s.has(k)) {
      s.add(k);
      this.size++;
    }
  }

  has(db: number, key: Buffer): boolean {
    return this.size > 0 && this.dbs.get(db)?.has(key.toString('latin1')) === true;
  }

  /** Removes the key; true when it was there. */
  delete(db: number, key: Buffer): boolean {
    if (this.size === 0 || this.dbs.get(db)?.delete(key.toString('latin1')) !== true) return false;
    this.size--;
    return true;
  }

  *entries(): Generator<[db: number, key: Buffer]> {
    for (const [db, s] of this.dbs) for (const k of s) yield [db, Buffer.from(k, 'latin1')];
  }
}

export interface CheckInputOptions {
  format: InputFormat;
  filter: CompiledFilter;
  truncated: 'error' | 'drop';
  /** Replay any command as it comes (no allow-list, commands may span keys). */
  verbatim: boolean;
  /** Collect the keys the input writes (see `InputCheck.keys`). */
  collectKeys: boolean;
  /** Throws when a RESTORE payload would not pass the server's deep sanitization. */
  checkPayload?: (payload: Buffer, where: string) => void;
  onBytes?: (n: number) => void;
}

export interface InputCheck {
  /** Some of the input is replayed as it comes (a RESP file without our header, an AOF's increments). */
  replay: boolean;
  /** The keys (by source db) the input writes, when `collectKeys` was asked (filters applied). */
  keys: KeySet | null;
  /** Commands (or records) read. */
  items: number;
  /** The source dbs the input writes keys in (filters applied). */
  dbs: Set<number>;
}

const MAX_MULTI_KEYS_SHOWN = 3;

/** A command as the checker sees it: its upper-case name and its arguments, decoded on demand. */
interface CommandView {
  name: string;
  argc: number;
  args(): Buffer[];
  /** The first argument (cheap: a view of the input when the command came as a span). */
  a1(): Buffer | undefined;
  source: string;
  index: number;
  /** Byte offset of the command in its file (undefined for line-based input). */
  offset: number | undefined;
}

const where = (c: CommandView) =>
  `${c.source}: command #${c.index + 1}${c.offset === undefined ? '' : ` at byte ${c.offset}`}`;

/**
 * Checks the commands of one segment (a file, or the increments of an AOF) before a restore sends
 * anything: only data commands (see DATA_COMMANDS), no command spanning keys, no MULTI block
 * across keys, RESTORE payloads checked; a file with our header only has the commands our writer
 * builds keys with. Keeps the db SELECT gives, and collects keys when asked.
 */
class SegmentChecker {
  private db = 0;
  /** The current db is in `dbs` already. */
  private dbNoted = false;
  private grouped = false;
  private started = false;
  /** Keys of the open MULTI block (latin1), and where it began. */
  private multi: { keys: Set<string>; at: string } | null = null;

  constructor(
    private readonly options: CheckInputOptions,
    private readonly keys: KeySet | null,
    /** Header-less commands replayed as they come (AOF increments) rather than possibly grouped. */
    private readonly alwaysReplay: boolean,
    private readonly onReplay: () => void,
    /** Where the dbs keys are written in are noted. */
    private readonly dbs: Set<number>,
  ) {}

  private noteDb(): void {
    this.dbNoted = true;
    if (this.options.filter.db(this.db)) this.dbs.add(this.db);
  }

  private refuse(c: CommandView, why: string, hint: string): never {
    throw new BackupError('ERR_REFUSED_COMMAND', `${where(c)}: ${why}; nothing was sent`, {
      details: { source: c.source, command: c.index, offset: c.offset, name: c.name },
      hint,
    });
  }

  /**
   * The common case without building anything: a command our files build keys with (SET, RPUSH,
   * HSET, ... as `spanKeyIndex` knows them: data, one key as first argument, allowed in grouped
   * files too), outside a MULTI block. False when `check` must look.
   */
  quick(span: CommandSpan): boolean {
    if (!this.started || this.multi !== null || spanKeyIndex(span) !== 1) return false;
    if (!this.dbNoted) this.noteDb();
    if (this.grouped || this.options.verbatim || this.keys === null) return true;
    if (this.options.filter.any) return false;
    this.keys.add(this.db, span.buf.subarray(span.a1Start, span.a1End));
    return true;
  }

  check(c: CommandView): void {
    if (!this.started) {
      this.started = true;
      const header = c.name === 'ECHO' && !this.alwaysReplay ? parseHeaderCommand(c.args()) : null;
      this.grouped = header !== null && header.replay !== 'raw';
      if (!this.grouped) this.onReplay();
      if (header) return;
    }
    const o = this.options;
    if (c.name === 'SELECT') {
      const db = Number(c.a1()?.toString('latin1'));
      if (c.argc !== 2 || !Number.isInteger(db) || db < 0)
        this.refuse(c, 'SELECT needs one db number', 'Fix or remove the command');
      if (db !== this.db) {
        this.db = db;
        this.dbNoted = false;
      }
      return;
    }
    if (c.name === 'FUNCTION') {
      const sub = c.a1()?.toString('latin1').toUpperCase();
      if (sub !== 'LOAD' || c.argc < 3)
        if (!o.verbatim)
          this.refuse(c, `FUNCTION ${sub ?? ''} is not data (only FUNCTION LOAD is replayed)`, VERBATIM_HINT);
      return;
    }
    if (c.name === 'MULTI' || c.name === 'EXEC') {
      if (o.verbatim) return;
      if (this.grouped) this.refuse(c, `${c.name} does not belong in a .valkey file`, VERBATIM_HINT);
      if (c.name === 'MULTI') {
        if (this.multi) this.refuse(c, 'MULTI inside a MULTI block', 'Fix the file: it is damaged');
        this.multi = { keys: new Set(), at: where(c) };
      } else {
        if (!this.multi) this.refuse(c, 'EXEC without MULTI', 'Fix the file: it is damaged');
        this.multi = null;
      }
      return;
    }
    const data = dataCommand(c.name, c.name === 'XGROUP' ? c.args() : []);
    if (!data) {
      if (o.verbatim) return;
      this.refuse(
        c,
        `${c.name} is not a command that writes data (a restore replays only data: ${DATA_HINT})`,
        VERBATIM_HINT,
      );
    }
    if (this.grouped && !o.verbatim && !GROUPED_KEY_COMMANDS.has(c.name)) {
      this.refuse(
        c,
        `${c.name} is not a command .valkey files build keys with (the file's header says each key's commands make it from nothing)`,
        'Remove the header (the first ECHO command) to replay the file command by command, or fix the file',
      );
    }
    if (data.keys === 'cross') {
      if (o.verbatim) return;
      this.refuse(
        c,
        `${c.name} reads or moves data between keys, so a restore cannot keep, skip or replace each key on its own`,
        VERBATIM_HINT,
      );
    }
    if (c.name === 'RESTORE' && o.checkPayload) {
      const args = c.args();
      if (args.length < 4) this.refuse(c, 'RESTORE needs a key, a ttl and a payload', 'Fix the file');
      o.checkPayload(args[3]!, `${where(c)} (RESTORE of key "${displayBytes(args[1]!)}")`);
    }
    if (!this.dbNoted) this.noteDb();
    this.noteKeys(c, data);
  }

  private noteKeys(c: CommandView, data: DataCommand): void {
    const o = this.options;
    const multi = this.multi && !o.verbatim ? this.multi : null;
    // Keys are collected where the per-key rule needs them: commands replayed as they come.
    const keys = this.grouped ? null : this.keys;
    if (!multi && !keys) return;
    const named = data.keys === 'first' ? (c.argc > 1 ? [c.a1()!] : []) : commandKeys(data, c.args());
    for (const key of named) {
      if (multi) {
        multi.keys.add(key.toString('latin1'));
        if (multi.keys.size > 1) {
          const shown = [...multi.keys]
            .slice(0, MAX_MULTI_KEYS_SHOWN)
            .map((k) => `"${displayBytes(Buffer.from(k, 'latin1'))}"`);
          this.refuse(
            c,
            `the MULTI block begun at ${multi.at} spans keys (${shown.join(', ')}), so a restore cannot keep, skip or replace each key on its own`,
            VERBATIM_HINT,
          );
        }
      }
      if (
        keys &&
        o.filter.db(this.db) &&
        o.filter.key(key) &&
        (data.type === undefined || o.filter.type(data.type))
      )
        keys.add(this.db, key);
    }
  }

  end(): void {
    if (this.multi && !this.options.verbatim) {
      // A transaction the server never saw EXEC for is not replayed by the server either.
      this.multi = null;
    }
  }
}

const DATA_HINT = 'strings, lists, hashes, sets, sorted sets, streams, expiries, DEL, SELECT, FUNCTION LOAD';
const VERBATIM_HINT =
  'Remove the command from the file; or, if you trust the file and want every command run as it is (existing keys may then be changed or merged into), pass verbatim: true (--verbatim)';

/** A view of a command that arrived whole in one chunk. */
function spanView(span: CommandSpan, source: string): CommandView {
  let decoded: Buffer[] | undefined;
  return {
    name: span.buf.toString('latin1', span.nameStart, span.nameEnd).toUpperCase(),
    argc: span.argc,
    args: () => (decoded ??= decodeCommandAt(span.buf, span.start)),
    a1: () => (span.a1Start === -1 ? undefined : span.buf.subarray(span.a1Start, span.a1End)),
    source,
    index: span.index,
    offset: span.offset,
  };
}

function parsedView(c: { args: Buffer[]; index: number; offset?: number }, source: string): CommandView {
  return {
    name: (c.args[0]?.toString('latin1') ?? '').toUpperCase(),
    argc: c.args.length,
    args: () => c.args,
    a1: () => c.args[1],
    source,
    index: c.index,
    offset: c.offset,
  };
}

/** Feeds every command of a RESP file to `checker`, read the way the pass-through restore reads it. */
async function scanRespFile(
  path: string,
  checker: SegmentChecker,
  options: CheckInputOptions,
): Promise<number> {
  let n = 0;
  await passThroughResp(path, {
    onSpan: (span) => {
      n++;
      if (!checker.quick(span)) checker.check(spanView(span, path));
      return true;
    },
    // onSpan takes every span, so nothing is handed on.
    onSpanAsync: async () => true,
    onCommand: async (c) => {
      n++;
      checker.check(parsedView(c, path));
      return true;
    },
    onEnd: async () => checker.end(),
    truncated: options.truncated,
    ...(options.onBytes ? { onBytes: options.onBytes } : {}),
  });
  return n;
}

/**
 * Reads a restore's whole input once before anything is sent (and before `flush` empties the
 * target): syntax, the commands it would run, RESTORE payloads, records. Throws the first problem
 * with its position. RDB files are checked by the restore's own verify pass instead.
 */
export async function checkInput(path: string, options: CheckInputOptions): Promise<InputCheck> {
  const keys = options.collectKeys ? new KeySet() : null;
  const dbs = new Set<number>();
  const result: InputCheck = { replay: false, keys, items: 0, dbs };
  const onReplay = () => {
    result.replay = true;
  };
  switch (options.format) {
    case 'rdb':
      return result;
    case 'jsonl': {
      const stream = createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
      for await (const batch of jsonlToRecordBatches(counted(stream, options.onBytes))) {
        for (const r of batch) if (r.kind === 'key' && options.filter.db(r.db)) dbs.add(r.db);
        result.items += batch.length;
      }
      return result;
    }
    case 'resp': {
      const checker = new SegmentChecker(options, keys, false, onReplay, dbs);
      result.items = await scanRespFile(path, checker, options);
      return result;
    }
    case 'readable': {
      const checker = new SegmentChecker(options, keys, false, onReplay, dbs);
      const stream = createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
      let index = 0;
      for await (const args of readableToCommands(counted(stream, options.onBytes), { source: path })) {
        checker.check(parsedView({ args, index: index++ }, path));
      }
      checker.end();
      result.items = index;
      return result;
    }
    case 'aof': {
      for await (const seg of readAof(path, { truncated: options.truncated })) {
        if (seg.kind === 'records') {
          for await (const r of seg.records) {
            result.items++;
            if (r.kind === 'key' && options.filter.db(r.db)) dbs.add(r.db);
            if (keys && r.kind === 'key' && options.filter.db(r.db) && options.filter.key(r.key))
              keys.add(r.db, r.key);
          }
          continue;
        }
        const checker = new SegmentChecker(options, keys, true, onReplay, dbs);
        for await (const batch of seg.batches)
          for (const c of batch) {
            result.items++;
            checker.check(parsedView(c, seg.file));
          }
        checker.end();
      }
      return result;
    }
  }
}
