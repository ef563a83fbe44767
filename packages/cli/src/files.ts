import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import {
  type AtomicFile,
  type AtomicWriteOptions,
  CoreError,
  openAtomicFile,
  writeFileAtomic,
} from '@valkey-tools/core';
import { CliError, usageError } from './errors.js';
import type { Io, Output } from './output.js';

/** Reads a whole (small) input: a file, or stdin for `-`. */
export async function readSmallInput(path: string, io: Io, what: string): Promise<Buffer> {
  if (path === '-') {
    if (io.stdin.isTTY) {
      throw usageError(
        'ERR_MISSING_ARGUMENT',
        `${what}: expected data on stdin; pipe it in or pass a file name`,
      );
    }
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin)
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(resolve(io.cwd, path));
  } catch (err) {
    throw fileError(err, path, `cannot read ${what}`);
  }
}

export function fileError(err: unknown, path: string, action: string): Error {
  if (err instanceof CliError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is a directory'
          : (err as Error).message;
  return new CliError('ERR_FILE', `${action} ${path}: ${reason}`, { cause: err, details: { file: path } });
}

/** Refuses to overwrite an existing file unless forced (exit code 1, saying how to force). */
export function assertWritable(path: string, io: Io, force: boolean): void {
  if (path === '-' || force) return;
  if (existsSync(resolve(io.cwd, path))) {
    throw new CliError('ERR_FILE_EXISTS', `${path} already exists`, {
      details: { file: path },
      hint: 'Pass --force to overwrite it, or choose another name',
    });
  }
}

/**
 * `backup --per-node -o dir/NAME.rdb` writes `dir/NAME.<host>-<port>.rdb` for each primary (their
 * addresses are known once connected): without `force`, any such file already there is refused.
 */
export function assertNoNodeFiles(path: string, io: Io, force: boolean): void {
  if (force) return;
  const full = resolve(io.cwd, path);
  const ext = extname(full);
  const stem = basename(full, ext);
  let names: string[] = [];
  try {
    names = readdirSync(dirname(full));
  } catch {
    return;
  }
  // `<stem>.<host>-<port><ext>`: what a node's file is named (see the backup package's nodeFilePath).
  const found = names.filter(
    (n) =>
      n.startsWith(`${stem}.`) &&
      n.endsWith(ext) &&
      /^.+-\d+$/.test(n.slice(stem.length + 1, n.length - ext.length)),
  );
  if (found.length > 0) {
    throw new CliError('ERR_FILE_EXISTS', `${join(dirname(path), found[0]!)} already exists`, {
      details: { file: found[0], files: found },
      hint: 'Pass --force to overwrite the files of the same name, or choose another name',
    });
  }
}

export interface WriteOptions {
  /** File mode, exactly (0o600 for files that may hold passwords). */
  mode?: number;
  /** Told about leftover partial files of killed runs removed from the folder. */
  out?: Output;
}

function atomicOptions(options: WriteOptions): AtomicWriteOptions {
  const atomic: AtomicWriteOptions = {
    onLeftover: (e) => {
      if (e.removed) options.out?.info(`removed ${e.file}, left by an interrupted run (pid ${e.pid})`);
      else
        options.out?.warn(`cannot remove ${e.file}, left by an interrupted run (pid ${e.pid}): ${e.reason}`);
    },
  };
  if (options.mode !== undefined) atomic.mode = options.mode;
  return atomic;
}

/** A failed write, named as the user typed it (core's error says the full path and what to do). */
function writeFailure(err: unknown, path: string): unknown {
  if (!CoreError.hasCode(err, 'ERR_WRITE_FILE')) return err;
  return new CliError('ERR_FILE', err.message, { cause: err, details: { ...err.details, output: path } });
}

/**
 * Writes to `path` through a temp file (random name, never following a symlink, see
 * `openAtomicFile`) renamed into place at the end, so an interrupted run never leaves a file that
 * looks complete. `-` writes to stdout.
 */
export async function writeOutput(
  path: string,
  io: Io,
  produce: (out: Writable | NodeJS.WritableStream) => Promise<void>,
  options: WriteOptions = {},
): Promise<void> {
  if (path === '-') {
    await produce(io.stdout);
    return;
  }
  let file: AtomicFile;
  try {
    file = await openAtomicFile(resolve(io.cwd, path), atomicOptions(options));
  } catch (err) {
    throw writeFailure(err, path);
  }
  try {
    await produce(file.stream);
    await file.commit();
  } catch (err) {
    await file.abort();
    throw writeFailure(err, path);
  }
}

export async function writeTextOutput(
  path: string,
  io: Io,
  text: string,
  options: WriteOptions = {},
): Promise<void> {
  if (path === '-') {
    io.stdout.write(text);
    return;
  }
  try {
    await writeFileAtomic(resolve(io.cwd, path), text, atomicOptions(options));
  } catch (err) {
    throw writeFailure(err, path);
  }
}
