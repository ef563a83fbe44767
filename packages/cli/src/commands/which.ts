import { type ResolvedBinary, resolveBinary } from '@valkey-tools/binaries';
import type { CommandContext } from '../main.js';

export async function run({ args, flags, io, out }: CommandContext<'which'>): Promise<number | undefined> {
  const base: Parameters<typeof resolveBinary>[0] = {
    name: 'valkey-server',
    env: io.env,
    ...(flags.system ? { preferSystem: true } : {}),
  };
  if (args[0] !== undefined) base.version = args[0];
  // `which` only looks: it never downloads. Installed builds come before PATH unless asked.
  const system =
    flags.system || /^(1|true|yes|system)$/i.test(io.env.VALKEY_TOOLS_SYSTEM_BINARY?.trim() ?? '');
  const found = await resolveBinary({
    ...base,
    providers: system ? ['explicit', 'system', 'cache'] : ['explicit', 'cache', 'system'],
  });
  // The other candidates, each listed once, so the choice can be checked.
  const others: ResolvedBinary[] = [];
  for (const provider of ['cache', 'system'] as const) {
    if (provider === found.provider) continue;
    try {
      others.push(await resolveBinary({ ...base, providers: [provider] }));
    } catch {
      // none from this provider
    }
  }
  const passedOver = others.filter((o) => o.path !== found.path);
  out.result(
    {
      name: found.name,
      path: found.path,
      version: found.version,
      flavor: found.info.flavor,
      provider: found.provider,
      reason: found.reason,
      passedOver: passedOver.map((o) => ({ path: o.path, version: o.version, provider: o.provider })),
    },
    () => {
      out.line(found.path);
      out.info(`${found.info.flavor} ${found.version} (${found.provider}): ${found.reason}`);
      for (const o of passedOver) out.info(`  also found: ${o.path} (${o.provider}, ${o.version})`);
    },
  );
  return undefined;
}
