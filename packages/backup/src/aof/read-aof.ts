import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readRdbRecords } from '../rdb/records.js';
import type { RdbRecord } from '../model.js';
import { BackupError } from '../errors.js';
import { type ParsedCommand, parseRespCommandBatches, type TruncatedTail } from '../resp/parser.js';
import { aofLoadOrder, parseAofManifest } from './manifest.js';

/** A piece of an AOF in load order: RDB records (a preamble or an RDB BASE) or RESP commands. */
export type AofSegment =
  | { kind: 'records'; file: string; records: AsyncIterable<RdbRecord> }
  | { kind: 'commands'; file: string; batches: AsyncIterable<ParsedCommand[]> };

export interface ReadAofOptions {
  /**
   * An incomplete last command in the last file: `error` (default) or `drop` it, like
   * `valkey-check-aof --fix` / `aof-load-truncated yes`.
   */
  truncated?: 'error' | 'drop';
  /** Told about a dropped incomplete command. */
  onTruncated?: (info: TruncatedTail & { file: string }) => void;
}

async function startsWithRdbMagic(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(6);
    const { bytesRead } = await fh.read(buf, 0, 6, 0);
    const head = buf.subarray(0, bytesRead).toString('latin1');
    return head.startsWith('REDIS') || head.startsWith('VALKEY');
  } finally {
    await fh.close();
  }
}

async function* fileSegments(
  path: string,
  last: boolean,
  options: ReadAofOptions,
): AsyncGenerator<AofSegment> {
  let respStart = 0;
  if (await startsWithRdbMagic(path)) {
    let tail = -1;
    yield {
      kind: 'records',
      file: path,
      records: readRdbRecords(path, { file: path, onTrailingData: (offset) => (tail = offset) }),
    };
    if (tail === -1) return;
    respStart = tail;
  }
  const { size } = await stat(path);
  if (respStart >= size) return;
  yield {
    kind: 'commands',
    file: path,
    batches: parseRespCommandBatches(
      createReadStream(path, { start: respStart, highWaterMark: 256 * 1024 }),
      {
        source: path,
        truncated: last ? (options.truncated ?? 'error') : 'error',
        onTruncated: (t) => options.onTruncated?.({ ...t, offset: t.offset + respStart, file: path }),
      },
    ),
  };
}

/** Finds the manifest of a multi-part AOF directory (the one `*.manifest` file in it). */
async function findManifest(dir: string): Promise<string> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new BackupError('ERR_AOF_MANIFEST', `cannot read the AOF directory ${dir}`, {
      cause: err,
      details: { dir },
    });
  }
  const manifests = names.filter((n) => n.endsWith('.manifest'));
  if (manifests.length !== 1) {
    throw new BackupError(
      'ERR_AOF_MANIFEST',
      manifests.length === 0
        ? `no *.manifest file in the AOF directory ${dir}`
        : `several manifests in ${dir}: ${manifests.join(', ')}`,
      {
        details: { dir },
        hint: 'Point at the appenddirname directory of a Valkey 7.0+ server (it holds appendonly.aof.manifest), or at the manifest file',
      },
    );
  }
  return join(dir, manifests[0]!);
}

/**
 * Reads an append-only file as segments in load order: a single-file AOF (optionally with an RDB
 * preamble), a multi-part AOF directory, or its manifest (BASE in RDB or AOF form, then INCR files).
 * Segments must be consumed in order.
 */
export async function* readAof(path: string, options: ReadAofOptions = {}): AsyncGenerator<AofSegment> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    throw new BackupError('ERR_FORMAT', `cannot open the AOF ${path}`, {
      cause: err,
      details: { file: path },
    });
  }
  let manifestPath: string | undefined;
  if (info.isDirectory()) manifestPath = await findManifest(path);
  else if (path.endsWith('.manifest')) manifestPath = path;
  if (!manifestPath) {
    yield* fileSegments(path, true, options);
    return;
  }
  const dir = dirname(manifestPath);
  const entries = aofLoadOrder(
    parseAofManifest(await readFile(manifestPath, 'utf8'), basename(manifestPath)),
  );
  for (const e of entries) {
    try {
      await stat(join(dir, e.file));
    } catch {
      throw new BackupError(
        'ERR_AOF_MANIFEST',
        `the manifest ${manifestPath} names ${e.file}, which does not exist`,
        {
          details: { file: manifestPath, missing: e.file },
          hint: 'The AOF directory is incomplete; copy the whole directory while the server is not rewriting',
        },
      );
    }
  }
  for (let i = 0; i < entries.length; i++) {
    yield* fileSegments(join(dir, entries[i]!.file), i === entries.length - 1, options);
  }
}
