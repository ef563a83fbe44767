import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseServerVersion } from '@valkey-tools/core';

export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The installed valkey-server (the directory holding it, and its version). */
export function systemValkey(): { dir: string; version: string; server: string } {
  const server = execFileSync('sh', ['-c', 'command -v valkey-server'], { encoding: 'utf8' }).trim();
  if (!server) throw new Error('valkey-server is not on PATH: run `npm run setup`');
  const version = parseServerVersion(execFileSync(server, ['--version'], { encoding: 'utf8' })).version;
  return { dir: dirname(server), version, server: realpathSync(server) };
}

/** `node` arguments that run a TypeScript fixture from test/fixtures in a real separate process. */
export function fixtureArgs(name: string, ...args: string[]): string[] {
  const fixtures = join(packageDir, 'test', 'fixtures');
  return [
    '--conditions=@valkey-tools/source',
    '--import',
    join(fixtures, 'register-ts.mjs'),
    join(fixtures, `${name}.ts`),
    ...args,
  ];
}

const tracked = new Set<number>();

/**
 * Records a server pid in the test run's registry, so the global teardown kills it if a test
 * crashes before stopping it (managed servers are detached and outlive the worker).
 */
export function trackPid(pid: number): void {
  const dir = process.env.VALKEY_TOOLS_TEST_REGISTRY;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${pid}.pid`), String(pid));
  tracked.add(pid);
}

/** Forgets the pids this file tracked (call after stopping its servers), so teardown never signals a reused pid. */
export function untrackAll(): void {
  const dir = process.env.VALKEY_TOOLS_TEST_REGISTRY;
  for (const pid of tracked) {
    if (dir && !isRunning(pid)) rmSync(join(dir, `${pid}.pid`), { force: true });
  }
  tracked.clear();
}

/** A random base port whose cluster bus port (+10000) stays below the ephemeral range. */
export function randomBasePort(): number {
  return 15000 + Math.floor(Math.random() * 10000);
}

/** True while a process runs (a zombie, dead but not yet reaped by its parent, counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
