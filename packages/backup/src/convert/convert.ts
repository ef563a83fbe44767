import { resolve } from 'node:path';
import { isEmptyCollection } from '../rdb/value-parts.js';
import { statSync } from 'node:fs';
import type { KeyRecord, RdbRecord } from '../model.js';
import type { RdbChunkRecord } from '../rdb/reader.js';
import { type Command, command } from '../resp/encode.js';
import { BackupError } from '../errors.js';
import { commandsToReadable } from '../resp/readable.js';
import {
  ChunkedKeyCommands,
  functionRecordToCommand,
  keyRecordToCommands,
} from '../resp/records-to-commands.js';
import { commandBatchesToResp, type RespHeaderInfo } from '../resp/writer.js';
import { rdbFileToResp } from '../resp/rdb-to-resp.js';
import { rdbFileToJsonl } from '../jsonl/rdb-to-jsonl.js';
import { DirectFallback } from '../rdb/direct.js';
import { commandsToItems } from '../io/items.js';
import { abortable, partialPath, writeFileAtomically } from '../io/atomic.js';
import { commandsToRecords } from '../io/commands-to-records.js';
import { commandValueType, type CompiledFilter, compileFilter, type KeyFilter } from '../io/filter.js';
import { checkOutputFormat, formatFromPath, type InputFormat, type OutputFormat } from '../io/formats.js';
import { flattenBatches, inputFormat, openInput } from '../io/input.js';
import { recordBatchesToJsonlChunks } from '../jsonl/jsonl.js';
import { encodeDump } from '../rdb/dump.js';
import { flattenRecordBatches, singles } from '../rdb/records.js';
import { writeRdb } from '../rdb/writer.js';

export interface ConvertProgress {
  /** Keys written. */
  keys: number;
  bytesRead: number;
  bytesWritten: number;
  elapsedMs: number;
  done: boolean;
}

export interface ConvertOptions extends KeyFilter {
  /** Input file or multi-part AOF directory. */
  input: string;
  /** Output file (written under a temp name, renamed when complete). */
  output: string;
  /** Input format; default from the name (`.rdb`, `.valkey`/`.resp`, `.txt`, `.jsonl`, `.aof`, a directory = AOF). */
  from?: InputFormat;
  /** Output format; default from the name. */
  to?: OutputFormat;
  /** Elements per RPUSH/SADD/ZADD/HSET (default 64). */
  batchSize?: number;
  /** An incomplete last command in RESP/AOF input: `error` (default) or `drop` (reported in the result). */
  truncated?: 'error' | 'drop';
  onProgress?: (progress: ConvertProgress) => void;
  progressIntervalMs?: number;
  /** Stops the conversion (Ctrl-C): it rejects with `ERR_ABORTED` and the output is not written. */
  signal?: AbortSignal;
}

export interface ConvertResult {
  from: InputFormat;
  to: OutputFormat;
  keys: number;
  bytesRead: number;
  bytesWritten: number;
  elapsedMs: number;
  /** Incomplete trailing commands dropped from the input. */
  dropped: Array<{ source: string; offset: number; bytes: number }>;
  /** Threads that converted the input: 2 when a big RDB's second half was converted alongside. */
  threads: number;
}

/** Which records pass a filter, one at a time (keeps whether a key in parts is skipped). */
class RecordFilter {
  private skipping = false;
  constructor(
    private readonly f: CompiledFilter,
    private readonly count: () => void,
  ) {}

  keep(r: RdbRecord | RdbChunkRecord): boolean {
    const f = this.f;
    if (r.kind === 'key') {
      if (!(f.db(r.db) && f.key(r.key) && f.type(r.value.type)) || isEmptyCollection(r.value)) return false;
      this.count();
    } else if (r.kind === 'key-begin') {
      this.skipping =
        !(f.db(r.db) && f.key(r.key) && f.type(r.type)) ||
        (r.elements === 0 && r.type !== 'stream' && r.type !== 'string');
      if (this.skipping) return false;
      this.count();
    } else if (r.kind === 'key-part' || r.kind === 'key-end') {
      if (this.skipping) return false;
    }
    return true;
  }
}

async function* filterRecords(
  records: AsyncIterable<RdbRecord | RdbChunkRecord>,
  f: CompiledFilter,
  count: () => void,
): AsyncGenerator<RdbRecord | RdbChunkRecord> {
  const filter = new RecordFilter(f, count);
  for await (const r of records) if (filter.keep(r)) yield r;
}

/**
 * Converts between RDB, RESP text (`.valkey`), the readable view and JSONL, reading AOF too,
 * streaming (one key in memory at a time) and without a server.
 */
/** The error of a conversion stopped by its signal: nothing was written. */
function convertAborted(output: string): BackupError {
  return new BackupError('ERR_ABORTED', `convert was aborted; ${output} was not written`, {
    details: { output },
  });
}

export async function convert(options: ConvertOptions): Promise<ConvertResult> {
  const started = Date.now();
  const to = checkOutputFormat(options.to ?? formatFromPath(options.output, 'output'));
  const filter = compileFilter(options);
  const dropped: ConvertResult['dropped'] = [];
  let keys = 0;
  let bytesRead = 0;
  let bytesWritten = 0;
  let last = 0;
  const interval = options.progressIntervalMs ?? 250;
  const progress = (done: boolean) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!done && now - last < interval) return;
    last = now;
    options.onProgress({ keys, bytesRead, bytesWritten, elapsedMs: now - started, done });
  };
  let from: InputFormat | undefined = options.from;
  const segments = openInput(options.input, {
    ...(options.from === undefined ? {} : { from: options.from }),
    truncated: options.truncated ?? 'error',
    onTruncated: (t) => dropped.push(t),
    // Huge keys stream through in parts: memory stays bounded by one batch, not one key.
    chunked: true,
    onBytes: (n) => {
      bytesRead += n;
      progress(false);
    },
  });
  const countKey = () => {
    keys++;
  };
  const batch = options.batchSize === undefined ? {} : { batchSize: options.batchSize };
  const header: RespHeaderInfo = {
    tool: '@valkey-tools/backup',
    created: new Date(started).toISOString(),
    source: options.input,
  };

  const aofInput = from === 'aof' || (from === undefined && isAofPath(options.input));
  if (aofInput) header.replay = 'raw';

  /**
   * Everything as records (RDB / JSONL output), in batches: a decoded batch of an RDB input at a
   * time (no await per record), one record at a time from other inputs.
   */
  async function* allRecordBatches(): AsyncGenerator<Array<RdbRecord | RdbChunkRecord>> {
    // Keys already written: commands must not build one again. Only an AOF has commands after
    // records (its RDB preamble): for a plain RDB input the set would only grow with the file.
    const seen = new Set<string>();
    for await (const seg of segments) {
      if (seg.kind === 'records') {
        const keep = new RecordFilter(filter, countKey);
        for await (const batch of seg.batches ?? singles(seg.records)) {
          const out: Array<RdbRecord | RdbChunkRecord> = [];
          for (const r of batch) {
            if (!keep.keep(r)) continue;
            if (aofInput && (r.kind === 'key' || r.kind === 'key-begin'))
              seen.add(`${r.db}:${r.key.toString('latin1')}`);
            out.push(r);
          }
          if (out.length > 0) yield out;
        }
      } else {
        yield* singles(
          filterRecords(
            commandsToRecords(flattenBatches(seg.batches), { source: seg.source, seen }),
            filter,
            countKey,
          ),
        );
      }
    }
  }

  /**
   * Everything as commands (RESP / readable output), one batch per key (one await per record, not
   * per command: this is the hot path of RDB -> RESP).
   */
  async function* allCommandBatches(): AsyncGenerator<Command[]> {
    let db = -1;
    const cmdOptions = { ...batch, exactScores: true, dumpPayload: (r: KeyRecord) => encodeDump(r) };
    for await (const seg of segments) {
      if (seg.kind === 'records') {
        const chunked = new ChunkedKeyCommands(cmdOptions);
        let skipping = false;
        // One output batch per decoded record batch: no await per key.
        for await (const batch of seg.batches ?? singles(seg.records)) {
          const out: Command[] = [];
          for (const r of batch) {
            switch (r.kind) {
              case 'function':
                out.push(functionRecordToCommand(r));
                break;
              case 'key':
              case 'key-begin': {
                const type = r.kind === 'key' ? r.value.type : r.type;
                skipping =
                  !(filter.db(r.db) && filter.key(r.key) && filter.type(type)) ||
                  (r.kind === 'key'
                    ? isEmptyCollection(r.value)
                    : r.elements === 0 && type !== 'stream' && type !== 'string');
                if (skipping) break;
                keys++;
                if (r.db !== db) {
                  out.push(command('SELECT', r.db));
                  db = r.db;
                }
                if (r.kind === 'key') for (const c of keyRecordToCommands(r, cmdOptions)) out.push(c);
                else chunked.push(r);
                break;
              }
              case 'key-part':
              case 'key-end':
                if (!skipping) for (const c of chunked.push(r)) out.push(c);
                break;
            }
          }
          if (out.length > 0) yield out;
        }
        continue;
      }
      if (!seg.grouped) header.replay = 'raw';
      for await (const item of commandsToItems(flattenBatches(seg.batches), {
        grouped: seg.grouped || filter.any,
      })) {
        if (item.kind === 'function') {
          yield [command('FUNCTION', 'LOAD', 'REPLACE', item.code)];
          continue;
        }
        if (!filter.db(item.db)) continue;
        if (item.kind === 'key') {
          if (!filter.key(item.key)) continue;
          const t = commandValueType(item.commands[0]!);
          if (t !== undefined && !filter.type(t)) continue;
          keys++;
        } else if (filter.any && (options.match !== undefined || options.type !== undefined)) {
          throw new BackupError(
            'ERR_UNSUPPORTED_COMMAND',
            `${seg.source}: "${item.command[0]!.toString('latin1')}" cannot be filtered by key pattern or type`,
            { hint: 'Convert without match/type, or restore into a server and back up with filters' },
          );
        }
        const out: Command[] = [];
        if (item.db !== db) {
          out.push(command('SELECT', item.db));
          db = item.db;
        }
        if (item.kind === 'key') out.push(...item.commands);
        else out.push(item.command);
        yield out;
      }
    }
  }

  // RDB -> RESP / JSONL, the common case: output written straight from the walked file's bytes. When the
  // walk gives up (corrupt data, warnings, module values...), the record reader does it all again.
  if (
    (to === 'resp' || to === 'jsonl') &&
    !filter.any &&
    (await inputFormatOrUndefined(options.input, options.from)) === 'rdb'
  ) {
    const onProgress = (read: number, k: number) => {
      bytesRead = read;
      keys = k;
      progress(false);
    };
    // A big file's second half is converted on another thread meanwhile, into a hidden temp
    // file beside the output (named like the output's own temp file: a killed run's is removed).
    const spillPath = partialPath(resolve(options.output));
    const fast =
      to === 'resp'
        ? rdbFileToResp(options.input, {
            ...batch,
            header,
            commands: { ...batch, exactScores: true, dumpPayload: encodeDump },
            onProgress,
            spillPath,
          })
        : rdbFileToJsonl(options.input, { onProgress, spillPath });
    try {
      bytesWritten = await writeFileAtomically(
        options.output,
        abortable(fast, options.signal, () => convertAborted(options.output)),
        (n) => {
          bytesWritten = n;
          progress(false);
        },
      );
      keys = fast.keys();
      from ??= 'rdb';
      progress(true);
      const threads = fast.threads();
      return { from, to, keys, bytesRead, bytesWritten, elapsedMs: Date.now() - started, dropped, threads };
    } catch (err) {
      if (!(err instanceof DirectFallback)) throw err;
      keys = 0;
      bytesRead = 0;
      bytesWritten = 0;
    }
  }

  let chunks: AsyncIterable<Buffer>;
  switch (to) {
    case 'rdb':
      chunks = writeRdb(flattenRecordBatches(allRecordBatches()));
      break;
    case 'jsonl':
      chunks = recordBatchesToJsonlChunks(allRecordBatches());
      break;
    case 'resp':
      chunks = commandBatchesToResp(allCommandBatches(), { header, chunkSize: 256 * 1024 });
      break;
    case 'readable':
      chunks = commandsToReadable(flattenBatches(allCommandBatches()), { header });
      break;
  }
  bytesWritten = await writeFileAtomically(
    options.output,
    abortable(chunks, options.signal, () => convertAborted(options.output)),
    (n) => {
      bytesWritten = n;
      progress(false);
    },
  );
  from ??= formatFromPathSafe(options.input);
  progress(true);
  return { from, to, keys, bytesRead, bytesWritten, elapsedMs: Date.now() - started, dropped, threads: 1 };
}

async function inputFormatOrUndefined(path: string, from?: InputFormat): Promise<InputFormat | undefined> {
  try {
    return await inputFormat(path, from);
  } catch {
    return undefined;
  }
}

function formatFromPathSafe(path: string): InputFormat {
  try {
    return formatFromPath(path, 'input');
  } catch {
    return 'aof';
  }
}

function isAofPath(path: string): boolean {
  try {
    return statSync(path).isDirectory() || formatFromPath(path, 'input') === 'aof';
  } catch {
    return false;
  }
}
