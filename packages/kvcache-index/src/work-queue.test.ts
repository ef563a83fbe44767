import { describe, expect, it } from 'vitest';
import { ShardedWorkQueue } from './work-queue.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('ShardedWorkQueue', () => {
  it('keeps one key in order while keys on other lanes run in parallel', async () => {
    const queue = new ShardedWorkQueue({ concurrency: 4 });
    const seen: Record<string, number[]> = {};
    let running = 0;
    let maxRunning = 0;
    for (let i = 0; i < 20; i++)
      for (const pod of ['a', 'b', 'c', 'd', 'e']) {
        await queue.submit(pod, async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await tick();
          (seen[pod] ??= []).push(i);
          running--;
        });
      }
    await queue.idle();
    for (const pod of ['a', 'b', 'c', 'd', 'e'])
      expect(seen[pod]).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(4);
    expect(queue.laneOf('a')).toBe(queue.laneOf('a'));
  });

  it('applies backpressure at capacity and survives failing tasks', async () => {
    const errors: unknown[] = [];
    const queue = new ShardedWorkQueue({ concurrency: 1, capacity: 2 }, (e) => errors.push(e));
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    await queue.submit('x', () => gate);
    await queue.submit('x', async () => {
      throw new Error('boom');
    });
    let third = false;
    const pending = queue
      .submit('x', async () => {})
      .then(() => {
        third = true;
      });
    await tick();
    expect(third).toBe(false);
    expect(queue.depth).toBe(2);
    release();
    await pending;
    await queue.idle();
    expect(third).toBe(true);
    expect(errors).toHaveLength(1);
    expect(queue.depth).toBe(0);
  });
});
