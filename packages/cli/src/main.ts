import { readFileSync } from 'node:fs';
import { ValkeyToolsError, escapeControl, redactUrl } from '@valkey-tools/core';
import { type FlagsOf, parseInvocation } from './args.js';
import type { CommandName } from './definitions.js';
import { CliError, EXIT_INTERRUPTED, EXIT_OK, exitCodeFor } from './errors.js';
import { renderHelp } from './help.js';
import { type Io, Output, colorEnabled, paint, processIo, safeText, toJson } from './output.js';

/** What a command receives: its parsed command line, the streams and a signal aborted by Ctrl-C. */
export interface CommandContext<N extends CommandName = CommandName> {
  name: N;
  args: string[];
  flags: FlagsOf<N>;
  passthrough: string[];
  io: Io;
  out: Output;
  signal: AbortSignal;
}

/** A command returns its exit code (default 0), or throws: the error decides the code. */
export type CommandRun<N extends CommandName> = (ctx: CommandContext<N>) => Promise<number | undefined>;

type Loaders = { [N in CommandName]: () => Promise<{ run: CommandRun<N> }> };

// One module per command, imported only when that command runs, so start-up stays fast.
const loaders: Loaders = {
  install: () => import('./commands/install.js'),
  which: () => import('./commands/which.js'),
  versions: () => import('./commands/versions.js'),
  'mirror add': () => import('./commands/mirror-add.js'),
  start: () => import('./commands/start.js'),
  stop: () => import('./commands/stop.js'),
  list: () => import('./commands/list.js'),
  info: () => import('./commands/info.js'),
  url: () => import('./commands/url.js'),
  connect: () => import('./commands/connect.js'),
  'cluster create': () => import('./commands/cluster-create.js'),
  'cluster stop': () => import('./commands/cluster-stop.js'),
  'config init': () => import('./commands/config-init.js'),
  'config check': () => import('./commands/config-check.js'),
  'config diff': () => import('./commands/config-diff.js'),
  backup: () => import('./commands/backup.js'),
  restore: () => import('./commands/restore.js'),
  migrate: () => import('./commands/migrate.js'),
  convert: () => import('./commands/convert.js'),
  inspect: () => import('./commands/inspect.js'),
  verify: () => import('./commands/verify.js'),
  'kvcache keys': () => import('./commands/kvcache-keys.js'),
  'kvcache score': () => import('./commands/kvcache-score.js'),
  'kvcache serve': () => import('./commands/kvcache-serve.js'),
};

export function cliVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const NODE_ERRORS: Record<string, (err: NodeJS.ErrnoException) => string> = {
  ENOENT: (e) => `no such file or directory: ${e.path ?? ''}`.trimEnd(),
  EACCES: (e) => `permission denied: ${e.path ?? ''}`.trimEnd(),
  EISDIR: (e) => `is a directory, not a file: ${e.path ?? ''}`.trimEnd(),
  ENOTDIR: (e) => `not a directory: ${e.path ?? ''}`.trimEnd(),
  EEXIST: (e) => `already exists: ${e.path ?? ''}`.trimEnd(),
  ENOSPC: () => 'no space left on the device',
  ECONNREFUSED: (e) =>
    `cannot connect to ${(e as { address?: string }).address ?? ''}:${(e as { port?: number }).port ?? ''} (connection refused): is the server running?`,
  ETIMEDOUT: () => 'the connection timed out',
  EPIPE: () => 'the output was closed early',
};

/** One line saying what went wrong, passwords redacted, control characters escaped. */
export function describeError(err: unknown): string {
  let message: string;
  if (ValkeyToolsError.isInstance(err)) message = err.message;
  else if (err instanceof Error) {
    const errno = err as NodeJS.ErrnoException;
    const known = errno.code ? NODE_ERRORS[errno.code] : undefined;
    message = known ? known(errno) : err.message || err.name;
    if (err instanceof AggregateError && err.errors.length > 0 && message === '') {
      message = describeError(err.errors[0]);
    }
  } else message = String(err);
  // One line: a "Tried:\n  - a\n  - b" list becomes "Tried: a; b".
  const oneLine = message
    .replace(/:\s*\n\s*-\s+/g, ': ')
    .replace(/\s*\n\s*-\s+/g, '; ')
    .replace(/\s*\n\s*/g, ' ')
    // a space before a sentence's full stop only (not before ".rdb" or "./file")
    .replace(/\s+\.(?=\s|$)/g, '.')
    .trim();
  return escapeControl(redactUrl(oneLine), { oneLine: true });
}

function errorJson(err: unknown): Record<string, unknown> {
  const base: Record<string, unknown> = { message: describeError(err) };
  if (ValkeyToolsError.isInstance(err)) {
    base.code = err.code;
    base.name = err.name;
    base.details = JSON.parse(toJson(err.details ?? {}));
  } else if (err instanceof Error) {
    base.code = (err as NodeJS.ErrnoException).code ?? 'ERR_UNEXPECTED';
    base.name = err.name;
  }
  return { error: base };
}

function printError(
  err: unknown,
  io: Io,
  options: { verbose: boolean; json: boolean; noColor: boolean },
): void {
  const color = colorEnabled(io.stderr, io.env, options.noColor);
  io.stderr.write(`${paint(color, 'red', 'valkey-tools: error:')} ${describeError(err)}\n`);
  if (options.verbose) {
    let current: unknown = err;
    let depth = 0;
    while (current instanceof Error && depth < 5) {
      if (depth > 0) io.stderr.write(`caused by: ${safeText(current.message)}\n`);
      if (current.stack) io.stderr.write(`${safeText(current.stack.split('\n').slice(1).join('\n'))}\n`);
      current = current.cause;
      depth++;
    }
  }
  if (options.json) io.stdout.write(`${toJson(errorJson(err))}\n`);
}

/** Runs one command line; resolves with the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let verbose = argv.includes('--verbose');
  let noColor = argv.includes('--no-color');
  let json = argv.includes('--json');
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    io.stderr.write('\nvalkey-tools: interrupted; stopping (press Ctrl-C again to quit at once)\n');
    controller.abort(new CliError('ERR_FAILED', 'interrupted'));
  };
  try {
    const invocation = parseInvocation(argv);
    if (invocation.kind === 'version') {
      io.stdout.write(`${cliVersion()}\n`);
      return EXIT_OK;
    }
    if (invocation.kind === 'help') {
      const color = colorEnabled(io.stdout, io.env, noColor);
      io.stdout.write(renderHelp(invocation.topic, cliVersion(), (style, text) => paint(color, style, text)));
      return EXIT_OK;
    }
    const { parsed } = invocation;
    verbose = invocation.verbose;
    noColor = invocation.noColor;
    if (invocation.help) {
      const color = colorEnabled(io.stdout, io.env, noColor);
      io.stdout.write(
        renderHelp(parsed.definition.name, cliVersion(), (style, text) => paint(color, style, text)),
      );
      return EXIT_OK;
    }
    json = (parsed.flags as Record<string, unknown>).json === true;
    const out = new Output(io, { json, verbose, noColor });
    const name = parsed.definition.name as CommandName;
    const module = await (loaders[name] as () => Promise<{ run: CommandRun<CommandName> }>)();
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    const code = await module.run({
      name,
      args: parsed.args,
      flags: parsed.flags,
      passthrough: parsed.passthrough,
      io,
      out,
      signal: controller.signal,
    });
    // A command that handles interruption (a service stopping cleanly) says so by returning a code.
    return code ?? (interrupted ? EXIT_INTERRUPTED : EXIT_OK);
  } catch (err) {
    if (interrupted) {
      // A command that stopped on Ctrl-C and says what it left (a restore: the keys it wrote) is heard.
      if (ValkeyToolsError.isInstance(err) && err.code === 'ERR_ABORTED')
        printError(err, io, { verbose, json, noColor });
      else io.stderr.write('valkey-tools: interrupted\n');
      return EXIT_INTERRUPTED;
    }
    printError(err, io, { verbose, json, noColor });
    return exitCodeFor(err);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
