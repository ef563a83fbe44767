import { CoreError, partialPath, writeStreamAtomic } from '@valkey-tools/core';
import { BackupError } from '../errors.js';

/** The temp name a file is written under until it is complete (core's `partialPath`). */
export { partialPath };

/**
 * Streams chunks into `path` with core's `writeStreamAtomic`: a temp file with a random name
 * (never following a symlink) renamed over `path` only once everything was written and fsynced,
 * so an interrupted write never leaves a complete-looking file; leftovers of killed runs in that
 * folder are removed first. Returns the number of bytes written.
 */
export async function writeFileAtomically(
  path: string,
  chunks: AsyncIterable<Buffer>,
  onBytes?: (written: number) => void,
  /** Runs on the complete temp file before it replaces `path`; throwing keeps `path` as it was. */
  check?: (tempPath: string) => Promise<void>,
): Promise<number> {
  try {
    return await writeStreamAtomic(path, chunks, {
      ...(onBytes ? { onBytes } : {}),
      ...(check ? { check } : {}),
    });
  } catch (err) {
    if (CoreError.hasCode(err, 'ERR_WRITE_FILE')) {
      throw new BackupError('ERR_INVALID_OPTION', err.message, {
        cause: err,
        details: { path },
      });
    }
    throw err;
  }
}

/**
 * The chunks of an output, failing with `aborted()` once `signal` fires: checked before each chunk
 * and once more after the last, so an interrupted run never has its output renamed into place
 * (a source that ends quietly when its connection is closed would otherwise look complete).
 */
export async function* abortable(
  chunks: AsyncIterable<Buffer>,
  signal: AbortSignal | undefined,
  aborted: () => Error,
): AsyncGenerator<Buffer> {
  if (!signal) {
    yield* chunks;
    return;
  }
  for await (const chunk of chunks) {
    if (signal.aborted) throw aborted();
    yield chunk;
  }
  if (signal.aborted) throw aborted();
}

/**
 * Writes `chunks` into `stream` (stdout, a socket) as they come, waiting when it is full; returns
 * the number of bytes written. Nothing is renamed or removed: a failure part-way leaves what was
 * written in the stream (its reader must look at the exit status).
 */
export async function writeToStream(
  chunks: AsyncIterable<Buffer>,
  stream: NodeJS.WritableStream,
  onBytes?: (written: number) => void,
): Promise<number> {
  let failed: { err: unknown } | undefined;
  let wake: (() => void) | undefined;
  const onError = (err: unknown) => {
    failed ??= { err };
    wake?.();
  };
  const onDone = () => wake?.();
  stream.on('error', onError);
  stream.on('drain', onDone);
  stream.on('close', onDone);
  let written = 0;
  try {
    for await (const chunk of chunks) {
      if (failed) break;
      written += chunk.length;
      if (!stream.write(chunk)) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      onBytes?.(written);
    }
    if (failed) {
      throw new BackupError(
        'ERR_INVALID_OPTION',
        `writing the output failed: ${(failed.err as Error).message}`,
        {
          cause: failed.err,
          hint: 'The reader of the output stream went away; what it received is incomplete',
        },
      );
    }
    return written;
  } finally {
    stream.off('error', onError);
    stream.off('drain', onDone);
    stream.off('close', onDone);
  }
}
