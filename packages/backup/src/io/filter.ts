import type { ValueType } from '../model.js';
import { BackupError } from '../errors.js';

/**
 * Glob matching over raw key bytes with the server's rules (`stringmatchlen`): `*`, `?`,
 * `[abc]`, `[^a-z]`, `\x` escapes. Same results as `SCAN MATCH` / `KEYS`.
 */
export function globMatch(pattern: Buffer, key: Buffer): boolean {
  return matchAt(pattern, 0, key, 0, 0);
}

function matchAt(p: Buffer, pi: number, s: Buffer, si: number, depth: number): boolean {
  if (depth > 1000) return false;
  while (pi < p.length && si <= s.length) {
    const c = p[pi]!;
    if (c === 0x2a /* * */) {
      while (pi + 1 < p.length && p[pi + 1] === 0x2a) pi++;
      if (pi + 1 === p.length) return true;
      for (let k = si; k <= s.length; k++) if (matchAt(p, pi + 1, s, k, depth + 1)) return true;
      return false;
    }
    if (si >= s.length) return false;
    if (c === 0x3f /* ? */) {
      si++;
      pi++;
      continue;
    }
    if (c === 0x5b /* [ */) {
      pi++;
      const not = p[pi] === 0x5e;
      if (not) pi++;
      let matched = false;
      while (pi < p.length && p[pi] !== 0x5d) {
        if (p[pi] === 0x5c && pi + 1 < p.length) {
          pi++;
          if (p[pi] === s[si]) matched = true;
        } else if (pi + 2 < p.length && p[pi + 1] === 0x2d) {
          let lo = p[pi]!;
          let hi = p[pi + 2]!;
          if (lo > hi) [lo, hi] = [hi, lo];
          if (s[si]! >= lo && s[si]! <= hi) matched = true;
          pi += 2;
        } else if (p[pi] === s[si]) matched = true;
        pi++;
      }
      if (not) matched = !matched;
      if (!matched) return false;
      pi++;
      si++;
      continue;
    }
    if (c === 0x5c /* \ */ && pi + 1 < p.length) pi++;
    if (p[pi] !== s[si]) return false;
    pi++;
    si++;
  }
  while (pi < p.length && p[pi] === 0x2a) pi++;
  return pi === p.length && si === s.length;
}

const TYPES: readonly ValueType[] = ['string', 'list', 'set', 'zset', 'hash', 'stream', 'module'];

/** Which keys a backup, restore or conversion keeps. */
export interface KeyFilter {
  /** Only keys of this db (source db number). */
  db?: number;
  /** Only keys matching this glob (server `MATCH` syntax). */
  match?: string | Buffer;
  /** Only keys of these types. */
  type?: ValueType | ValueType[];
}

export interface CompiledFilter {
  db: (db: number) => boolean;
  key: (key: Buffer) => boolean;
  type: (type: ValueType) => boolean;
  any: boolean;
}

export function compileFilter(filter: KeyFilter): CompiledFilter {
  const types =
    filter.type === undefined ? undefined : Array.isArray(filter.type) ? filter.type : [filter.type];
  for (const t of types ?? []) {
    if (!TYPES.includes(t)) {
      throw new BackupError('ERR_INVALID_OPTION', `unknown type filter "${t}"`, {
        hint: `Use one of ${TYPES.join(', ')}`,
      });
    }
  }
  if (filter.db !== undefined && (!Number.isInteger(filter.db) || filter.db < 0)) {
    throw new BackupError('ERR_INVALID_OPTION', `db must be a non-negative integer, got ${filter.db}`);
  }
  const pattern =
    filter.match === undefined
      ? undefined
      : Buffer.isBuffer(filter.match)
        ? filter.match
        : Buffer.from(filter.match);
  return {
    db: (db) => filter.db === undefined || db === filter.db,
    key: (key) => pattern === undefined || globMatch(pattern, key),
    type: (t) => types === undefined || types.includes(t),
    any: filter.db !== undefined || pattern !== undefined || types !== undefined,
  };
}

/** The value type a DUMP payload holds, from its first (RDB type) byte. */
export function dumpPayloadType(payload: Buffer): ValueType | undefined {
  return rdbTypeValueType(payload[0]);
}

/** The value type of an RDB type byte (undefined for unknown bytes). */
export function rdbTypeValueType(t: number | undefined): ValueType | undefined {
  if (t === undefined) return undefined;
  if (t === 0) return 'string';
  if (t === 1 || t === 10 || t === 14 || t === 18) return 'list';
  if (t === 2 || t === 11 || t === 20) return 'set';
  if (t === 3 || t === 5 || t === 12 || t === 17) return 'zset';
  if (t === 4 || t === 9 || t === 13 || t === 16 || (t >= 22 && t <= 25)) return 'hash';
  if (t === 15 || t === 19 || t === 21) return 'stream';
  if (t === 6 || t === 7) return 'module';
  return undefined;
}

/** The value type the first command of a key creates (for type filters on command streams). */
export function commandValueType(args: Buffer[]): ValueType | undefined {
  switch (args[0]?.toString('latin1').toUpperCase()) {
    case 'SET':
      return 'string';
    case 'RPUSH':
      return 'list';
    case 'SADD':
      return 'set';
    case 'ZADD':
      return 'zset';
    case 'HSET':
    case 'HMSET':
      return 'hash';
    case 'XADD':
      return 'stream';
    case 'RESTORE':
      return args[3] ? dumpPayloadType(args[3]) : undefined;
    default:
      return undefined;
  }
}
