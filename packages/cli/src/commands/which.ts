import { resolveBinary } from '@valkey-tools/binaries';
import type { CommandContext } from '../main.js';

export async function run({ args, io, out }: CommandContext<'which'>): Promise<number | undefined> {
  const options: Parameters<typeof resolveBinary>[0] = {
    name: 'valkey-server',
    env: io.env,
    // `which` only looks: it never downloads.
    providers: ['explicit', 'system', 'cache'],
  };
  if (args[0] !== undefined) options.version = args[0];
  const found = await resolveBinary(options);
  out.result(
    {
      name: found.name,
      path: found.path,
      version: found.version,
      flavor: found.info.flavor,
      provider: found.provider,
    },
    () => {
      out.line(found.path);
      out.verbose(`${found.info.flavor} ${found.version}, found by the ${found.provider} provider`);
    },
  );
  return undefined;
}
