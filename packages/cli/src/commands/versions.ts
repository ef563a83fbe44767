import { knownVersions, listInstalled, versionMap } from '@valkey-tools/binaries';
import { detectPlatform, platformKey, valkeyToolsHome } from '@valkey-tools/core';
import type { CommandContext } from '../main.js';

export async function run({ io, out }: CommandContext<'versions'>): Promise<number | undefined> {
  const platform = platformKey(detectPlatform());
  const home = valkeyToolsHome(io.env);
  const installed = await listInstalled({ home });
  const known = knownVersions();
  const aliases = versionMap();
  const installedHere = new Set(installed.filter((i) => i.platform === platform).map((i) => i.version));
  out.result(
    {
      platform,
      home,
      latest: aliases.latest ?? null,
      known,
      aliases,
      installed: installed.map((i) => ({
        version: i.version,
        platform: i.platform,
        dir: i.dir,
        source: i.source,
        installedAt: i.installedAt,
      })),
    },
    () => {
      const versions = [...new Set([...known, ...installedHere])].reverse();
      const names = (v: string) =>
        Object.entries(aliases)
          .filter(([alias, full]) => full === v && alias !== v)
          .map(([alias]) => alias)
          .join(', ');
      out.table(
        ['VERSION', 'INSTALLED', 'ALIASES'],
        versions.map((v) => [v, installedHere.has(v) ? 'yes' : '', names(v)]),
      );
      const other = installed.filter((i) => i.platform !== platform);
      for (const i of other) out.line(`${i.version} for ${i.platform} (cached, not runnable here)`);
      out.verbose(`cache: ${home}`);
    },
  );
  return undefined;
}
