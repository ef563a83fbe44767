import {
  buildVersionMap,
  compareVersions,
  parseVersionSpec,
  resolveVersion,
  type VersionMap,
} from '@valkey-tools/core';
import { BinariesError } from './errors.js';

/**
 * Valkey releases known when this package was published. A mirror's releases.json (or
 * `refreshVersionMap`) adds newer ones without a package update.
 */
export const SHIPPED_VERSIONS: readonly string[] = [
  '7.2.4',
  '7.2.5',
  '7.2.6',
  '7.2.7',
  '7.2.8',
  '8.0.0',
  '8.0.1',
  '8.0.2',
  '8.0.3',
  '8.1.0',
  '8.1.1',
  '8.1.2',
  '8.1.3',
  '9.0.0',
];

let extraVersions: string[] = [];

/** Every full version known: the shipped list plus any learned from a manifest. Sorted oldest first. */
export function knownVersions(): string[] {
  return [...new Set([...SHIPPED_VERSIONS, ...extraVersions])].sort(compareVersions);
}

/** `{ '8': '8.1.3', '8.0': '8.0.3', '8.0.1': '8.0.1', latest: '9.0.0', ... }` over knownVersions(). */
export function versionMap(): VersionMap {
  return buildVersionMap(knownVersions());
}

/** Adds full versions (e.g. the keys of a mirror's releases.json) to the known set, for this process. */
export function addKnownVersions(versions: Iterable<string>): void {
  const valid: string[] = [];
  for (const v of versions) {
    const p = parseVersionSpec(v);
    if (p.minor !== undefined && p.patch !== undefined) valid.push(`${p.major}.${p.minor}.${p.patch}`);
  }
  extraVersions = [...new Set([...extraVersions, ...valid])];
}

/** Forgets versions learned from manifests (tests). */
export function resetKnownVersions(): void {
  extraVersions = [];
}

/**
 * Resolves `8`, `8.0`, `8.0.1`, `latest` (or undefined = latest) to a full version, against
 * `candidates` when given (e.g. what a mirror offers), else against knownVersions().
 */
export function resolveVersionSpec(spec: string | undefined, candidates?: readonly string[]): string {
  const wanted = spec?.trim() || 'latest';
  if (wanted !== 'latest') parseVersionSpec(wanted); // throws a clear CoreError for junk like "eight"
  const pool = candidates ?? knownVersions();
  const full = resolveVersion(wanted, pool);
  if (!full) {
    throw new BinariesError('ERR_UNKNOWN_VERSION', `No known Valkey version matches "${wanted}"`, {
      details: { version: wanted, known: [...pool] },
      hint: `Known versions: ${pool.join(', ') || '(none)'}. Use a mirror whose releases.json lists it, or an exact version`,
    });
  }
  return full;
}
