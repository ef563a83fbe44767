import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type WaitOptions, waitFor } from './wait.js';

/**
 * Processes tests start, and their clean-up. Every server's pid is written to a directory shared
 * by the whole test run, so the global teardown kills whatever a crashed or interrupted test left
 * behind (servers started detached outlive the worker that started them).
 */
export function registryDir(): string {
  const dir = process.env.VALKEY_TOOLS_TEST_REGISTRY ?? join(tmpdir(), 'valkey-tools-test-registry');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The pids this process registered and has not unregistered. */
const registered = new Set<number>();

export function registerPid(pid: number): void {
  writeFileSync(join(registryDir(), `${pid}.pid`), String(pid));
  registered.add(pid);
}

export function unregisterPid(pid: number): void {
  rmSync(join(registryDir(), `${pid}.pid`), { force: true });
  registered.delete(pid);
}

/**
 * Unregisters every pid this process registered whose process has exited (call it after stopping
 * servers), so the teardown never signals a pid the system has since given to another process.
 */
export function unregisterExited(): void {
  for (const pid of [...registered]) if (!isRunning(pid)) unregisterPid(pid);
}

/** Kills every registered process; returns how many were still alive. */
export function killRegistered(dir = registryDir()): number {
  let killed = 0;
  if (!existsSync(dir)) return 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.pid')) continue;
    const pid = Number(readFileSync(join(dir, name), 'utf8'));
    if (killProcess(pid)) killed++;
    rmSync(join(dir, name), { force: true });
  }
  return killed;
}

/** Sends `signal` (default SIGKILL); false when there was no such process. */
export function killProcess(pid: number, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True while a process runs (a zombie, dead but not yet reaped by its parent, counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * True while a signal sent to the process has not been delivered to it yet (Linux: SigPnd/ShdPnd
 * of /proc/<pid>/status). Once false, its handler is on its way (Node runs it on its next turn).
 */
export function signalPending(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return /^(SigPnd|ShdPnd):\s*0*[1-9a-f]/m.test(status);
  } catch {
    return false;
  }
}

/** Waits until the process has exited (`what` names it in the timeout message). */
export async function waitForExit(pid: number, what = `process ${pid}`, options: WaitOptions = {}) {
  await waitFor(`${what} to exit`, () => !isRunning(pid), options);
}

/**
 * Stops a child this process spawned: `signal` (default SIGTERM), then SIGKILL if it has not exited
 * after `killAfterMs` (default 3000); resolves once it has exited.
 */
export async function stopChild(
  child: ChildProcess,
  options: { signal?: NodeJS.Signals; killAfterMs?: number } = {},
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(options.signal ?? 'SIGTERM');
  const timer =
    options.signal === 'SIGKILL'
      ? undefined
      : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 3000);
  await exited;
  clearTimeout(timer);
}

/**
 * The pids of running server processes (command line matching `pattern`, default valkey-server or
 * redis-server) whose working directory is below `dir`: what tests of managed servers left there,
 * whoever started them.
 */
export function serverProcessesUnder(dir: string, pattern = /valkey-server|redis-server/): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cwd.startsWith(`${dir}/`) || !pattern.test(cmdline)) continue;
      if (isRunning(Number(entry))) out.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}
