/**
 * A small deterministic pseudo-random generator (mulberry32): numbers in [0, 1), the same
 * sequence for the same seed on every run, so a seeded test, fuzz run or benchmark repeats exactly.
 */
export declare function seededRandom(seed: number): () => number;
