export { KvCacheError } from './errors.js';
export type { KvCacheErrorCode } from './errors.js';
export {
  EMPTY_BLOCK_HASH,
  MAX_BLOCK_HASH,
  assertBlockHash,
  toBlockHash,
  formatPodEntry,
  samePodEntry,
  normalizePodEntry,
  engineToRequestMapping,
} from './types.js';
export type { BlockHash, KeyType, PodEntry, PodFilter, IndexScope, KvBlockIndex } from './types.js';
export { CborWriter, encodeCanonicalCbor } from './cbor.js';
export type { CborValue } from './cbor.js';
export { fnv64a, fnv32a, FNV64_OFFSET_BASIS } from './fnv.js';
export {
  DEFAULT_BLOCK_SIZE,
  RequestKeyHasher,
  EngineKeyHasher,
  digestToBlockHash,
  computeBlockKeys,
} from './hashing.js';
export type {
  TokenIds,
  BlockExtraFeatures,
  TokenProcessorConfig,
  EngineKeyConfig,
  KeyAlgorithm,
  ComputeBlockKeysOptions,
} from './hashing.js';
export { InMemoryIndex, IN_MEMORY_BYTES } from './in-memory-index.js';
export type { InMemoryIndexConfig, InMemoryIndexStats } from './in-memory-index.js';
export { DEFAULT_TIER_WEIGHTS, scoreLongestPrefix, validateTierWeights } from './scorer.js';
export type { TierWeights } from './scorer.js';
export {
  ValkeyIndex,
  newValkeyIndex,
  newRedisIndex,
  defaultValkeyIndexConfig,
  defaultRedisIndexConfig,
  resolveIndexAddress,
} from './valkey-index.js';
export type { RedisIndexConfig, BackendType } from './valkey-index.js';
export { createIndex, defaultIndexConfig, selectIndexBackend } from './create-index.js';
export type { IndexConfig, IndexBackendKind } from './create-index.js';
export { defaultLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
