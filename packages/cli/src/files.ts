import { createWriteStream, existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { CliError, usageError } from './errors.js';
import type { Io } from './output.js';

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
 * Writes to `path` through a temporary file renamed into place at the end, so an interrupted run
 * never leaves a file that looks complete. `-` writes to stdout.
 */
export async function writeOutput(
  path: string,
  io: Io,
  produce: (out: Writable | NodeJS.WritableStream) => Promise<void>,
): Promise<void> {
  if (path === '-') {
    await produce(io.stdout);
    return;
  }
  const full = resolve(io.cwd, path);
  const temp = join(dirname(full), `.${basename(full)}.${process.pid}.tmp`);
  try {
    const stream = createWriteStream(temp);
    await produce(stream);
    if (!stream.writableEnded) stream.end();
    if (!stream.closed) await new Promise<void>((ok, fail) => stream.once('close', ok).once('error', fail));
    await rename(temp, full);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

export async function writeTextOutput(path: string, io: Io, text: string): Promise<void> {
  if (path === '-') {
    io.stdout.write(text);
    return;
  }
  const full = resolve(io.cwd, path);
  const temp = join(dirname(full), `.${basename(full)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, text);
    await rename(temp, full);
  } catch (err) {
    await rm(temp, { force: true });
    throw fileError(err, path, 'cannot write');
  }
}
