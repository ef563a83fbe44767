import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { readAof } from '../aof/read-aof.js';
import type { RdbRecord } from '../model.js';
import type { RdbChunkRecord } from '../rdb/reader.js';
import type { Command } from '../resp/encode.js';
import { BackupError } from '../errors.js';
import { parseRespCommandBatches } from '../resp/parser.js';
import { readableToCommands } from '../resp/readable.js';
import { parseHeaderCommand } from '../resp/writer.js';
import { type InputFormat, formatFromPath } from './formats.js';
import { jsonlToRecordBatches } from '../jsonl/jsonl.js';
import { flattenRecordBatches, readRdbRecordBatches } from '../rdb/records.js';

/** A piece of an input in order: records, or commands (grouped per key when the file says so). */
export type InputSegment =
  | {
      kind: 'records';
      source: string;
      /** Chunk records (key-begin/part/end) only when `chunked` was asked for. */
      records: AsyncIterable<RdbRecord | RdbChunkRecord>;
      /**
       * The same records in batches, when the input decodes that way (RDB, JSONL): iterate either
       * this or `records`, not both.
       */
      batches?: AsyncIterable<Array<RdbRecord | RdbChunkRecord>>;
    }
  | {
      kind: 'commands';
      source: string;
      /** The commands in batches (one per input chunk); `flattenBatches` gives them one by one. */
      batches: AsyncIterable<Command[]>;
      /** Each key's commands are consecutive and create it from nothing (our `.valkey` files). */
      grouped: boolean;
    };

export interface OpenInputOptions {
  from?: InputFormat;
  /** An incomplete last command (RESP, AOF): `error` (default) or `drop` it and report via onTruncated. */
  truncated?: 'error' | 'drop';
  onTruncated?: (info: { source: string; offset: number; bytes: number }) => void;
  /** RDB input: deliver huge keys in parts (key-begin / key-part / key-end). */
  chunked?: boolean;
  /** Counts bytes read from the input (for progress). */
  onBytes?: (n: number) => void;
}

/** The chunks of `stream`, each counted with `onBytes` as it goes by. */
export async function* counted(
  stream: AsyncIterable<Buffer>,
  onBytes: ((n: number) => void) | undefined,
): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    onBytes?.(chunk.length);
    yield chunk;
  }
}

/** Peeks at the first command: a `.valkey` header makes the stream "grouped". */
async function respSegment(source: string, batches: AsyncIterable<Command[]>): Promise<InputSegment> {
  const it = batches[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? undefined : first.value[0];
  const header = head ? parseHeaderCommand(head) : null;
  const grouped = header !== null && header.replay !== 'raw';
  async function* all(): AsyncGenerator<Command[]> {
    if (first.done) return;
    yield first.value;
    while (true) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  return { kind: 'commands', source, batches: all(), grouped };
}

async function* mapArgs(parsed: AsyncIterable<Array<{ args: Buffer[] }>>): AsyncGenerator<Command[]> {
  for await (const batch of parsed) yield batch.map((c) => c.args);
}

async function* single(commands: AsyncIterable<Command>): AsyncGenerator<Command[]> {
  for await (const c of commands) yield [c];
}

/** The commands of a batched segment one by one. */
export async function* flattenBatches(batches: AsyncIterable<Command[]>): AsyncGenerator<Command> {
  for await (const b of batches) yield* b;
}

/** The format of an input path: `from`, an AOF for a directory, else from the file's name. */
export async function inputFormat(path: string, from?: InputFormat): Promise<InputFormat> {
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new BackupError('ERR_FORMAT', `cannot open the input ${path}: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  }
  return from ?? (isDir ? 'aof' : formatFromPath(path, 'input'));
}

/** Opens a file (or an AOF directory) as a sequence of segments, streaming. */
export async function* openInput(path: string, options: OpenInputOptions = {}): AsyncGenerator<InputSegment> {
  const format = await inputFormat(path, options.from);
  const stream = () =>
    counted(createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>, options.onBytes);
  const onTruncated = (t: { offset: number; bytes: number }, source: string) =>
    options.onTruncated?.({ source, offset: t.offset, bytes: t.bytes });
  switch (format) {
    case 'rdb': {
      const batches = readRdbRecordBatches(stream(), { file: path, chunked: options.chunked === true });
      yield { kind: 'records', source: path, records: flattenRecordBatches(batches), batches };
      return;
    }
    case 'jsonl': {
      const batches = jsonlToRecordBatches(stream());
      yield { kind: 'records', source: path, records: flattenRecordBatches(batches), batches };
      return;
    }
    case 'resp': {
      const parsed = parseRespCommandBatches(stream(), {
        source: path,
        truncated: options.truncated ?? 'error',
        onTruncated: (t) => onTruncated(t, path),
      });
      yield await respSegment(path, mapArgs(parsed));
      return;
    }
    case 'readable':
      yield await respSegment(path, single(readableToCommands(stream(), { source: path })));
      return;
    case 'aof':
      for await (const seg of readAof(path, {
        truncated: options.truncated ?? 'error',
        onTruncated: (t) => onTruncated(t, t.file),
      })) {
        if (seg.kind === 'records') yield { kind: 'records', source: seg.file, records: seg.records };
        else yield { kind: 'commands', source: seg.file, batches: mapArgs(seg.batches), grouped: false };
      }
      return;
  }
}
