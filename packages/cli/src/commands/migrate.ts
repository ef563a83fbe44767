import { type FollowProgress, type MigrateOptions, migrate } from '@valkey-tools/backup';
import { connectionUrl } from '../credentials.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, usageError } from '../errors.js';
import type { CommandContext } from '../main.js';
import { formatBytes, formatCount } from '../output.js';
import { createProgress } from '../progress.js';
import { tlsFromFlags, withFlagsHint } from '../tls.js';

export async function run({
  flags,
  io,
  out,
  signal,
}: CommandContext<'migrate'>): Promise<number | undefined> {
  if (!flags.follow && flags['until-synced']) {
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      '--until-synced needs --follow. Run "valkey-tools migrate --help"',
      'migrate',
    );
  }
  const from = await connectionUrl(flags.from, { 'password-file': flags['from-password-file'] }, io, out);
  const to = await connectionUrl(flags.to, { 'password-file': flags['to-password-file'] }, io, out);
  const restoring = createProgress(io.stderr, 'snapshot', 'bytes');
  const tty = io.stderr.isTTY === true;
  let lastLine = 0;
  const status = (p: FollowProgress) => {
    if (out.json) {
      // One JSON line per status on stdout; the result is the last line.
      out.jsonLine({ event: 'follow', ...p });
      return;
    }
    if (p.phase !== 'following') return;
    restoring.finish();
    const line = `following: lag ${formatBytes(p.lagBytes)} (${(p.lagMs / 1000).toFixed(1)}s), ${formatCount(Math.round(p.commandsPerSecond))} commands/s, ${formatCount(p.applied)} applied, offset ${p.offset}`;
    if (tty) io.stderr.write(`\r\x1b[2K${line}`);
    else if (Date.now() - lastLine >= 10_000) {
      // A log, not a terminal: one line every 10 s.
      lastLine = Date.now();
      io.stderr.write(`${line}\n`);
    }
  };
  const options: MigrateOptions = {
    from,
    to,
    mode: flags.mode as 'replication' | 'scan',
    replace: flags.replace,
    flush: flags.flush,
    signal,
    onProgress: (p) => {
      if (p.phase === 'restoring') restoring.update(p.inputBytes);
    },
    onFailover: (f) =>
      out.warn(`failover: the primary moved from ${f.from} to ${f.to}; copying again with --replace`),
  };
  if (flags.follow) {
    options.follow = true;
    options.onFollow = status;
    if (flags['until-synced']) options.untilSynced = flags['synced-for'];
  }
  const tls = tlsFromFlags(flags, io.cwd);
  if (tls) {
    options.fromTls = tls;
    options.toTls = tls;
  }
  if (flags.db !== undefined) options.db = flags.db;
  if (flags.match !== undefined) options.match = flags.match;
  if (flags['target-db'] !== undefined) options.targetDb = flags['target-db'];
  if (flags['temp-dir'] !== undefined) options.tempDir = flags['temp-dir'];
  let result: Awaited<ReturnType<typeof migrate>>;
  try {
    result = await migrate(options);
  } catch (err) {
    throw withFlagsHint(err);
  } finally {
    restoring.finish();
    if (tty && flags.follow && !out.json) io.stderr.write('\n');
  }
  const f = result.follow;
  const summary = {
    keys: result.keys,
    functions: result.functions,
    errorCount: result.errorCount,
    errors: result.errors.map((e) => ({ key: e.key, db: e.db, command: e.command, message: e.message })),
    elapsedMs: result.elapsedMs,
    ...(result.failovers ? { failovers: result.failovers } : {}),
    ...(f ? { follow: f } : {}),
  };
  // With --follow --json stdout is JSON lines: the result is the last one.
  if (f && out.json) out.jsonLine({ event: 'result', ...summary });
  else
    out.result(summary, () => {
      out.line(
        `copied ${formatCount(result.keys)} keys${result.functions ? ` and ${result.functions} function libraries` : ''} in ${(result.elapsedMs / 1000).toFixed(1)}s`,
      );
      if (f) {
        out.line(
          `${f.stoppedBy === 'synced' ? 'in sync' : 'stopped'}: ${formatCount(f.applied)} commands applied; ${f.nodes ? f.nodes.map((n) => `${n.node} replid ${n.replid} offset ${n.offset}`).join('; ') : `replid ${f.replid} offset ${f.offset}`}`,
        );
        const skipped = Object.entries(f.skipped);
        if (skipped.length > 0)
          out.info(`not applied: ${skipped.map(([name, n]) => `${name} ${formatCount(n)}`).join(', ')}`);
        if (f.splitTransactions > 0)
          out.info(
            `${formatCount(f.splitTransactions)} MULTI blocks spanned cluster nodes: applied command by command`,
          );
        if (f.resumed > 0 || f.fullResyncs > 0)
          out.info(
            `the link dropped ${f.resumed + f.fullResyncs} time(s): ${f.resumed} resumed, ${f.fullResyncs} full resync(s)`,
          );
        for (const e of f.failures.slice(0, 20))
          out.warn(`db ${e.db} key ${JSON.stringify(e.key)}: ${e.command}: ${e.message}`);
      }
      for (const e of result.errors.slice(0, 20))
        out.warn(`db ${e.db} key ${JSON.stringify(e.key)}: ${e.command}: ${e.message}`);
    });
  if (result.errorCount > 0 || (f?.failureCount ?? 0) > 0) return EXIT_FAILED;
  // Stopped by Ctrl-C with the offset reached: said above, and the exit code says how it ended.
  if (f && f.stoppedBy === 'signal') return EXIT_INTERRUPTED;
  return undefined;
}
