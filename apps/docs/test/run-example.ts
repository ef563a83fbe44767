/**
 * Runs a program from examples/ the way a user runs it (`npx tsx examples/<name>.ts`), as a child
 * process, resolving the @valkey-tools packages to their source through the workspace condition so
 * no build is needed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './site-build.ts';

export interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const examplesDir = join(repoRoot, 'examples');

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
}

export function runExample(
  file: string,
  args: readonly string[] = [],
  options: RunOptions = {},
): Promise<ExampleRun> {
  return run(
    ['--import', 'tsx', '--conditions=@valkey-tools/source', join(examplesDir, file), ...args],
    options,
  );
}

/** Runs an example test file with Vitest and the examples' own config (`npx vitest run <file>`). */
export function runExampleTests(file: string, options: RunOptions = {}): Promise<ExampleRun> {
  const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
  return run([vitest, 'run', '--config', join(examplesDir, 'vitest.config.ts'), file], options);
}

function run(nodeArgs: readonly string[], options: RunOptions): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A readable failure message: the exit code and what the program printed. */
export function describeRun(run: ExampleRun): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout.slice(-3000)}\n--- stderr\n${run.stderr.slice(-3000)}`;
}
