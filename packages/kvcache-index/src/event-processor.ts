import { KvCacheError } from './errors.js';
import type { EventMetrics } from './event-metrics.js';
import type { BlockRemovedEvent, BlockStoredEvent, EventBatch, KvEvent } from './events.js';
import { type BlockExtraFeatures, RequestKeyHasher, type TokenProcessorConfig } from './hashing.js';
import { type Logger, defaultLogger } from './logger.js';
import type { BlockHash, KvBlockIndex, PodEntry } from './types.js';

/** Attention kinds whose blocks form a prefix chain (others, e.g. sliding window, are not indexed). */
export const PREFIX_INDEXABLE_KINDS: ReadonlySet<string> = new Set([
  'full_attention',
  'mla_attention',
  'sink_full_attention',
]);

export interface KvEventProcessorOptions {
  index: KvBlockIndex;
  /** Request-key hashing (must match the one used when scoring). Default: block size 16, seed "". */
  tokenProcessor?: RequestKeyHasher | TokenProcessorConfig;
  logger?: Logger;
  metrics?: EventMetrics;
  /**
   * How long an event is retried while the index backend is unreachable (default 30 s). The lane waits
   * meanwhile, so events queue up (then the socket applies backpressure) instead of being dropped.
   */
  retryTimeoutMs?: number;
}

/** Errors that go away by themselves (server restarting, failover, network blip). */
export function isTransientBackendError(err: unknown): boolean {
  if (!KvCacheError.hasCode(err, 'ERR_BACKEND') && !KvCacheError.hasCode(err, 'ERR_CONNECTION')) return false;
  return /Connection is closed|max retries|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY|Failed to refresh slots/i.test(
    (err as Error).message,
  );
}

/**
 * Applies vLLM KV events to an index the way llm-d does ("dual-key design"): BlockStored computes the
 * request keys from the tokens (chained from the parent's request key) and maps engine → request keys;
 * BlockRemoved evicts through the engine keys; AllBlocksCleared clears the pod.
 *
 * Scope: everything a pod publishes under topic model M lives in partition M (a LoRA adapter's blocks
 * too); the LoRA name only changes the hash chain. Score with `{ model: M, lora }`.
 */
export class KvEventProcessor {
  readonly index: KvBlockIndex;
  readonly hasher: RequestKeyHasher;
  private readonly logger: Logger;
  private readonly metrics: EventMetrics | undefined;
  private readonly retryTimeoutMs: number;

  constructor(options: KvEventProcessorOptions) {
    this.retryTimeoutMs = options.retryTimeoutMs ?? 30_000;
    this.index = options.index;
    this.hasher =
      options.tokenProcessor instanceof RequestKeyHasher
        ? options.tokenProcessor
        : new RequestKeyHasher(options.tokenProcessor ?? {});
    this.logger = options.logger ?? defaultLogger;
    this.metrics = options.metrics;
  }

  async applyBatch(pod: string, model: string, batch: EventBatch): Promise<void> {
    for (const event of batch.events) {
      try {
        await this.applyWithRetry(pod, model, event);
      } catch (err) {
        this.metrics?.processingErrors.inc();
        this.logger.error(`Could not apply ${event.type} from pod ${pod}: ${(err as Error).message}`, {
          pod,
          model,
          code: (err as KvCacheError).code,
        });
      }
    }
  }

  /** Every index operation is idempotent, so an event can be re-applied after a transient failure. */
  private async applyWithRetry(pod: string, model: string, event: KvEvent): Promise<void> {
    const deadline = Date.now() + this.retryTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.apply(pod, model, event);
        return;
      } catch (err) {
        if (!isTransientBackendError(err) || Date.now() >= deadline) throw err;
        if (attempt === 0)
          this.logger.warn(
            `Index backend unavailable, retrying ${event.type} from pod ${pod}: ${(err as Error).message}`,
          );
        this.metrics?.retries.inc();
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2000)));
      }
    }
  }

  async apply(pod: string, model: string, event: KvEvent): Promise<void> {
    switch (event.type) {
      case 'BlockStored':
        await this.stored(pod, model, event);
        break;
      case 'BlockRemoved':
        await this.removed(pod, model, event);
        break;
      case 'AllBlocksCleared':
        await this.index.clear(pod);
        break;
    }
    this.metrics?.eventsApplied.inc(1, { type: event.type });
  }

  private entry(pod: string, medium: string | null, groupIdx: number | null): PodEntry {
    const entry: PodEntry = { pod, tier: (medium ?? 'gpu').toLowerCase() };
    if (groupIdx !== null) entry.group = groupIdx;
    return entry;
  }

  private skip(reason: string, message: string, details: Record<string, unknown>): void {
    this.metrics?.storesSkipped.inc(1, { reason });
    this.logger.debug(message, details);
  }

  private async stored(pod: string, model: string, event: BlockStoredEvent): Promise<void> {
    if (event.blockHashes.length === 0) return;
    if (event.kvCacheSpecKind !== null && !PREFIX_INDEXABLE_KINDS.has(event.kvCacheSpecKind))
      return this.skip('not_prefix_indexable', `Skipping ${event.kvCacheSpecKind} blocks`, { pod });
    const scope = { model };
    const entry = this.entry(pod, event.medium, event.groupIdx);
    if (event.tokenIds.length === 0) {
      // tier update (e.g. offload to CPU): the blocks are already known by their engine keys
      // resolved concurrently: on Valkey the lookups share one pipeline flush
      const settled = await Promise.allSettled(
        event.blockHashes.map((ek) => this.index.getRequestKey(ek, scope)),
      );
      const resolved: BlockHash[] = [];
      for (const r of settled) {
        if (r.status === 'fulfilled') resolved.push(r.value);
        else if (!KvCacheError.hasCode(r.reason, 'ERR_KEY_NOT_FOUND')) throw r.reason;
      }
      if (resolved.length === 0)
        return this.skip('unknown_engine_keys', 'Tier update for unknown blocks', { pod, tier: entry.tier });
      await this.index.add(null, resolved, [entry], scope);
      return;
    }
    let parent = 0n;
    // as in llm-d, a parent hash of 0 (EmptyBlockHash) means no parent: the chain starts here
    if (event.parentBlockHash !== null && event.parentBlockHash !== 0n) {
      try {
        parent = await this.index.getRequestKey(event.parentBlockHash, scope);
      } catch (err) {
        if (!KvCacheError.hasCode(err, 'ERR_KEY_NOT_FOUND')) throw err;
        return this.skip('unknown_parent', `Parent block ${event.parentBlockHash} of pod ${pod} is unknown`, {
          pod,
          model,
        });
      }
    }
    const hashModel = event.loraName ?? model;
    const extraFeatures = this.realignExtraKeys(event);
    const requestKeys = this.hasher.tokensToKeys(
      event.tokenIds,
      hashModel,
      extraFeatures ? { parent, extraFeatures } : { parent },
    );
    if (requestKeys.length === 0)
      return this.skip('partial_block', 'BlockStored with fewer tokens than one block', { pod });
    await this.index.add(event.blockHashes, requestKeys, [entry], scope);
  }

  /** Maps per-engine-block extra keys onto the index's block size; the LoRA name is not a multimodal key. */
  private realignExtraKeys(event: BlockStoredEvent): Array<BlockExtraFeatures | null> | undefined {
    if (!event.extraKeys) return undefined;
    const engineBlockSize =
      event.blockSize > 0
        ? event.blockSize
        : Math.max(1, Math.floor(event.tokenIds.length / event.blockHashes.length));
    const size = this.hasher.blockSize;
    const blocks = Math.floor(event.tokenIds.length / size);
    const out: Array<BlockExtraFeatures | null> = [];
    let any = false;
    for (let j = 0; j < blocks; j++) {
      const first = Math.floor((j * size) / engineBlockSize);
      const last = Math.floor(((j + 1) * size - 1) / engineBlockSize);
      const ids: string[] = [];
      for (let i = first; i <= last; i++) {
        const keys = event.extraKeys[i];
        if (!Array.isArray(keys)) continue;
        for (const k of keys) {
          const id =
            typeof k === 'string' ? k : Array.isArray(k) && typeof k[0] === 'string' ? k[0] : undefined;
          if (id === undefined || id === event.loraName || ids.includes(id)) continue;
          ids.push(id);
        }
      }
      if (ids.length > 0) any = true;
      out.push(ids.length > 0 ? { mmHashes: ids } : null);
    }
    return any ? out : undefined;
  }

  private async removed(pod: string, model: string, event: BlockRemovedEvent): Promise<void> {
    const entry = this.entry(pod, event.medium, event.groupIdx);
    for (const ek of event.blockHashes) await this.index.evict(ek, 'engine', [entry], { model });
  }
}
