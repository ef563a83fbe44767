import { type InputFormat, type OutputFormat, convert } from '@valkey-tools/backup';
import { dataFormat, withInputFile, withOutputFile } from '../data-files.js';
import { usageError } from '../errors.js';
import { assertWritable } from '../files.js';
import type { CommandContext } from '../main.js';
import { formatBytes, formatCount } from '../output.js';
import { createProgress } from '../progress.js';

export async function run({
  args,
  flags,
  io,
  out,
  signal,
}: CommandContext<'convert'>): Promise<number | undefined> {
  const [input, output] = args as [string, string];
  const from = dataFormat(input, flags.from, 'input', '--from', 'convert');
  const to = dataFormat(output, flags.to, 'output', '--to', 'convert') as OutputFormat;
  if (output === '-' && flags.json) {
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      '--json needs stdout, which OUT "-" already uses. Run "valkey-tools convert --help"',
      'convert',
    );
  }
  assertWritable(output, io, flags.force);
  const progress = createProgress(io.stderr, 'converting', 'bytes');
  const result = await withInputFile(input, io, (inputFile, size) =>
    withOutputFile(output, io, async (outputFile) => {
      const options: Parameters<typeof convert>[0] = {
        input: inputFile,
        output: outputFile,
        to,
        truncated: flags.truncated,
        onProgress: (p) => progress.update(p.bytesRead, size || undefined),
        signal,
      };
      if (from !== undefined) options.from = from as InputFormat;
      if (flags.db !== undefined) options.db = flags.db;
      if (flags.match !== undefined) options.match = flags.match;
      if (flags.type !== undefined) options.type = flags.type;
      try {
        return await convert(options);
      } finally {
        progress.finish();
      }
    }),
  );
  out.result(
    {
      input,
      output,
      from: result.from,
      to: result.to,
      keys: result.keys,
      bytesRead: result.bytesRead,
      bytesWritten: result.bytesWritten,
      elapsedMs: result.elapsedMs,
      dropped: result.dropped,
      threads: result.threads,
    },
    () => {
      // With `-` as OUT, stdout carries the data: the summary goes to stderr.
      const summary = `converted ${formatCount(result.keys)} keys from ${result.from} to ${result.to}: ${formatBytes(result.bytesRead)} read, ${formatBytes(result.bytesWritten)} written in ${(result.elapsedMs / 1000).toFixed(1)}s`;
      if (output === '-') out.info(summary);
      else out.line(summary);
      for (const d of result.dropped)
        out.warn(`dropped an incomplete command at byte ${d.offset} of ${d.source}`);
    },
  );
  return undefined;
}
