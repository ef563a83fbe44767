import { CoreError } from './errors.js';

export type ServerFlavor = 'valkey' | 'redis';

export interface ServerVersion {
  flavor: ServerFlavor;
  major: number;
  minor: number;
  patch: number;
  /** `8.0.1` */
  version: string;
  sha?: string;
  malloc?: string;
  bits?: number;
}

/** Maps a major or major.minor to the full version to install: `{ '8': '8.0.1', '8.0': '8.0.1', latest: '8.0.1' }`. */
export type VersionMap = Readonly<Record<string, string>>;

function fail(input: string, what: string): never {
  throw new CoreError(
    'ERR_INVALID_VERSION',
    `Cannot read a version from "${input.trim().slice(0, 120)}": ${what}`,
    {
      details: { input: input.slice(0, 200) },
      hint: 'Expected output like "Valkey server v=8.0.1 sha=..." or a version like 8, 8.0 or 8.0.1',
    },
  );
}

/**
 * Parses the output of `valkey-server --version` or `redis-server --version`
 * (`Valkey server v=8.0.1 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=...`).
 */
export function parseServerVersion(output: string): ServerVersion {
  const flavor: ServerFlavor = /valkey/i.test(output) ? 'valkey' : 'redis';
  const strict = /\bv=(\d+)\.(\d+)\.(\d+)\b/.exec(output);
  const loose = strict ?? /(?:^|[^\d.])(\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  if (!loose) fail(output, 'no version number found');
  const major = Number(loose[1]);
  const minor = Number(loose[2]);
  const patch = Number(loose[3] ?? 0);
  const result: ServerVersion = { flavor, major, minor, patch, version: `${major}.${minor}.${patch}` };
  const sha = /\bsha=([0-9a-f]+)/i.exec(output);
  if (sha) result.sha = sha[1]!;
  const malloc = /\bmalloc=(\S+)/.exec(output);
  if (malloc) result.malloc = malloc[1]!;
  const bits = /\bbits=(\d+)/.exec(output);
  if (bits) result.bits = Number(bits[1]);
  return result;
}

/** Parses `8`, `8.0`, `8.0.1` (and `v8.0.1`) into numeric parts; missing parts are undefined. */
export function parseVersionSpec(spec: string): { major: number; minor?: number; patch?: number } {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(spec.trim());
  if (!m) fail(spec, 'not a version (use 8, 8.0, 8.0.1 or latest)');
  const out: { major: number; minor?: number; patch?: number } = { major: Number(m[1]) };
  if (m[2] !== undefined) out.minor = Number(m[2]);
  if (m[3] !== undefined) out.patch = Number(m[3]);
  return out;
}

/** Compares two versions (`8.0.1` vs `8.1`), missing parts count as 0. Returns -1, 0 or 1. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const pa = parseVersionSpec(a);
  const pb = parseVersionSpec(b);
  const parts: Array<[number, number]> = [
    [pa.major, pb.major],
    [pa.minor ?? 0, pb.minor ?? 0],
    [pa.patch ?? 0, pb.patch ?? 0],
  ];
  for (const [x, y] of parts) {
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** True when `version` (full) satisfies `spec` (`8`, `8.0`, `8.0.1`, `latest`). */
export function versionMatches(version: string, spec: string): boolean {
  if (spec === 'latest') return true;
  const v = parseVersionSpec(version);
  const s = parseVersionSpec(spec);
  return (
    v.major === s.major &&
    (s.minor === undefined || v.minor === s.minor) &&
    (s.patch === undefined || v.patch === s.patch)
  );
}

/** Resolves `8`, `8.0`, `8.0.1` or `latest` against a list of known full versions: the newest match. */
export function resolveVersion(spec: string, known: readonly string[]): string | undefined {
  const matches = known.filter((v) => versionMatches(v, spec));
  return matches.sort(compareVersions).at(-1);
}

/** Builds a VersionMap (`8` → newest 8.x, `8.0` → newest 8.0.x, `latest`) from full versions. */
export function buildVersionMap(known: readonly string[]): VersionMap {
  const map: Record<string, string> = {};
  for (const v of [...known].sort(compareVersions)) {
    const p = parseVersionSpec(v);
    map[`${p.major}`] = v;
    map[`${p.major}.${p.minor ?? 0}`] = v;
    map[v] = v;
    map.latest = v;
  }
  return map;
}
