import { registerEventMetrics, type EventMetrics } from './event-metrics.js';
import { KvEventProcessor } from './event-processor.js';
import {
  type BlockExtraFeatures,
  RequestKeyHasher,
  type TokenIds,
  type TokenProcessorConfig,
} from './hashing.js';
import { InstrumentedIndex, registerIndexMetrics } from './instrumented-index.js';
import { type Logger, defaultLogger } from './logger.js';
import { MetricsRegistry } from './metrics.js';
import { DEFAULT_TIER_WEIGHTS, type TierWeights, scoreLongestPrefix, validateTierWeights } from './scorer.js';
import type { BlockHash, KvBlockIndex, PodEntry, PodFilter } from './types.js';

export interface KvCacheIndexerOptions {
  index: KvBlockIndex;
  /** Request-key hashing; must match what events are ingested with. Default block size 16, seed "". */
  tokenProcessor?: TokenProcessorConfig | RequestKeyHasher;
  /** Default gpu 1.0, cpu 0.8; unknown tiers 1.0. */
  tierWeights?: TierWeights;
  /** Registry the index and event metrics are registered on (a new one by default). */
  metrics?: MetricsRegistry;
  logger?: Logger;
}

export interface ScoreOptions {
  /** LoRA adapter: its name replaces the model in the hash chain (the partition stays `model`). */
  lora?: string;
  /** One item (or null) per full block: multimodal identifiers that taint the block hash. */
  extraFeatures?: ReadonlyArray<BlockExtraFeatures | null>;
}

/**
 * The facade a router uses: hashes tokens into request keys, looks them up (one call, prefix
 * semantics) and scores pods by longest prefix; owns the metrics and builds event processors.
 */
export class KvCacheIndexer {
  readonly index: KvBlockIndex;
  readonly hasher: RequestKeyHasher;
  readonly tierWeights: TierWeights;
  readonly metrics: MetricsRegistry;
  readonly eventMetrics: EventMetrics;
  readonly logger: Logger;

  constructor(options: KvCacheIndexerOptions) {
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.index =
      options.index instanceof InstrumentedIndex
        ? options.index
        : new InstrumentedIndex(options.index, registerIndexMetrics(this.metrics));
    this.eventMetrics = registerEventMetrics(this.metrics);
    this.hasher =
      options.tokenProcessor instanceof RequestKeyHasher
        ? options.tokenProcessor
        : new RequestKeyHasher(options.tokenProcessor ?? {});
    this.tierWeights = validateTierWeights(options.tierWeights ?? DEFAULT_TIER_WEIGHTS);
    this.logger = options.logger ?? defaultLogger;
  }

  computeRequestKeys(tokens: TokenIds, model: string, options: ScoreOptions = {}): BlockHash[] {
    return this.hasher.tokensToKeys(
      tokens,
      options.lora ?? model,
      options.extraFeatures ? { extraFeatures: options.extraFeatures } : {},
    );
  }

  /** The matched prefix: request keys and, for each key found, the pods holding it. */
  async lookupTokens(
    tokens: TokenIds,
    model: string,
    pods?: PodFilter,
    options: ScoreOptions = {},
  ): Promise<{ keys: BlockHash[]; hits: Map<BlockHash, PodEntry[]> }> {
    const keys = this.computeRequestKeys(tokens, model, options);
    const hits =
      keys.length === 0 ? new Map<BlockHash, PodEntry[]>() : await this.index.lookup(keys, pods, { model });
    return { keys, hits };
  }

  /** Score per pod (sum of tier weights over the pod's longest prefix); pods without a hit are absent. */
  async scoreTokens(
    tokens: TokenIds,
    model: string,
    pods?: PodFilter,
    options: ScoreOptions = {},
  ): Promise<Map<string, number>> {
    const { keys, hits } = await this.lookupTokens(tokens, model, pods, options);
    return scoreLongestPrefix(keys, hits, this.tierWeights);
  }

  /**
   * Predictive routing: marks the prompt's blocks as (speculatively) on `pod` right after routing to
   * it, before the engine's KV event confirms them, and removes the mark after `ttlMs` (default 2 s,
   * llm-d's default). Returns the request keys and a `cancel()` that removes it at once.
   */
  async addSpeculative(
    tokens: TokenIds,
    model: string,
    pod: string,
    options: ScoreOptions & { tier?: string; ttlMs?: number } = {},
  ): Promise<{ keys: BlockHash[]; cancel: () => Promise<void> }> {
    const keys = this.computeRequestKeys(tokens, model, options);
    const entry: PodEntry = { pod, tier: options.tier ?? 'gpu', speculative: true };
    if (keys.length === 0) return { keys, cancel: async () => {} };
    await this.index.add(null, keys, [entry], { model });
    let done = false;
    const cancel = async () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const key of keys) await this.index.evict(key, 'request', [entry], { model });
    };
    const timer = setTimeout(() => {
      cancel().catch((err: unknown) =>
        this.logger.warn(
          `Could not expire speculative entries of ${pod}: ${(err as Error)?.message ?? String(err)}`,
        ),
      );
    }, options.ttlMs ?? 2000);
    timer.unref();
    return { keys, cancel };
  }

  /** An event processor writing to this indexer's index with the same hashing. */
  createEventProcessor(options: { retryTimeoutMs?: number } = {}): KvEventProcessor {
    return new KvEventProcessor({
      index: this.index,
      tokenProcessor: this.hasher,
      logger: this.logger,
      metrics: this.eventMetrics,
      ...options,
    });
  }

  close(): Promise<void> {
    return this.index.close();
  }
}
