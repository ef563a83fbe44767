import {
  type ConnectionTarget,
  connect,
  formatConnectionUrl,
  parseConnectionUrl,
  redactUrl,
  type TlsFiles,
} from '@valkey-tools/core';
import { KvCacheError, invalidArgument } from './errors.js';
import { type Client, ServerIndex } from './server-index.js';
import { fnv64a } from './fnv.js';
import { LlmdLayoutIndex } from './llmd-layout-index.js';
import type { Logger } from './logger.js';
import { defaultLogger } from './logger.js';
import { ADD, CLEAR_BATCH, EVICT_ENGINE, EVICT_REQUEST, LOOKUP, type LuaScript } from './valkey-scripts.js';
import {
  type BlockHash,
  type IndexScope,
  type KeyType,
  type KvBlockIndex,
  type PodEntry,
  type PodFilter,
  assertBlockHash,
  engineToRequestMapping,
  toPodSet,
  validateAddArguments,
  validateEvictArguments,
} from './types.js';

export type BackendType = 'redis' | 'valkey';

/** llm-d's `RedisIndexConfig` plus what a Node deployment needs. */
export interface RedisIndexConfig {
  /**
   * `valkey://`, `valkeys://` (TLS), `redis://`, `rediss://` (TLS), `unix:///path.sock`, a plain
   * `host:port` (taken as `redis://host:port`), or a Sentinel URL
   * (`valkey+sentinel://[user:password@]host:port,.../<primary-name>[?sentinelPassword=...]`): the
   * index then lives on the primary the Sentinels name and follows it through failovers.
   * Default `redis://127.0.0.1:6379`.
   */
  address?: string;
  /** Default `redis` (`valkey` from `newValkeyIndex`). */
  backendType?: BackendType;
  /** Accepted for llm-d compatibility: the Node client has no RDMA transport, so this warns once and uses TCP. */
  enableRDMA?: boolean;
  /**
   * `valkey-tools` (default): this index's layout (hash-tagged per model, reverse index for `clear`).
   * `llm-d`: llm-d's own layout, so a Go llm-d and this index can share one database (see
   * `LlmdLayoutIndex`); used by `createIndex` and `newLlmdLayoutIndex`. `keyPrefix` and `ttlSeconds`
   * do not apply to it.
   */
  layout?: 'valkey-tools' | 'llm-d';
  /** Namespace of every key (default `kvcache`), so several indexes can share one server. */
  keyPrefix?: string;
  /** When set, every key written by `add` gets (and refreshes) this TTL in seconds. */
  ttlSeconds?: number;
  /** `auto` (default) asks the server (`INFO cluster`) and uses a cluster client when cluster mode is on. */
  cluster?: boolean | 'auto';
  /**
   * Cluster only: send lookups (read-only `EVALSHA_RO`) to replicas, spreading a hot model's reads over
   * its shard's replicas. Replicas lag slightly, so a block added a moment ago may not be seen yet.
   */
  readFromReplicas?: boolean;
  /** Connect timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** TLS settings for `valkeys://`/`rediss://`: private CA, client certificate and key (paths or PEM). */
  tls?: TlsFiles;
  logger?: Logger;
}

export function defaultRedisIndexConfig(): RedisIndexConfig {
  return { address: 'redis://127.0.0.1:6379', backendType: 'redis' };
}

export function defaultValkeyIndexConfig(): RedisIndexConfig {
  return { address: 'valkey://127.0.0.1:6379', backendType: 'valkey' };
}

let rdmaWarned = false;

/** Normalizes an address as llm-d does: a plain `host:port` is taken as `redis://host:port`. */
export function resolveIndexAddress(address: string): ConnectionTarget {
  if (typeof address !== 'string' || address.trim() === '')
    throw new KvCacheError('ERR_INVALID_CONFIG', 'The Valkey index address is empty', {
      hint: 'Use valkey://host:port, valkeys://, redis://, rediss://, unix:///path.sock, host:port or valkey+sentinel://host:port,.../<primary-name>',
    });
  // `valkey+sentinel://` and the other Sentinel forms are URLs too, not a `host:port`.
  const withScheme = /^(?:(?:redis|rediss|valkey|valkeys)(?:\+sentinel)?|unix):/i.test(address.trim())
    ? address.trim()
    : `redis://${address.trim()}`;
  try {
    return parseConnectionUrl(withScheme);
  } catch (err) {
    throw new KvCacheError(
      'ERR_INVALID_CONFIG',
      `Invalid Valkey index address "${redactUrl(address)}": ${err instanceof Error ? err.message : String(err)}`,
      { cause: err, details: { address: redactUrl(address) } },
    );
  }
}

function validateConfig(
  cfg: RedisIndexConfig,
): Required<Pick<RedisIndexConfig, 'backendType' | 'keyPrefix'>> {
  const backendType = cfg.backendType ?? 'redis';
  if (backendType !== 'redis' && backendType !== 'valkey')
    throw new KvCacheError('ERR_INVALID_CONFIG', `Unknown backendType "${String(backendType)}"`, {
      details: { backendType },
      hint: 'Use "redis" or "valkey"',
    });
  if (cfg.layout !== undefined && cfg.layout !== 'valkey-tools' && cfg.layout !== 'llm-d')
    throw new KvCacheError('ERR_INVALID_CONFIG', `Unknown layout "${String(cfg.layout)}"`, {
      hint: 'Use "valkey-tools" (default) or "llm-d"',
    });
  if (cfg.enableRDMA !== undefined && typeof cfg.enableRDMA !== 'boolean')
    throw new KvCacheError(
      'ERR_INVALID_CONFIG',
      `enableRDMA must be true or false, got ${JSON.stringify(cfg.enableRDMA)}`,
      {
        details: { enableRDMA: cfg.enableRDMA },
      },
    );
  if (cfg.enableRDMA && backendType !== 'valkey')
    throw new KvCacheError(
      'ERR_INVALID_CONFIG',
      'enableRDMA needs backendType "valkey" (Redis has no RDMA transport)',
      {
        details: { backendType },
        hint: 'Set backendType: "valkey" (or use newValkeyIndex) or drop enableRDMA',
      },
    );
  const keyPrefix = cfg.keyPrefix ?? 'kvcache';
  if (typeof keyPrefix !== 'string' || keyPrefix === '' || /[{}\s]/.test(keyPrefix))
    throw new KvCacheError('ERR_INVALID_CONFIG', `Invalid keyPrefix ${JSON.stringify(keyPrefix)}`, {
      hint: 'Use a non-empty prefix without braces or spaces, e.g. "kvcache"',
    });
  if (cfg.ttlSeconds !== undefined && (!Number.isSafeInteger(cfg.ttlSeconds) || cfg.ttlSeconds <= 0))
    throw new KvCacheError(
      'ERR_INVALID_CONFIG',
      `ttlSeconds must be a positive integer, got ${cfg.ttlSeconds}`,
      {
        details: { ttlSeconds: cfg.ttlSeconds },
      },
    );
  return { backendType, keyPrefix };
}

/**
 * Connects to the server at `cfg.address` (PING) and returns the index. On a cluster (detected with
 * `INFO cluster` unless `cluster` says otherwise) it uses a cluster client.
 */
export async function newRedisIndex(cfg: RedisIndexConfig = defaultRedisIndexConfig()): Promise<ValkeyIndex> {
  if (cfg.layout === 'llm-d')
    throw new KvCacheError('ERR_INVALID_CONFIG', 'layout "llm-d" is served by newLlmdLayoutIndex()', {
      hint: 'Call newLlmdLayoutIndex(config) or createIndex({ valkeyConfig: { layout: "llm-d", ... } })',
    });
  const { client, clusterMode, backendType, keyPrefix, shown } = await connectIndexClient(cfg);
  return new ValkeyIndex(client, {
    keyPrefix,
    backendType,
    address: shown,
    cluster: clusterMode,
    ...(cfg.ttlSeconds !== undefined ? { ttlSeconds: cfg.ttlSeconds } : {}),
  });
}

/**
 * Connects like `newRedisIndex` and returns an index in llm-d's own key layout (`LlmdLayoutIndex`), so
 * a Go llm-d and this index can share one database.
 */
export async function newLlmdLayoutIndex(
  cfg: RedisIndexConfig = defaultValkeyIndexConfig(),
): Promise<LlmdLayoutIndex> {
  if (cfg.layout !== undefined && cfg.layout !== 'llm-d')
    throw new KvCacheError(
      'ERR_INVALID_CONFIG',
      `newLlmdLayoutIndex() got layout "${String(cfg.layout)}"`,
      {},
    );
  const { client, clusterMode, shown } = await connectIndexClient(cfg);
  return new LlmdLayoutIndex(client, shown, clusterMode);
}

async function connectIndexClient(cfg: RedisIndexConfig) {
  const { backendType, keyPrefix } = validateConfig(cfg);
  const logger = cfg.logger ?? defaultLogger;
  if (cfg.enableRDMA && !rdmaWarned) {
    rdmaWarned = true;
    process.emitWarning('RDMA requested for Valkey but the Node client has no RDMA transport - using TCP', {
      code: 'VALKEY_TOOLS_KVCACHE_RDMA',
    });
  }
  const address =
    cfg.address ?? (backendType === 'valkey' ? 'valkey://127.0.0.1:6379' : 'redis://127.0.0.1:6379');
  const target = resolveIndexAddress(address);
  const shown = redactUrl(address);
  if (cfg.tls && !target.tls)
    throw new KvCacheError('ERR_INVALID_CONFIG', `tls options were given but ${shown} is not a TLS address`, {
      details: { address: shown },
      hint: 'Use valkeys:// or rediss://',
    });
  // A failure to connect is core's ConnectionError (ERR_CONNECTION, address shown, what to check).
  const conn = await connect(formatConnectionUrl(target), {
    cluster: cfg.cluster ?? 'auto',
    reconnect: true,
    ...(cfg.connectTimeoutMs !== undefined ? { connectTimeoutMs: cfg.connectTimeoutMs } : {}),
    ...(cfg.tls ? { tls: cfg.tls } : {}),
    ...(cfg.readFromReplicas ? { readFromReplicas: true } : {}),
  });
  const serverName = conn.info.server_name === 'valkey' ? 'valkey' : 'redis';
  if (serverName !== backendType)
    logger.info(
      `backendType is "${backendType}" but the server at ${shown} is ${serverName}; both speak the same protocol`,
    );
  const clusterMode = conn.cluster !== undefined;
  // A cluster is used through its cluster client alone.
  if (conn.cluster) conn.client.disconnect();
  const client: Client = conn.cluster ?? conn.client;
  return { client, clusterMode, backendType, keyPrefix, shown };
}

/** llm-d `NewValkeyIndex`: no config → `defaultValkeyIndexConfig()`; otherwise forces `backendType: 'valkey'`. */
export function newValkeyIndex(cfg?: RedisIndexConfig): Promise<ValkeyIndex> {
  return newRedisIndex(cfg === undefined ? defaultValkeyIndexConfig() : { ...cfg, backendType: 'valkey' });
}

interface ValkeyIndexOptions {
  keyPrefix: string;
  backendType: BackendType;
  address: string;
  cluster: boolean;
  ttlSeconds?: number;
}

function encodeField(entry: PodEntry): string {
  if (entry.tier.includes('@') || entry.tier.includes('#'))
    throw invalidArgument(`Device tier "${entry.tier}" may not contain "@" or "#" in the Valkey index`, {
      entry,
    });
  return `${entry.pod}@${entry.tier}${entry.speculative ? '#s' : ''}${entry.group !== undefined ? `#g=${entry.group}` : ''}`;
}

function decodeField(field: string): PodEntry {
  const at = field.lastIndexOf('@');
  const pod = field.slice(0, at);
  const [tier, ...flags] = field.slice(at + 1).split('#');
  const entry: PodEntry = { pod, tier: tier! };
  for (const flag of flags) {
    if (flag === 's') entry.speculative = true;
    else if (flag.startsWith('g=')) entry.group = Number(flag.slice(2));
  }
  return entry;
}

/**
 * The index on a Valkey (or Redis) server or cluster.
 *
 * Key layout (all keys of one model share the hash tag `{m:<model>}`, so a prefix chain lives in one
 * slot and one script walks it; unscoped calls use the tag `{-}`):
 * - `<prefix>:{m:<model>}:r:<requestKey>` HASH, field `<pod>@<tier>[#s][#g=N]` → ""
 * - `<prefix>:{m:<model>}:e:<engineKey>` LIST of request keys (decimal)
 * - `<prefix>:{m:<model>}:p:<pod>` SET of request keys holding an entry of the pod (reverse index for clear)
 * - `<prefix>:pod-models:<pod>` SET of the model tags a pod has entries under
 */
export class ValkeyIndex extends ServerIndex implements KvBlockIndex {
  readonly backendType: BackendType;
  readonly keyPrefix: string;
  readonly ttlSeconds: number | undefined;
  protected readonly title: string;
  protected readonly aclCommands =
    'EVALSHA, EVAL, EVALSHA_RO, EVAL_RO, HKEYS, HSET, HDEL, RPUSH, LRANGE, LINDEX, SADD, SREM, SMEMBERS, SSCAN and EXPIRE';
  private readonly registered = new Set<string>();

  constructor(client: Client, options: ValkeyIndexOptions) {
    super(client, options.address, options.cluster);
    this.backendType = options.backendType;
    this.title = `${options.backendType} index`;
    this.keyPrefix = options.keyPrefix;
    this.ttlSeconds = options.ttlSeconds;
  }

  /** The hash-tagged key prefix of a model's partition. */
  partitionPrefix(scope?: IndexScope): string {
    return `${this.keyPrefix}:{${this.tagOf(scope)}}`;
  }

  private tagOf(scope: IndexScope | undefined): string {
    const model = scope?.model;
    if (model === undefined || model === '') return '-';
    if (/[{}]/.test(model)) return `h:${fnv64a(new TextEncoder().encode(model)).toString(16)}`;
    return `m:${model}`;
  }

  private async run(
    script: LuaScript,
    keys: string[],
    args: Array<string | number>,
    readOnly = false,
  ): Promise<unknown> {
    this.check();
    const c = this.client;
    try {
      try {
        return readOnly
          ? await c.evalsha_ro(script.sha, keys.length, ...keys, ...args)
          : await c.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!/NOSCRIPT/.test(String((err as Error)?.message))) throw err;
        return readOnly
          ? await c.eval_ro(script.lua, keys.length, ...keys, ...args)
          : await c.eval(script.lua, keys.length, ...keys, ...args);
      }
    } catch (err) {
      throw this.backendError(`${script.name} script`, err, { keys: keys.length });
    }
  }

  async lookup(
    requestKeys: readonly BlockHash[],
    podFilter?: PodFilter,
    scope?: IndexScope,
  ): Promise<Map<BlockHash, PodEntry[]>> {
    this.check();
    if (!Array.isArray(requestKeys)) throw invalidArgument('lookup() needs an array of request keys', {});
    const result = new Map<BlockHash, PodEntry[]>();
    if (requestKeys.length === 0) return result;
    const prefix = this.partitionPrefix(scope);
    const keys = requestKeys.map((k) => `${prefix}:r:${assertBlockHash(k, 'request key')}`);
    const pods = toPodSet(podFilter);
    const reply = (await this.run(LOOKUP, keys, pods ? [pods.size, ...pods] : [0], true)) as string[][];
    for (let i = 0; i < reply.length; i++) result.set(requestKeys[i]!, reply[i]!.map(decodeField));
    return result;
  }

  private async registerPods(pods: Iterable<string>, tag: string): Promise<void> {
    const pending: Promise<unknown>[] = [];
    for (const pod of pods) {
      const key = `${this.keyPrefix}:pod-models:${pod}`;
      if (this.ttlSeconds !== undefined) {
        // with a TTL the set must outlive the pod's blocks: re-added and refreshed on every add
        pending.push(this.client.sadd(key, tag), this.client.expire(key, this.ttlSeconds));
        continue;
      }
      const id = `${pod}\u0000${tag}`;
      if (this.registered.has(id)) continue;
      pending.push(this.client.sadd(key, tag).then(() => this.registered.add(id)));
    }
    try {
      await Promise.all(pending);
    } catch (err) {
      throw this.backendError('registering pods', err);
    }
  }

  async add(
    engineKeys: readonly BlockHash[] | null,
    requestKeys: readonly BlockHash[],
    entries: readonly PodEntry[],
    scope?: IndexScope,
  ): Promise<void> {
    this.check();
    const normalized = validateAddArguments(engineKeys, requestKeys, entries);
    const tag = this.tagOf(scope);
    const prefix = this.partitionPrefix(scope);
    const podNames = [...new Set(normalized.map((e) => e.pod))];
    const keys = requestKeys.map((k) => `${prefix}:r:${k}`);
    const mapping =
      engineKeys === null
        ? new Map<BlockHash, BlockHash[]>()
        : engineToRequestMapping(engineKeys, requestKeys);
    for (const ek of mapping.keys()) keys.push(`${prefix}:e:${ek}`);
    for (const pod of podNames) keys.push(`${prefix}:p:${pod}`);
    const args: Array<string | number> = [
      requestKeys.length,
      mapping.size,
      podNames.length,
      this.ttlSeconds ?? 0,
      normalized.length,
    ];
    for (const e of normalized) args.push(encodeField(e), podNames.indexOf(e.pod) + 1);
    for (const k of requestKeys) args.push(k.toString());
    for (const rks of mapping.values()) {
      args.push(rks.length);
      for (const rk of rks) args.push(rk.toString());
    }
    await Promise.all([this.registerPods(podNames, tag), this.run(ADD, keys, args)]);
  }

  async evict(
    key: BlockHash,
    keyType: KeyType,
    entries: readonly PodEntry[],
    scope?: IndexScope,
  ): Promise<void> {
    this.check();
    const normalized = validateEvictArguments(key, keyType, entries);
    const fields = normalized.map(encodeField);
    const podNames = [...new Set(normalized.map((e) => e.pod))];
    const prefix = this.partitionPrefix(scope);
    const podKeys = podNames.map((p) => `${prefix}:p:${p}`);
    if (keyType === 'request') {
      await this.run(
        EVICT_REQUEST,
        [`${prefix}:r:${key}`, ...podKeys],
        [key.toString(), podNames.length, ...podNames, ...fields],
      );
      return;
    }
    const engineKey = `${prefix}:e:${key}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      let mapped: string[];
      try {
        mapped = await this.client.lrange(engineKey, 0, -1);
      } catch (err) {
        throw this.backendError('LRANGE', err, { key: engineKey });
      }
      if (mapped.length === 0) return;
      const reply = await this.run(
        EVICT_ENGINE,
        [engineKey, ...mapped.map((rk) => `${prefix}:r:${rk}`), ...podKeys],
        [mapped.length, podNames.length, ...mapped, ...podNames, ...fields],
      );
      if (reply !== -1) return;
    }
    throw new KvCacheError('ERR_BACKEND', `Engine key ${key} kept changing while it was being evicted`, {
      details: { engineKey: key.toString(), address: this.address },
      hint: 'Another writer re-maps this engine key continuously; retry later',
    });
  }

  async getRequestKey(engineKey: BlockHash, scope?: IndexScope): Promise<BlockHash> {
    this.check();
    assertBlockHash(engineKey, 'engine key');
    let last: string | null;
    try {
      last = await this.client.lindex(`${this.partitionPrefix(scope)}:e:${engineKey}`, -1);
    } catch (err) {
      throw this.backendError('LINDEX', err);
    }
    if (last === null)
      throw new KvCacheError('ERR_KEY_NOT_FOUND', `Engine key ${engineKey} is not in the index`, {
        details: { engineKey: engineKey.toString(), address: this.address },
      });
    return BigInt(last);
  }

  /**
   * Removes every entry of `pod` through its reverse index (`SSCAN` of `<prefix>:{tag}:p:<pod>` per model,
   * batches of 256 request keys per script call): cost is proportional to the pod's blocks, not to the
   * keyspace. Engine mappings are left in place; they resolve to emptied request keys and self-heal.
   */
  async clear(pod: string): Promise<void> {
    this.check();
    if (typeof pod !== 'string' || pod === '')
      throw invalidArgument('clear() needs a pod identifier', { pod });
    let tags: string[];
    try {
      tags = await this.client.smembers(`${this.keyPrefix}:pod-models:${pod}`);
    } catch (err) {
      throw this.backendError('SMEMBERS', err);
    }
    for (const tag of tags) {
      const prefix = `${this.keyPrefix}:{${tag}}`;
      const podKey = `${prefix}:p:${pod}`;
      let cursor = '0';
      do {
        let batch: string[];
        try {
          [cursor, batch] = await this.client.sscan(podKey, cursor, 'COUNT', 256);
        } catch (err) {
          throw this.backendError('SSCAN', err, { key: podKey });
        }
        if (batch.length > 0)
          await this.run(CLEAR_BATCH, [podKey, ...batch.map((rk) => `${prefix}:r:${rk}`)], [pod, ...batch]);
      } while (cursor !== '0');
    }
  }
}
