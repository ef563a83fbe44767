import { describe, expect, it } from 'vitest';
import { InMemoryIndex } from './in-memory-index.js';

describe('InMemoryIndex bounds', () => {
  const gpu = { pod: 'p', tier: 'gpu' };
  it('drops the least recently used keys beyond maxKeys', async () => {
    const index = new InMemoryIndex({ maxKeys: 3 });
    for (const k of [1n, 2n, 3n]) await index.add(null, [k], [gpu]);
    await index.add(null, [4n], [gpu]); // 1 is the oldest
    expect((await index.lookup([1n])).size).toBe(0);
    expect((await index.lookup([2n])).size).toBe(1); // 2 is used again
    await index.add(null, [5n], [gpu]); // so 3 goes
    expect((await index.lookup([3n])).size).toBe(0);
    for (const k of [2n, 4n, 5n]) expect((await index.lookup([k])).size).toBe(1);
    expect(index.stats()).toMatchObject({ keys: 3, capacityEvictions: 2 });
  });
  it('refreshes every hit (capacity 3: add 1, 2, 3; look up 1; add 4 keeps 1, 3, 4)', async () => {
    const index = new InMemoryIndex({ maxKeys: 3 });
    for (const k of [1n, 2n, 3n]) await index.add(null, [k], [gpu]);
    expect((await index.lookup([1n])).size).toBe(1);
    await index.add(null, [4n], [gpu]);
    const present = [];
    for (const k of [1n, 2n, 3n, 4n]) if ((await index.lookup([k])).size === 1) present.push(k);
    expect(present).toEqual([1n, 3n, 4n]);
  });
  it('keeps a hot chain looked up after every insert through any number of cold inserts', async () => {
    const index = new InMemoryIndex({ maxKeys: 1000 });
    const hot = [1n, 2n, 3n, 4n];
    await index.add(null, hot, [gpu]);
    // 5 generations' worth of cold keys; a generational LRU loses the chain once per generation
    for (let i = 0; i < 5000; i++) {
      await index.add(null, [1_000_000n + BigInt(i)], [gpu]);
      expect((await index.lookup(hot)).size).toBe(4);
    }
    expect(index.stats()).toMatchObject({ keys: 1000, capacityEvictions: 4004 });
  });
  it('evicts the tail of a prefix chain before its head', async () => {
    const index = new InMemoryIndex({ maxKeys: 3 });
    await index.add(null, [10n, 11n, 12n], [gpu]);
    await index.add(null, [20n], [gpu]);
    expect([...(await index.lookup([10n, 11n, 12n])).keys()]).toEqual([10n, 11n]);
    await index.lookup([10n, 11n]);
    await index.add(null, [21n], [gpu]);
    expect([...(await index.lookup([10n, 11n])).keys()]).toEqual([10n, 11n]);
    expect((await index.lookup([20n])).size).toBe(0);
  });
  it('bounds estimated bytes', async () => {
    const index = new InMemoryIndex({ maxBytes: 10_000 });
    const keys = Array.from({ length: 1000 }, (_, i) => BigInt(i + 1));
    await index.add(keys, keys, [gpu]);
    const stats = index.stats();
    expect(stats.estimatedBytes).toBeLessThanOrEqual(10_000);
    expect(stats.keys).toBeGreaterThan(0);
    expect(stats.keys).toBeLessThan(1000);
    // one chain: its tail went first
    expect((await index.lookup([1n])).size).toBe(1);
    expect((await index.lookup([1000n])).size).toBe(0);
  });
  it('keeps at most podCacheSize entries per block, dropping the oldest', async () => {
    const index = new InMemoryIndex({ podCacheSize: 2 });
    await index.add(null, [1n], [{ pod: 'a', tier: 'gpu' }]);
    await index.add(null, [1n], [{ pod: 'b', tier: 'gpu' }]);
    await index.add(null, [1n], [{ pod: 'c', tier: 'gpu' }]);
    expect((await index.lookup([1n])).get(1n)!.map((e) => e.pod)).toEqual(['b', 'c']);
  });
  it('hides a cleared pod at once and sweeps it without blocking, keeping exact counts', async () => {
    const index = new InMemoryIndex();
    const keys = Array.from({ length: 40_000 }, (_, i) => BigInt(i + 1));
    await index.add(keys, keys, [
      { pod: 'a', tier: 'gpu' },
      { pod: 'b', tier: 'gpu' },
    ]);
    await index.add(null, keys.slice(0, 10), [{ pod: 'a', tier: 'cpu' }]);
    const clearing = index.clear('a');
    let settled = false;
    void clearing.then(() => {
      settled = true;
    });
    // the sweep yields: a lookup runs before it is done and already sees no entry of pod a
    const during = await index.lookup(keys.slice(0, 100));
    expect(settled).toBe(false);
    expect(during.size).toBe(100);
    expect([...during.values()].every((e) => e.length === 1 && e[0]!.pod === 'b')).toBe(true);
    await clearing;
    expect(index.stats()).toMatchObject({ keys: 40_000, entries: 40_000, engineKeys: 40_000 });
    await index.add(null, [1n], [{ pod: 'a', tier: 'gpu' }]);
    expect((await index.lookup([1n], ['a'])).size).toBe(1);
    await index.clear('b');
    expect(index.stats()).toMatchObject({ keys: 1, entries: 1 });
  });

  it('validates its config and refuses calls after close', async () => {
    expect(() => new InMemoryIndex({ maxKeys: 0 })).toThrow(/maxKeys/);
    const index = new InMemoryIndex();
    await index.close();
    await expect(index.lookup([1n])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});
