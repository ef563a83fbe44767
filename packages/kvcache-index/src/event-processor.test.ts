import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from './metrics.js';
import { registerEventMetrics } from './event-metrics.js';
import { KvEventProcessor } from './event-processor.js';
import { blockStored } from './events.js';
import { RequestKeyHasher } from './hashing.js';
import { InMemoryIndex } from './in-memory-index.js';
import { silentLogger } from './logger.js';

const MODEL = 'm';
const tokens = (n: number, start = 1) => Array.from({ length: n }, (_, i) => start + i);

function setup(blockSize: number) {
  const index = new InMemoryIndex();
  const hasher = new RequestKeyHasher({ blockSize });
  const metrics = registerEventMetrics(new MetricsRegistry());
  const processor = new KvEventProcessor({ index, tokenProcessor: hasher, metrics });
  const pods = async (keys: bigint[]) =>
    [...(await index.lookup(keys, undefined, { model: MODEL })).values()].map((e) =>
      e.map((x) => `${x.pod}@${x.tier}`),
    );
  return { index, hasher, metrics, processor, pods };
}

describe('KvEventProcessor', () => {
  it('maps small engine blocks onto larger index blocks (many:1) and evicts through them', async () => {
    const { hasher, processor, pods, index } = setup(8);
    await processor.apply(
      'p',
      MODEL,
      blockStored({ blockHashes: [1n, 2n, 3n, 4n], tokenIds: tokens(16), blockSize: 4 }),
    );
    const keys = hasher.tokensToKeys(tokens(16), MODEL);
    expect(await pods(keys)).toEqual([['p@gpu'], ['p@gpu']]);
    expect(await index.getRequestKey(2n, { model: MODEL })).toBe(keys[0]);
    await processor.apply('p', MODEL, {
      type: 'BlockRemoved',
      blockHashes: [3n],
      medium: null,
      groupIdx: null,
    });
    expect(await pods(keys)).toEqual([['p@gpu']]);
  });

  it('takes parent_block_hash 0 as no parent (as llm-d) and starts the chain there', async () => {
    const { hasher, processor, pods, metrics } = setup(4);
    await processor.apply(
      'p',
      MODEL,
      blockStored({ blockHashes: [5n], parentBlockHash: 0n, tokenIds: tokens(4), blockSize: 4 }),
    );
    expect(await pods(hasher.tokensToKeys(tokens(4), MODEL))).toEqual([['p@gpu']]);
    expect(metrics.storesSkipped.get({ reason: 'unknown_parent' })).toBe(0);
  });

  it('chains a BlockStored onto its parent and skips it when the parent is unknown', async () => {
    const { hasher, processor, pods, metrics } = setup(4);
    await processor.apply('p', MODEL, blockStored({ blockHashes: [1n], tokenIds: tokens(4), blockSize: 4 }));
    await processor.apply(
      'p',
      MODEL,
      blockStored({ blockHashes: [2n], parentBlockHash: 1n, tokenIds: tokens(4, 5), blockSize: 4 }),
    );
    await processor.apply(
      'p',
      MODEL,
      blockStored({ blockHashes: [9n], parentBlockHash: 8n, tokenIds: tokens(4, 9), blockSize: 4 }),
    );
    expect(await pods(hasher.tokensToKeys(tokens(12), MODEL))).toEqual([['p@gpu'], ['p@gpu']]);
    expect(metrics.storesSkipped.get({ reason: 'unknown_parent' })).toBe(1);
  });

  it('hashes multimodal identifiers realigned to index blocks (bare strings and [hash, offset] tuples)', async () => {
    const { hasher, processor, pods } = setup(8);
    await processor.apply(
      'p',
      MODEL,
      blockStored({
        blockHashes: [1n, 2n, 3n, 4n],
        tokenIds: tokens(16),
        blockSize: 4,
        extraKeys: [null, ['img-a'], [['img-b', 0]], ['img-b']],
      }),
    );
    const keys = hasher.tokensToKeys(tokens(16), MODEL, {
      extraFeatures: [{ mmHashes: ['img-a'] }, { mmHashes: ['img-b'] }],
    });
    expect(await pods(keys)).toEqual([['p@gpu'], ['p@gpu']]);
    expect(await pods(hasher.tokensToKeys(tokens(16), MODEL))).toEqual([]);
  });

  it('keeps group indices and lower-cases media', async () => {
    const { hasher, processor, index } = setup(4);
    await processor.apply(
      'p',
      MODEL,
      blockStored({ blockHashes: [1n], tokenIds: tokens(4), medium: 'GPU', groupIdx: 3 }),
    );
    const hits = await index.lookup(hasher.tokensToKeys(tokens(4), MODEL), undefined, { model: MODEL });
    expect([...hits.values()][0]).toEqual([{ pod: 'p', tier: 'gpu', group: 3 }]);
  });

  it('counts failures of a batch without stopping the rest of it', async () => {
    const { metrics, hasher, pods, index } = setup(4);
    const processor = new KvEventProcessor({ index, tokenProcessor: hasher, metrics, logger: silentLogger });
    await processor.applyBatch('p', MODEL, {
      ts: 0,
      dataParallelRank: null,
      events: [
        blockStored({ blockHashes: [1n], tokenIds: [1, 2, 3, 4], groupIdx: -1 }),
        blockStored({ blockHashes: [2n], tokenIds: tokens(4, 50) }),
      ],
    });
    expect(await pods(hasher.tokensToKeys(tokens(4, 50), MODEL))).toEqual([['p@gpu']]);
    expect(metrics.processingErrors.get()).toBe(1);
  });
});
