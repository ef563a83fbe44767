import { hostname } from 'node:os';
import { link, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BinariesError } from './errors.js';
import { isPidAlive, sleep } from './process-utils.js';

export interface LockOptions {
  /** Give up after this long (default 10 minutes: another process may be downloading). */
  timeoutMs?: number;
  /** How often to look again while someone else holds it (default 100 ms). */
  pollMs?: number;
  /** Stop waiting when aborted. */
  signal?: AbortSignal;
  /** Called once when we start waiting for another live holder. */
  onWait?: (holder: LockHolder) => void;
}

export interface LockHolder {
  pid: number;
  hostname: string;
  since: string;
}

export interface Lock {
  path: string;
  release(): Promise<void>;
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid === 'number') {
      return { pid: parsed.pid, hostname: String(parsed.hostname ?? ''), since: String(parsed.since ?? '') };
    }
  } catch {
    // half-written or unreadable: treated as live until it is old enough (see below)
  }
  return undefined;
}

/**
 * A cross-process lock: a file created with O_EXCL holding the owner's pid. A lock whose owner
 * is dead (same host, pid gone) is taken over; a lock from another host is only waited on.
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<Lock> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const pollMs = options.pollMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  await mkdir(dirname(path), { recursive: true });
  const me: LockHolder = { pid: process.pid, hostname: hostname(), since: new Date().toISOString() };
  let waited = false;
  let unreadableSince: number | undefined;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(JSON.stringify(me));
      } finally {
        await fh.close();
      }
      let released = false;
      return {
        path,
        release: async () => {
          if (released) return;
          released = true;
          const holder = await readHolder(path);
          if (holder?.pid === process.pid) await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder(path);
    const stale =
      holder !== undefined
        ? holder.hostname === me.hostname && !isPidAlive(holder.pid)
        : unreadableSince !== undefined && Date.now() - unreadableSince > 5000;
    if (holder === undefined) unreadableSince ??= Date.now();
    else unreadableSince = undefined;
    if (stale) {
      // Move the stale file aside atomically so only one waiter takes it over.
      const aside = `${path}.stale-${process.pid}-${Date.now()}`;
      try {
        await rename(path, aside);
      } catch {
        continue; // someone else moved it first
      }
      const moved = await readHolder(aside);
      if (moved && moved.pid !== holder?.pid && isPidAlive(moved.pid)) {
        // Between our check and the rename another waiter took the lock over: give it back.
        await link(aside, path).catch(() => undefined);
      }
      await rm(aside, { force: true });
      continue;
    }
    if (!waited && holder) {
      waited = true;
      options.onWait?.(holder);
    }
    options.signal?.throwIfAborted();
    if (Date.now() > deadline) {
      throw new BinariesError(
        'ERR_LOCK_TIMEOUT',
        `Timed out after ${timeoutMs} ms waiting for the lock ${path}`,
        {
          details: { lock: path, holder },
          hint: holder
            ? `Process ${holder.pid} on ${holder.hostname} holds it since ${holder.since}. If that process is gone, delete the file`
            : 'Delete the lock file if no other valkey-tools process is running',
        },
      );
    }
    await sleep(pollMs);
  }
}

/** Runs `fn` while holding the lock at `path`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> {
  const lock = await acquireLock(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
