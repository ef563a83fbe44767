import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseServerVersion } from '@valkey-tools/core';
import { expect } from 'vitest';
import { BinariesError } from '../src/index.js';

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

/** The BinariesError `promise` rejects with (fails the test when it resolves or throws another kind). */
export async function expectError(promise: Promise<unknown>): Promise<BinariesError> {
  try {
    await promise;
  } catch (err) {
    expect(BinariesError.isInstance(err)).toBe(true);
    return err as BinariesError;
  }
  throw new Error('expected a BinariesError');
}
