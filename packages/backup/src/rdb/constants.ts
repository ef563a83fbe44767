/** RDB object type bytes (rdb.h). Types 22-25 mean different things to Valkey and Redis (rdb-format §1.11). */
export const RdbType = {
  STRING: 0,
  LIST: 1,
  SET: 2,
  ZSET: 3,
  HASH: 4,
  ZSET_2: 5,
  MODULE_PRE_GA: 6,
  MODULE_2: 7,
  HASH_ZIPMAP: 9,
  LIST_ZIPLIST: 10,
  SET_INTSET: 11,
  ZSET_ZIPLIST: 12,
  HASH_ZIPLIST: 13,
  LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15,
  HASH_LISTPACK: 16,
  ZSET_LISTPACK: 17,
  LIST_QUICKLIST_2: 18,
  STREAM_LISTPACKS_2: 19,
  SET_LISTPACK: 20,
  STREAM_LISTPACKS_3: 21,
  /** Valkey 9 (VALKEY080+): hashtable hash with per-field expiry. Redis 7.4 RC: HASH_METADATA_PRE_GA. */
  HASH_2: 22,
  /** Redis 7.4 RC: HASH_LISTPACK_EX_PRE_GA. Valkey 9.2: PATH_HASH. */
  TYPE_23: 23,
  REDIS_HASH_METADATA: 24,
  REDIS_HASH_LISTPACK_EX: 25,
} as const;

/** RDB opcodes (rdb.h). */
export const RdbOpcode = {
  SLOT_IMPORT: 243,
  SLOT_INFO: 244,
  FUNCTION2: 245,
  FUNCTION_PRE_GA: 246,
  MODULE_AUX: 247,
  IDLE: 248,
  FREQ: 249,
  AUX: 250,
  RESIZEDB: 251,
  EXPIRETIME_MS: 252,
  EXPIRETIME: 253,
  SELECTDB: 254,
  EOF: 255,
} as const;

/** Module value opcodes (MODULE_2 framing). */
export const ModuleOpcode = { EOF: 0, SINT: 1, UINT: 2, FLOAT: 3, DOUBLE: 4, STRING: 5 } as const;

/** Highest versions this library knows by magic. */
export const KNOWN_REDIS_VERSION = 12;
export const KNOWN_VALKEY_VERSIONS = [80, 81] as const;

const MODULE_CHARSET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Decodes a 64-bit module type id into its 9-character name and 10-bit encoding version. */
export function decodeModuleId(id: bigint): { name: string; encodingVersion: number } {
  const encodingVersion = Number(id & 1023n);
  let rest = id >> 10n;
  const chars: string[] = new Array(9);
  for (let j = 8; j >= 0; j--) {
    chars[j] = MODULE_CHARSET[Number(rest & 63n)]!;
    rest >>= 6n;
  }
  return { name: chars.join(''), encodingVersion };
}

/** The encoding name of each value type byte (`KeyRecord.encoding`); types 22-25 depend on the file. */
export const ENCODING_NAMES: Record<number, string> = {
  0: 'string',
  1: 'linkedlist',
  2: 'hashtable',
  3: 'skiplist',
  4: 'hashtable',
  5: 'skiplist',
  7: 'module2',
  9: 'zipmap',
  10: 'ziplist',
  11: 'intset',
  12: 'ziplist',
  13: 'ziplist',
  14: 'quicklist',
  15: 'stream-listpacks',
  16: 'listpack',
  17: 'listpack',
  18: 'quicklist2',
  19: 'stream-listpacks2',
  20: 'listpack',
  21: 'stream-listpacks3',
};

/**
 * The encoding name of value type `type` in a file of `flavor`/`version` (types 22-25 depend on
 * it); undefined for a type such a file cannot hold.
 */
export function encodingName(type: number, flavor: 'redis' | 'valkey', version: number): string | undefined {
  if (type < RdbType.HASH_2) return ENCODING_NAMES[type];
  const redis12 = flavor === 'redis' && version >= 12;
  if (type === RdbType.HASH_2)
    return flavor === 'valkey' ? 'hashtable-ttl' : redis12 ? 'hash-metadata-pre-ga' : undefined;
  if (type === RdbType.TYPE_23) return redis12 ? 'listpack-ex-pre-ga' : undefined;
  if (type === RdbType.REDIS_HASH_METADATA) return redis12 ? 'hash-metadata' : undefined;
  if (type === RdbType.REDIS_HASH_LISTPACK_EX) return redis12 ? 'listpack-ex' : undefined;
  return undefined;
}
