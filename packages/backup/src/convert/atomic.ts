import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../resp/errors.js';

/** The temp name a file is written under until it is complete (same dir, so the rename is atomic). */
export function partialPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Streams chunks into `path` through a temp file that is renamed over `path` only once
 * everything was written and flushed: an interrupted write never leaves a complete-looking file.
 * Returns the number of bytes written.
 */
export async function writeFileAtomically(
  path: string,
  chunks: AsyncIterable<Buffer>,
  onBytes?: (written: number) => void,
): Promise<number> {
  const tmp = partialPath(path);
  let written = 0;
  async function* counting(): AsyncGenerator<Buffer> {
    for await (const c of chunks) {
      written += c.length;
      onBytes?.(written);
      yield c;
    }
  }
  try {
    await pipeline(Readable.from(counting(), { objectMode: false }), createWriteStream(tmp, { flush: true }));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    if (BackupError.isInstance(err)) throw err;
    if ((err as NodeJS.ErrnoException).code && /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code!)) {
      throw new BackupError('ERR_INVALID_OPTION', `cannot write ${path}: ${(err as Error).message}`, {
        cause: err,
        details: { path },
        hint: 'Check that the directory exists and is writable, and that the disk has room',
      });
    }
    throw err;
  }
  return written;
}
