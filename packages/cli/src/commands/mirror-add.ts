import { resolve } from 'node:path';
import { createMirror } from '@valkey-tools/binaries';
import type { CommandContext } from '../main.js';

export async function run({ flags, io, out }: CommandContext<'mirror add'>): Promise<number | undefined> {
  const result = await createMirror({
    binariesDir: resolve(io.cwd, flags.binaries),
    version: flags.version,
    platform: flags.platform,
    outDir: resolve(io.cwd, flags.out),
  });
  out.result(
    {
      version: flags.version,
      platform: flags.platform,
      archivePath: result.archivePath,
      url: result.url,
      sha256: result.sha256,
      size: result.size,
      manifestPath: result.manifestPath,
    },
    () => {
      out.line(`Added Valkey ${flags.version} for ${flags.platform} to ${result.manifestPath}`);
      out.line(`  ${result.url}  sha256 ${result.sha256}  ${result.size} bytes`);
      out.line(`Use it with: valkey-tools install ${flags.version} --mirror ${resolve(io.cwd, flags.out)}`);
    },
  );
  return undefined;
}
