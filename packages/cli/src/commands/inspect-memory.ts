import { analyzeRdbFile, memoryReportToHtml } from '@valkey-tools/backup';
import { withInputFile } from '../data-files.js';
import { assertWritable, writeOutput, writeTextOutput } from '../files.js';
import type { CommandContext } from '../main.js';
import { formatBytes, formatCount } from '../output.js';
import { createProgress } from '../progress.js';

/** `inspect FILE --memory`: estimated memory per key, type, encoding, prefix and expiry. */
export async function runMemory({
  args,
  flags,
  io,
  out,
}: CommandContext<'inspect'>): Promise<number | undefined> {
  const file = args[0]!;
  for (const target of [flags.html, flags.csv])
    if (target !== undefined) assertWritable(target, io, flags.force);
  const progress = createProgress(io.stderr, 'analyzing', 'bytes');
  const analyze = (csv?: NodeJS.WritableStream) =>
    withInputFile(file, io, (path) =>
      analyzeRdbFile(path, {
        top: flags.top,
        ...(flags.separator.length > 0 ? { separators: flags.separator } : {}),
        onProgress: (p) =>
          progress.update(
            (p as { readBytes?: number }).readBytes ?? 0,
            (p as { totalBytes?: number }).totalBytes,
          ),
        ...(csv ? { csv } : {}),
      }),
    );
  let report: Awaited<ReturnType<typeof analyzeRdbFile>>;
  try {
    if (flags.csv !== undefined) {
      let captured: typeof report | undefined;
      await writeOutput(
        flags.csv,
        io,
        async (stream) => {
          captured = await analyze(stream);
          (stream as NodeJS.WritableStream).end();
        },
        { out },
      );
      report = captured!;
    } else report = await analyze();
  } finally {
    progress.finish();
  }
  if (flags.html !== undefined)
    await writeTextOutput(flags.html, io, memoryReportToHtml(report, { title: `Memory of ${file}` }), {
      out,
    });
  out.result({ file, ...report }, () => {
    const t = report.totals;
    out.line(
      `${out.style('bold', file)}: estimated memory ${formatBytes(t.bytes)} in ${formatCount(t.keys)} keys ` +
        `(${formatCount(t.keysWithExpiry)} with expiry, ${formatBytes(t.expiryBytes)} more for their TTLs)`,
    );
    out.table(
      ['TYPE', 'KEYS', 'MEMORY'],
      report.byType.map((g) => [g.type, formatCount(g.keys), formatBytes(g.bytes)]),
    );
    if (report.topKeys.length > 0) {
      out.line();
      out.table(
        ['MEMORY', 'TYPE', 'ENCODING', 'DB', 'KEY'],
        report.topKeys.map((k) => [formatBytes(k.bytes), k.type, k.encoding, String(k.db), k.key]),
      );
    }
    if (flags.html !== undefined) out.info(`wrote ${flags.html}`);
    if (flags.csv !== undefined) out.info(`wrote ${flags.csv}`);
  });
  return undefined;
}
