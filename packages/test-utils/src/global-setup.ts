import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killRegistered } from './processes.js';

/** Vitest global setup: one registry dir per run; teardown kills any server a test left running. */
export default function setup(): () => void {
  // Every project of the run shares one registry (the first global setup creates it).
  const dir = process.env.VALKEY_TOOLS_TEST_REGISTRY ?? mkdtempSync(join(tmpdir(), 'valkey-tools-run-'));
  process.env.VALKEY_TOOLS_TEST_REGISTRY = dir;
  const cleanup = () => {
    const left = killRegistered(dir);
    if (left > 0) process.stderr.write(`[test-utils] killed ${left} server(s) left running by tests\n`);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  return cleanup;
}
