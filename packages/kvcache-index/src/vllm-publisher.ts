import type { Publisher, Router } from 'zeromq';
import { KvCacheError } from './errors.js';
import { type EventEncoding, type KvEvent, encodeEventBatch, encodeSequence, formatTopic } from './events.js';
import { type ZeromqModule, loadZeromq } from './zeromq.js';

export interface VllmEventPublisherOptions {
  /** Where to bind the PUB socket, e.g. `tcp://127.0.0.1:5557`. */
  endpoint: string;
  /** Also serve replay requests (vLLM's ROUTER socket) here. */
  replayEndpoint?: string;
  pod: string;
  model: string;
  /** Inner event encoding (vLLM before / after PR #42892). Default `array`. */
  encoding?: EventEncoding;
  /** Batches kept for replay (vLLM `buffer_steps`, default 10,000). */
  replayBuffer?: number;
}

/**
 * Publishes KV events exactly as a vLLM engine does (3 frames, per-publisher sequence, optional replay
 * socket answering `[empty, start_seq]` with `[empty, seq, payload]`… then seq -1). For tests,
 * demos and benchmarks of the ingestion path.
 */
export class VllmEventPublisher {
  readonly topic: string;
  private readonly pub: Publisher;
  private readonly router: Router | undefined;
  private readonly history: Array<{ seq: bigint; payload: Uint8Array }> = [];
  private readonly options: VllmEventPublisherOptions;
  private seq = 0n;

  private constructor(options: VllmEventPublisherOptions, zmq: ZeromqModule) {
    this.options = options;
    this.topic = formatTopic(options.pod, options.model);
    this.pub = new zmq.Publisher({ linger: 0 });
    if (options.replayEndpoint) this.router = new zmq.Router({ linger: 0 });
  }

  /** Binds the sockets. Needs the optional package `zeromq` (else a KvCacheError `ERR_MISSING_DEPENDENCY`). */
  static async bind(options: VllmEventPublisherOptions): Promise<VllmEventPublisher> {
    const publisher = new VllmEventPublisher(options, await loadZeromq());
    try {
      await publisher.pub.bind(options.endpoint);
      if (publisher.router) {
        await publisher.router.bind(options.replayEndpoint!);
        void publisher.serveReplay(publisher.router);
      }
    } catch (err) {
      publisher.close();
      throw new KvCacheError('ERR_CONNECTION', `Cannot bind the event publisher: ${(err as Error).message}`, {
        cause: err,
        details: { endpoint: options.endpoint, replayEndpoint: options.replayEndpoint },
      });
    }
    return publisher;
  }

  /** The next sequence number to be sent. */
  get nextSequence(): bigint {
    return this.seq;
  }

  private async serveReplay(router: Router): Promise<void> {
    try {
      for await (const frames of router) {
        const [identity, , start] = frames;
        if (!identity || start?.length !== 8) continue;
        const from = start.readBigInt64BE();
        for (const h of this.history)
          if (h.seq >= from) await router.send([identity, '', encodeSequence(h.seq), h.payload]);
        await router.send([identity, '', encodeSequence(-1n), '']);
      }
    } catch {
      // socket closed
    }
  }

  /**
   * Publishes one EventBatch. `drop: true` records it for replay without sending it (simulates a lost
   * message); `ts` defaults to now.
   */
  async publish(events: readonly KvEvent[], options: { drop?: boolean; ts?: number } = {}): Promise<bigint> {
    const seq = this.seq++;
    const payload = encodeEventBatch(events, {
      encoding: this.options.encoding ?? 'array',
      ...(options.ts !== undefined ? { ts: options.ts } : {}),
    });
    if (this.router) {
      this.history.push({ seq, payload });
      if (this.history.length > (this.options.replayBuffer ?? 10_000)) this.history.shift();
    }
    if (!options.drop) await this.pub.send([this.topic, encodeSequence(seq), payload]);
    return seq;
  }

  /** Restarts the sequence at 0 (what a restarted engine does). */
  resetSequence(): void {
    this.seq = 0n;
    this.history.length = 0;
  }

  close(): void {
    this.pub.close();
    this.router?.close();
  }
}
