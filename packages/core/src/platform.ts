import { existsSync, readFileSync } from 'node:fs';
import { CoreError } from './errors.js';

export type OsPlatform = 'darwin' | 'linux' | 'win32';
export type CpuArch = 'x64' | 'arm64';
export type Libc = 'glibc' | 'musl';

/** A binary target: what a prebuilt valkey-server must be built for. */
export interface PlatformTarget {
  platform: OsPlatform;
  arch: CpuArch;
  /** Only on Linux. */
  libc?: Libc;
}

/** `<platform>-<arch>` as used by mirrors: `linux-x64`, `darwin-arm64`, `win32-x64`... */
export type PlatformKey = `${OsPlatform}-${CpuArch}`;

export const PLATFORM_KEYS: readonly PlatformKey[] = [
  'darwin-arm64',
  'darwin-x64',
  'linux-arm64',
  'linux-x64',
  'win32-x64',
  'win32-arm64',
];

export interface DetectOptions {
  platform?: string;
  arch?: string;
  /** Override libc detection (otherwise read from the process report / loader). */
  libc?: Libc;
}

function detectLibc(): Libc {
  const report = process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined;
  if (report?.header?.glibcVersionRuntime) return 'glibc';
  for (const loader of ['/lib/ld-musl-x86_64.so.1', '/lib/ld-musl-aarch64.so.1']) {
    if (existsSync(loader)) return 'musl';
  }
  try {
    if (readFileSync('/usr/bin/ldd', 'utf8').includes('musl')) return 'musl';
  } catch {
    // no ldd: assume glibc
  }
  return 'glibc';
}

/** Detects (or validates the given) platform, arch and, on Linux, libc. */
export function detectPlatform(options: DetectOptions = {}): PlatformTarget {
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  if (platform !== 'darwin' && platform !== 'linux' && platform !== 'win32') {
    throw new CoreError('ERR_UNSUPPORTED_PLATFORM', `Unsupported platform "${platform}"`, {
      details: { platform },
      hint: 'Supported: darwin, linux, win32. Point VALKEY_TOOLS_SYSTEM_BINARY at a valkey-server you built',
    });
  }
  if (arch !== 'x64' && arch !== 'arm64') {
    throw new CoreError('ERR_UNSUPPORTED_PLATFORM', `Unsupported CPU architecture "${arch}"`, {
      details: { arch },
      hint: 'Supported: x64, arm64. Point VALKEY_TOOLS_SYSTEM_BINARY at a valkey-server you built',
    });
  }
  const target: PlatformTarget = { platform, arch };
  if (platform === 'linux') target.libc = options.libc ?? detectLibc();
  return target;
}

export function platformKey(target: PlatformTarget): PlatformKey {
  return `${target.platform}-${target.arch}`;
}

/** Parses `linux-x64` style keys, with a clear error for anything else. */
export function parsePlatformKey(key: string): PlatformTarget {
  const m = /^(darwin|linux|win32)-(x64|arm64)$/.exec(key);
  if (!m) {
    throw new CoreError('ERR_UNSUPPORTED_PLATFORM', `Invalid platform "${key}"`, {
      details: { platform: key },
      hint: `Use one of ${PLATFORM_KEYS.join(', ')}`,
    });
  }
  return { platform: m[1] as OsPlatform, arch: m[2] as CpuArch };
}

/** File name of an executable on the target (`valkey-server.exe` on Windows). */
export function executableName(
  name: string,
  target: Pick<PlatformTarget, 'platform'> = detectPlatform(),
): string {
  return target.platform === 'win32' ? `${name}.exe` : name;
}
