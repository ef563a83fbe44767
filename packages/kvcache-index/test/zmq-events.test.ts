import { freePort, waitFor } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Publisher, Router } from 'zeromq';
import { type KvEvent, blockStored, encodeEventBatch, encodeSequence, formatTopic } from '../src/events.js';
import { InMemoryIndex } from '../src/in-memory-index.js';
import { KvCacheIndexer } from '../src/indexer.js';
import { silentLogger } from '../src/logger.js';
import { VllmEventPublisher } from '../src/vllm-publisher.js';
import { KvEventSubscriber } from '../src/zmq-subscriber.js';

const MODEL = 'llama-3-8b';
const BS = 4;
const tokens = (n: number, start = 1) => Array.from({ length: n }, (_, i) => start + i);

/** A vLLM-like publisher: real ZMQ PUB socket, per-topic sequence, optional ROUTER replay socket. */
class FakeEngine {
  readonly pub = new Publisher({ linger: 0 });
  readonly replay = new Router({ linger: 0 });
  private seq = new Map<string, bigint>();
  readonly history: Array<{ seq: bigint; frames: [Buffer, Buffer, Uint8Array] }> = [];
  endpoint = '';
  replayEndpoint = '';

  async start(): Promise<void> {
    this.endpoint = `tcp://127.0.0.1:${await freePort()}`;
    this.replayEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    await this.pub.bind(this.endpoint);
    await this.replay.bind(this.replayEndpoint);
    void this.serveReplay();
  }

  private async serveReplay(): Promise<void> {
    try {
      for await (const [identity, , start] of this.replay) {
        const from = start!.readBigInt64BE();
        for (const h of this.history)
          if (h.seq >= from) await this.replay.send([identity!, '', h.frames[1], h.frames[2]]);
        await this.replay.send([identity!, '', encodeSequence(-1n), '']);
      }
    } catch {
      // closed
    }
  }

  /** Sends a batch; `drop` records it for replay without publishing it (a lost message). */
  async send(
    pod: string,
    events: KvEvent[],
    opts: { encoding?: 'array' | 'map'; drop?: boolean; seq?: bigint } = {},
  ) {
    const topic = formatTopic(pod, MODEL);
    const seq = opts.seq ?? this.seq.get(topic) ?? 0n;
    this.seq.set(topic, seq + 1n);
    const frames: [Buffer, Buffer, Uint8Array] = [
      Buffer.from(topic),
      encodeSequence(seq),
      encodeEventBatch(events, { encoding: opts.encoding ?? 'array' }),
    ];
    this.history.push({ seq, frames });
    if (!opts.drop) await this.pub.send(frames);
  }

  close(): void {
    this.pub.close();
    this.replay.close();
  }
}

describe('vLLM KV events over ZMQ', () => {
  const engine = new FakeEngine();
  let indexer: KvCacheIndexer;
  let subscriber: KvEventSubscriber;

  beforeAll(async () => {
    await engine.start();
    indexer = new KvCacheIndexer({ index: new InMemoryIndex(), tokenProcessor: { blockSize: BS } });
    subscriber = new KvEventSubscriber({
      endpoints: [engine.endpoint],
      processor: indexer.createEventProcessor(),
      logger: silentLogger,
      metrics: indexer.eventMetrics,
      replayTimeoutMs: 10_000,
    });
    await subscriber.start();
    // ZMQ "slow joiner": publish on a warm-up topic until the subscription is live
    let n = 0n;
    await waitFor('the subscriber to hear a warm-up message', async () => {
      if (subscriber.received > 0) return true;
      await engine.pub.send([Buffer.from('kv@warmup@x'), encodeSequence(n++), encodeEventBatch([])]);
      return false;
    });
  });
  afterAll(async () => {
    await subscriber?.close();
    engine.close();
    await indexer?.close();
  });

  let expected = 0;
  const sync = async () => {
    await waitFor(`${expected} messages`, () => subscriber.received >= expected);
    await subscriber.idle();
  };
  const send = async (pod: string, events: KvEvent[], opts: Parameters<FakeEngine['send']>[2] = {}) => {
    await engine.send(pod, events, opts);
    if (!opts.drop) expected++;
  };
  const scores = async (t: number[], pods?: string[]) =>
    Object.fromEntries(await indexer.scoreTokens(t, MODEL, pods));

  beforeAll(() => {
    expected = subscriber.received;
  });

  it('indexes BlockStored in both encodings and scores the longest prefix', async () => {
    await send('pod-a', [blockStored({ blockHashes: [1n, 2n, 3n], tokenIds: tokens(12), blockSize: BS })]);
    await send('pod-b', [blockStored({ blockHashes: [11n], tokenIds: tokens(4), blockSize: BS })], {
      encoding: 'map',
    });
    await send(
      'pod-b',
      [blockStored({ blockHashes: [12n], parentBlockHash: 11n, tokenIds: tokens(4, 5), blockSize: BS })],
      {
        encoding: 'map',
      },
    );
    await sync();
    expect(await scores(tokens(12))).toEqual({ 'pod-a': 3, 'pod-b': 2 });
    expect(await scores(tokens(12), ['pod-b'])).toEqual({ 'pod-b': 2 });
  });

  it('records CPU-tier copies (BlockStored without tokens) and evicts per tier (BlockRemoved)', async () => {
    await send('pod-a', [blockStored({ blockHashes: [1n, 2n], medium: 'CPU', blockSize: BS })]);
    await send('pod-a', [{ type: 'BlockRemoved', blockHashes: [1n, 2n, 3n], medium: 'GPU', groupIdx: null }]);
    await sync();
    // pod-a now holds blocks 0 and 1 on CPU only: 0.8 + 0.8
    expect((await scores(tokens(12)))['pod-a']).toBeCloseTo(1.6);
    await send('pod-a', [{ type: 'BlockRemoved', blockHashes: [1n, 2n], medium: 'CPU', groupIdx: null }], {
      encoding: 'map',
    });
    await sync();
    expect(await scores(tokens(12))).toEqual({ 'pod-b': 2 });
  });

  it('applies AllBlocksCleared to the pod', async () => {
    await send('pod-b', [{ type: 'AllBlocksCleared' }]);
    await sync();
    expect(await scores(tokens(12))).toEqual({});
  });

  it('keeps one pod in order across many batches', async () => {
    for (let i = 0; i < 50; i++) {
      await send('pod-c', [blockStored({ blockHashes: [100n], tokenIds: tokens(4, 1000), blockSize: BS })]);
      await send('pod-c', [{ type: 'BlockRemoved', blockHashes: [100n], medium: null, groupIdx: null }]);
    }
    await send('pod-c', [blockStored({ blockHashes: [100n], tokenIds: tokens(4, 1000), blockSize: BS })]);
    await sync();
    expect(await scores(tokens(4, 1000))).toEqual({ 'pod-c': 1 });
  });

  it('counts and skips malformed messages without stopping', async () => {
    const before = indexer.eventMetrics.malformed.get();
    await engine.pub.send([Buffer.from('kv@pod-d@x'), Buffer.from('short')]);
    await engine.pub.send([Buffer.from('kv@pod-d@x'), Buffer.from([1, 2, 3]), Buffer.from([0x90])]);
    await engine.pub.send([Buffer.from('kv@pod-e@x'), encodeSequence(0n), Buffer.from([0xc1, 0xff])]);
    await engine.pub.send([Buffer.from('kv@pod-f@x'), encodeSequence(0n), Buffer.from('not msgpack at all')]);
    expected += 4;
    await send('pod-d', [blockStored({ blockHashes: [200n], tokenIds: tokens(4, 2000), blockSize: BS })]);
    await sync();
    expect(indexer.eventMetrics.malformed.get() - before).toBe(4);
    expect(await scores(tokens(4, 2000))).toEqual({ 'pod-d': 1 });
  });

  it('treats a sequence going backwards as an engine restart and clears the pod', async () => {
    await send('pod-h', [blockStored({ blockHashes: [400n], tokenIds: tokens(4, 4000), blockSize: BS })]);
    await send('pod-h', [blockStored({ blockHashes: [401n], tokenIds: tokens(4, 4100), blockSize: BS })]);
    await sync();
    expect(await scores(tokens(4, 4000))).toEqual({ 'pod-h': 1 });
    await send('pod-h', [blockStored({ blockHashes: [402n], tokenIds: tokens(4, 4200), blockSize: BS })], {
      seq: 0n,
    });
    await sync();
    expect(indexer.eventMetrics.sequenceResets.get()).toBe(1);
    expect(await scores(tokens(4, 4000))).toEqual({});
    expect(await scores(tokens(4, 4200))).toEqual({ 'pod-h': 1 });
  });

  it('indexes LoRA blocks under the adapter name and skips non-prefix attention kinds', async () => {
    await send('pod-i', [
      blockStored({
        blockHashes: [500n],
        tokenIds: tokens(4, 5000),
        blockSize: BS,
        loraName: 'alice',
        extraKeys: [['alice']],
      }),
      blockStored({
        blockHashes: [501n],
        tokenIds: tokens(4, 6000),
        blockSize: BS,
        kvCacheSpecKind: 'sliding_window',
      }),
    ]);
    await sync();
    expect(
      Object.fromEntries(await indexer.scoreTokens(tokens(4, 5000), MODEL, undefined, { lora: 'alice' })),
    ).toEqual({
      'pod-i': 1,
    });
    expect(await scores(tokens(4, 5000))).toEqual({});
    expect(await scores(tokens(4, 6000))).toEqual({});
    expect(indexer.eventMetrics.storesSkipped.get({ reason: 'not_prefix_indexable' })).toBe(1);
  });

  it('exposes the event and index metrics as Prometheus text', () => {
    const text = indexer.metrics.render();
    expect(text).toMatch(/^kvcache_events_messages_received_total \d+$/m);
    expect(text).toMatch(/^kvcache_events_sequence_resets_total 1$/m);
    expect(text).toMatch(/^kvcache_index_admissions_total \d+$/m);
    expect(text).toMatch(/^kvcache_index_lookup_latency_seconds_bucket\{le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^kvcache_events_applied_total\{type="BlockStored"\} \d+$/m);
  });
});

describe('sequence gaps', () => {
  // one publisher per engine, as vLLM runs it: its replay socket serves that engine's history
  const run = async (withReplay: boolean) => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const replayEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const engine = await VllmEventPublisher.bind({
      endpoint,
      replayEndpoint,
      pod: 'pod-g',
      model: MODEL,
      encoding: 'map',
    });
    const indexer = new KvCacheIndexer({ index: new InMemoryIndex(), tokenProcessor: { blockSize: BS } });
    const subscriber = new KvEventSubscriber({
      endpoints: [withReplay ? `${endpoint}?replay=${replayEndpoint}` : endpoint],
      processor: indexer.createEventProcessor(),
      logger: silentLogger,
      metrics: indexer.eventMetrics,
      replayTimeoutMs: 10_000,
    });
    try {
      await subscriber.start();
      // slow joiner: the first batch is re-sent (a duplicate after the first) until the subscriber has it
      const first = [blockStored({ blockHashes: [300n], tokenIds: tokens(4, 3000), blockSize: BS })];
      await engine.publish(first);
      await waitFor('the subscriber to hear the first batch', async () => {
        if (subscriber.received > 0) return true;
        engine.resetSequence();
        await engine.publish(first);
        return false;
      });
      await engine.publish(
        [
          blockStored({
            blockHashes: [301n],
            parentBlockHash: 300n,
            tokenIds: tokens(4, 3004),
            blockSize: BS,
          }),
        ],
        { drop: true },
      );
      await engine.publish([
        blockStored({ blockHashes: [302n], parentBlockHash: 301n, tokenIds: tokens(4, 3008), blockSize: BS }),
      ]);
      await waitFor('the gap', () => indexer.eventMetrics.sequenceGaps.get() === 1);
      await subscriber.idle();
      return {
        gaps: indexer.eventMetrics.sequenceGaps.get(),
        missed: indexer.eventMetrics.missedMessages.get(),
        replays: indexer.eventMetrics.replayRequests.get(),
        skipped: indexer.eventMetrics.storesSkipped.get({ reason: 'unknown_parent' }),
        scores: Object.fromEntries(await indexer.scoreTokens(tokens(12, 3000), MODEL)),
      };
    } finally {
      await subscriber.close();
      engine.close();
      await indexer.close();
    }
  };

  it('replays the missed batches from the engine replay socket', async () => {
    const r = await run(true);
    expect(r).toMatchObject({ gaps: 1, missed: 1, replays: 1, skipped: 0 });
    // without the replayed middle batch the third block's parent would be unknown
    expect(r.scores).toEqual({ 'pod-g': 3 });
  });

  it('counts the gap and carries on without a replay endpoint', async () => {
    const r = await run(false);
    expect(r).toMatchObject({ gaps: 1, missed: 1, replays: 0, skipped: 1 });
    expect(r.scores).toEqual({ 'pod-g': 1 });
  });
});

describe('centralized mode (the subscriber binds, engines connect)', () => {
  it('receives from several connecting publishers', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const indexer = new KvCacheIndexer({ index: new InMemoryIndex(), tokenProcessor: { blockSize: BS } });
    const subscriber = new KvEventSubscriber({
      endpoints: [`${endpoint}?bind=true`],
      processor: indexer.createEventProcessor(),
      logger: silentLogger,
    });
    const pubs = [new Publisher({ linger: 0 }), new Publisher({ linger: 0 })];
    try {
      await subscriber.start();
      for (const p of pubs) p.connect(endpoint);
      // slow joiner: repeat each engine's first batch (same sequence: duplicates are skipped) until seen
      const topics = ['kv@engine-1@llama-3-8b', 'kv@engine-2@llama-3-8b'];
      const payload = encodeEventBatch([
        blockStored({ blockHashes: [1n], tokenIds: tokens(4, 7000), blockSize: BS }),
      ]);
      await waitFor("both engines' first batch", async () => {
        await Promise.all(pubs.map((p, i) => p.send([topics[i]!, encodeSequence(0n), payload])));
        await subscriber.idle();
        return (await indexer.scoreTokens(tokens(4, 7000), MODEL)).size === 2;
      });
      expect(Object.fromEntries(await indexer.scoreTokens(tokens(4, 7000), MODEL))).toEqual({
        'engine-1': 1,
        'engine-2': 1,
      });
    } finally {
      for (const p of pubs) p.close();
      await subscriber.close();
      await indexer.close();
    }
  });
});
