import type { BlockHash } from './types.js';

const TWO_32 = 0x1_0000_0000;

/** FNV-1a 64-bit offset basis (= FNV-64a of the empty string). */
export const FNV64_OFFSET_BASIS: BlockHash = 14695981039346656037n;

/**
 * FNV-1a 64-bit over `bytes`, starting from `seed` (default: the offset basis). Computed on two
 * 32-bit halves with exact double arithmetic (no BigInt per byte); the result is an exact bigint.
 * prime = 2^40 + 0x1b3, so h*prime = h*0x1b3 + (lo << 40).
 */
export function fnv64a(bytes: Uint8Array, seed: BlockHash = FNV64_OFFSET_BASIS): BlockHash {
  let hi = Number(seed >> 32n);
  let lo = Number(seed & 0xffff_ffffn);
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]!) >>> 0;
    const t = lo * 0x1b3;
    const carry = Math.floor(t / TWO_32);
    hi = (hi * 0x1b3 + carry + lo * 256) % TWO_32;
    lo = t >>> 0;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
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
