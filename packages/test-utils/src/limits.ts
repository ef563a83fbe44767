/**
 * Speed and memory limits. A loaded machine trips a wall-clock or resident-memory threshold, so
 * `npm test` never asserts one: they are checked under `npm run fuzz` (scripts/fuzz.mjs sets
 * VT_LIMITS=1, runs alone and longer), where a reader that turned quadratic or started allocating
 * what an input claims fails. Inside `npm test` the same code measures and says nothing.
 */

/** True under `npm run fuzz` (VT_LIMITS=1): speed and memory limits are asserted. */
export const LIMITS_CHECKED = process.env.VT_LIMITS === '1';

export class LimitExceededError extends Error {
  override name = 'LimitExceededError';
}

const MiB = 2 ** 20;

/** Fails when `value` exceeds `limit` (under `npm run fuzz` only). `unit` is `ms` or `bytes`. */
export function checkLimit(what: string, value: number, limit: number, unit: 'ms' | 'bytes'): void {
  if (!LIMITS_CHECKED || value <= limit) return;
  const show = (n: number) => (unit === 'bytes' ? `${(n / MiB).toFixed(0)} MiB` : `${n.toFixed(0)} ms`);
  throw new LimitExceededError(`${what}: ${show(value)}, over the limit of ${show(limit)}`);
}

/** Runs `fn`; under `npm run fuzz` its wall-clock time must stay within `limitMs`. */
export async function withinTime<T>(what: string, limitMs: number, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const out = await fn();
  checkLimit(`${what}, time taken`, performance.now() - started, limitMs, 'ms');
  return out;
}

/** Runs `fn`; under `npm run fuzz` the growth of `kind` memory across it must stay within `limitBytes`. */
export async function withinMemory<T>(
  what: string,
  limitBytes: number,
  fn: () => Promise<T>,
  kind: 'arrayBuffers' | 'rss' = 'arrayBuffers',
): Promise<T> {
  const before = process.memoryUsage()[kind];
  const out = await fn();
  checkLimit(`${what}, ${kind} growth`, process.memoryUsage()[kind] - before, limitBytes, 'bytes');
  return out;
}

/**
 * Watches memory across many inputs: under `npm run fuzz` resident and ArrayBuffer memory must
 * stay within `marginBytes` of where they started (an input that makes a reader allocate its
 * claimed length fails). `check()` samples every 25th call.
 */
export function memoryGuard(what: string, marginBytes = 768 * MiB): { check(): void; peak(): number } {
  const start = process.memoryUsage();
  let peak = 0;
  let calls = 0;
  return {
    check() {
      if (!LIMITS_CHECKED || ++calls % 25 !== 0) return;
      const now = process.memoryUsage();
      const grown = Math.max(now.rss - start.rss, now.arrayBuffers - start.arrayBuffers);
      peak = Math.max(peak, grown);
      checkLimit(`${what}, memory growth`, grown, marginBytes, 'bytes');
    },
    peak: () => peak,
  };
}
