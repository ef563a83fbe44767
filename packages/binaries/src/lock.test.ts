import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, withLock } from './lock.js';

const root = mkdtempSync(join(tmpdir(), 'vt-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

describe('lock', () => {
  it('serializes holders in one process', async () => {
    const path = join(root, 'a.lock');
    const order: string[] = [];
    let entered!: () => void;
    const firstIn = new Promise<void>((r) => {
      entered = r;
    });
    await Promise.all([
      withLock(path, async () => {
        order.push('1 in');
        entered();
        // Held a while: time for the second holder to get in if the lock let it (a loaded machine
        // only makes it wait longer, which cannot change the order).
        await new Promise((r) => setTimeout(r, 150));
        order.push('1 out');
      }),
      (async () => {
        // The second holder asks once the first is inside (not after a guessed 20 ms).
        await firstIn;
        await withLock(
          path,
          async () => {
            order.push('2 in');
          },
          { pollMs: 10 },
        );
      })(),
    ]);
    expect(order).toEqual(['1 in', '1 out', '2 in']);
    expect(existsSync(path)).toBe(false);
  });

  it('takes over a lock whose owner is dead', async () => {
    const path = join(root, 'stale.lock');
    writeFileSync(path, JSON.stringify({ pid: deadPid(), hostname: hostname(), since: 'long ago' }));
    const lock = await acquireLock(path, { timeoutMs: 2000 });
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('times out on a live holder, naming it', async () => {
    const path = join(root, 'live.lock');
    writeFileSync(path, JSON.stringify({ pid: process.ppid, hostname: hostname(), since: 'now' }));
    await expect(acquireLock(path, { timeoutMs: 200, pollMs: 20 })).rejects.toMatchObject({
      code: 'ERR_LOCK_TIMEOUT',
      message: expect.stringContaining(`Process ${process.ppid}`),
    });
  });
});
