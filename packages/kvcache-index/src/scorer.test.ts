import { describe, expect, it } from 'vitest';
import { DEFAULT_TIER_WEIGHTS, scoreLongestPrefix, validateTierWeights } from './scorer.js';
import type { BlockHash, PodEntry } from './types.js';

const gpu = (pod: string): PodEntry => ({ pod, tier: 'gpu' });
const cpu = (pod: string): PodEntry => ({ pod, tier: 'cpu' });
const keys = [1001n, 1002n, 1003n, 1004n, 1005n, 1006n];

describe('scoreLongestPrefix (vector 3)', () => {
  const weights = { gpu: 1.0, cpu: 0.5 };
  it('scores the llm-d scorer test case', () => {
    const hits = new Map<BlockHash, PodEntry[]>([
      [1001n, [gpu('podA')]],
      [1002n, [gpu('podA')]],
      [1003n, [gpu('podA'), cpu('podA')]],
      [1004n, [cpu('podB')]],
      [1005n, [cpu('podB')]],
      [1006n, [gpu('podA')]],
    ]);
    const scores = scoreLongestPrefix(keys, hits, weights);
    expect(scores.get('podA')).toBe(3.0);
    expect(scores.get('podB') ?? 0).toBe(0);
  });
  it('uses the cpu weight when podA is cpu-only at 1003', () => {
    const hits = new Map<BlockHash, PodEntry[]>([
      [1001n, [gpu('podA')]],
      [1002n, [gpu('podA')]],
      [1003n, [cpu('podA')]],
      [1004n, [cpu('podB')]],
    ]);
    expect(scoreLongestPrefix(keys, hits, weights).get('podA')).toBe(2.5);
  });
  it('defaults to gpu 1.0 / cpu 0.8, unknown tiers 1.0', () => {
    expect(DEFAULT_TIER_WEIGHTS).toEqual({ gpu: 1.0, cpu: 0.8 });
    const hits = new Map<BlockHash, PodEntry[]>([
      [1n, [cpu('a'), { pod: 'b', tier: 'disk' }]],
      [2n, [cpu('a')]],
    ]);
    const scores = scoreLongestPrefix([1n, 2n], hits);
    expect(scores.get('a')).toBeCloseTo(1.6);
    expect(scores.get('b')).toBe(1);
  });
  it('returns nothing when key 0 is missing', () => {
    expect(scoreLongestPrefix([1n, 2n], new Map([[2n, [gpu('a')]]])).size).toBe(0);
  });
  it('validates weights', () => {
    expect(() => validateTierWeights({ gpu: -1 })).toThrow(/gpu/);
    expect(validateTierWeights({ GPU: 2 })).toEqual({ gpu: 2 });
  });
});
