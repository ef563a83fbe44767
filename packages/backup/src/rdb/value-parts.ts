import type { Value } from '../model.js';

/** An empty value of a collection type or string, to collect a key delivered in parts; undefined for module values. */
export function emptyValue(type: Value['type']): Value | undefined {
  switch (type) {
    case 'string':
      return { type, value: Buffer.alloc(0) };
    case 'list':
      return { type, items: [] };
    case 'set':
      return { type, members: [] };
    case 'zset':
    case 'hash':
      return { type, entries: [] };
    case 'stream':
      return { type, entries: [], length: 0n, lastId: { ms: 0n, seq: 0n }, groups: [] };
    default:
      return undefined;
  }
}

/**
 * A list, set, sorted set or hash with no element: the server never holds one (it deletes a key
 * whose last element goes, skips one when loading, and its checker refuses one), so no output and
 * no restore makes one. Streams may be empty; strings are never "empty collections".
 */
export function isEmptyCollection(value: Value): boolean {
  switch (value.type) {
    case 'list':
      return value.items.length === 0;
    case 'set':
      return value.members.length === 0;
    case 'zset':
    case 'hash':
      return value.entries.length === 0;
    default:
      return false;
  }
}

/** Appends the elements of `part` to `into`; false when their types differ (nothing is appended). */
export function appendValueElements(into: Value, part: Value): boolean {
  if (into.type === 'string' && part.type === 'string') into.value = Buffer.concat([into.value, part.value]);
  else if (into.type === 'list' && part.type === 'list') into.items.push(...part.items);
  else if (into.type === 'set' && part.type === 'set') into.members.push(...part.members);
  else if ((into.type === 'zset' && part.type === 'zset') || (into.type === 'hash' && part.type === 'hash')) {
    (into.entries as unknown[]).push(...part.entries);
  } else if (into.type === 'stream' && part.type === 'stream') into.entries.push(...part.entries);
  else return false;
  return true;
}
