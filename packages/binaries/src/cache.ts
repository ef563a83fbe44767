import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareVersions, type PlatformKey, valkeyToolsHome } from '@valkey-tools/core';

/** What `install.json` inside an installed version's directory records. */
export interface InstallRecord {
  version: string;
  platform: PlatformKey;
  /** Where it came from (redacted URL), or `local` for createMirror/imports. */
  source: string;
  sha256?: string;
  installedAt: string;
}

export interface InstalledVersion extends InstallRecord {
  /** The directory holding valkey-server, valkey-cli, ... */
  dir: string;
}

export function binRoot(home = valkeyToolsHome()): string {
  return join(home, 'bin');
}

/** `<home>/bin/valkey-<version>-<platform>-<arch>` */
export function installDir(version: string, platform: PlatformKey, home = valkeyToolsHome()): string {
  return join(binRoot(home), `valkey-${version}-${platform}`);
}

export const INSTALL_RECORD = 'install.json';

/** Versions installed in the cache (complete installs only), newest first. */
export async function listInstalled(
  options: { home?: string; platform?: PlatformKey } = {},
): Promise<InstalledVersion[]> {
  const root = binRoot(options.home);
  const names = await readdir(root).catch(() => [] as string[]);
  const out: InstalledVersion[] = [];
  for (const name of names) {
    const m = /^valkey-(\d+\.\d+\.\d+)-([a-z0-9]+-[a-z0-9]+)$/.exec(name);
    if (!m) continue;
    if (options.platform && m[2] !== options.platform) continue;
    const dir = join(root, name);
    try {
      const record = JSON.parse(await readFile(join(dir, INSTALL_RECORD), 'utf8')) as InstallRecord;
      out.push({ ...record, version: m[1]!, platform: m[2] as PlatformKey, dir });
    } catch {
      // not a complete install (no record): ignored
    }
  }
  return out.sort((a, b) => compareVersions(b.version, a.version));
}
