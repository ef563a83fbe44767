import { KvCacheError } from './errors.js';
import { InMemoryIndex, type InMemoryIndexConfig } from './in-memory-index.js';
import type { Logger } from './logger.js';
import { type RedisIndexConfig, newLlmdLayoutIndex, newRedisIndex, newValkeyIndex } from './valkey-index.js';
import type { KvBlockIndex } from './types.js';

/** llm-d's `IndexConfig`: the first configured backend in the order Valkey, Redis, in-memory is used. */
export interface IndexConfig {
  inMemoryConfig?: InMemoryIndexConfig;
  redisConfig?: RedisIndexConfig;
  valkeyConfig?: RedisIndexConfig;
  logger?: Logger;
}

export function defaultIndexConfig(): IndexConfig {
  return { inMemoryConfig: {} };
}

export type IndexBackendKind = 'valkey' | 'redis' | 'in-memory';

/** Which backend `createIndex` picks for a config: Valkey wins over Redis, both over in-memory. */
export function selectIndexBackend(cfg: IndexConfig): IndexBackendKind {
  if (typeof cfg !== 'object' || cfg === null)
    throw new KvCacheError('ERR_INVALID_CONFIG', 'The index config must be an object', {
      hint: 'e.g. { valkeyConfig: { address: "valkey://127.0.0.1:6379" } } or { inMemoryConfig: {} }',
    });
  if (cfg.valkeyConfig) return 'valkey';
  if (cfg.redisConfig) return 'redis';
  return 'in-memory';
}

/** Creates (and, for Valkey/Redis, connects) the index a config describes. */
export async function createIndex(cfg: IndexConfig = defaultIndexConfig()): Promise<KvBlockIndex> {
  const withLogger = (c: RedisIndexConfig): RedisIndexConfig =>
    cfg.logger && !c.logger ? { ...c, logger: cfg.logger } : c;
  switch (selectIndexBackend(cfg)) {
    case 'valkey':
      if (cfg.valkeyConfig!.layout === 'llm-d')
        return newLlmdLayoutIndex({ ...withLogger(cfg.valkeyConfig!), backendType: 'valkey' });
      return newValkeyIndex(withLogger(cfg.valkeyConfig!));
    case 'redis':
      if (cfg.redisConfig!.layout === 'llm-d') return newLlmdLayoutIndex(withLogger(cfg.redisConfig!));
      return newRedisIndex(withLogger(cfg.redisConfig!));
    default:
      return new InMemoryIndex(cfg.inMemoryConfig ?? {});
  }
}
