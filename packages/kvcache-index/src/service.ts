import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type IndexConfig, createIndex } from './create-index.js';
import { KvCacheError } from './errors.js';
import type { TokenProcessorConfig } from './hashing.js';
import { InMemoryIndex } from './in-memory-index.js';
import { KvCacheIndexer, type ScoreOptions } from './indexer.js';
import { type Logger, defaultLogger } from './logger.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import { type TierWeights, scoreLongestPrefix } from './scorer.js';
import type { KvBlockIndex } from './types.js';
import { newRedisIndex, newValkeyIndex } from './valkey-index.js';
import { KvEventSubscriber, type ZmqEndpointConfig } from './zmq-subscriber.js';

/**
 * Where the service keeps its index: `'memory'` (default), a server address (`valkey://`, `valkeys://`,
 * `redis://`, `rediss://`, `unix://`, `valkey+sentinel://`), an `IndexConfig`, or an index you own (not closed by the service).
 */
export type KvCacheBackend = 'memory' | string | IndexConfig | KvBlockIndex;

export interface KvCacheServiceOptions {
  backend?: KvCacheBackend;
  /** vLLM publishers (or `{ endpoint, bind: true }` to let engines connect). */
  zmqEndpoints?: ReadonlyArray<string | ZmqEndpointConfig>;
  /** Port to listen on (0 = any free port; default 8080). */
  port?: number;
  /** Default 127.0.0.1; use 0.0.0.0 to serve other hosts. */
  host?: string;
  tokenProcessor?: TokenProcessorConfig;
  tierWeights?: TierWeights;
  /** Event lanes (pods sharded over them). Default 4. */
  concurrency?: number;
  topicFilter?: string;
  /** Largest accepted request body (default 16 MiB). */
  maxBodyBytes?: number;
  /** How long `close()` waits for in-flight requests before cutting connections (default 5 s). */
  shutdownTimeoutMs?: number;
  logger?: Logger;
}

export interface KvCacheService {
  url: string;
  port: number;
  host: string;
  indexer: KvCacheIndexer;
  subscriber: KvEventSubscriber | undefined;
  /** Stops listening, drains events, finishes in-flight requests, closes the index it opened. */
  close(): Promise<void>;
}

/** The JSON body of `POST /score`. */
export interface ScoreRequest {
  tokens: number[];
  model: string;
  pods?: string[];
  lora?: string;
  /** Multimodal identifiers per full block (`null` for a text-only block), as `extraFeatures`. */
  extraFeatures?: Array<{ mmHashes: string[] } | null>;
}

export interface ScoreResponse {
  model: string;
  /** Full blocks in the prompt. */
  blocks: number;
  /** Blocks of the longest prefix held by any (allowed) pod. */
  matchedBlocks: number;
  /** Score per pod; pods without a prefix hit are absent. */
  scores: Record<string, number>;
}

function isIndex(value: unknown): value is KvBlockIndex {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as KvBlockIndex).lookup === 'function' &&
    typeof (value as KvBlockIndex).add === 'function'
  );
}

/** Opens the backend a service option describes; `owned` says whether the caller must close it. */
export async function openBackend(
  backend: KvCacheBackend | undefined,
  logger?: Logger,
): Promise<{ index: KvBlockIndex; owned: boolean }> {
  if (backend === undefined || backend === 'memory' || backend === 'in-memory')
    return { index: new InMemoryIndex(), owned: true };
  if (isIndex(backend)) return { index: backend, owned: false };
  if (typeof backend === 'string') {
    const valkey = /^valkeys?(?:\+sentinel)?:/i.test(backend.trim());
    const cfg = logger ? { address: backend, logger } : { address: backend };
    return { index: valkey ? await newValkeyIndex(cfg) : await newRedisIndex(cfg), owned: true };
  }
  return { index: await createIndex(logger ? { logger, ...backend } : backend), owned: true };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(
        new HttpError(413, 'ERR_BODY_TOO_LARGE', `Request body is ${declared} bytes; the limit is ${limit}`),
      );
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, 'ERR_BODY_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Validates a score request; throws `KvCacheError` `ERR_BAD_REQUEST` (HTTP 400) saying which field is wrong. */
export function parseScoreRequest(body: unknown): ScoreRequest {
  const bad = (message: string) => new KvCacheError('ERR_BAD_REQUEST', message);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw bad('Body must be a JSON object {"tokens": [...], "model": "...", "pods"?: [...]}');
  const { tokens, model, pods, lora, extraFeatures } = body as Record<string, unknown>;
  if (!Array.isArray(tokens)) throw bad('"tokens" must be an array of token ids');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0xffff_ffff)
      throw bad(`"tokens[${i}]" is ${JSON.stringify(t)}, not an unsigned 32-bit integer`);
  }
  if (typeof model !== 'string' || model === '') throw bad('"model" must be a non-empty string');
  const out: ScoreRequest = { tokens: tokens as number[], model };
  if (pods !== undefined && pods !== null) {
    if (!Array.isArray(pods) || pods.some((p) => typeof p !== 'string'))
      throw bad('"pods" must be an array of pod identifiers');
    out.pods = pods as string[];
  }
  if (lora !== undefined && lora !== null) {
    if (typeof lora !== 'string' || lora === '') throw bad('"lora" must be a non-empty string');
    out.lora = lora;
  }
  if (extraFeatures !== undefined && extraFeatures !== null) {
    const ok =
      Array.isArray(extraFeatures) &&
      extraFeatures.every(
        (f) =>
          f === null ||
          (typeof f === 'object' &&
            Array.isArray((f as { mmHashes?: unknown }).mmHashes) &&
            (f as { mmHashes: unknown[] }).mmHashes.every((h) => typeof h === 'string')),
      );
    if (!ok)
      throw bad('"extraFeatures" must be an array of null or {"mmHashes": ["..."]}, one per full block');
    out.extraFeatures = extraFeatures as Array<{ mmHashes: string[] } | null>;
  }
  return out;
}

function scoreOptionsOf(request: ScoreRequest): ScoreOptions {
  const options: ScoreOptions = {};
  if (request.lora) options.lora = request.lora;
  if (request.extraFeatures) options.extraFeatures = request.extraFeatures;
  return options;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Starts the KV-cache scoring service (`valkey-tools kvcache serve`): subscribes to the ZMQ endpoints,
 * keeps the index, answers `POST /score`, serves `GET /metrics` (Prometheus) and `GET /healthz`.
 */
export async function createKvCacheService(options: KvCacheServiceOptions = {}): Promise<KvCacheService> {
  const logger = options.logger ?? defaultLogger;
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new KvCacheError('ERR_INVALID_CONFIG', `Invalid port ${port}`, {
      hint: 'Use 0..65535 (0 = any free port)',
    });
  const host = options.host ?? '127.0.0.1';
  const maxBody = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const { index, owned } = await openBackend(options.backend, logger);
  const indexerOptions: ConstructorParameters<typeof KvCacheIndexer>[0] = { index, logger };
  if (options.tokenProcessor) indexerOptions.tokenProcessor = options.tokenProcessor;
  if (options.tierWeights) indexerOptions.tierWeights = options.tierWeights;
  let indexer: KvCacheIndexer;
  let subscriber: KvEventSubscriber | undefined;
  try {
    indexer = new KvCacheIndexer(indexerOptions);
    const endpoints = options.zmqEndpoints ?? [];
    if (endpoints.length > 0) {
      const subOptions: ConstructorParameters<typeof KvEventSubscriber>[0] = {
        endpoints,
        processor: indexer.createEventProcessor(),
        logger,
        metrics: indexer.eventMetrics,
      };
      if (options.concurrency !== undefined) subOptions.concurrency = options.concurrency;
      if (options.topicFilter !== undefined) subOptions.topicFilter = options.topicFilter;
      subscriber = new KvEventSubscriber(subOptions);
      await subscriber.start();
    }
  } catch (err) {
    if (owned) await index.close();
    throw err;
  }
  indexer.metrics.gauge('kvcache_events_pool_queue_depth', 'Event batches waiting to be applied', () =>
    subscriber ? subscriber.queue.depth : 0,
  );

  let closing = false;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (closing) throw new HttpError(503, 'ERR_SHUTTING_DOWN', 'The service is shutting down');
      if (path === '/score') {
        if (req.method !== 'POST') throw new HttpError(405, 'ERR_METHOD', 'Use POST /score');
        const raw = await readBody(req, maxBody);
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch (err) {
          throw new HttpError(400, 'ERR_BAD_REQUEST', `Body is not valid JSON: ${(err as Error).message}`);
        }
        const request = parseScoreRequest(body);
        const { keys, hits } = await indexer.lookupTokens(
          request.tokens,
          request.model,
          request.pods,
          scoreOptionsOf(request),
        );
        const scores = scoreLongestPrefix(keys, hits, indexer.tierWeights);
        const response: ScoreResponse = {
          model: request.model,
          blocks: keys.length,
          matchedBlocks: hits.size,
          scores: Object.fromEntries(scores),
        };
        sendJson(res, 200, response);
        return;
      }
      if (path === '/metrics') {
        if (req.method !== 'GET' && req.method !== 'HEAD')
          throw new HttpError(405, 'ERR_METHOD', 'Use GET /metrics');
        const text = indexer.metrics.render();
        res.writeHead(200, {
          'content-type': PROMETHEUS_CONTENT_TYPE,
          'content-length': Buffer.byteLength(text),
        });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      if (path === '/healthz') {
        // the index must answer (a Valkey backend is pinged); events are reported, not required
        const pingable = index as KvBlockIndex & { ping?: () => Promise<void> };
        if (typeof pingable.ping === 'function') await pingable.ping();
        sendJson(res, 200, {
          status: 'ok',
          zmqEndpoints: subscriber ? (options.zmqEndpoints ?? []).length : 0,
          messagesReceived: subscriber?.received ?? 0,
        });
        return;
      }
      throw new HttpError(
        404,
        'ERR_NOT_FOUND',
        `No route ${req.method} ${path}; use POST /score, GET /metrics or GET /healthz`,
      );
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError)
        sendJson(res, err.status, { error: { code: err.code, message: err.message } });
      else if (KvCacheError.isInstance(err)) {
        const status = err.code === 'ERR_INVALID_ARGUMENT' || err.code === 'ERR_BAD_REQUEST' ? 400 : 503;
        if (status === 503) logger.error(`score failed: ${err.message}`);
        sendJson(res, status, { error: { code: err.code, message: err.message } });
      } else {
        logger.error(`internal error: ${(err as Error)?.stack ?? String(err)}`);
        sendJson(res, 500, {
          error: { code: 'ERR_INTERNAL', message: 'Internal error (see the service log)' },
        });
      }
    }
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 5_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await subscriber?.close();
    if (owned) await index.close();
    const e = err as NodeJS.ErrnoException;
    throw new KvCacheError('ERR_CONNECTION', `Cannot listen on ${host}:${port}: ${e.message}`, {
      cause: err,
      details: { host, port },
      ...(e.code === 'EADDRINUSE'
        ? { hint: 'Another process uses this port: pick another with --port' }
        : {}),
    });
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    host: address.address,
    indexer,
    subscriber,
    close: () => {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs ?? 5_000);
        await subscriber?.close();
        await stopped;
        clearTimeout(timer);
        if (owned) await indexer.close();
      })();
      return closed;
    },
  };
}

export interface ScoreAtAddressOptions extends ScoreRequest {
  /** `valkey://`, `valkeys://`, `redis://`, `rediss://`, `unix://`, `valkey+sentinel://` or `host:port` of a Valkey-backed index. */
  address: string;
  /** Key namespace the index was written with (default `kvcache`). */
  keyPrefix?: string;
  tokenProcessor?: TokenProcessorConfig;
  tierWeights?: TierWeights;
  logger?: Logger;
}

/** What `valkey-tools kvcache score` does: one scoring against a Valkey/Redis-backed index, then disconnect. */
export async function scoreTokensAtAddress(options: ScoreAtAddressOptions): Promise<ScoreResponse> {
  const request = parseScoreRequest(options);
  const cfg: Parameters<typeof newValkeyIndex>[0] = { address: options.address };
  if (options.keyPrefix !== undefined) cfg.keyPrefix = options.keyPrefix;
  if (options.logger !== undefined) cfg.logger = options.logger;
  const index = /^valkeys?(?:\+sentinel)?:/i.test(options.address.trim())
    ? await newValkeyIndex(cfg)
    : await newRedisIndex(cfg);
  try {
    const indexerOptions: ConstructorParameters<typeof KvCacheIndexer>[0] = { index };
    if (options.tokenProcessor) indexerOptions.tokenProcessor = options.tokenProcessor;
    if (options.tierWeights) indexerOptions.tierWeights = options.tierWeights;
    const indexer = new KvCacheIndexer(indexerOptions);
    const { keys, hits } = await indexer.lookupTokens(
      request.tokens,
      request.model,
      request.pods,
      scoreOptionsOf(request),
    );
    return {
      model: request.model,
      blocks: keys.length,
      matchedBlocks: hits.size,
      scores: Object.fromEntries(scoreLongestPrefix(keys, hits, indexer.tierWeights)),
    };
  } finally {
    await index.close();
  }
}
