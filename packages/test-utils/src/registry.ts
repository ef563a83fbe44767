import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every test server's pid is written to a directory shared by the whole test run, so the global
 * teardown can kill whatever a crashed or interrupted worker left behind.
 */
export function registryDir(): string {
  const dir = process.env.VALKEY_TOOLS_TEST_REGISTRY ?? join(tmpdir(), 'valkey-tools-test-registry');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function registerPid(pid: number): void {
  writeFileSync(join(registryDir(), `${pid}.pid`), String(pid));
}

export function unregisterPid(pid: number): void {
  rmSync(join(registryDir(), `${pid}.pid`), { force: true });
}

/** Kills every registered process; returns how many were still alive. */
export function killRegistered(dir = registryDir()): number {
  let killed = 0;
  if (!existsSync(dir)) return 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.pid')) continue;
    const pid = Number(readFileSync(join(dir, name), 'utf8'));
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // already gone
    }
    rmSync(join(dir, name), { force: true });
  }
  return killed;
}
