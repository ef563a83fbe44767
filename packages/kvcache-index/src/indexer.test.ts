import { waitFor } from '@valkey-tools/test-utils';
import { describe, expect, it } from 'vitest';
import { InMemoryIndex } from './in-memory-index.js';
import { KvCacheIndexer } from './indexer.js';

const tokens = Array.from({ length: 12 }, (_, i) => i + 1);

describe('KvCacheIndexer', () => {
  it('scores tokens, filters pods and honours tier weights', async () => {
    const indexer = new KvCacheIndexer({
      index: new InMemoryIndex(),
      tokenProcessor: { blockSize: 4 },
      tierWeights: { gpu: 1, cpu: 0.5 },
    });
    const keys = indexer.computeRequestKeys(tokens, 'm');
    await indexer.index.add(null, keys, [{ pod: 'a', tier: 'gpu' }], { model: 'm' });
    await indexer.index.add(null, keys.slice(0, 2), [{ pod: 'b', tier: 'cpu' }], { model: 'm' });
    expect(Object.fromEntries(await indexer.scoreTokens(tokens, 'm'))).toEqual({ a: 3, b: 1 });
    expect(Object.fromEntries(await indexer.scoreTokens(tokens, 'm', ['b']))).toEqual({ b: 1 });
    expect((await indexer.scoreTokens(tokens.slice(0, 3), 'm')).size).toBe(0);
    expect(indexer.metrics.render()).toMatch(/^kvcache_index_lookup_requests_total 2$/m);
  });

  it('adds speculative entries that expire or can be cancelled', async () => {
    const indexer = new KvCacheIndexer({ index: new InMemoryIndex(), tokenProcessor: { blockSize: 4 } });
    const spec = await indexer.addSpeculative(tokens, 'm', 'a', { ttlMs: 60_000 });
    expect(spec.keys).toHaveLength(3);
    const hits = await indexer.index.lookup(spec.keys, undefined, { model: 'm' });
    expect(hits.get(spec.keys[0]!)).toEqual([{ pod: 'a', tier: 'gpu', speculative: true }]);
    await spec.cancel();
    expect((await indexer.scoreTokens(tokens, 'm')).size).toBe(0);
    const short = await indexer.addSpeculative(tokens, 'm', 'b', { ttlMs: 20 });
    expect(Object.fromEntries(await indexer.scoreTokens(tokens, 'm'))).toEqual({ b: 3 });
    await waitFor(
      'the 20 ms speculative entry to expire',
      async () => (await indexer.scoreTokens(tokens, 'm')).size === 0,
    );
    await short.cancel();
  });
});
