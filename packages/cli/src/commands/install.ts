import { installValkey } from '@valkey-tools/binaries';
import type { CommandContext } from '../main.js';
import { createProgress } from '../progress.js';

export async function run({
  args,
  flags,
  io,
  out,
  signal,
}: CommandContext<'install'>): Promise<number | undefined> {
  const progress = createProgress(io.stderr, 'downloading', 'bytes');
  const options: Parameters<typeof installValkey>[0] = {
    env: io.env,
    onStatus: (message) => out.verbose(message),
    onProgress: ({ bytes, total }) => progress.update(bytes, total),
    signal,
  };
  if (args[0] !== undefined) options.version = args[0];
  if (flags.mirror !== undefined) options.mirror = flags.mirror;
  if (flags.offline) options.offline = true;
  if (flags.force) options.force = true;
  let result: Awaited<ReturnType<typeof installValkey>>;
  try {
    result = await installValkey(options);
  } finally {
    progress.finish();
  }
  out.result(
    {
      version: result.version,
      platform: result.platform,
      dir: result.dir,
      source: result.source,
      sha256: result.sha256 ?? null,
      downloaded: result.downloaded,
      installedAt: result.installedAt,
      binaries: result.binaries,
    },
    () => {
      out.line(
        result.downloaded
          ? `Installed Valkey ${result.version} (${result.platform}) in ${result.dir}`
          : `Valkey ${result.version} (${result.platform}) is already installed in ${result.dir}`,
      );
      out.verbose(`source: ${result.source}${result.sha256 ? `, sha256 ${result.sha256}` : ''}`);
    },
  );
  return undefined;
}
