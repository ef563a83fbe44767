import { knownVersions, listInstalled, refreshVersionMap, versionMap } from '@valkey-tools/binaries';
import { detectPlatform, isOfflineEnv, platformKey, redactUrl, valkeyToolsHome } from '@valkey-tools/core';
import type { CommandContext } from '../main.js';

export async function run({
  flags,
  io,
  out,
  signal,
}: CommandContext<'versions'>): Promise<number | undefined> {
  const platform = platformKey(detectPlatform());
  const home = valkeyToolsHome(io.env);
  const mirror = flags.mirror ?? (io.env.VALKEY_TOOLS_MIRROR || undefined);
  let offered: string[] | undefined;
  let mirrorError: string | undefined;
  if (mirror !== undefined) {
    const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(mirror) && !mirror.startsWith('file:');
    if (remote && isOfflineEnv(io.env)) {
      mirrorError = 'offline mode (VALKEY_TOOLS_OFFLINE): the mirror was not asked';
    } else {
      try {
        // Saved into <home>/versions.json: later runs, offline ones too, know these versions.
        offered = await refreshVersionMap({
          mirror,
          home,
          env: io.env,
          signal,
          retry: { retries: 1, minDelayMs: 200, maxDelayMs: 1000 },
          timeoutMs: 10_000,
        });
      } catch (err) {
        mirrorError = redactUrl((err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '');
      }
    }
    if (mirrorError) out.warn(`versions: ${mirrorError}; showing the versions saved in ${home}`);
  }
  const installed = await listInstalled({ home });
  const known = knownVersions({ home });
  const aliases = versionMap({ home });
  const offeredSet = new Set(offered ?? []);
  const installedHere = new Set(installed.filter((i) => i.platform === platform).map((i) => i.version));
  out.result(
    {
      platform,
      home,
      latest: aliases.latest ?? null,
      defaultVersion: io.env.VALKEY_TOOLS_VERSION?.trim() || null,
      mirror:
        mirror === undefined
          ? null
          : { url: redactUrl(mirror), offered: offered ?? null, error: mirrorError ?? null },
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
      if (offered) {
        out.table(
          ['VERSION', 'INSTALLED', 'MIRROR', 'ALIASES'],
          versions.map((v) => [
            v,
            installedHere.has(v) ? 'yes' : '',
            offeredSet.has(v) ? 'yes' : '',
            names(v),
          ]),
        );
      } else {
        out.table(
          ['VERSION', 'INSTALLED', 'ALIASES'],
          versions.map((v) => [v, installedHere.has(v) ? 'yes' : '', names(v)]),
        );
      }
      const other = installed.filter((i) => i.platform !== platform);
      for (const i of other) out.line(`${i.version} for ${i.platform} (cached, not runnable here)`);
      out.verbose(`cache: ${home}`);
    },
  );
  return undefined;
}
