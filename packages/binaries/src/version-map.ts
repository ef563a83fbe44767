import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildVersionMap,
  compareVersions,
  parseVersionSpec,
  resolveVersion,
  type VersionMap,
  valkeyToolsHome,
  writeFileAtomicSync,
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

export interface VersionOptions {
  /** Cache root holding `versions.json` saved by refreshVersionMap (default `VALKEY_TOOLS_HOME` or ~/.valkey-tools). */
  home?: string;
}

const SAVED_FILE = 'versions.json';

function fullVersions(values: Iterable<unknown>): string[] {
  const out: string[] = [];
  for (const v of values) if (typeof v === 'string' && /^\d+\.\d+\.\d+$/.test(v)) out.push(v);
  return out;
}

function savedVersions(home: string): string[] {
  try {
    const data = JSON.parse(readFileSync(join(home, SAVED_FILE), 'utf8')) as { versions?: unknown };
    return Array.isArray(data.versions) ? fullVersions(data.versions) : [];
  } catch {
    return [];
  }
}

/**
 * Every full version known: the shipped list, versions saved by refreshVersionMap in the cache
 * root, and any learned from a manifest in this process. Sorted oldest first.
 */
export function knownVersions(options: VersionOptions = {}): string[] {
  const saved = savedVersions(options.home ?? valkeyToolsHome());
  return [...new Set([...SHIPPED_VERSIONS, ...saved, ...extraVersions])].sort(compareVersions);
}

/** `{ '8': '8.1.3', '8.0': '8.0.3', '8.0.1': '8.0.1', latest: '9.0.0', ... }` over knownVersions(). */
export function versionMap(options: VersionOptions = {}): VersionMap {
  return buildVersionMap(knownVersions(options));
}

/** Adds full versions (e.g. the keys of a mirror's releases.json) to the known set, for this process. */
export function addKnownVersions(versions: Iterable<string>): void {
  extraVersions = [...new Set([...extraVersions, ...fullVersions(versions)])];
}

/** Saves versions into `<home>/versions.json` so later processes know them too. */
export function saveKnownVersions(
  versions: Iterable<string>,
  options: VersionOptions & { source?: string } = {},
): void {
  const home = options.home ?? valkeyToolsHome();
  const merged = [...new Set([...savedVersions(home), ...fullVersions(versions)])].sort(compareVersions);
  mkdirSync(home, { recursive: true });
  const file = join(home, SAVED_FILE);
  const body = { versions: merged, source: options.source ?? null, refreshedAt: new Date().toISOString() };
  writeFileAtomicSync(file, `${JSON.stringify(body, null, 2)}\n`);
}

/** Forgets versions learned from manifests in this process (tests). Saved ones stay. */
export function resetKnownVersions(): void {
  extraVersions = [];
}

/**
 * Resolves `8`, `8.0`, `8.0.1`, `latest` (or undefined = latest) to a full version, against
 * `candidates` when given (e.g. what a mirror offers), else against knownVersions().
 */
export function resolveVersionSpec(
  spec: string | undefined,
  candidates?: readonly string[],
  options: VersionOptions = {},
): string {
  const wanted = spec?.trim() || 'latest';
  if (wanted !== 'latest') parseVersionSpec(wanted); // throws a clear CoreError for junk like "eight"
  const pool = candidates ?? knownVersions(options);
  const full = resolveVersion(wanted, pool);
  if (!full) {
    throw new BinariesError('ERR_UNKNOWN_VERSION', `No known Valkey version matches "${wanted}"`, {
      details: { version: wanted, known: [...pool] },
      hint: `Known versions: ${pool.join(', ') || '(none)'}. Use a mirror whose releases.json lists it, or an exact version`,
    });
  }
  return full;
}
