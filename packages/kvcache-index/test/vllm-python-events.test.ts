/**
 * vLLM KV events made without our encoder: a Python publisher (pyzmq + msgpack, as vLLM itself
 * uses) sends vLLM-format batches with byte block hashes over ZMQ on 127.0.0.1, and our subscriber
 * and index consume them. Judged by what a user queries: each pod's score for a prompt.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryIndex } from '../src/in-memory-index.js';
import { KvCacheIndexer } from '../src/indexer.js';
import { silentLogger } from '../src/logger.js';
import { KvEventSubscriber } from '../src/zmq-subscriber.js';

const MODEL = 'meta-llama/Llama-3.1-8B';
const BS = 4;
const script = fileURLToPath(new URL('./vllm_kv_publisher.py', import.meta.url));
const tokens = (n: number, start = 1) => Array.from({ length: n }, (_, i) => start + i);

/**
 * A python3 that has msgpack and zmq. Debian's python3-msgpack and python3-zmq go to
 * /usr/bin/python3, which a pyenv or venv python3 earlier on PATH does not see.
 */
function findPython(): string {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', 'import msgpack, zmq'], { stdio: 'pipe' });
      return python;
    } catch {
      // next
    }
  }
  throw new Error(
    `no python3 with the msgpack and zmq modules (tried ${candidates.join(', ')}): run scripts/setup-system.sh ` +
      '(it installs python3-msgpack and python3-zmq), or set PYTHON to a python3 that has them',
  );
}

/** One engine: the Python publisher process, driven one command (one batch) at a time. */
class PythonEngine {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  private stderr = '';
  sent = 0;

  constructor(python: string, pod: string) {
    this.child = spawn(python, [script, pod, MODEL, String(BS)], { stdio: 'pipe' });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    this.child.on('exit', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The next line the script prints (with a deadline: a dead or stuck script fails the test). */
  async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null) throw new Error(`the publisher exited: ${this.stderr}`);
      if (Date.now() > deadline)
        throw new Error(`the publisher said nothing in ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.lines.shift()!;
  }

  async port(): Promise<number> {
    const line = await this.line();
    const m = /^port (\d+)$/.exec(line);
    if (!m) throw new Error(`expected "port N", got ${line}`);
    return Number(m[1]);
  }

  async send(command: Record<string, unknown>): Promise<void> {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    expect(await this.line()).toBe(`sent ${this.sent}`);
    this.sent++;
  }

  stop(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

describe('vLLM KV events published by Python (pyzmq + msgpack)', () => {
  let python: string;
  const engines: Record<string, PythonEngine> = {};
  let indexer: KvCacheIndexer;
  let subscriber: KvEventSubscriber;

  beforeAll(async () => {
    python = findPython();
    for (const pod of ['pod-a', 'pod-b']) engines[pod] = new PythonEngine(python, pod);
    const ports = await Promise.all(Object.values(engines).map((e) => e.port()));
    indexer = new KvCacheIndexer({ index: new InMemoryIndex(), tokenProcessor: { blockSize: BS } });
    subscriber = new KvEventSubscriber({
      endpoints: ports.map((p) => `tcp://127.0.0.1:${p}`),
      processor: indexer.createEventProcessor(),
      logger: silentLogger,
      metrics: indexer.eventMetrics,
    });
    await subscriber.start();
    for (const e of Object.values(engines)) expect(await e.line()).toBe('subscribed');
  });

  afterAll(async () => {
    for (const e of Object.values(engines)) e.stop();
    await subscriber?.close();
    await indexer?.close();
  });

  /** Sends one command to a pod's engine, then waits until the index has applied every batch sent. */
  async function step(pod: string, command: Record<string, unknown>): Promise<void> {
    await engines[pod]!.send(command);
    const sent = Object.values(engines).reduce((n, e) => n + e.sent, 0);
    const deadline = Date.now() + 10_000;
    while (subscriber.received < sent) {
      if (Date.now() > deadline) throw new Error(`${subscriber.received} of ${sent} batches arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await subscriber.idle();
  }

  const prompt = tokens(12, 100); // three blocks of 4
  const scores = async (t: number[] = prompt) => Object.fromEntries(await indexer.scoreTokens(t, MODEL));

  it('indexes BlockStored with byte hashes and parent chaining: scores are the cached prefix per pod', async () => {
    await step('pod-a', { op: 'store', tokens: prompt });
    await step('pod-b', { op: 'store', tokens: prompt.slice(0, 8) });
    expect(await scores()).toEqual({ 'pod-a': 3, 'pod-b': 2 });
    // pod-b's engine now caches the third block: one event, its parent the second block's hash.
    await step('pod-b', { op: 'store', tokens: prompt });
    expect(await scores()).toEqual({ 'pod-a': 3, 'pod-b': 3 });
    // Another prompt sharing the first block only.
    expect(await scores([...prompt.slice(0, 4), 9, 9, 9, 9])).toEqual({ 'pod-a': 1, 'pod-b': 1 });
    expect(indexer.eventMetrics.malformed.get()).toBe(0);
  });

  it('follows offload to CPU and removal from GPU (tier weights), and a removed middle block', async () => {
    await step('pod-a', { op: 'offload', tokens: prompt, medium: 'CPU' });
    await step('pod-a', { op: 'remove', tokens: prompt, blocks: [0, 1, 2], medium: 'GPU' });
    const afterOffload = await scores();
    expect(afterOffload['pod-a']).toBeCloseTo(3 * 0.8);
    expect(afterOffload['pod-b']).toBe(3);
    await step('pod-b', { op: 'remove', tokens: prompt, blocks: [1], medium: 'GPU' });
    const afterRemove = await scores();
    expect(afterRemove['pod-b']).toBe(1);
    expect(afterRemove['pod-a']).toBeCloseTo(2.4);
  });

  it('applies AllBlocksCleared to its pod only', async () => {
    await step('pod-a', { op: 'clear' });
    expect(await scores()).toEqual({ 'pod-b': 1 });
    // The engine stores the prompt again after the clear: indexed from scratch.
    await step('pod-a', { op: 'store', tokens: prompt });
    expect(await scores()).toEqual({ 'pod-a': 3, 'pod-b': 1 });
    expect(indexer.eventMetrics.sequenceGaps.get()).toBe(0);
    expect(indexer.eventMetrics.malformed.get()).toBe(0);
  });
});
