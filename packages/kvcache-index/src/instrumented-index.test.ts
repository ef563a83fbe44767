import { describe, expect, it } from 'vitest';
import { InMemoryIndex } from './in-memory-index.js';
import { InstrumentedIndex, registerIndexMetrics } from './instrumented-index.js';
import { MetricsRegistry } from './metrics.js';

describe('InstrumentedIndex metrics', () => {
  it('counts lookup hits as the longest prefix one pod holds, as llm-d does', async () => {
    const registry = new MetricsRegistry();
    const index = new InstrumentedIndex(new InMemoryIndex(), registerIndexMetrics(registry));
    await index.add(null, [1n, 2n], [{ pod: 'a', tier: 'gpu' }]);
    await index.add(null, [3n], [{ pod: 'b', tier: 'gpu' }]);
    // three blocks are found (a, a, b) but no pod holds more than the first two
    expect((await index.lookup([1n, 2n, 3n, 4n])).size).toBe(3);
    const text = registry.render();
    expect(text).toContain('kvcache_index_lookup_hits_total 2\n');
    expect(text).toContain('kvcache_index_max_pod_hit_count_total 2\n');
    expect(text).toContain('kvcache_index_lookup_requests_total 1\n');
  });
});
