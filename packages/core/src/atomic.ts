import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  createWriteStream,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { CoreError } from './errors.js';

/**
 * Writing files safely in folders others may write to: the data goes to a temp file with a random
 * name created with O_EXCL (and O_NOFOLLOW), so a file or symlink planted at a predictable name is
 * never opened or followed; it is flushed to disk (fsync), checked to still be the file we created,
 * then renamed over the destination (which replaces a symlink there instead of writing through
 * it), and the folder is fsynced where the platform allows. An interrupted write never leaves a
 * complete-looking file: only a `.NAME.partial-PID-RANDOM` file, removed by the next write into
 * that folder once process PID is gone.
 */

export interface AtomicWriteOptions {
  /**
   * Mode of the new file (applied exactly, whatever the umask). Default `0o666` narrowed by the
   * umask. Pass `0o600` for anything that may hold a secret (a config with `requirepass`).
   */
  mode?: number;
  /** Remove leftover partial files of dead processes in the destination folder first (default true). */
  cleanLeftovers?: boolean;
  /** Told about each leftover partial file removed (or that could not be removed) before writing. */
  onLeftover?: (event: LeftoverEvent) => void;
}

export interface LeftoverEvent {
  /** Full path of the leftover file. */
  file: string;
  /** The dead process that left it. */
  pid: number;
  removed: boolean;
  /** Why it could not be removed. */
  reason?: string;
}

/** A file being written: write to `stream`, then `commit()` (or `abort()`). */
export interface AtomicFile {
  /** The destination. */
  readonly path: string;
  /** The temp file the data goes to until `commit()`. */
  readonly tempPath: string;
  /** Writes to the temp file. Do not end it: `commit()` does. */
  readonly stream: Writable;
  /**
   * Flushes what reached the temp file so far to the disk while writing goes on, so that the flush
   * at `commit()` is short (long writes call it every few tens of MiB).
   */
  syncSoFar(): Promise<void>;
  /**
   * Ends the stream, flushes to disk and renames the temp file over `path`. `check(tempPath)`
   * runs on the complete temp file first: when it throws, the temp file is removed, `path` is left
   * as it was, and its error is rethrown.
   */
  commit(check?: (tempPath: string) => Promise<void>): Promise<void>;
  /** Discards the temp file (safe to call after a failed commit, and more than once). */
  abort(): Promise<void>;
}

/** Bytes written between two flushes to the disk during `writeStreamAtomic`. */
const SYNC_EVERY = 32 << 20;
/** Chunks smaller than a quarter of this are gathered into writes of up to this many bytes. */
const STAGE_BYTES = 1 << 20;
const PARTIAL = /^\.(.+)\.partial-(\d+)-[0-9a-f]{8,}$/;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** The temp name for `path`: hidden, in the same folder (so the rename is atomic), unguessable. */
export function partialPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.partial-${process.pid}-${randomBytes(8).toString('hex')}`);
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `.NAME.partial-PID-RANDOM` files in `dir` whose process is no longer running (the
 * leftovers of a killed write), only our own (same owner) and never following a symlink. Files of
 * live processes are left alone. Never throws; returns what it found.
 */
export async function cleanLeftovers(dir: string): Promise<LeftoverEvent[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const events: LeftoverEvent[] = [];
  for (const name of names) {
    const m = PARTIAL.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (!Number.isSafeInteger(pid) || isAlive(pid)) continue;
    const file = join(dir, name);
    try {
      const info = await lstat(file);
      if (!info.isFile() && !info.isSymbolicLink()) continue;
      if (uid !== undefined && info.uid !== uid) {
        events.push({ file, pid, removed: false, reason: 'owned by another user' });
        continue;
      }
      await unlink(file); // a symlink is removed itself, never its target
      events.push({ file, pid, removed: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else cleaned it
      events.push({ file, pid, removed: false, reason: (err as Error).message });
    }
  }
  return events;
}

function writeError(path: string, err: unknown): unknown {
  if (CoreError.isInstance(err)) return err;
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || !/^E[A-Z]+$/.test(e.code)) return err; // not a file system error
  const reason =
    e.code === 'ENOENT'
      ? 'the folder does not exist'
      : e.code === 'EACCES' || e.code === 'EPERM'
        ? 'permission denied'
        : e.code === 'EISDIR'
          ? 'it is a directory'
          : e.code === 'ENOSPC'
            ? 'no space left on the device'
            : e.message;
  return new CoreError('ERR_WRITE_FILE', `cannot write ${path}: ${reason}`, {
    cause: err,
    details: { file: path, code: e.code },
    hint: 'Check that the folder exists and is writable and that the disk has room',
  });
}

async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // Windows and some file systems cannot open or fsync a folder: the rename is still atomic.
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Creates the temp file for `path` (see the module comment) and returns a handle to fill it. */
export async function openAtomicFile(path: string, options: AtomicWriteOptions = {}): Promise<AtomicFile> {
  const full = resolve(path);
  const dir = dirname(full);
  if (options.cleanLeftovers !== false) {
    for (const event of await cleanLeftovers(dir)) options.onLeftover?.(event);
  }
  let handle: FileHandle | undefined;
  let tempPath = '';
  for (let attempt = 0; handle === undefined; attempt++) {
    tempPath = partialPath(full);
    try {
      handle = await open(
        tempPath,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
        options.mode ?? 0o666,
      );
    } catch (err) {
      // A random name taken: someone is guessing. Try another, a few times.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 5) continue;
      throw writeError(full, err);
    }
  }
  const fh = handle;
  const temp = tempPath;
  let ino: { ino: number; dev: number };
  try {
    if (options.mode !== undefined) await fh.chmod(options.mode); // the umask may have narrowed it
    ino = await fh.stat();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw writeError(full, err);
  }
  // The stream owns the handle: it fsyncs (flush) and closes it when ended.
  const stream = createWriteStream('', { fd: fh, flush: true });
  let state: 'open' | 'committed' | 'aborted' = 'open';
  const abort = async () => {
    if (state !== 'open') return;
    state = 'aborted';
    if (!stream.closed) {
      const closed = new Promise<void>((ok) => stream.once('close', () => ok()));
      stream.destroy();
      await closed;
    }
    await unlink(temp).catch(() => {});
  };
  const commit = async (check?: (tempPath: string) => Promise<void>) => {
    if (state !== 'open') throw new CoreError('ERR_WRITE_FILE', `${full} was already ${state}`);
    try {
      if (!stream.writableEnded) stream.end();
      await finished(stream);
      await check?.(temp);
      // The name must still be our file: refuse to rename something swapped in meanwhile.
      const there = await lstat(temp);
      if (there.ino !== ino.ino || there.dev !== ino.dev) {
        throw new CoreError('ERR_WRITE_FILE', `cannot write ${full}: its temp file ${temp} was replaced`, {
          details: { file: full, temp },
          hint: 'Another process is tampering with this folder: write somewhere only you can write',
        });
      }
      await rename(temp, full);
      state = 'committed';
    } catch (err) {
      await abort();
      throw writeError(full, err);
    }
    await syncDir(dir);
  };
  stream.on('error', () => {}); // reported by commit()
  const syncSoFar = () => fh.datasync();
  return { path: full, tempPath: temp, stream, syncSoFar, commit, abort };
}

/** Writes `data` to `path` atomically (see `openAtomicFile`). */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const file = await openAtomicFile(path, options);
  file.stream.end(data);
  await file.commit();
}

/**
 * Streams `chunks` into `path` atomically; returns the number of bytes written. If the source
 * throws, the temp file is removed and the source's error is rethrown as is.
 */
export async function writeStreamAtomic(
  path: string,
  chunks: AsyncIterable<Uint8Array | string>,
  options: AtomicWriteOptions & {
    onBytes?: (written: number) => void;
    /** Runs on the complete temp file before it replaces `path` (see `AtomicFile.commit`). */
    check?: (tempPath: string) => Promise<void>;
  } = {},
): Promise<number> {
  const file = await openAtomicFile(path, options);
  let streamError: unknown;
  file.stream.on('error', (err) => {
    streamError ??= err;
  });
  let written = 0;
  // Flushing to the disk as the file grows, one flush at a time, overlaps it with producing the
  // data instead of leaving it all to the end.
  let syncedAt = 0;
  let syncing: Promise<void> | undefined;
  let syncError: { err: unknown } | undefined;
  const put = async (bytes: Uint8Array): Promise<void> => {
    if (file.stream.write(bytes)) return;
    await new Promise<void>((ok, fail) => {
      const onError = (err: Error) => fail(err);
      file.stream.once('error', onError);
      file.stream.once('drain', () => {
        file.stream.off('error', onError);
        ok();
      });
    });
  };
  // Small chunks (a socket's) are gathered into bigger writes: a write costs the same whatever
  // its size, and a stream of 16 KiB pieces would spend more on writes than on the bytes.
  let stage: Buffer | undefined;
  let staged = 0;
  const putStaged = async (): Promise<void> => {
    if (staged === 0) return;
    const full = stage!.subarray(0, staged);
    stage = undefined;
    staged = 0;
    await put(full);
  };
  try {
    for await (const chunk of chunks) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      written += bytes.length;
      if (syncError) throw syncError.err;
      if (!syncing && written - syncedAt >= SYNC_EVERY) {
        syncedAt = written;
        syncing = file.syncSoFar().then(
          () => {
            syncing = undefined;
          },
          (err: unknown) => {
            syncError = { err };
          },
        );
      }
      if (bytes.length >= STAGE_BYTES / 4) {
        await putStaged();
        await put(bytes);
      } else {
        if (staged + bytes.length > STAGE_BYTES) await putStaged();
        stage ??= Buffer.allocUnsafe(STAGE_BYTES);
        stage.set(bytes, staged);
        staged += bytes.length;
      }
      options.onBytes?.(written);
    }
    await putStaged();
  } catch (err) {
    await file.abort();
    // Only the file's own errors are about writing; the source's (a dropped connection) pass as is.
    throw err === streamError || err === syncError?.err ? writeError(file.path, err) : err;
  }
  await syncing;
  if (syncError) {
    await file.abort();
    throw writeError(file.path, syncError.err);
  }
  await file.commit(options.check);
  return written;
}

/**
 * `writeFileAtomic` for code that must not await (a record written before a child process is
 * waited for): the same temp file rules (random name, O_EXCL, O_NOFOLLOW, exact mode, fsync,
 * inode check, rename, folder fsync). Leftovers of dead processes are not cleaned here: the next
 * asynchronous write into the folder does that.
 */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array,
  options: Pick<AtomicWriteOptions, 'mode'> = {},
): void {
  const full = resolve(path);
  let fd: number | undefined;
  let temp = '';
  try {
    for (let attempt = 0; fd === undefined; attempt++) {
      temp = partialPath(full);
      try {
        fd = openSync(
          temp,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
          options.mode ?? 0o666,
        );
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 5) continue;
        temp = '';
        throw err;
      }
    }
    if (options.mode !== undefined) fchmodSync(fd, options.mode); // the umask may have narrowed it
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
    const ours = fstatSync(fd);
    closeSync(fd);
    fd = undefined;
    const there = lstatSync(temp);
    if (there.ino !== ours.ino || there.dev !== ours.dev) {
      throw new CoreError('ERR_WRITE_FILE', `cannot write ${full}: its temp file ${temp} was replaced`, {
        details: { file: full, temp },
        hint: 'Another process is tampering with this folder: write somewhere only you can write',
      });
    }
    renameSync(temp, full);
    temp = '';
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    if (temp !== '') {
      try {
        unlinkSync(temp);
      } catch {
        // already gone
      }
    }
    throw writeError(full, err);
  }
  try {
    const dirFd = openSync(dirname(full), constants.O_RDONLY);
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Windows and some file systems cannot open or fsync a folder: the rename is still atomic.
  }
}
