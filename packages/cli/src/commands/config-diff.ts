import { resolve } from 'node:path';
import { diffWithServer, parseConfigFile } from '@valkey-tools/config';
import { redactUrl } from '@valkey-tools/core';
import { connectionUrl } from '../credentials.js';
import { EXIT_FAILED } from '../errors.js';
import type { CommandContext } from '../main.js';
import { tlsFromFlags, withFlagsHint } from '../tls.js';

export async function run({
  args,
  flags,
  io,
  out,
}: CommandContext<'config diff'>): Promise<number | undefined> {
  const file = args[0]!;
  const parsed = parseConfigFile(resolve(io.cwd, file));
  const url = await connectionUrl(flags.url, flags, io, out, 'config diff');
  const tls = tlsFromFlags(flags, io.cwd);
  const differences = await diffWithServer(parsed, url, {
    drift: flags['file-only'] !== true,
    ...(tls ? { tls } : {}),
  }).catch((err: unknown) => {
    throw withFlagsHint(err);
  });
  out.result(
    {
      file,
      url: redactUrl(flags.url),
      same: differences.length === 0,
      differences: differences.map((d) => ({
        directive: d.directive,
        expected: d.expected,
        actual: d.actual ?? null,
        file: d.file ?? null,
        line: d.line ?? null,
        settable: d.settable,
        kind: d.kind,
      })),
    },
    () => {
      if (differences.length === 0) {
        out.line(`${file} matches the server at ${redactUrl(flags.url)}`);
        return;
      }
      for (const d of differences) {
        const where = d.file !== undefined ? `${d.file}${d.line !== undefined ? `:${d.line}` : ''}: ` : '';
        out.line(
          d.kind === 'drift'
            ? `${out.style('bold', d.directive)}: not in the file (default ${JSON.stringify(d.expected)}), server ${JSON.stringify(d.actual)}: a restart with the file would lose it`
            : `${where}${out.style('bold', d.directive)}: file ${JSON.stringify(d.expected)}, server ${d.actual === undefined ? '(unknown directive)' : JSON.stringify(d.actual)}${d.settable ? '' : ' (needs a restart)'}`,
        );
      }
      out.info(`${differences.length} difference${differences.length === 1 ? '' : 's'}`);
    },
  );
  return differences.length > 0 ? EXIT_FAILED : undefined;
}
