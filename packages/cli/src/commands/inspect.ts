import { inspectRdb } from '@valkey-tools/backup';
import { checkInput } from '../data-files.js';
import { usageError } from '../errors.js';
import type { CommandContext } from '../main.js';
import { formatBytes, formatCount } from '../output.js';

export async function run(ctx: CommandContext<'inspect'>): Promise<number | undefined> {
  const { args, flags, io, out } = ctx;
  if (flags.memory) return (await import('./inspect-memory.js')).runMemory(ctx);
  if (flags.html !== undefined || flags.csv !== undefined || flags.separator.length > 0) {
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      '--html, --csv and --separator need --memory. Run "valkey-tools inspect --help"',
      'inspect',
    );
  }
  const file = args[0]!;
  const source = file === '-' ? (io.stdin as NodeJS.ReadableStream) : (await checkInput(file, io)).path;
  const report = await inspectRdb(source, { top: flags.top });
  out.result({ file, ...report }, () => {
    out.line(
      `${out.style('bold', file)}: ${report.magic} RDB version ${report.version} (${report.flavor}), ${formatBytes(report.bytes)}`,
    );
    const aux = Object.entries(report.aux);
    if (aux.length > 0) out.line(`aux: ${aux.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    out.line(
      `keys: ${formatCount(report.keys)}, with expiry ${formatCount(report.expires)} (already expired ${formatCount(report.expired)})` +
        `${report.fieldsWithTtl ? `, hash fields with TTL ${formatCount(report.fieldsWithTtl)}` : ''}` +
        `${report.emptyKeysSkipped ? `, empty keys skipped ${report.emptyKeysSkipped}` : ''}`,
    );
    out.line(`checksum: ${report.checksum ?? 'none'}`);
    if (report.functions.length > 0) out.line(`functions: ${report.functions.join(', ')}`);
    if (report.modules.length > 0) out.line(`modules: ${report.modules.join(', ')}`);
    if (report.databases.length > 0) {
      out.line();
      out.table(
        ['DB', 'KEYS', 'EXPIRES', 'BYTES', 'TYPES'],
        report.databases.map((d) => [
          String(d.db),
          formatCount(d.keys),
          formatCount(d.expires),
          formatBytes(d.bytes),
          Object.entries(d.types)
            .map(([t, n]) => `${t}=${n}`)
            .join(' '),
        ]),
      );
    }
    const encodings = Object.entries(report.encodings);
    if (encodings.length > 0) out.line(`\nencodings: ${encodings.map(([e, n]) => `${e}=${n}`).join(' ')}`);
    if (report.biggestKeys.length > 0) {
      out.line();
      out.table(
        ['BYTES', 'ELEMENTS', 'TYPE', 'ENCODING', 'DB', 'KEY'],
        report.biggestKeys.map((k) => [
          formatBytes(k.bytes),
          formatCount(k.elements),
          k.type,
          k.encoding,
          String(k.db),
          k.key,
        ]),
      );
    }
    for (const w of report.warnings) out.warn(`byte ${w.offset}: ${w.message}`);
  });
  return undefined;
}
