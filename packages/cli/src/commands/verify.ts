import { verifyRdb } from '@valkey-tools/backup';
import { checkInput } from '../data-files.js';
import { EXIT_FAILED } from '../errors.js';
import type { CommandContext } from '../main.js';
import { formatBytes, formatCount } from '../output.js';

export async function run({ args, io, out }: CommandContext<'verify'>): Promise<number | undefined> {
  const file = args[0]!;
  const source = file === '-' ? (io.stdin as NodeJS.ReadableStream) : (await checkInput(file, io)).path;
  const result = await verifyRdb(source);
  out.result(
    {
      file,
      valid: result.ok,
      magic: result.magic ?? null,
      version: result.version ?? null,
      keys: result.keys,
      bytes: result.bytes,
      checksum: result.checksum,
      error: result.error ?? null,
      warnings: result.warnings,
    },
    () => {
      if (result.ok) {
        out.line(
          out.style(
            'green',
            `${file}: valid ${result.magic ?? ''} RDB version ${result.version ?? '?'}, ${formatCount(result.keys)} keys, ${formatBytes(result.bytes)}, checksum ${result.checksum}`,
          ),
        );
      } else {
        const e = result.error;
        const where = [
          e?.offset !== undefined ? `at byte ${e.offset}` : '',
          e?.key !== undefined ? `in key ${JSON.stringify(e.key)}` : '',
        ]
          .filter(Boolean)
          .join(' ');
        out.line(
          out.style('red', `${file}: invalid${where ? ` ${where}` : ''}: ${e?.message ?? 'unknown problem'}`),
        );
      }
      for (const w of result.warnings) out.warn(`byte ${w.offset}: ${w.message}`);
    },
  );
  return result.ok ? undefined : EXIT_FAILED;
}
