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
export { LlmdLayoutIndex, encodeLlmdPodField, decodeLlmdPodField } from './llmd-layout-index.js';
export type { InMemoryIndexConfig, InMemoryIndexStats } from './in-memory-index.js';
export { DEFAULT_TIER_WEIGHTS, scoreLongestPrefix, validateTierWeights } from './scorer.js';
export type { TierWeights } from './scorer.js';
export {
  ValkeyIndex,
  newValkeyIndex,
  newRedisIndex,
  newLlmdLayoutIndex,
  defaultValkeyIndexConfig,
  defaultRedisIndexConfig,
  resolveIndexAddress,
} from './valkey-index.js';
export type { RedisIndexConfig, BackendType } from './valkey-index.js';
export { createIndex, defaultIndexConfig, selectIndexBackend } from './create-index.js';
export type { IndexConfig, IndexBackendKind } from './create-index.js';
export { defaultLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export {
  parseTopic,
  formatTopic,
  decodeEvent,
  decodeEventBatch,
  encodeEventBatch,
  encodeSequence,
  decodeSequence,
  toEventHash,
  blockStored,
} from './events.js';
export type {
  KvEvent,
  BlockStoredEvent,
  BlockRemovedEvent,
  AllBlocksClearedEvent,
  EventBatch,
  EventEncoding,
} from './events.js';
export { KvEventProcessor, PREFIX_INDEXABLE_KINDS, isTransientBackendError } from './event-processor.js';
export type { KvEventProcessorOptions } from './event-processor.js';
export { KvEventSubscriber, parseZmqEndpoint } from './zmq-subscriber.js';
export type { KvEventSubscriberOptions, ZmqEndpointConfig } from './zmq-subscriber.js';
export { ShardedWorkQueue } from './work-queue.js';
export { registerEventMetrics } from './event-metrics.js';
export type { EventMetrics } from './event-metrics.js';
export {
  MetricsRegistry,
  Counter,
  Gauge,
  Histogram,
  DEFAULT_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
} from './metrics.js';
export { InstrumentedIndex, registerIndexMetrics } from './instrumented-index.js';
export type { IndexMetrics } from './instrumented-index.js';
export { KvCacheIndexer } from './indexer.js';
export type { KvCacheIndexerOptions, ScoreOptions } from './indexer.js';
export { createKvCacheService, scoreTokensAtAddress, parseScoreRequest, openBackend } from './service.js';
export type {
  KvCacheBackend,
  KvCacheService,
  KvCacheServiceOptions,
  ScoreRequest,
  ScoreResponse,
  ScoreAtAddressOptions,
} from './service.js';
export { VllmEventPublisher } from './vllm-publisher.js';
export type { VllmEventPublisherOptions } from './vllm-publisher.js';
