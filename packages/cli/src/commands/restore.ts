import { type InputFormat, restore } from '@valkey-tools/backup';
import { connectionUrl } from '../credentials.js';
import { dataFormat, withInputFile } from '../data-files.js';
import { EXIT_FAILED } from '../errors.js';
import type { CommandContext } from '../main.js';
import { tlsFromFlags, withFlagsHint } from '../tls.js';
import { formatBytes, formatCount } from '../output.js';
import { createProgress, nodesDetail } from '../progress.js';

export async function run({
  args,
  flags,
  io,
  out,
  signal,
}: CommandContext<'restore'>): Promise<number | undefined> {
  const input = args[0]!;
  const from =
    input === '-' || flags.from !== undefined
      ? dataFormat(input, flags.from, 'input', '--from', 'restore')
      : undefined;
  const url = await connectionUrl(flags.url, flags, io, out, 'restore');
  // The whole input is read once before anything is sent (checking), then restored.
  const checking = createProgress(io.stderr, 'checking', 'bytes');
  const progress = createProgress(io.stderr, 'restoring', 'bytes');
  const result = await withInputFile(input, io, async (file, size) => {
    const options: Parameters<typeof restore>[0] = {
      input: file,
      url,
      replace: flags.replace,
      flush: flags.flush,
      onError: flags['on-error'],
      truncated: flags.truncated,
      verbatim: flags.verbatim,
      signal,
      onProgress: (p) => {
        if (p.phase === 'checking') return checking.update(p.inputBytes, size || undefined);
        checking.finish();
        // A cluster: what each primary was sent so far, after the file read in total.
        const detail = nodesDetail(p.nodes.map((n) => ({ node: n.node, amount: formatBytes(n.bytes) })));
        progress.update(p.inputBytes, size || undefined, detail);
      },
    };
    // A Sentinel URL: the primary changed under the restore, which starts again into the new one.
    options.onFailover = (f) => {
      checking.finish();
      progress.finish();
      out.warn(
        `failover after ${(f.atMs / 1000).toFixed(1)}s: the primary moved from ${f.from} to ${f.to} (${f.reason}); restoring the whole file again into ${f.to}, replacing its keys`,
      );
    };
    if (from !== undefined) options.from = from as InputFormat;
    const tls = tlsFromFlags(flags, io.cwd);
    if (tls) options.tls = tls;
    if (flags.db !== undefined) options.db = flags.db;
    if (flags.match !== undefined) options.match = flags.match;
    if (flags.type !== undefined) options.type = flags.type;
    if (flags['target-db'] !== undefined) options.targetDb = flags['target-db'];
    try {
      return await restore(options);
    } catch (err) {
      throw withFlagsHint(err);
    } finally {
      checking.finish();
      progress.finish();
    }
  });
  out.result(
    {
      input,
      keys: result.keys,
      skipped: result.skipped,
      expired: result.expired,
      functions: result.functions,
      commands: result.commands,
      bytes: result.bytes,
      errorCount: result.errorCount,
      errors: result.errors.map((e) => ({ key: e.key, db: e.db, command: e.command, message: e.message })),
      usedRestore: result.usedRestore,
      fellBack: result.fellBack,
      dropped: result.dropped,
      nodes: result.nodes,
      elapsedMs: result.elapsedMs,
      ...(result.failovers ? { failovers: result.failovers } : {}),
    },
    () => {
      out.line(
        `restored ${formatCount(result.keys)} keys${result.functions ? ` and ${result.functions} function libraries` : ''} (${formatBytes(result.bytes)} sent) in ${(result.elapsedMs / 1000).toFixed(1)}s`,
      );
      // A cluster: what each primary was sent (each fed by a pipeline of its own).
      if (result.nodes.length > 1) {
        for (const n of result.nodes)
          out.line(
            `  ${n.node}: ${formatCount(n.commands)} commands, ${formatBytes(n.bytes)} sent, holds ${formatCount(n.keysHeld)} keys${n.redirected ? ` (${formatCount(n.redirected)} redirected: their slot moved)` : ''}`,
          );
      }
      if (result.failovers)
        out.info(
          `lived through ${result.failovers.length} failover${result.failovers.length === 1 ? '' : 's'}: the keys are on the primary now, ${result.failovers.at(-1)!.to}`,
        );
      if (result.fellBack)
        out.info('the target refused RESTORE payloads of this version: keys were written as plain commands');
      for (const e of result.errors.slice(0, 20))
        out.warn(`db ${e.db} key ${JSON.stringify(e.key)}: ${e.command}: ${e.message}`);
      if (result.errorCount > 20)
        out.warn(`... and ${result.errorCount - 20} more failures (--json lists up to 1000)`);
      if (result.expired > 0)
        out.info(
          `${formatCount(result.expired)} key${result.expired === 1 ? '' : 's'} in the file had already expired and ${result.expired === 1 ? 'was' : 'were'} not restored`,
        );
      if (result.skipped > 0)
        out.info(
          `${formatCount(result.skipped)} key${result.skipped === 1 ? '' : 's'} already on the target left as ${result.skipped === 1 ? 'it was' : 'they were'} (--replace makes them the file's)`,
        );
      const failed = result.errorCount - result.skipped;
      if (failed > 0) out.info(`${failed} key${failed === 1 ? '' : 's'} failed`);
      for (const d of result.dropped)
        out.warn(`dropped an incomplete command at byte ${d.offset} of ${d.source}`);
    },
  );
  return result.errorCount > 0 ? EXIT_FAILED : undefined;
}
