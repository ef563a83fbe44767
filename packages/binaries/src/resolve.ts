import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  detectPlatform,
  executableName,
  isOfflineEnv,
  platformKey,
  parseServerVersion,
  parseVersionSpec,
  type ServerVersion,
  valkeyToolsHome,
  versionMatches,
} from '@valkey-tools/core';
import { listInstalled } from './cache.js';
import { BinariesError } from './errors.js';
import { type InstallOptions, installValkey } from './install.js';

const execFileAsync = promisify(execFile);

export type BinaryName =
  | 'valkey-server'
  | 'valkey-cli'
  | 'valkey-benchmark'
  | 'valkey-check-rdb'
  | 'valkey-check-aof'
  | 'redis-server'
  | 'redis-cli'
  | 'redis-benchmark'
  | 'redis-check-rdb'
  | 'redis-check-aof';

export type ProviderName = 'explicit' | 'system' | 'cache' | 'download';

/**
 * The default order: an explicit binary, then a build installed in the cache (a version you
 * installed wins over whatever is on PATH), then the system's, then a download.
 */
export const PROVIDERS: readonly ProviderName[] = ['explicit', 'cache', 'system', 'download'];

/** With `preferSystem` (or VALKEY_TOOLS_SYSTEM_BINARY=system): the system's binary before the cache. */
export const SYSTEM_FIRST_PROVIDERS: readonly ProviderName[] = ['explicit', 'system', 'cache', 'download'];

/** VALKEY_TOOLS_SYSTEM_BINARY values that ask for the system's binary rather than name one. */
const PREFER_SYSTEM_VALUES = /^(1|true|yes|system)$/i;

export interface ResolveOptions extends InstallOptions {
  /** Which tool (default `valkey-server`). */
  name?: BinaryName;
  /**
   * An explicit binary (or the directory holding it). Default: `VALKEY_TOOLS_SYSTEM_BINARY`
   * (`REDIS_SERVER_BINARY` for redis-*). For a tool other than the server, its sibling is used.
   */
  path?: string;
  /** Providers to try, in order (default all: explicit, cache, system, download). */
  providers?: readonly ProviderName[];
  /**
   * Try the system's binary (PATH, usual install dirs) before the cache. Default: true when
   * VALKEY_TOOLS_SYSTEM_BINARY is `system` (or 1/true/yes), else false.
   */
  preferSystem?: boolean;
  /** Extra directories searched by the system provider, before the usual install locations. */
  systemDirs?: readonly string[];
}

export interface ResolvedBinary {
  name: BinaryName;
  path: string;
  /** Full version reported by `--version`. */
  version: string;
  info: ServerVersion;
  provider: ProviderName;
  /** Why this one was chosen, in a sentence (`which` prints it). */
  reason: string;
  /** What was looked at and passed over before it. */
  tried: ResolveAttempt[];
}

/** One thing a provider looked at, and why it was not used. */
export interface ResolveAttempt {
  provider: ProviderName;
  detail: string;
}

/** Where distribution packages, /usr/local builds and Homebrew put the binaries. */
export function usualInstallDirs(platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'win32') {
    const pf = process.env.ProgramFiles ?? 'C:\\Program Files';
    return [join(pf, 'Valkey'), join(pf, 'Redis'), 'C:\\cygwin64\\bin', 'C:\\msys64\\usr\\bin'];
  }
  return [
    '/usr/bin',
    '/usr/local/bin',
    '/usr/sbin',
    '/bin',
    '/opt/homebrew/bin',
    '/opt/homebrew/opt/valkey/bin',
    '/usr/local/opt/valkey/bin',
    '/opt/valkey/bin',
    '/snap/bin',
  ];
}

const versionCache = new Map<string, ServerVersion>();

/** Runs `<path> --version` and parses it (cached per path, size and mtime). */
export async function binaryVersion(path: string): Promise<ServerVersion> {
  const s = statSync(path);
  const key = `${path}:${s.size}:${s.mtimeMs}`;
  const cached = versionCache.get(key);
  if (cached) return cached;
  let out: string;
  try {
    const { stdout, stderr } = await execFileAsync(path, ['--version'], { timeout: 15_000 });
    out = `${stdout}\n${stderr}`;
  } catch (err) {
    throw new BinariesError(
      'ERR_BINARY_INVALID',
      `${path} --version failed: ${(err as Error).message.split('\n')[0]}`,
      {
        cause: err,
        details: { binary: path },
        hint: 'It may be built for another platform or miss shared libraries; point at a working binary',
      },
    );
  }
  const info = parseServerVersion(out);
  versionCache.set(key, info);
  return info;
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    if (process.platform !== 'win32') accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function flavorOf(name: BinaryName): 'valkey' | 'redis' {
  return name.startsWith('redis') ? 'redis' : 'valkey';
}

async function check(
  path: string,
  name: BinaryName,
  spec: string,
  provider: ProviderName,
  tried: ResolveAttempt[],
): Promise<ResolvedBinary | undefined> {
  let info: ServerVersion;
  try {
    info = await binaryVersion(path);
  } catch (err) {
    tried.push({ provider, detail: `${path}: ${(err as Error).message}` });
    return undefined;
  }
  if (info.flavor !== flavorOf(name)) {
    tried.push({ provider, detail: `${path} is ${info.flavor} ${info.version}, not ${flavorOf(name)}` });
    return undefined;
  }
  if (!versionMatches(info.version, spec)) {
    tried.push({ provider, detail: `${path} is ${info.version}, not ${spec}` });
    return undefined;
  }
  return { name, path, version: info.version, info, provider, reason: '', tried: [...tried] };
}

function explicitCandidate(path: string, name: BinaryName): string {
  const exe = executableName(name, { platform: process.platform === 'win32' ? 'win32' : 'linux' });
  if (existsSync(path) && statSync(path).isDirectory()) return join(path, exe);
  // The explicit path names the server (any file name); other tools are its siblings.
  if (name.endsWith('-server') || basename(path).replace(/\.exe$/i, '') === name) return path;
  return join(dirname(path), exe);
}

/** Candidate paths for `name` on PATH, then in the usual install dirs (Windows: also `where`). */
async function systemCandidates(name: BinaryName, extraDirs: readonly string[]): Promise<string[]> {
  const win = process.platform === 'win32';
  const exts = win ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean) : [''];
  const dirs = [
    ...extraDirs,
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    ...usualInstallDirs(),
  ];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const dir of dirs) {
    // /bin and /usr/bin are one folder on merged-/usr systems: look at each folder once. (The
    // file itself is not resolved: a multi-call binary behaves by the name it is run as.)
    let real = dir;
    try {
      real = realpathSync(dir);
    } catch {
      // missing dir: nothing to find there anyway
    }
    for (const ext of exts) {
      const candidate = join(dir, `${name}${ext.toLowerCase()}`);
      const key = join(real, `${name}${ext.toLowerCase()}`);
      if (seen.has(key) || seen.has(candidate)) continue;
      seen.add(key);
      seen.add(candidate);
      if (isExecutable(candidate)) out.push(candidate);
    }
  }
  if (win && out.length === 0) {
    try {
      const { stdout } = await execFileAsync('where', [name], { timeout: 5000 });
      for (const line of stdout.split(/\r?\n/))
        if (line.trim() && !seen.has(line.trim())) out.push(line.trim());
    } catch {
      // not found
    }
  }
  return out;
}

/**
 * Finds a working binary: explicit path, then the system (PATH and usual install dirs), then the
 * cache, then a download (valkey tools only). Each candidate is validated by running `--version`
 * and checking flavor and version. The error, when nothing fits, lists every place tried.
 */
export async function resolveBinary(options: ResolveOptions = {}): Promise<ResolvedBinary> {
  const env = options.env ?? process.env;
  const name = options.name ?? 'valkey-server';
  // No version asked for: VALKEY_TOOLS_VERSION, else any (the newest found).
  const spec = options.version?.trim() || env.VALKEY_TOOLS_VERSION?.trim() || 'latest';
  if (spec !== 'latest') parseVersionSpec(spec);
  const envSystem = flavorOf(name) === 'valkey' ? env.VALKEY_TOOLS_SYSTEM_BINARY : env.REDIS_SERVER_BINARY;
  const systemAsked = envSystem !== undefined && PREFER_SYSTEM_VALUES.test(envSystem.trim());
  const preferSystem = options.preferSystem ?? systemAsked;
  const providers = options.providers ?? (preferSystem ? SYSTEM_FIRST_PROVIDERS : PROVIDERS);
  const why = (found: ResolvedBinary, reason: string): ResolvedBinary => {
    found.reason = reason;
    return found;
  };
  const wanted = spec === 'latest' ? 'any version' : spec;
  const offline = options.offline ?? isOfflineEnv(env);
  const tried: ResolveAttempt[] = [];
  const home = options.home ?? valkeyToolsHome(env);

  for (const provider of providers) {
    if (provider === 'explicit') {
      const explicit = options.path ?? (systemAsked ? undefined : envSystem || undefined);
      if (!explicit) continue;
      const candidate = explicitCandidate(explicit, name);
      if (!isExecutable(candidate)) {
        throw new BinariesError(
          'ERR_BINARY_NOT_FOUND',
          `${candidate} (from ${options.path ? 'the path option' : 'the environment'}) is not an executable file`,
          {
            details: { binary: candidate, tried },
            hint: 'Fix the path, or unset VALKEY_TOOLS_SYSTEM_BINARY to let valkey-tools find or download one',
          },
        );
      }
      const found = await check(candidate, name, spec, 'explicit', tried);
      if (found) {
        return why(
          found,
          options.path
            ? 'it was named explicitly (path option)'
            : `${flavorOf(name) === 'valkey' ? 'VALKEY_TOOLS_SYSTEM_BINARY' : 'REDIS_SERVER_BINARY'} names it`,
        );
      }
      throw new BinariesError(
        'ERR_BINARY_INVALID',
        `The binary you pointed at does not fit: ${tried.at(-1)?.detail}`,
        {
          details: { binary: candidate, version: spec, tried },
          hint: `Point at a ${flavorOf(name)} ${spec} binary, or drop the explicit path`,
        },
      );
    }
    if (provider === 'system') {
      const candidates = await systemCandidates(name, options.systemDirs ?? []);
      if (candidates.length === 0)
        tried.push({ provider, detail: `no ${name} on PATH or in ${usualInstallDirs().join(', ')}` });
      for (const candidate of candidates) {
        const found = await check(candidate, name, spec, 'system', tried);
        if (found) {
          const cachedSkipped = providers.indexOf('cache') > providers.indexOf('system');
          return why(
            found,
            cachedSkipped && providers.includes('cache')
              ? `the system's binary was asked for (${options.preferSystem ? 'preferSystem / --system' : 'VALKEY_TOOLS_SYSTEM_BINARY'}), and it is ${wanted === 'any version' ? 'found first on PATH' : `${found.version}, matching ${wanted}`}`
              : `no installed build matching ${wanted} is cached in ${join(home, 'bin')}; this is the first matching one on PATH or in the usual install dirs`,
          );
        }
      }
    }
    if (provider === 'cache') {
      if (flavorOf(name) !== 'valkey') continue;
      const key = platformKey(detectPlatform());
      const installed = (await listInstalled({ home, platform: key })).filter((i) =>
        versionMatches(i.version, spec),
      );
      if (installed.length === 0)
        tried.push({ provider, detail: `no Valkey ${spec} for ${key} in ${join(home, 'bin')}` });
      for (const entry of installed) {
        const candidate = join(entry.dir, executableName(name, detectPlatform()));
        if (!isExecutable(candidate)) {
          tried.push({ provider, detail: `${entry.dir} has no ${name}` });
          continue;
        }
        const found = await check(candidate, name, spec, 'cache', tried);
        if (found) {
          return why(
            found,
            `Valkey ${entry.version} is installed in the cache (${entry.dir}), matching ${wanted}; installed builds win over PATH (VALKEY_TOOLS_SYSTEM_BINARY=system or --system picks the system's)`,
          );
        }
      }
    }
    if (provider === 'download') {
      if (flavorOf(name) !== 'valkey') {
        tried.push({ provider, detail: `${name} is not downloaded (only Valkey builds are published)` });
        continue;
      }
      const mirror = options.mirror ?? (env.VALKEY_TOOLS_MIRROR || undefined);
      if (
        offline &&
        (mirror === undefined || (/^[a-z][a-z0-9+.-]*:\/\//i.test(mirror) && !mirror.startsWith('file:')))
      ) {
        tried.push({ provider, detail: 'skipped: offline mode (VALKEY_TOOLS_OFFLINE)' });
        continue;
      }
      let result: Awaited<ReturnType<typeof installValkey>>;
      try {
        result = await installValkey({ ...options, env, home, version: spec });
      } catch (err) {
        if (!BinariesError.isInstance(err) || tried.length === 0) throw err;
        // Keep the download's own code and hint, and say what else was looked at first.
        const e = err as BinariesError;
        const list = tried.map((t) => `  - ${t.provider}: ${t.detail}`).join('\n');
        const base =
          e.hint && e.message.endsWith(`. ${e.hint}`) ? e.message.slice(0, -(e.hint.length + 2)) : e.message;
        throw new BinariesError(e.code, `${base}\nBefore downloading, tried:\n${list}\n`, {
          cause: err,
          details: { ...e.details, name, version: spec, tried },
          ...(e.hint ? { hint: e.hint } : {}),
        });
      }
      const path = result.binaries[name as keyof typeof result.binaries];
      if (!path) {
        tried.push({ provider, detail: `Valkey ${result.version} from ${result.source} has no ${name}` });
        continue;
      }
      const found = await check(path, name, spec, 'download', tried);
      if (found) {
        return why(
          found,
          `nothing matching ${wanted} was found locally; Valkey ${result.version} was ${result.downloaded ? 'downloaded' : 'installed'} from ${result.source}`,
        );
      }
    }
  }

  const list = tried.map((t) => `  - ${t.provider}: ${t.detail}`).join('\n');
  const hint =
    flavorOf(name) === 'redis'
      ? `Install ${name} from your OS packages (apt install redis-server) or set REDIS_SERVER_BINARY`
      : `Install it from your OS packages (apt install valkey-server, brew install valkey), point VALKEY_TOOLS_SYSTEM_BINARY at a binary, or use a mirror (VALKEY_TOOLS_MIRROR)${offline ? ', or unset VALKEY_TOOLS_OFFLINE to allow a download' : ''}`;
  throw new BinariesError(
    offline ? 'ERR_OFFLINE' : 'ERR_BINARY_NOT_FOUND',
    `No ${name} ${spec === 'latest' ? '' : `${spec} `}found${offline ? ' (offline mode: nothing was downloaded)' : ''}. Tried:\n${list}\n`,
    { details: { name, version: spec, offline, tried }, hint },
  );
}
