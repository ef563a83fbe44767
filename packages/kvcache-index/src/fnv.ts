import type { BlockHash } from './types.js';

/** FNV-1a 64-bit offset basis (= FNV-64a of the empty string). */
export const FNV64_OFFSET_BASIS: BlockHash = 14695981039346656037n;

/**
 * FNV-1a 64-bit over `bytes`, starting from `seed` (default: the offset basis). The state is kept in
 * four 16-bit limbs so every step is small-integer arithmetic (no BigInt per byte, no float division);
 * the result is an exact bigint. prime = 2^40 + 0x1b3, so h*prime = h*0x1b3 + (h << 40).
 */
export function fnv64a(bytes: Uint8Array, seed: BlockHash = FNV64_OFFSET_BASIS): BlockHash {
  const hi = Number(seed >> 32n);
  const lo = Number(seed & 0xffff_ffffn);
  let h0 = lo & 0xffff;
  let h1 = lo >>> 16;
  let h2 = hi & 0xffff;
  let h3 = hi >>> 16;
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i]!;
    const t0 = h0 * 0x1b3;
    let t1 = h1 * 0x1b3;
    let t2 = h2 * 0x1b3 + (h0 << 8);
    const t3 = h3 * 0x1b3 + (h1 << 8);
    t1 += t0 >>> 16;
    h0 = t0 & 0xffff;
    t2 += t1 >>> 16;
    h1 = t1 & 0xffff;
    h3 = (t3 + (t2 >>> 16)) & 0xffff;
    h2 = t2 & 0xffff;
  }
  return (BigInt(((h3 << 16) | h2) >>> 0) << 32n) | BigInt(((h1 << 16) | h0) >>> 0);
}

/** FNV-1a 32-bit of a string's UTF-8 bytes (used to shard events by pod). */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
