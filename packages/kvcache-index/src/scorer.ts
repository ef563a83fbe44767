import { KvCacheError } from './errors.js';
import type { BlockHash, PodEntry } from './types.js';

/** Weight per device tier; a tier not listed weighs 1.0. */
export type TierWeights = Readonly<Record<string, number>>;

export const DEFAULT_TIER_WEIGHTS: TierWeights = Object.freeze({ gpu: 1.0, cpu: 0.8 });

export function validateTierWeights(weights: TierWeights): TierWeights {
  const out: Record<string, number> = {};
  for (const [tier, weight] of Object.entries(weights)) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0)
      throw new KvCacheError(
        'ERR_INVALID_CONFIG',
        `Tier weight for "${tier}" must be a finite number >= 0, got ${String(weight)}`,
        {
          details: { tier, weight },
        },
      );
    out[tier.toLowerCase()] = weight;
  }
  return Object.freeze(out);
}

/**
 * Longest-prefix scorer (llm-d `LongestPrefixMatch`): a pod's weight at a key is the highest weight of
 * its entries there; pods holding key 0 start with that weight, accumulate while they hold each next
 * key, and drop out at the first key they miss. Pods that miss key 0 get no score.
 */
export function scoreLongestPrefix(
  requestKeys: readonly BlockHash[],
  hits: ReadonlyMap<BlockHash, readonly PodEntry[]>,
  weights: TierWeights = DEFAULT_TIER_WEIGHTS,
): Map<string, number> {
  const scores = new Map<string, number>();
  let active: Set<string> | undefined;
  for (const key of requestKeys) {
    const entries = hits.get(key);
    if (entries === undefined || entries.length === 0) break;
    const best = new Map<string, number>();
    for (const e of entries) {
      const w = weights[e.tier] ?? 1.0;
      const prev = best.get(e.pod);
      if (prev === undefined || w > prev) best.set(e.pod, w);
    }
    const next = new Set<string>();
    for (const [pod, w] of best) {
      if (active !== undefined && !active.has(pod)) continue;
      scores.set(pod, (scores.get(pod) ?? 0) + w);
      next.add(pod);
    }
    if (next.size === 0) break;
    active = next;
  }
  return scores;
}
