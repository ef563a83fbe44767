import { fnv32a } from './fnv.js';

/**
 * Runs tasks on `concurrency` sequential lanes; a key (the pod) always lands on the same lane
 * (FNV-1a 32 % concurrency, as llm-d shards), so one pod's events apply in order while pods proceed
 * in parallel. `submit` waits while `capacity` tasks are queued (backpressure to the socket).
 */
export class ShardedWorkQueue {
  readonly concurrency: number;
  readonly capacity: number;
  private readonly lanes: Array<Array<() => Promise<void>>>;
  private readonly running: boolean[];
  private queued = 0;
  private spaceWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    options: { concurrency?: number; capacity?: number } = {},
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
    this.capacity = Math.max(1, Math.floor(options.capacity ?? 10_000));
    this.lanes = Array.from({ length: this.concurrency }, () => []);
    this.running = new Array(this.concurrency).fill(false);
  }

  get depth(): number {
    return this.queued;
  }

  laneOf(key: string): number {
    return fnv32a(key) % this.concurrency;
  }

  async submit(key: string, task: () => Promise<void>): Promise<void> {
    while (this.queued >= this.capacity) await new Promise<void>((r) => this.spaceWaiters.push(r));
    const lane = this.laneOf(key);
    this.lanes[lane]!.push(task);
    this.queued++;
    if (!this.running[lane]) void this.run(lane);
  }

  private async run(lane: number): Promise<void> {
    this.running[lane] = true;
    const queue = this.lanes[lane]!;
    while (queue.length > 0) {
      const task = queue.shift()!;
      try {
        await task();
      } catch (err) {
        this.onError(err);
      }
      this.queued--;
      const waiter = this.spaceWaiters.shift();
      if (waiter) waiter();
    }
    this.running[lane] = false;
    if (this.queued === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves once every queued task has run. */
  idle(): Promise<void> {
    if (this.queued === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }
}
