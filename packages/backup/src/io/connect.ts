import { parseServerVersion } from '@valkey-tools/core';

/** The server's version string (`valkey_version`, else `redis_version`) and family. */
export function serverVersion(info: Record<string, string>): { flavor: 'valkey' | 'redis'; version: string } {
  if (info.valkey_version) return { flavor: 'valkey', version: info.valkey_version };
  if (info.server_name === 'valkey') return { flavor: 'valkey', version: info.redis_version ?? '0.0.0' };
  return { flavor: 'redis', version: info.redis_version ?? '0.0.0' };
}

/**
 * The highest DUMP payload RDB version the server accepts: Valkey 9 takes 80, Valkey 7.2/8.x and
 * Redis 7.2+ take 11, Redis 7.0 takes 10, older servers 9.
 */
export function dumpVersionFor(info: Record<string, string>): number {
  const { flavor, version } = serverVersion(info);
  const v = parseServerVersion(`${flavor} v=${version}`);
  if (flavor === 'valkey') return v.major >= 9 ? 80 : 11;
  if (v.major > 7 || (v.major === 7 && v.minor >= 2)) return 11;
  if (v.major === 7) return 10;
  return 9;
}
