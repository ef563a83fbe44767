import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  detectPlatform,
  executableName,
  isOfflineEnv,
  type PlatformKey,
  type PlatformTarget,
  parsePlatformKey,
  parseServerVersion,
  parseVersionSpec,
  platformKey,
  redactUrl,
  valkeyToolsHome,
  versionMatches,
} from '@valkey-tools/core';
import {
  binRoot,
  INSTALL_RECORD,
  type InstalledVersion,
  type InstallRecord,
  installDir,
  listInstalled,
} from './cache.js';
import { type DownloadProgress, downloadFile, fetchText, type HttpOptions, sha256File } from './download.js';
import { BinariesError } from './errors.js';
import { acquireLock } from './lock.js';
import {
  ARCHIVE_TOOLS,
  manifestVersions,
  parseManifest,
  type ReleasesManifest,
  resolveMirrorUrl,
} from './mirror.js';
import { type ExtractLimits, extractTarGz } from './tar.js';
import { addKnownVersions, resolveVersionSpec, saveKnownVersions } from './version-map.js';
import { extractZip } from './zip.js';

const execFileAsync = promisify(execFile);

/** Where official release tarballs live (`<base>/releases/valkey-<version>-<distro>-<arch>.tar.gz`). */
export const DEFAULT_RELEASES_URL = 'https://download.valkey.io';

export type ArchiveTool = (typeof ARCHIVE_TOOLS)[number];

export interface InstallOptions extends HttpOptions {
  /** `8`, `8.0`, `8.0.1` or `latest` (default). */
  version?: string;
  /** A hostdb-layout mirror: URL, `file://` URL or directory (default `VALKEY_TOOLS_MIRROR`). When set, only the mirror is used. */
  mirror?: string;
  /** Base URL of official release tarballs (default `VALKEY_TOOLS_RELEASES_URL` or download.valkey.io); `false` disables. */
  releasesUrl?: string | false;
  /** Never touch the network (default `VALKEY_TOOLS_OFFLINE`). A directory mirror still works. */
  offline?: boolean;
  /** Cache root (default `VALKEY_TOOLS_HOME` or ~/.valkey-tools). */
  home?: string;
  /** Install for another platform (`linux-arm64`...); the binary is then not run to validate it. */
  platform?: PlatformKey | string;
  /** Download again even if installed. */
  force?: boolean;
  /** How long to wait for another process installing the same version (default 10 min). */
  lockTimeoutMs?: number;
  /** Human-readable steps ("downloading ...", "waiting for pid 123 ..."), for CLIs and logs. */
  onStatus?: (message: string) => void;
  limits?: ExtractLimits;
}

export interface InstallResult extends InstalledVersion {
  /** Absolute paths of the tools the archive held. */
  binaries: Partial<Record<ArchiveTool, string>>;
  /** False when it was already installed (cache hit, or another process installed it while we waited). */
  downloaded: boolean;
}

interface Plan {
  version: string;
  url: string;
  /** undefined: read `<url>.sha256`. */
  sha256: string | undefined;
  size: number | undefined;
  archiveName: string;
  local: boolean;
}

function isUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !s.startsWith('file:');
}

function localPath(s: string): string {
  return s.startsWith('file:') ? fileURLToPath(s) : s;
}

async function loadManifest(mirror: string, http: HttpOptions): Promise<ReleasesManifest> {
  const where = resolveMirrorUrl(isUrl(mirror) ? mirror : localPath(mirror), 'releases.json');
  const text = isUrl(mirror)
    ? await fetchText(where, http)
    : await readFile(where, 'utf8').catch((err: Error) => {
        throw new BinariesError('ERR_BAD_MANIFEST', `Cannot read mirror manifest ${where}: ${err.message}`, {
          cause: err,
          details: { source: where },
          hint: 'Point the mirror at a directory made by createMirror() / `valkey-tools mirror add`',
        });
      });
  const manifest = parseManifest(text, redactUrl(where));
  addKnownVersions(manifestVersions(manifest));
  return manifest;
}

/**
 * Reads a mirror's releases.json and adds its versions to the version map (of this process, and
 * saved in `<home>/versions.json` for later ones unless `save: false`), so `'8'` or `'latest'` can
 * resolve to releases newer than this package. Returns the mirror's full versions.
 */
export async function refreshVersionMap(
  options: { mirror?: string; home?: string; save?: boolean } & HttpOptions = {},
): Promise<string[]> {
  const env = options.env ?? process.env;
  const mirror = options.mirror ?? (env.VALKEY_TOOLS_MIRROR || undefined);
  if (!mirror) {
    throw new BinariesError('ERR_INVALID_OPTION', 'refreshVersionMap needs a mirror', {
      hint: 'Pass { mirror } or set VALKEY_TOOLS_MIRROR',
    });
  }
  const versions = manifestVersions(await loadManifest(mirror, options));
  if (options.save !== false) {
    saveKnownVersions(versions, { home: options.home ?? valkeyToolsHome(env), source: redactUrl(mirror) });
  }
  return versions;
}

async function planFromMirror(
  mirror: string,
  spec: string,
  key: PlatformKey,
  http: HttpOptions,
): Promise<Plan> {
  const manifest = await loadManifest(mirror, http);
  const offered = manifestVersions(manifest, key);
  if (offered.length === 0) {
    throw new BinariesError(
      'ERR_NO_BUILD_FOR_PLATFORM',
      `The mirror ${redactUrl(mirror)} has no Valkey build for ${key}`,
      {
        details: { mirror: redactUrl(mirror), platform: key, versions: manifestVersions(manifest) },
        hint: 'Add one with createMirror() / `valkey-tools mirror add`, or install valkey-server from your OS',
      },
    );
  }
  let version: string;
  try {
    version = resolveVersionSpec(spec, offered);
  } catch {
    throw new BinariesError(
      'ERR_UNKNOWN_VERSION',
      `The mirror ${redactUrl(mirror)} has no Valkey ${spec} for ${key}`,
      {
        details: { mirror: redactUrl(mirror), platform: key, version: spec, offered },
        hint: `It offers ${offered.join(', ')} for ${key}`,
      },
    );
  }
  const asset = manifest.databases.valkey![version]!.platforms[key]!;
  const base = isUrl(mirror) ? mirror : localPath(mirror);
  const url = resolveMirrorUrl(base, asset.url);
  return {
    version,
    url,
    sha256: asset.sha256.toLowerCase(),
    size: asset.size,
    archiveName: `valkey-${version}-${key}${asset.url.endsWith('.zip') ? '.zip' : '.tar.gz'}`,
    local: !isUrl(url),
  };
}

/** Ubuntu codename of the official build that runs here: noble needs glibc 2.39, jammy 2.35. */
function officialDistro(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    const codename = /^VERSION_CODENAME=(\w+)/m.exec(release)?.[1];
    if (codename === 'noble' || codename === 'jammy') return codename;
  } catch {
    // not on Linux with os-release
  }
  const glibc = (process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined)
    ?.header?.glibcVersionRuntime;
  const [maj, min] = (glibc ?? '2.35').split('.').map(Number);
  return (maj ?? 2) > 2 || (min ?? 0) >= 39 ? 'noble' : 'jammy';
}

function planFromReleases(base: string, spec: string, target: PlatformTarget, home: string): Plan {
  if (target.platform !== 'linux' || target.libc === 'musl') {
    throw new BinariesError(
      'ERR_NO_BUILD_FOR_PLATFORM',
      `Official Valkey release tarballs are only built for glibc Linux, not ${platformKey(target)}${target.libc === 'musl' ? ' (musl)' : ''}`,
      {
        details: { platform: platformKey(target) },
        hint: 'Install valkey-server from your OS packages (brew install valkey, apk add valkey...), point VALKEY_TOOLS_SYSTEM_BINARY at one, or use a mirror (VALKEY_TOOLS_MIRROR) that has this platform',
      },
    );
  }
  const version = resolveVersionSpec(spec, undefined, { home });
  const arch = target.arch === 'x64' ? 'x86_64' : 'arm64';
  const archiveName = `valkey-${version}-${officialDistro()}-${arch}.tar.gz`;
  const url = `${base.replace(/\/+$/, '')}/releases/${archiveName}`;
  return { version, url, sha256: undefined, size: undefined, archiveName, local: false };
}

async function fetchSha256(url: string, http: HttpOptions): Promise<string> {
  const text = await fetchText(`${url}.sha256`, http);
  const hex = /\b([0-9a-f]{64})\b/i.exec(text)?.[1];
  if (!hex) {
    throw new BinariesError('ERR_BAD_MANIFEST', `${redactUrl(url)}.sha256 holds no sha256`, {
      details: { url: `${redactUrl(url)}.sha256` },
      hint: 'Without a published checksum nothing is installed; use a mirror with sha256 values',
    });
  }
  return hex.toLowerCase();
}

/** Finds the directory holding valkey-server inside an extracted archive (valkey/bin, bin, <top>/bin). */
async function findBinDir(root: string, target: PlatformTarget): Promise<string | undefined> {
  const server = executableName('valkey-server', target);
  const candidates = [join(root, 'valkey', 'bin'), join(root, 'bin'), root];
  for (const top of await readdir(root).catch(() => [] as string[])) candidates.push(join(root, top, 'bin'));
  return candidates.find((dir) => existsSync(join(dir, server)));
}

function toolsIn(dir: string, target: PlatformTarget): Partial<Record<ArchiveTool, string>> {
  const out: Partial<Record<ArchiveTool, string>> = {};
  for (const tool of ARCHIVE_TOOLS) {
    const path = join(dir, executableName(tool, target));
    if (existsSync(path)) out[tool] = path;
  }
  return out;
}

async function checkServerVersion(serverPath: string, version: string): Promise<void> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(serverPath, ['--version'], { timeout: 15_000 }));
  } catch (err) {
    throw new BinariesError(
      'ERR_BINARY_INVALID',
      `The downloaded ${serverPath} does not run: ${(err as Error).message}`,
      {
        cause: err,
        details: { binary: serverPath },
        hint: 'The build may be for another platform or need libraries this machine lacks (e.g. OpenSSL); nothing was installed',
      },
    );
  }
  const found = parseServerVersion(stdout);
  if (found.flavor !== 'valkey' || found.version !== version) {
    throw new BinariesError(
      'ERR_BINARY_INVALID',
      `The downloaded archive holds ${found.flavor} ${found.version}, not Valkey ${version}`,
      {
        details: { binary: serverPath, found: found.version, expected: version },
        hint: 'The mirror entry is wrong; nothing was installed',
      },
    );
  }
}

function resultFor(record: InstalledVersion, target: PlatformTarget, downloaded: boolean): InstallResult {
  return { ...record, binaries: toolsIn(record.dir, target), downloaded };
}

/** The install record of a complete install (its valkey-server still there), else undefined. */
async function readRecord(dir: string, target: PlatformTarget): Promise<InstallRecord | undefined> {
  if (!existsSync(join(dir, executableName('valkey-server', target)))) return undefined;
  try {
    return JSON.parse(await readFile(join(dir, INSTALL_RECORD), 'utf8')) as InstallRecord;
  } catch {
    return undefined;
  }
}

function offlineError(
  spec: string,
  key: PlatformKey,
  home: string,
  installed: InstalledVersion[],
): BinariesError {
  const have = installed.map((i) => i.version);
  return new BinariesError(
    'ERR_OFFLINE',
    `Valkey ${spec} for ${key} is not installed and offline mode is on, so nothing was downloaded. Tried: the cache ${binRoot(home)} (${have.length ? `has ${have.join(', ')}` : 'empty'})`,
    {
      details: { version: spec, platform: key, cache: binRoot(home), installed: have, tried: ['cache'] },
      hint: 'Install valkey-server from your OS packages (apt install valkey-server, brew install valkey), point VALKEY_TOOLS_SYSTEM_BINARY at a valkey-server, use a mirror directory (VALKEY_TOOLS_MIRROR=/path/to/mirror), or unset VALKEY_TOOLS_OFFLINE to download',
    },
  );
}

/**
 * Installs Valkey into the cache (`<home>/bin/valkey-<version>-<platform>-<arch>/`) from a mirror
 * or the official tarballs: downloads (retries, resume, progress), checks sha256 (and size),
 * extracts safely into a temp dir, runs `valkey-server --version`, then renames into place.
 * Concurrent installs of the same version (even from other processes) download once.
 */
export async function installValkey(options: InstallOptions = {}): Promise<InstallResult> {
  const env = options.env ?? process.env;
  const home = options.home ?? valkeyToolsHome(env);
  const target: PlatformTarget = options.platform ? parsePlatformKey(options.platform) : detectPlatform();
  if (options.platform && target.platform === 'linux') target.libc = detectPlatform().libc ?? 'glibc';
  const key = platformKey(target);
  const hostKey = platformKey(detectPlatform());
  // No version asked for: VALKEY_TOOLS_VERSION, else the latest.
  const spec = options.version?.trim() || env.VALKEY_TOOLS_VERSION?.trim() || 'latest';
  if (spec !== 'latest') parseVersionSpec(spec);
  const offline = options.offline ?? isOfflineEnv(env);
  const mirror = options.mirror ?? (env.VALKEY_TOOLS_MIRROR || undefined);
  const releasesUrl =
    options.releasesUrl === false
      ? undefined
      : (options.releasesUrl ?? (env.VALKEY_TOOLS_RELEASES_URL || DEFAULT_RELEASES_URL));
  const status = options.onStatus ?? (() => {});
  const http: InstallOptions = { ...options, env };

  const installed = await listInstalled({ home, platform: key });
  const exact = /^\d+\.\d+\.\d+$/.test(spec.replace(/^v/, ''));
  if (!options.force) {
    const hit = installed.find(
      (i) =>
        versionMatches(i.version, spec) && existsSync(join(i.dir, executableName('valkey-server', target))),
    );
    // A partial spec ('8') is satisfied by the cache only offline or without a way to learn newer versions.
    if (hit && (exact || offline || (!mirror && !releasesUrl))) return resultFor(hit, target, false);
  }
  const mirrorIsLocal = mirror !== undefined && !isUrl(mirror);
  if (offline && !mirrorIsLocal) throw offlineError(spec, key, home, installed);

  let plan: Plan;
  if (mirror) plan = await planFromMirror(mirror, spec, key, http);
  else if (releasesUrl) plan = planFromReleases(releasesUrl, spec, target, home);
  else {
    throw new BinariesError(
      'ERR_INVALID_OPTION',
      'No download source: no mirror and official releases disabled',
      {
        hint: 'Pass { mirror } or set VALKEY_TOOLS_MIRROR',
      },
    );
  }

  if (offline && !plan.local) {
    // A directory mirror whose archive URL is remote: still no network in offline mode.
    throw offlineError(spec, key, home, installed);
  }

  const finalDir = installDir(plan.version, key, home);
  if (!options.force) {
    const record = await readRecord(finalDir, target);
    if (record) return resultFor({ ...record, dir: finalDir }, target, false);
  }

  const lock = await acquireLock(join(binRoot(home), '.locks', `valkey-${plan.version}-${key}.lock`), {
    ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onWait: (holder) => status(`waiting for process ${holder.pid} installing Valkey ${plan.version}`),
  });
  try {
    if (!options.force) {
      const record = await readRecord(finalDir, target);
      if (record) return resultFor({ ...record, dir: finalDir }, target, false);
    }
    const downloads = join(home, 'downloads');
    await mkdir(downloads, { recursive: true });
    const partial = join(downloads, `${plan.archiveName}.part`);
    const expected = plan.sha256 ?? (await fetchSha256(plan.url, http));

    const fetchArchive = async (): Promise<{ resumed: boolean }> => {
      if (plan.local) {
        status(`copying ${plan.url}`);
        await copyFile(localPath(plan.url), partial);
        const size = (await stat(partial)).size;
        options.onProgress?.({ url: plan.url, bytes: size, total: size } satisfies DownloadProgress);
        return { resumed: false };
      }
      status(`downloading ${redactUrl(plan.url)}`);
      return downloadFile(plan.url, partial, {
        ...http,
        ...(plan.size !== undefined ? { expectedSize: plan.size } : {}),
      });
    };

    let fetched = await fetchArchive().catch(async (err: unknown) => {
      // A size mismatch means the bytes are wrong: do not keep them for a later resume.
      if (BinariesError.hasCode(err, 'ERR_CHECKSUM_MISMATCH')) await rm(partial, { force: true });
      throw err;
    });
    let actual = await sha256File(partial);
    if (actual !== expected && fetched.resumed) {
      // The resumed part may not belong to the same file: one clean download before giving up.
      await rm(partial, { force: true });
      status('checksum mismatch after resuming; downloading again from the start');
      fetched = await fetchArchive();
      actual = await sha256File(partial);
    }
    if (actual !== expected) {
      await rm(partial, { force: true });
      throw new BinariesError(
        'ERR_CHECKSUM_MISMATCH',
        `sha256 of ${redactUrl(plan.url)} is ${actual}, expected ${expected}; the download was deleted and nothing was installed`,
        {
          details: { url: redactUrl(plan.url), expected, actual },
          hint: 'The mirror file or its checksum is wrong (or was tampered with). Regenerate the mirror entry, or try another mirror',
        },
      );
    }

    status(`extracting ${plan.archiveName}`);
    await mkdir(binRoot(home), { recursive: true });
    const staging = join(
      binRoot(home),
      `.tmp-${plan.version}-${key}-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    await mkdir(staging);
    try {
      if (plan.archiveName.endsWith('.zip')) await extractZip(partial, staging, options.limits);
      else await extractTarGz(partial, staging, options.limits);
      const binDir = await findBinDir(staging, target);
      if (!binDir) {
        throw new BinariesError(
          'ERR_BAD_ARCHIVE',
          `${plan.archiveName} holds no valkey/bin/${executableName('valkey-server', target)}`,
          {
            details: { url: redactUrl(plan.url) },
            hint: 'Mirror archives must hold valkey/bin/valkey-server (see createMirror)',
          },
        );
      }
      if (key === hostKey)
        await checkServerVersion(join(binDir, executableName('valkey-server', target)), plan.version);
      const record: InstallRecord = {
        version: plan.version,
        platform: key,
        source: plan.local ? plan.url : redactUrl(plan.url),
        sha256: expected,
        installedAt: new Date().toISOString(),
      };
      await writeFile(join(binDir, INSTALL_RECORD), `${JSON.stringify(record, null, 2)}\n`);
      if (existsSync(finalDir)) {
        const old = `${staging}-old`;
        await rename(finalDir, old);
        await rm(old, { recursive: true, force: true });
      }
      await rename(binDir, finalDir);
      await rm(partial, { force: true });
      status(`installed Valkey ${plan.version} in ${finalDir}`);
      return resultFor({ ...record, dir: finalDir }, target, true);
    } catch (err) {
      // The archive matched its checksum but is unusable: keeping it would only make it come back.
      await rm(partial, { force: true });
      throw err;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  } finally {
    await lock.release();
  }
}

/** Removes an installed version from the cache. Returns false when it was not installed. */
export async function uninstallValkey(
  version: string,
  options: { home?: string; platform?: PlatformKey } = {},
): Promise<boolean> {
  const key = options.platform ?? platformKey(detectPlatform());
  const home = options.home ?? valkeyToolsHome();
  const dir = installDir(version, key, home);
  if (!existsSync(dir)) return false;
  // Under the install lock, so an install of the same version in progress is not cut in half.
  const lock = await acquireLock(join(binRoot(home), '.locks', `valkey-${version}-${key}.lock`));
  try {
    await rm(dir, { recursive: true, force: true });
  } finally {
    await lock.release();
  }
  return true;
}
