import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type InputFormat, formatFromPath } from '@valkey-tools/backup';
import { ValkeyToolsError } from '@valkey-tools/core';
import { usageError } from './errors.js';
import { fileError } from './files.js';
import type { Io } from './output.js';

/** Extensions that tell a format (an AOF is only ever an input). */
const KNOWN_OUTPUT = '.rdb, .valkey, .resp, .txt, .jsonl';
const KNOWN_INPUT = `${KNOWN_OUTPUT}, .aof`;

/**
 * The format of a data file: the explicit flag, else the name (backup's rules). A usage error
 * (exit 2) when neither tells, e.g. for `-` or `dump.bin`.
 */
export function dataFormat(
  path: string,
  explicit: string | undefined,
  role: 'input' | 'output',
  flag: string,
  command: string,
): InputFormat | undefined {
  if (explicit !== undefined) return explicit as InputFormat;
  const which = path === '-' ? (role === 'input' ? 'stdin' : 'stdout') : `"${path}"`;
  if (path !== '-') {
    try {
      return formatFromPath(path, role);
    } catch (err) {
      if (!ValkeyToolsError.hasCode(err, 'ERR_FORMAT')) throw err;
    }
  }
  throw usageError(
    'ERR_MISSING_ARGUMENT',
    `cannot tell the ${role} format of ${which} (known: ${role === 'input' ? `${KNOWN_INPUT}, an AOF directory` : KNOWN_OUTPUT}); pass ${flag}. Run "valkey-tools ${command} --help"`,
    command,
  );
}

/** Checks an input path exists (a file, or a directory for multi-part AOF) with a clear error. */
export async function checkInput(
  path: string,
  io: Io,
): Promise<{ path: string; size: number; directory: boolean }> {
  const full = resolve(io.cwd, path);
  try {
    const info = await stat(full);
    return { path: full, size: info.size, directory: info.isDirectory() };
  } catch (err) {
    throw fileError(err, path, 'cannot read');
  }
}

/**
 * Gives `work` a real file path for `path`: the file itself, or for `-` a temp file holding all of
 * stdin (the readers need a file: AOF detection and RDB preambles look ahead).
 */
export async function withInputFile<T>(
  path: string,
  io: Io,
  work: (file: string, size: number) => Promise<T>,
): Promise<T> {
  if (path !== '-') {
    const input = await checkInput(path, io);
    return await work(input.path, input.size);
  }
  const dir = await mkdtemp(join(tmpdir(), 'valkey-tools-stdin-'));
  try {
    const file = join(dir, 'stdin');
    await pipeline(io.stdin, createWriteStream(file));
    const { size } = await stat(file);
    return await work(file, size);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Gives `work` a real output path for `path`: the file itself (the packages write under a temp name
 * and rename when complete), or for `-` a temp file streamed to stdout once complete.
 */
export async function withOutputFile<T>(
  path: string,
  io: Io,
  work: (file: string) => Promise<T>,
): Promise<T> {
  if (path !== '-') return await work(resolve(io.cwd, path));
  const dir = await mkdtemp(join(tmpdir(), 'valkey-tools-stdout-'));
  try {
    const file = join(dir, 'out');
    const result = await work(file);
    await pipeline(createReadStream(file), io.stdout as NodeJS.WritableStream, { end: false });
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
