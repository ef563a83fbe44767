import { describe, expect, it } from 'vitest';
import { PartitionedLru } from './lru.js';

const order = <V>(lru: PartitionedLru<number, V>) => [...lru.oldestFirst()].map(([p, k]) => `${p}:${k}`);

describe('PartitionedLru', () => {
  it('evicts the least recently used key; every get refreshes', () => {
    const lru = new PartitionedLru<number, string>();
    const p = lru.partition('', true);
    for (const k of [1, 2, 3]) lru.set(p, k, `v${k}`);
    expect(lru.get(p, 1)).toBe('v1');
    lru.set(p, 4, 'v4');
    expect(lru.evictOldest()).toMatchObject({ key: 2, value: 'v2' });
    expect(order(lru)).toEqual([':3', ':1', ':4']);
    expect(lru.peek(p, 3)).toBe('v3'); // peek does not refresh
    expect(lru.evictOldest()?.key).toBe(3);
  });

  it('keeps recency global across partitions, keys apart per partition', () => {
    const lru = new PartitionedLru<number, string>();
    const a = lru.partition('a', true);
    const b = lru.partition('b', true);
    lru.set(a, 1, 'a1');
    lru.set(b, 1, 'b1');
    lru.set(a, 2, 'a2');
    expect(lru.peek(a, 1)).toBe('a1');
    expect(lru.peek(b, 1)).toBe('b1');
    lru.get(a, 1);
    expect(order(lru)).toEqual(['b:1', 'a:2', 'a:1']);
    expect(lru.evictOldest()).toMatchObject({ partition: { name: 'b' }, key: 1 });
    expect(lru.has(b, 1)).toBe(false);
    expect(lru.has(a, 1)).toBe(true);
    expect(lru.partition('c', false)).toBeUndefined();
  });

  it('refreshes a chain head first, each key after the previous one', () => {
    const lru = new PartitionedLru<number, string>();
    const p = lru.partition('', true);
    for (const k of [10, 11, 12, 1, 2]) lru.set(p, k, '');
    let previous = -1;
    for (const k of [10, 11, 12]) {
      const slot = p.slots.get(k)!;
      lru.refresh(slot, previous);
      previous = slot;
    }
    // oldest first: the cold keys, then the chain tail, the head last
    expect(order(lru)).toEqual([':1', ':2', ':12', ':11', ':10']);
  });

  it('reuses freed slots, grows past its first block and deletes', () => {
    const lru = new PartitionedLru<number, number>();
    const p = lru.partition('', true);
    for (let i = 0; i < 5000; i++) lru.set(p, i, i);
    for (let i = 0; i < 4990; i++) expect(lru.evictOldest()?.key).toBe(i);
    for (let i = 5000; i < 5010; i++) expect(lru.set(p, i, i)).toBe(true);
    expect(lru.set(p, 5000, -1)).toBe(false);
    expect(lru.delete(p, 4995)).toBe(true);
    expect(lru.delete(p, 4995)).toBe(false);
    expect(lru.size).toBe(19);
    expect(order(lru)[0]).toBe(':4990');
    expect(order(lru).at(-1)).toBe(':5000');
    lru.clear();
    expect(lru.size).toBe(0);
    expect(lru.evictOldest()).toBeUndefined();
  });
});
