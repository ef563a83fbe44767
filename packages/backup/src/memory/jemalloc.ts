/**
 * jemalloc 5.x size classes as used by Valkey's zmalloc on 64-bit Linux: 8, 16, then steps of 16 up
 * to 128, then four classes per doubling (160, 192, 224, 256, 320, ...), small and large alike.
 * `zmalloc_size(ptr)` (what `MEMORY USAGE` adds up) is the class an allocation of `bytes` lands in.
 */
export function jemallocSize(bytes: number): number {
  if (bytes <= 8) return 8;
  if (bytes <= 128) return Math.ceil(bytes / 16) * 16;
  // Spacing is a quarter of the power of two just below the request.
  const base = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = base / 4;
  return Math.ceil(bytes / step) * step;
}
