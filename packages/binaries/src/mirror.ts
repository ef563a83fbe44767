import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  compareVersions,
  detectPlatform,
  executableName,
  type PlatformKey,
  parsePlatformKey,
  parseServerVersion,
  parseVersionSpec,
  platformKey,
  writeFileAtomic,
} from '@valkey-tools/core';
import { BinariesError } from './errors.js';
import { type TarEntry, writeTarGz } from './tar.js';
import { sha256File } from './download.js';
import { writeZip, type ZipEntry } from './zip.js';

const execFileAsync = promisify(execFile);

/** One downloadable archive in a mirror. `url` is absolute or relative to the mirror root. */
export interface ReleaseAsset {
  url: string;
  sha256: string;
  size: number;
}

export interface ReleaseEntry {
  platforms: Record<string, ReleaseAsset>;
}

/** `<mirror>/releases.json` (hostdb layout). Other databases in the same file are kept untouched. */
export interface ReleasesManifest {
  databases: Record<string, Record<string, ReleaseEntry>>;
}

/** The tools an archive holds under `valkey/bin/` (required: valkey-server). */
export const ARCHIVE_TOOLS = [
  'valkey-server',
  'valkey-cli',
  'valkey-benchmark',
  'valkey-check-rdb',
  'valkey-check-aof',
] as const;

function badManifest(source: string, problem: string): BinariesError {
  return new BinariesError('ERR_BAD_MANIFEST', `Bad releases manifest ${source}: ${problem}`, {
    details: { source },
    hint: 'Regenerate it with createMirror() / `valkey-tools mirror add`, or fix the JSON by hand',
  });
}

/** Parses and validates a releases.json text. */
export function parseManifest(text: string, source = 'releases.json'): ReleasesManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw badManifest(source, `not valid JSON (${(err as Error).message})`);
  }
  const dbs = (data as { databases?: unknown } | null)?.databases;
  if (typeof dbs !== 'object' || dbs === null || Array.isArray(dbs))
    throw badManifest(source, 'no "databases" object');
  for (const [db, versions] of Object.entries(dbs)) {
    if (typeof versions !== 'object' || versions === null)
      throw badManifest(source, `databases.${db} is not an object`);
    if (db !== 'valkey') continue;
    for (const [version, entry] of Object.entries(versions as Record<string, unknown>)) {
      const where = `databases.valkey["${version}"]`;
      try {
        parseVersionSpec(version);
      } catch {
        throw badManifest(source, `${where}: "${version}" is not a version`);
      }
      const platforms = (entry as { platforms?: unknown } | null)?.platforms;
      if (typeof platforms !== 'object' || platforms === null)
        throw badManifest(source, `${where} has no "platforms"`);
      for (const [key, asset] of Object.entries(platforms as Record<string, unknown>)) {
        const a = asset as Partial<ReleaseAsset> | null;
        if (typeof a?.url !== 'string' || a.url === '')
          throw badManifest(source, `${where}.platforms["${key}"].url is missing`);
        if (typeof a.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(a.sha256)) {
          throw badManifest(source, `${where}.platforms["${key}"].sha256 is not a 64-digit hex sha256`);
        }
        if (a.size !== undefined && (typeof a.size !== 'number' || !Number.isInteger(a.size) || a.size < 0)) {
          throw badManifest(source, `${where}.platforms["${key}"].size is not a byte count`);
        }
      }
    }
  }
  return data as ReleasesManifest;
}

/** Full versions the manifest offers for a platform (all platforms when omitted), oldest first. */
export function manifestVersions(manifest: ReleasesManifest, platform?: PlatformKey): string[] {
  const versions = manifest.databases.valkey ?? {};
  return Object.keys(versions)
    .filter((v) => platform === undefined || versions[v]?.platforms[platform] !== undefined)
    .sort(compareVersions);
}

/** Joins a mirror base (URL or directory) with a relative path. Absolute asset URLs pass through. */
export function resolveMirrorUrl(mirror: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(mirror))
    return new URL(path, mirror.endsWith('/') ? mirror : `${mirror}/`).href;
  return isAbsolute(path) ? path : join(mirror, ...path.split('/'));
}

/** Adds `from`'s entries to `into` (a new object; `from` wins on the same version and platform). */
export function mergeManifests(into: ReleasesManifest, from: ReleasesManifest): ReleasesManifest {
  const out: ReleasesManifest = { ...into, databases: { ...into.databases } };
  for (const [db, versions] of Object.entries(from.databases)) {
    const target: Record<string, ReleaseEntry> = { ...(out.databases[db] ?? {}) };
    for (const [version, entry] of Object.entries(versions)) {
      target[version] = {
        ...target[version],
        platforms: { ...target[version]?.platforms, ...entry.platforms },
      };
    }
    out.databases[db] = target;
  }
  return out;
}

export interface CreateMirrorOptions {
  /** A directory holding valkey-server (and valkey-cli, valkey-benchmark, valkey-check-rdb, valkey-check-aof; DLLs on Windows). */
  binariesDir: string;
  /** The full version of those binaries (`8.0.1`). */
  version: string;
  /** `<platform>-<arch>` they are built for (default: this machine). */
  platform?: PlatformKey | string;
  /** The mirror root: the archive goes to `valkey/<version>/`, and `releases.json` is created or merged. */
  outDir: string;
  /**
   * Run `valkey-server --version` and refuse if it is not `version` (default: true when the
   * platform is this machine's).
   */
  verify?: boolean;
  /**
   * Write an absolute `url` (`<baseUrl>/valkey/<version>/<file>`) into releases.json, for archives
   * hosted apart from the manifest (a CDN, an artifact store). Default: a URL relative to the mirror.
   */
  baseUrl?: string;
}

export interface CreateMirrorResult {
  archivePath: string;
  /** The URL as written into releases.json (relative to the mirror root unless `baseUrl`). */
  url: string;
  sha256: string;
  size: number;
  manifestPath: string;
  manifest: ReleasesManifest;
}

async function collectBinaries(
  dir: string,
  platform: PlatformKey,
): Promise<Array<{ name: string; path: string; linkTo?: string }>> {
  const target = parsePlatformKey(platform);
  const names = await readdir(dir).catch((err: unknown) => {
    throw new BinariesError(
      'ERR_INVALID_OPTION',
      `Cannot read binaries directory ${dir}: ${(err as Error).message}`,
      {
        cause: err,
        details: { binariesDir: dir },
      },
    );
  });
  const wanted = new Set<string>(ARCHIVE_TOOLS.map((t) => executableName(t, target)));
  const picked = names.filter((n) => wanted.has(n) || (target.platform === 'win32' && /\.dll$/i.test(n)));
  const server = executableName('valkey-server', target);
  if (!picked.includes(server)) {
    throw new BinariesError('ERR_INVALID_OPTION', `${dir} has no ${server}`, {
      details: { binariesDir: dir },
      hint: "Point binariesDir at the directory holding valkey-server (e.g. /usr/bin or a build's src/)",
    });
  }
  const out: Array<{ name: string; path: string; linkTo?: string }> = [];
  for (const name of picked.sort()) {
    const path = join(dir, name);
    const info = await lstat(path);
    if (info.isSymbolicLink() && target.platform !== 'win32') {
      // Keep links between the tools (Debian's valkey-server -> valkey-check-rdb) as links.
      const link = await readlink(path);
      const resolved = resolve(dir, link);
      if (dirname(resolved) === resolve(dir) && picked.includes(basename(resolved))) {
        out.push({ name, path, linkTo: basename(resolved) });
        continue;
      }
    }
    const real = await stat(path);
    if (!real.isFile()) continue;
    out.push({ name, path });
  }
  return out;
}

/**
 * Packages binaries you already have into the mirror layout: `valkey/<version>/valkey-<version>-<platform>.tar.gz`
 * (`.zip` for win32) holding `valkey/bin/*`, its `.sha256`, and a `releases.json` entry merged
 * into the existing one. Serve `outDir` over HTTP (or use it as a directory) as `VALKEY_TOOLS_MIRROR`.
 */
export async function createMirror(options: CreateMirrorOptions): Promise<CreateMirrorResult> {
  const platform = platformKey(parsePlatformKey(options.platform ?? platformKey(detectPlatform())));
  const spec = parseVersionSpec(options.version);
  if (spec.minor === undefined || spec.patch === undefined) {
    throw new BinariesError(
      'ERR_INVALID_OPTION',
      `createMirror needs a full version like 8.0.1, not "${options.version}"`,
      {
        details: { version: options.version },
      },
    );
  }
  const version = `${spec.major}.${spec.minor}.${spec.patch}`;
  const files = await collectBinaries(options.binariesDir, platform);
  const hostKey = platformKey(detectPlatform());
  if (options.verify ?? platform === hostKey) {
    const server = files.find((f) => f.name.startsWith('valkey-server'))!;
    const { stdout } = await execFileAsync(server.path, ['--version'], { timeout: 10_000 });
    const found = parseServerVersion(stdout);
    if (found.version !== version || found.flavor !== 'valkey') {
      throw new BinariesError(
        'ERR_BINARY_INVALID',
        `${server.path} is ${found.flavor} ${found.version}, not valkey ${version}`,
        { details: { binary: server.path, found: found.version, expected: version } },
      );
    }
  }

  const isZip = platform.startsWith('win32');
  const fileName = `valkey-${version}-${platform}.${isZip ? 'zip' : 'tar.gz'}`;
  const url = posix.join('valkey', version, fileName);
  const archivePath = join(options.outDir, 'valkey', version, fileName);
  await mkdir(dirname(archivePath), { recursive: true });
  const partial = `${archivePath}.tmp-${process.pid}`;
  try {
    if (isZip) {
      const entries: ZipEntry[] = files.map((f) => ({ name: `valkey/bin/${f.name}`, sourcePath: f.path }));
      await writeZip(partial, entries);
    } else {
      const mtime = Math.floor(Date.now() / 1000);
      const entries: TarEntry[] = [
        { type: 'dir', name: 'valkey/', mtime },
        { type: 'dir', name: 'valkey/bin/', mtime },
      ];
      for (const f of files) {
        if (f.linkTo)
          entries.push({ type: 'symlink', name: `valkey/bin/${f.name}`, target: f.linkTo, mtime });
        else {
          const s = await stat(f.path);
          entries.push({
            type: 'file',
            name: `valkey/bin/${f.name}`,
            sourcePath: f.path,
            size: s.size,
            mode: 0o755,
            mtime,
          });
        }
      }
      await writeTarGz(partial, entries);
    }
    await rename(partial, archivePath);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  const sha256 = await sha256File(archivePath);
  const size = (await stat(archivePath)).size;
  await writeFile(`${archivePath}.sha256`, `${sha256}  ${fileName}\n`);

  const manifestPath = join(options.outDir, 'releases.json');
  const existing = await readFile(manifestPath, 'utf8').then(
    (text) => parseManifest(text, manifestPath),
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return { databases: {} } as ReleasesManifest;
      throw err;
    },
  );
  const published = options.baseUrl ? `${options.baseUrl.replace(/\/+$/, '')}/${url}` : url;
  const manifest = mergeManifests(existing, {
    databases: { valkey: { [version]: { platforms: { [platform]: { url: published, sha256, size } } } } },
  });
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { archivePath, url: published, sha256, size, manifestPath, manifest };
}
