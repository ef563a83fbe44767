import type { Counter, Histogram, MetricsRegistry } from './metrics.js';
import type { BlockHash, IndexScope, KeyType, KvBlockIndex, PodEntry, PodFilter } from './types.js';

export interface IndexMetrics {
  admissions: Counter;
  evictions: Counter;
  lookups: Counter;
  lookupHits: Counter;
  maxPodHits: Counter;
  lookupLatency: Histogram;
}

/** Registers the llm-d index metrics (`kvcache_index_*`) on a registry. */
export function registerIndexMetrics(registry: MetricsRegistry): IndexMetrics {
  return {
    admissions: registry.counter(
      'kvcache_index_admissions_total',
      'Request keys admitted to the KV-block index',
    ),
    evictions: registry.counter(
      'kvcache_index_evictions_total',
      'Pod entries evicted from the KV-block index',
    ),
    lookups: registry.counter('kvcache_index_lookup_requests_total', 'Lookups against the KV-block index'),
    lookupHits: registry.counter(
      'kvcache_index_lookup_hits_total',
      'Longest prefix held by a single pod, summed over lookups (as llm-d counts hits)',
    ),
    maxPodHits: registry.counter(
      'kvcache_index_max_pod_hit_count_total',
      'Longest contiguous prefix held by a single pod, summed over lookups',
    ),
    lookupLatency: registry.histogram('kvcache_index_lookup_latency_seconds', 'Lookup latency in seconds'),
  };
}

/** Wraps an index and records admissions, evictions, lookups, hits and lookup latency. */
export class InstrumentedIndex implements KvBlockIndex {
  constructor(
    readonly inner: KvBlockIndex,
    readonly metrics: IndexMetrics,
  ) {}

  async lookup(requestKeys: readonly BlockHash[], podFilter?: PodFilter, scope?: IndexScope) {
    const start = process.hrtime.bigint();
    const result = await this.inner.lookup(requestKeys, podFilter, scope);
    this.metrics.lookupLatency.observe(Number(process.hrtime.bigint() - start) / 1e9);
    this.metrics.lookups.inc();
    // longest chain from key 0 held by one pod
    let active: Set<string> | undefined;
    let depth = 0;
    for (const entries of result.values()) {
      const pods = new Set(entries.map((e) => e.pod));
      const next = active ? new Set([...active].filter((p) => pods.has(p))) : pods;
      if (next.size === 0) break;
      active = next;
      depth++;
    }
    this.metrics.maxPodHits.inc(depth);
    this.metrics.lookupHits.inc(depth);
    return result;
  }

  async add(
    engineKeys: readonly BlockHash[] | null,
    requestKeys: readonly BlockHash[],
    entries: readonly PodEntry[],
    scope?: IndexScope,
  ) {
    await this.inner.add(engineKeys, requestKeys, entries, scope);
    this.metrics.admissions.inc(requestKeys.length);
  }

  async evict(key: BlockHash, keyType: KeyType, entries: readonly PodEntry[], scope?: IndexScope) {
    await this.inner.evict(key, keyType, entries, scope);
    this.metrics.evictions.inc(entries.length);
  }

  getRequestKey(engineKey: BlockHash, scope?: IndexScope) {
    return this.inner.getRequestKey(engineKey, scope);
  }

  clear(pod: string) {
    return this.inner.clear(pod);
  }

  close() {
    return this.inner.close();
  }
}
