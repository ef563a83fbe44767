import type { Subscriber } from 'zeromq';
import { KvCacheError } from './errors.js';
import type { EventMetrics } from './event-metrics.js';
import type { KvEventProcessor } from './event-processor.js';
import { decodeEventBatch, decodeSequence, parseTopic } from './events.js';
import { type Logger, defaultLogger } from './logger.js';
import { ShardedWorkQueue } from './work-queue.js';
import { type ZeromqModule, loadZeromq } from './zeromq.js';

/** One ZMQ endpoint to receive vLLM KV events from. */
export interface ZmqEndpointConfig {
  /** e.g. `tcp://10.0.0.7:5557` (connect to a pod's publisher) or `tcp://*:5557` with `bind`. */
  endpoint: string;
  /** Bind and let engines connect (centralized mode) instead of connecting to one publisher. */
  bind?: boolean;
  /** vLLM's replay (ROUTER) socket of this publisher; when set, a sequence gap triggers a replay request. */
  replayEndpoint?: string;
}

export interface KvEventSubscriberOptions {
  endpoints: ReadonlyArray<string | ZmqEndpointConfig>;
  processor: KvEventProcessor;
  /** Topic prefix to subscribe to (default `kv@`). */
  topicFilter?: string;
  /** Parallel lanes (pods are sharded over them; one pod's events stay in order). Default 4. */
  concurrency?: number;
  /** Queued batches before the subscriber stops reading (backpressure). Default 10,000. */
  queueCapacity?: number;
  /** How long a replay may take before it is abandoned (default 10 s). */
  replayTimeoutMs?: number;
  logger?: Logger;
  metrics?: EventMetrics;
}

interface SourceState {
  lastSeq: bigint | null;
  replaying: boolean;
  buffered: Array<{ seq: bigint; payload: Uint8Array }>;
}

/**
 * Parses an endpoint spec: `tcp://10.0.0.7:5557` (connect), `tcp://*:5557` (a wildcard host binds,
 * engines connect to it), and `?replay=tcp://10.0.0.7:5558` for the engine's replay socket.
 */
export function parseZmqEndpoint(spec: string | ZmqEndpointConfig): ZmqEndpointConfig {
  let cfg: ZmqEndpointConfig;
  if (typeof spec === 'string') {
    const [endpoint = '', query = ''] = spec.trim().split('?', 2);
    cfg = { endpoint };
    if (/^tcp:\/\/\*:/.test(endpoint)) cfg.bind = true;
    for (const [name, value] of new URLSearchParams(query)) {
      if (name === 'replay') cfg.replayEndpoint = value;
      else if (name === 'bind') cfg.bind = value !== 'false' && value !== '0';
      else
        throw new KvCacheError('ERR_INVALID_CONFIG', `Unknown option "${name}" in ZMQ endpoint "${spec}"`, {
          hint: 'Supported: ?replay=tcp://host:port and ?bind=true',
        });
    }
  } else cfg = { ...spec };
  const valid = (e: unknown) => typeof e === 'string' && /^(tcp|ipc|inproc):\/\/./.test(e);
  if (!valid(cfg.endpoint))
    throw new KvCacheError('ERR_INVALID_CONFIG', `Invalid ZMQ endpoint ${JSON.stringify(cfg.endpoint)}`, {
      hint: 'Use tcp://host:port (e.g. tcp://10.0.0.7:5557), tcp://*:5557 to bind, ipc:///path or inproc://name',
    });
  if (cfg.replayEndpoint !== undefined && !valid(cfg.replayEndpoint))
    throw new KvCacheError(
      'ERR_INVALID_CONFIG',
      `Invalid ZMQ replay endpoint ${JSON.stringify(cfg.replayEndpoint)}`,
      {
        hint: 'Use tcp://host:port of the engine replay socket',
      },
    );
  return cfg;
}

/**
 * Subscribes to vLLM KV-event publishers over ZMQ (3 frames: topic `kv@<pod>@<model>`, 8-byte BE
 * sequence, msgpack EventBatch) and applies the events through a pod-sharded work queue.
 *
 * Sequence numbers are tracked per endpoint and topic: a gap is counted, logged and (with a
 * `replayEndpoint`) replayed from the first missing sequence while live messages of that source wait;
 * a sequence going backwards means the engine restarted, so the pod is cleared; duplicates are
 * skipped. Malformed messages are counted and skipped — the subscriber never stops on bad input.
 */
export class KvEventSubscriber {
  readonly queue: ShardedWorkQueue;
  private readonly processor: KvEventProcessor;
  private readonly endpoints: ZmqEndpointConfig[];
  private readonly topicFilter: string;
  private readonly replayTimeoutMs: number;
  private readonly logger: Logger;
  private readonly metrics: EventMetrics | undefined;
  private readonly sockets: Subscriber[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly sources = new Map<string, SourceState>();
  private readonly replays = new Set<Promise<void>>();
  private closed = false;
  private started = false;
  private zmq: ZeromqModule | undefined;
  private receivedCount = 0;
  private malformedLoggedAt = 0;
  private malformedSuppressed = 0;

  /** Messages taken off the sockets (including malformed ones). */
  get received(): number {
    return this.receivedCount;
  }

  constructor(options: KvEventSubscriberOptions) {
    if (!Array.isArray(options.endpoints))
      throw new KvCacheError('ERR_INVALID_CONFIG', 'endpoints must be an array of ZMQ endpoints');
    this.endpoints = options.endpoints.map(parseZmqEndpoint);
    this.processor = options.processor;
    this.topicFilter = options.topicFilter ?? 'kv@';
    this.replayTimeoutMs = options.replayTimeoutMs ?? 10_000;
    this.logger = options.logger ?? defaultLogger;
    this.metrics = options.metrics;
    const queueOptions: { concurrency?: number; capacity?: number } = {};
    if (options.concurrency !== undefined) queueOptions.concurrency = options.concurrency;
    if (options.queueCapacity !== undefined) queueOptions.capacity = options.queueCapacity;
    this.queue = new ShardedWorkQueue(queueOptions, (err) => {
      this.metrics?.processingErrors.inc();
      this.logger.error(`KV event task failed: ${(err as Error)?.message ?? String(err)}`);
    });
  }

  /**
   * Binds/connects every endpoint and starts receiving. Loads the optional package `zeromq` first:
   * without it, a KvCacheError `ERR_MISSING_DEPENDENCY` saying what to install.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    let zmq: ZeromqModule;
    try {
      zmq = await loadZeromq();
    } catch (err) {
      this.started = false;
      throw err;
    }
    this.zmq = zmq;
    if (this.closed) return; // closed while zeromq was loading
    for (const cfg of this.endpoints) {
      const socket = new zmq.Subscriber({ linger: 0 });
      try {
        if (cfg.bind) await socket.bind(cfg.endpoint);
        else socket.connect(cfg.endpoint);
      } catch (err) {
        socket.close();
        await this.close();
        throw new KvCacheError(
          'ERR_CONNECTION',
          `Cannot ${cfg.bind ? 'bind' : 'connect'} ZMQ endpoint ${cfg.endpoint}: ${(err as Error).message}`,
          {
            cause: err,
            details: { endpoint: cfg.endpoint },
            hint: cfg.bind ? 'Is the port already in use?' : 'Check the endpoint address',
          },
        );
      }
      socket.subscribe(this.topicFilter);
      this.sockets.push(socket);
      this.loops.push(this.receiveLoop(socket, cfg));
    }
  }

  private async receiveLoop(socket: Subscriber, cfg: ZmqEndpointConfig): Promise<void> {
    try {
      for await (const frames of socket) {
        if (this.closed) break;
        try {
          await this.handle(frames, cfg);
        } catch (err) {
          // never let one message stop the subscriber
          this.metrics?.processingErrors.inc();
          this.logger.error(
            `Failed to handle a message from ${cfg.endpoint}: ${(err as Error)?.message ?? String(err)}`,
          );
        }
      }
    } catch (err) {
      if (!this.closed) this.logger.error(`ZMQ receive on ${cfg.endpoint} failed: ${(err as Error).message}`);
    }
  }

  private async handle(frames: Buffer[], cfg: ZmqEndpointConfig): Promise<void> {
    this.receivedCount++;
    this.metrics?.messagesReceived.inc();
    if (frames.length !== 3) return this.malformed(cfg, `expected 3 frames, got ${frames.length}`);
    const topic = frames[0]!.toString('utf8');
    let seq: bigint;
    try {
      seq = decodeSequence(frames[1]!);
    } catch (err) {
      return this.malformed(cfg, (err as Error).message);
    }
    const sourceKey = `${cfg.endpoint}\u0000${topic}`;
    let state = this.sources.get(sourceKey);
    if (!state) {
      state = { lastSeq: null, replaying: false, buffered: [] };
      this.sources.set(sourceKey, state);
    }
    if (state.replaying) {
      state.buffered.push({ seq, payload: frames[2]! });
      return;
    }
    const last = state.lastSeq;
    if (last !== null && seq > last + 1n) {
      const missing = seq - last - 1n;
      this.metrics?.sequenceGaps.inc();
      this.metrics?.missedMessages.inc(Number(missing));
      this.logger.warn(
        `Sequence gap on ${topic} from ${cfg.endpoint}: ${missing} message(s) missing after ${last}`,
        {
          topic,
          endpoint: cfg.endpoint,
          lastSeq: last.toString(),
          seq: seq.toString(),
        },
      );
      if (cfg.replayEndpoint) {
        state.replaying = true;
        state.buffered.push({ seq, payload: frames[2]! });
        const p = this.replay(cfg, topic, state, last + 1n).finally(() => this.replays.delete(p));
        this.replays.add(p);
        return;
      }
    }
    await this.accept(cfg, topic, state, seq, frames[2]!);
  }

  private malformed(cfg: ZmqEndpointConfig, why: string): void {
    this.metrics?.malformed.inc();
    // one line per 10 s at most: a misconfigured publisher must not flood the log
    const now = Date.now();
    if (now - this.malformedLoggedAt < 10_000) {
      this.malformedSuppressed++;
      return;
    }
    const suppressed = this.malformedSuppressed;
    this.malformedLoggedAt = now;
    this.malformedSuppressed = 0;
    this.logger.warn(
      `Skipping malformed message from ${cfg.endpoint}: ${why}${suppressed > 0 ? ` (${suppressed} more skipped since the last report)` : ''}`,
    );
  }

  private async accept(
    cfg: ZmqEndpointConfig,
    topic: string,
    state: SourceState,
    seq: bigint,
    payload: Uint8Array,
  ): Promise<void> {
    const { pod, model } = parseTopic(topic);
    const last = state.lastSeq;
    if (last !== null && seq <= last) {
      if (seq === last) {
        this.metrics?.duplicates.inc();
        return;
      }
      // the engine restarted (its sequence starts over): what we know about the pod is stale
      this.metrics?.sequenceResets.inc();
      this.logger.warn(`Sequence of ${topic} went back from ${last} to ${seq}: clearing pod ${pod}`, {
        topic,
      });
      await this.queue.submit(pod, () => this.processor.index.clear(pod));
    }
    state.lastSeq = seq;
    let batch: ReturnType<typeof decodeEventBatch>;
    try {
      batch = decodeEventBatch(payload);
    } catch (err) {
      return this.malformed(cfg, `${topic} seq ${seq}: ${(err as Error).message}`);
    }
    await this.queue.submit(pod, () => this.processor.applyBatch(pod, model, batch));
  }

  private async replay(
    cfg: ZmqEndpointConfig,
    topic: string,
    state: SourceState,
    from: bigint,
  ): Promise<void> {
    this.metrics?.replayRequests.inc();
    const dealer = new this.zmq!.Dealer({ linger: 0, receiveTimeout: this.replayTimeoutMs });
    const replayed: Array<{ seq: bigint; payload: Uint8Array }> = [];
    try {
      dealer.connect(cfg.replayEndpoint!);
      const start = Buffer.alloc(8);
      start.writeBigInt64BE(from);
      await dealer.send(['', start]);
      for (;;) {
        const frames = await dealer.receive();
        const seqFrame = frames.length === 3 ? frames[1] : frames.length === 2 ? frames[0] : undefined;
        const payload = frames.length === 3 ? frames[2] : frames[1];
        if (seqFrame?.length !== 8) break;
        const seq = decodeSequence(seqFrame);
        if (seq === -1n) break;
        if (payload) replayed.push({ seq, payload });
      }
    } catch (err) {
      this.metrics?.replayFailures.inc();
      this.logger.warn(`Replay from ${cfg.replayEndpoint} for ${topic} failed: ${(err as Error).message}`, {
        topic,
      });
    } finally {
      dealer.close();
    }
    try {
      for (const msg of [...replayed, ...state.buffered].sort((a, b) =>
        a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0,
      )) {
        if (state.lastSeq !== null && msg.seq <= state.lastSeq) continue;
        await this.accept(cfg, topic, state, msg.seq, msg.payload);
      }
    } finally {
      state.buffered = [];
      state.replaying = false;
    }
  }

  /** Resolves when every received message has been applied (replays included). */
  async idle(): Promise<void> {
    while (this.replays.size > 0) await Promise.all([...this.replays]);
    await this.queue.idle();
  }

  /** Stops receiving, waits for queued events to be applied, closes the sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.sockets) socket.close();
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.replays]);
    await this.queue.idle();
  }
}
