import type { StreamId } from '../model.js';
import { SIZEOF } from './sizes.js';

/** The 16-byte big-endian rax key of a stream ID (ms then seq), as t_stream.c builds it. */
export function streamIdKey(id: StreamId): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeBigUInt64BE(BigInt.asUintN(64, id.ms), 0);
  b.writeBigUInt64BE(BigInt.asUintN(64, id.seq), 8);
  return b;
}

/**
 * Number of nodes a rax holds after inserting `keys` (same length, sorted ascending, distinct):
 * one node per branching point, one per run of single-child bytes (a compressed node) and one empty
 * leaf per key. An empty rax still has its root node.
 */
export function raxNodeCount(keys: readonly Buffer[]): number {
  if (keys.length === 0) return 1;
  return countFrom(keys, 0, keys.length, 0);
}

/** Nodes in the subtree whose vertex is at `depth` and spans `keys[lo, hi)`. */
function countFrom(keys: readonly Buffer[], lo: number, hi: number, depth: number): number {
  const keyLen = keys[lo]!.length;
  if (depth >= keyLen) return 1;
  if (isBranching(keys, lo, hi, depth)) return 1 + countChildren(keys, lo, hi, depth);
  // A run of single-child vertices is one compressed node; it ends at a leaf or a branching vertex.
  let end = depth + 1;
  while (end < keyLen && !isBranching(keys, lo, hi, end)) end++;
  if (end >= keyLen) return 2;
  return 2 + countChildren(keys, lo, hi, end);
}

function isBranching(keys: readonly Buffer[], lo: number, hi: number, depth: number): boolean {
  // Sorted keys sharing a prefix up to `depth`: the first and last differ at `depth` iff it branches.
  return keys[lo]![depth] !== keys[hi - 1]![depth];
}

function countChildren(keys: readonly Buffer[], lo: number, hi: number, depth: number): number {
  let total = 0;
  let start = lo;
  for (let i = lo + 1; i <= hi; i++) {
    if (i === hi || keys[i]![depth] !== keys[start]![depth]) {
      total += countFrom(keys, start, i, depth + 1);
      start = i;
    }
  }
  return total;
}

/** What object.c's `streamRadixTreeMemoryUsage` charges for a rax of stream IDs. */
export function streamRaxCharge(keys: readonly Buffer[]): number {
  return keys.length * SIZEOF.streamId + raxNodeCount(keys) * SIZEOF.raxNodeCharge;
}

/** Sorted, de-duplicated rax keys of some stream IDs. */
export function sortedIdKeys(ids: Iterable<StreamId>): Buffer[] {
  const keys = [...ids].map(streamIdKey).sort(Buffer.compare);
  const out: Buffer[] = [];
  for (const k of keys) if (out.length === 0 || !out[out.length - 1]!.equals(k)) out.push(k);
  return out;
}
