import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const packageDir = fileURLToPath(new URL('..', import.meta.url));
export const repoRoot = join(packageDir, '..', '..');
export const binPath = join(packageDir, 'dist', 'bin.js');

/** The CLI's build inputs, dependencies first: what `turbo run build --filter=@valkey-tools/cli...` covers. */
const BUILD_ORDER = ['core', 'config', 'binaries', 'backup', 'kvcache-index', 'cli'];

/**
 * Builds the CLI and the packages it imports (the built CLI runs their dist), each only when its
 * dist is older than its src. Serialized with a lock because every test file calls it. A package
 * that does not build fails the tests: they never run against an older dist (stale code).
 */
export async function buildCli(): Promise<void> {
  const script = `set -e
for pkg in ${BUILD_ORDER.join(' ')}; do
  dir="packages/$pkg"
  out="$dir/dist/index.js"; [ "$pkg" = cli ] && out="$dir/dist/bin.js"
  if [ ! -f "$out" ] || [ -n "$(find "$dir/src" "$dir/package.json" "$dir/tsup.config.ts" -type f -newer "$out" -not -name '*.test.ts' -not -name '*.md' -print -quit)" ]; then
    if ! log=$(cd "$dir" && npx tsup 2>&1); then
      printf '%s\\n' "$log" >&2
      echo "tsup failed in $dir: the CLI tests would run its previous dist (stale code), so they stop here" >&2
      exit 1
    fi
  fi
done`;
  try {
    await execFileAsync('flock', [join(tmpdir(), 'valkey-tools-cli-build.lock'), 'sh', '-c', script], {
      cwd: repoRoot,
      env: { ...process.env, FORCE_COLOR: '0' },
      timeout: BUILD_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`building the CLI and its packages failed:\n${e.stderr?.trim() || e.message}`);
  }
}

/** Rebuilding packages that changed can take a few minutes on a busy machine. */
export const BUILD_TIMEOUT_MS = 290_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Told the process once started (to signal it mid-way). */
  onSpawn?: (child: ChildProcess) => void;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs the built `valkey-tools` as a subprocess, stdio piped (so never a TTY). */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    delete env.FORCE_COLOR;
    if (options.env?.FORCE_COLOR !== undefined) env.FORCE_COLOR = options.env.FORCE_COLOR;
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd: options.cwd ?? packageDir,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    options.onSpawn?.(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`valkey-tools ${args.join(' ')} did not finish in ${options.timeoutMs ?? 240_000} ms`),
      );
    }, options.timeoutMs ?? 240_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** A running `valkey-tools` (for long-running commands): what it printed so far, and its exit. */
export interface StartedCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts the built `valkey-tools` in the background, stdin closed, stdout and stderr collected. */
export function startCli(args: readonly string[]): StartedCli {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: packageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** A temp dir for one test file, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `valkey-tools-cli-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Parses stdout as JSON, failing with the full output when it is not. */
export function parseJson<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}
