import { describe, expect, it } from 'vitest';
import { GenerationalLru } from './lru.js';

describe('GenerationalLru', () => {
  it('evicts keys unused for a generation before keys used since', () => {
    const lru = new GenerationalLru<number, string>();
    for (let i = 1; i <= 4; i++) lru.set(i, `v${i}`);
    expect(lru.evictOldest()).toEqual([1, 'v1']); // young became old: 2,3,4
    expect(lru.get(2)).toBe('v2'); // promoted
    lru.set(5, 'v5');
    expect(lru.evictOldest()?.[0]).toBe(3);
    expect(lru.evictOldest()?.[0]).toBe(4);
    expect(lru.evictOldest()?.[0]).toBe(2); // next generation: 2 then 5
    expect(lru.evictOldest()?.[0]).toBe(5);
    expect(lru.evictOldest()).toBeUndefined();
  });
  it('sets, replaces, peeks and deletes across generations', () => {
    const lru = new GenerationalLru<string, number>();
    expect(lru.set('a', 1)).toBe(true);
    expect(lru.set('a', 2)).toBe(false);
    lru.set('b', 3);
    lru.evictOldest(); // a out, b old
    expect(lru.has('a')).toBe(false);
    expect(lru.peek('b')).toBe(3);
    expect(lru.isYoung('b')).toBe(false);
    lru.replace('b', 4);
    expect(lru.isYoung('b')).toBe(false);
    expect(lru.set('b', 5)).toBe(false);
    expect(lru.isYoung('b')).toBe(true);
    expect([...lru.entries()]).toEqual([['b', 5]]);
    expect(lru.delete('b')).toBe(true);
    expect(lru.size).toBe(0);
  });
});
