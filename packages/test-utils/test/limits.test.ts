import { describe, expect, it } from 'vitest';
import { checkLimit, LIMITS_CHECKED, memoryGuard, withinMemory, withinTime } from '../src/index.js';

// Limits are asserted only under `npm run fuzz` (VT_LIMITS=1); `npm test` measures and says nothing.
describe(`limits (${LIMITS_CHECKED ? 'checked' : 'not checked'})`, () => {
  it('memoryGuard: memory kept across many inputs', () => {
    const guard = memoryGuard('a loop', 0);
    const kept: Buffer[] = [];
    const run = () => {
      for (let i = 0; i < 25; i++) {
        kept.push(Buffer.alloc(8 * 2 ** 20, 1));
        guard.check();
      }
    };
    if (LIMITS_CHECKED) expect(run).toThrow(/^a loop, memory growth: \d+ MiB, over the limit of 0 MiB$/);
    else expect(run).not.toThrow();
  });

  it('checkLimit, withinTime, withinMemory', async () => {
    const over = () => checkLimit('a step', 20, 10, 'ms');
    if (LIMITS_CHECKED) expect(over).toThrow('a step: 20 ms, over the limit of 10 ms');
    else expect(over).not.toThrow();
    const slow = withinTime('a slow step', 0, () => new Promise((r) => setTimeout(r, 5)));
    if (LIMITS_CHECKED)
      await expect(slow).rejects.toThrow(/^a slow step, time taken: \d+ ms, over the limit of 0 ms$/);
    else await expect(slow).resolves.toBeUndefined();
    const kept: Buffer[] = [];
    const big = withinMemory('a big buffer', 1024, async () => kept.push(Buffer.alloc(64 * 2 ** 20, 1)));
    if (LIMITS_CHECKED)
      await expect(big).rejects.toThrow('a big buffer, arrayBuffers growth: 64 MiB, over the limit of 0 MiB');
    else expect(await big).toBe(1);
  });
});
