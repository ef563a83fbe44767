/**
 * The shell blocks of the hand-written documentation, and what the docs test needs to run them as a
 * reader would: `bash` in a fresh directory, with this checkout's CLI as `valkey-tools` and
 * `npx @valkey-tools/cli`, real servers behind the URLs the prose names, and the files the prose
 * says the reader has.
 *
 * Markers, on the line(s) right before a block (blank lines between are fine):
 *
 *   <!-- not run: REASON -->          the block is not run; REASON says why (it installs from the
 *                                     registry, starts a service that never ends, needs a GPU, ...)
 *   <!-- given: NAME, NAME -->        the test puts these in the block's directory first (see GIVEN)
 *
 * Every other shell block runs, and must exit 0.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { docsRoot, repoRoot } from './site-build.ts';

/** Info strings that mark a shell block. */
export const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'zsh', 'console', 'shell-session']);

export interface ShellBlock {
  /** The page, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** Why the block is not run (a `<!-- not run: ... -->` before it). */
  notRun?: string;
  /** What the test prepares first (`<!-- given: ... -->`). */
  given: string[];
}

export interface MarkerProblem {
  file: string;
  line: number;
  problem: string;
}

const MARKER = /^\s*<!--\s*(not run|given)\s*:\s*(.*?)\s*-->\s*$/;
const OPEN = /^( {0,3}|\s*)(`{3,}|~{3,})\s*([^\s`{]*)(.*)$/;

/** Hand-written pages whose shell blocks are run: the guides, the home page, the READMEs. */
export function documentedPages(): string[] {
  const guide = readdirSync(join(docsRoot, 'guide'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(docsRoot, 'guide', f));
  const top = readdirSync(docsRoot)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .map((f) => join(docsRoot, f));
  const packages = readdirSync(join(repoRoot, 'packages'))
    .map((p) => join(repoRoot, 'packages', p, 'README.md'))
    .filter((p) => existsSync(p));
  return [join(repoRoot, 'README.md'), ...top, ...guide, ...packages].map((p) => relative(repoRoot, p));
}

/** Every fenced shell block of a Markdown file, with the markers before it. */
export function shellBlocks(
  file: string,
  text = readFileSync(join(repoRoot, file), 'utf8'),
): {
  blocks: ShellBlock[];
  problems: MarkerProblem[];
} {
  const lines = text.split('\n');
  const blocks: ShellBlock[] = [];
  const problems: MarkerProblem[] = [];
  /** Markers seen since the last block or text line: they belong to the next fence. */
  let pending: Array<{ line: number; kind: string; value: string }> = [];
  const dropPending = (why: string) => {
    for (const m of pending) problems.push({ file, line: m.line, problem: `<!-- ${m.kind}: --> ${why}` });
    pending = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const marker = MARKER.exec(text);
    if (marker) {
      pending.push({ line: i + 1, kind: marker[1]!, value: marker[2]! });
      continue;
    }
    const open = OPEN.exec(text);
    if (!open) {
      if (text.trim() !== '') dropPending('is not followed by a shell block');
      continue;
    }
    const indent = open[1]!.length;
    const fence = open[2]!;
    const lang = open[3]!.toLowerCase();
    const body: string[] = [];
    let j = i + 1;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    for (; j < lines.length && !close.test(lines[j]!); j++) {
      const raw = lines[j]!;
      const strip = Math.min(indent, raw.length - raw.trimStart().length);
      body.push(raw.slice(strip));
    }
    if (!SHELL_LANGS.has(lang)) {
      dropPending(`is followed by a \`${lang || 'plain'}\` block, not a shell block`);
    } else {
      const notRun = pending.filter((m) => m.kind === 'not run');
      const given = pending.filter((m) => m.kind === 'given');
      const block: ShellBlock = {
        file,
        line: i + 1,
        lang,
        code: `${body.join('\n')}\n`,
        given: given.flatMap((m) =>
          m.value
            .split(/[,\s]+/)
            .map((v) => v.trim())
            .filter(Boolean),
        ),
      };
      if (notRun.length > 0) block.notRun = notRun.map((m) => m.value).join('; ');
      if (notRun.some((m) => m.value === '')) {
        problems.push({ file, line: i + 1, problem: '<!-- not run: --> gives no reason' });
      }
      if (notRun.length > 0 && given.length > 0) {
        problems.push({
          file,
          line: i + 1,
          problem: 'a block is either run (given ...) or not run, not both',
        });
      }
      blocks.push(block);
      pending = [];
    }
    i = j;
  }
  dropPending('is not followed by a shell block');
  return { blocks, problems };
}

/** The environment variables the prose names for servers, and what the test gives each. */
export const SERVER_VARIABLES = {
  VALKEY_URL: 'a valkey-server holding the sample data',
  TARGET_URL: 'an empty valkey-server to restore into',
  REDIS_URL: 'a redis-server holding the sample data',
  PROD_REPLICA_URL: 'a valkey-server holding the sample data',
} as const;
export type ServerVariable = keyof typeof SERVER_VARIABLES;

/** Which of SERVER_VARIABLES a block uses. */
export function serverVariables(code: string): ServerVariable[] {
  return (Object.keys(SERVER_VARIABLES) as ServerVariable[]).filter((name) =>
    new RegExp(`\\$\\{?${name}\\b`).test(code),
  );
}

/**
 * The files a block says it writes: `-o F`, `--out D`, `--html F`, `--csv F`, `> F`, and the output
 * of `convert IN OUT`. The test checks each exists once the block has run.
 */
export function declaredOutputs(code: string): string[] {
  const outputs: string[] = [];
  const logical = code.replace(/\\\n/g, ' ').split('\n');
  for (const raw of logical) {
    const line = raw.replace(/(^|\s)#.*$/, '');
    const words = line.split(/\s+/).filter(Boolean);
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      if (['-o', '--out', '--output', '--html', '--csv'].includes(word) && words[i + 1]) {
        outputs.push(words[i + 1]!);
      } else if (word === '>' && words[i + 1]) {
        outputs.push(words[i + 1]!);
      } else if (/^>[^&>]/.test(word)) {
        outputs.push(word.slice(1));
      } else if (word === 'convert' && /valkey-tools$|@valkey-tools\/cli$/.test(words[i - 1] ?? '')) {
        const positional = words.slice(i + 1).filter((w) => !w.startsWith('-') || w === '-');
        if (positional[1]) outputs.push(positional[1]);
      }
    }
  }
  return outputs
    .map((p) => p.replace(/^["']|["']$/g, ''))
    .filter((p) => p !== '-' && !p.startsWith('/dev/') && !p.includes('$'));
}

export interface BlockRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs a script with `bash -euo pipefail` (stricter than `-e` alone: an unset variable, or a
 * failing command inside a pipe, fails the block too). stdin is empty, as in CI.
 */
export function runBash(
  script: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<BlockRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-u', '-o', 'pipefail', script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout ends whatever the block started in the foreground.
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < 1_000_000) stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 1_000_000) stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      stderr += `\n[docs test] killed after ${options.timeoutMs} ms`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A failure message: where the block is, what it is, and what it printed. */
export function describeBlock(block: ShellBlock, run?: BlockRun): string {
  const where = `${block.file}:${block.line}`;
  const code = block.code
    .trimEnd()
    .split('\n')
    .map((l) => `  | ${l}`)
    .join('\n');
  if (!run) return `${where}\n${code}`;
  return `${where} (exit ${run.code ?? run.signal}, ${run.ms} ms)\n${code}\n--- stdout\n${run.stdout.slice(-3000)}\n--- stderr\n${run.stderr.slice(-3000)}`;
}
