import { type OutputFormat, backup } from '@valkey-tools/backup';
import { connectionUrl, isSentinelUrl } from '../credentials.js';
import { dataFormat, withOutputFile } from '../data-files.js';
import { usageError } from '../errors.js';
import { assertNoNodeFiles, assertWritable } from '../files.js';
import type { CommandContext } from '../main.js';
import { tlsFromFlags, withFlagsHint } from '../tls.js';
import { formatBytes, formatCount } from '../output.js';
import { createProgress, nodesDetail } from '../progress.js';

export async function run({ flags, io, out, signal }: CommandContext<'backup'>): Promise<number | undefined> {
  const output = flags.output;
  if (output === '-' && flags.json) {
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      '--json needs stdout, which -o - already uses. Run "valkey-tools backup --help"',
      'backup',
    );
  }
  if (flags['from-replica'] && !isSentinelUrl(flags.url)) {
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      '--from-replica needs a Sentinel URL (valkey+sentinel://host:port[,host:port...]/<primary-name>), which says where the replicas are. Run "valkey-tools backup --help"',
      'backup',
    );
  }
  const format = dataFormat(output, flags.format, 'output', '--format', 'backup') as OutputFormat;
  const perNode = flags['per-node'] === true;
  if (perNode) {
    if (output === '-' || format !== 'rdb' || flags.mode === 'scan') {
      throw usageError(
        'ERR_INVALID_ARGUMENT',
        '--per-node writes each primary\'s snapshot into an .rdb file of its own: it needs -o FILE.rdb and --mode replication. Run "valkey-tools backup --help"',
        'backup',
      );
    }
    assertNoNodeFiles(output, io, flags.force);
  } else assertWritable(output, io, flags.force);
  const url = await connectionUrl(flags.url, flags, io, out, 'backup');
  const unit = flags.mode === 'scan' ? 'keys' : 'bytes';
  // Made when data starts to flow, so the rate leaves out the wait for the server's snapshot.
  let progress: ReturnType<typeof createProgress> | undefined;
  const tty = io.stderr.isTTY === true;
  let waitingShown = false;
  // An RDB backup to stdout goes out as it arrives (no temp file, no disk space); other formats
  // are written to a temp file first and copied.
  const streamOut = output === '-' && format === 'rdb';
  const run = async (file: string) => {
    const options: Parameters<typeof backup>[0] = {
      url,
      output: file,
      format,
      mode: flags.mode,
      signal,
      onProgress: (p) => {
        if (p.phase === 'waiting') {
          // The server waits repl-diskless-sync-delay (5 s by default) before its snapshot: say so.
          if (tty && !waitingShown) io.stderr.write(`\r\x1b[2Kwaiting for ${p.node}'s snapshot...`);
          waitingShown = true;
          return;
        }
        if (waitingShown && tty) io.stderr.write('\r\x1b[2K');
        waitingShown = false;
        progress ??= createProgress(io.stderr, 'backing up', unit);
        if (flags.mode === 'scan') progress.update(p.keys, p.totalKeys);
        // The snapshot is in; it is being written in the output's format.
        else if (p.phase === 'convert')
          progress.update(
            p.bytesReceived,
            p.snapshotBytes,
            `writing ${format}: ${p.keys.toLocaleString('en-US')} keys`,
          );
        else {
          // A cluster: each primary's snapshot so far (done once it has ended), after the total.
          const detail = nodesDetail(
            (p.nodes ?? []).map((n) => ({
              node: n.node,
              amount: `${formatBytes(n.bytesReceived)}${n.done ? ' done' : ''}`,
            })),
          );
          progress.update(p.bytesReceived, p.snapshotBytes, detail);
        }
      },
    };
    const tls = tlsFromFlags(flags, io.cwd);
    if (tls) options.tls = tls;
    if (streamOut) options.outputStream = io.stdout;
    if (flags['from-replica']) options.role = 'replica';
    if (perNode) options.perNode = true;
    if (flags.db !== undefined) options.db = flags.db;
    if (flags.match !== undefined) options.match = flags.match;
    if (flags.type !== undefined) options.type = flags.type;
    try {
      return await backup(options);
    } catch (err) {
      throw withFlagsHint(err);
    } finally {
      if (waitingShown && tty) io.stderr.write('\r\x1b[2K');
      progress?.finish();
    }
  };
  const result = streamOut ? await run(output) : await withOutputFile(output, io, run);
  if (result.unchecked)
    out.warn(
      'the snapshot went out unchecked (the quick check cannot read what it holds); run "valkey-tools verify" on what you saved',
    );
  out.result(
    {
      output,
      format: result.format,
      mode: result.mode,
      nodes: result.nodes,
      keys: result.keys,
      bytesWritten: result.bytesWritten,
      elapsedMs: result.elapsedMs,
      ...(result.perNode ? { perNode: result.perNode } : {}),
      ...(result.files ? { files: result.files } : {}),
      ...(result.unchecked ? { unchecked: true } : {}),
      ...(result.sentinel ? { sentinel: result.sentinel } : {}),
    },
    () => {
      const summary = `backed up ${result.nodes.join(', ')} by ${result.mode} to ${output === '-' ? 'stdout' : output} (${result.format}): ${formatCount(result.keys)} keys, ${formatBytes(result.bytesWritten)} in ${(result.elapsedMs / 1000).toFixed(1)}s`;
      // A cluster merged from every primary's snapshot: what each one sent.
      const lines = (result.perNode?.length ?? 0) > 1 ? result.perNode! : [];
      const perNode = lines.map(
        (n) => `  ${n.node}: ${formatCount(n.keys)} keys, ${formatBytes(n.bytesReceived)} received`,
      );
      // Through Sentinels: which node they named, so the reader knows what the file holds.
      const s = result.sentinel;
      const read = s
        ? [
            `read ${s.role} ${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port} of ${s.name} (Sentinel ${s.answeredBy})`,
          ]
        : [];
      // --per-node: the file of each primary.
      const written = (result.files ?? []).map(
        (f) => `  ${f.node}: ${formatCount(f.keys)} keys, ${formatBytes(f.bytes)} in ${f.path}`,
      );
      const lines2 = [summary, ...(written.length > 0 ? written : perNode), ...read];
      if (output === '-') for (const l of lines2) out.info(l);
      else for (const l of lines2) out.line(l);
    },
  );
  return undefined;
}
