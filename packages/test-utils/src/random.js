// Plain JavaScript (with random.d.ts beside it) so that the benchmarks, which run under plain
// Node without a TypeScript loader, draw from the same generator as the tests.

/**
 * A small deterministic pseudo-random generator (mulberry32): numbers in [0, 1), the same
 * sequence for the same seed on every run, so a seeded test, fuzz run or benchmark repeats exactly.
 * @param {number} seed
 * @returns {() => number}
 */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
