import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { Agent, type Dispatcher, EnvHttpProxyAgent, interceptors, ProxyAgent } from 'undici';
import { redactUrl } from '@valkey-tools/core';
import { BinariesError } from './errors.js';
import { sleep } from './process-utils.js';

/** Reported while bytes arrive: `total` is undefined when the server does not say. */
export interface DownloadProgress {
  url: string;
  bytes: number;
  total: number | undefined;
}

export interface RetryOptions {
  /** Retries after the first attempt on network errors, timeouts, 5xx and 429 (default 4). */
  retries?: number;
  /** First backoff delay, doubled each retry, with jitter (default 500 ms). */
  minDelayMs?: number;
  /** Longest backoff delay, also the cap on Retry-After (default 10 s). */
  maxDelayMs?: number;
}

export interface HttpOptions {
  /** Headers and idle-body timeout per attempt in ms (default 30 000). */
  timeoutMs?: number;
  retry?: RetryOptions;
  /**
   * Proxy URL for every request. Without it, `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`
   * (and lower-case forms) are honoured.
   */
  proxy?: string;
  /** A ready undici dispatcher (overrides `proxy`). */
  dispatcher?: Dispatcher;
  /** Environment to read proxy variables from (default process.env). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Called before each retry (for logs). */
  onRetry?: (info: { url: string; attempt: number; delayMs: number; reason: string }) => void;
}

/** The dispatcher we use: proxy-aware, following redirects. The caller calls `close`. */
export function createDispatcher(options: Pick<HttpOptions, 'proxy' | 'dispatcher' | 'env'> = {}): {
  dispatcher: Dispatcher;
  close: () => Promise<void>;
} {
  if (options.dispatcher) return { dispatcher: options.dispatcher, close: async () => {} };
  const env = options.env ?? process.env;
  const httpProxy = env.HTTP_PROXY || env.http_proxy || '';
  const httpsProxy = env.HTTPS_PROXY || env.https_proxy || '';
  const noProxy = env.NO_PROXY || env.no_proxy || '';
  const base: Dispatcher = options.proxy
    ? new ProxyAgent(options.proxy)
    : httpProxy || httpsProxy
      ? new EnvHttpProxyAgent({ httpProxy, httpsProxy, noProxy })
      : new Agent();
  return {
    dispatcher: base.compose(interceptors.redirect({ maxRedirections: 5 })),
    close: () => base.close(),
  };
}

class Retryable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

function backoff(attempt: number, retry: RetryOptions, retryAfterMs?: number): number {
  const min = retry.minDelayMs ?? 500;
  const max = retry.maxDelayMs ?? 10_000;
  if (retryAfterMs !== undefined) return Math.min(max, retryAfterMs);
  const exp = Math.min(max, min * 2 ** attempt);
  return Math.round(exp / 2 + (Math.random() * exp) / 2);
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function statusError(url: string, status: number): BinariesError {
  return new BinariesError('ERR_DOWNLOAD_FAILED', `GET ${redactUrl(url)} answered HTTP ${status}`, {
    details: { url: redactUrl(url), status },
    hint:
      status === 404
        ? 'The file is not there: check the mirror URL and that it publishes this version and platform'
        : status === 401 || status === 403
          ? 'The server refused access: check credentials or proxy settings'
          : 'Check the URL, or try again later',
  });
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return [e.code, e.message].filter(Boolean).join(': ') || String(err);
}

/** Runs `attempt` with retries and backoff for Retryable/transport errors; BinariesErrors are final. */
async function withRetries<T>(
  url: string,
  options: HttpOptions,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  const retry = options.retry ?? {};
  const retries = retry.retries ?? 4;
  let lastReason = '';
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (BinariesError.isInstance(err)) throw err;
      if (options.signal?.aborted) throw err;
      lastReason = describe(err);
      if (n >= retries) {
        throw new BinariesError(
          'ERR_DOWNLOAD_FAILED',
          `GET ${redactUrl(url)} failed after ${n + 1} attempt(s): ${lastReason}`,
          {
            cause: err,
            details: { url: redactUrl(url), attempts: n + 1, reason: lastReason },
            hint: 'Check the network, the mirror URL and proxy settings (HTTPS_PROXY/HTTP_PROXY/NO_PROXY), or work offline with a binary already on this machine',
          },
        );
      }
      const delayMs = backoff(n, retry, err instanceof Retryable ? err.retryAfterMs : undefined);
      options.onRetry?.({ url: redactUrl(url), attempt: n + 1, delayMs, reason: lastReason });
      await sleep(delayMs);
    }
  }
}

type Headers = Record<string, string | string[] | undefined>;

interface RawResponse {
  statusCode: number;
  headers: Headers;
}

interface BodySink {
  /** Called once the headers are in; return false to discard the body (it is read, not kept). */
  onHeaders(res: RawResponse): boolean;
  /** A piece of the body; runs synchronously (it may write to a file with writeSync). */
  onData(chunk: Buffer): void;
}

function headerObject(raw: Array<Buffer | string> | Headers | null | undefined): Headers {
  const out: Headers = {};
  if (!raw) return out;
  if (!Array.isArray(raw)) {
    for (const [k, v] of Object.entries(raw)) out[k.toLowerCase()] = v;
    return out;
  }
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString().toLowerCase();
    const value = raw[i + 1]!.toString();
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/**
 * One GET through the dispatcher with a handler that never applies backpressure: every piece of
 * the body is handed to `sink.onData` synchronously as it is parsed, and the handler always says
 * "go on". undici's response stream (request()'s body) instead pauses the HTTP parser when the
 * consumer is slower than the network; if the server then closes the connection (Connection:
 * close, as `python3 -m http.server` does) while the parser is paused, undici < 8 fails an
 * internal assertion (`assert(!this.paused)` in Parser.finish, nodejs/undici#5360) that no
 * caller can catch and the process dies. A parser that is never paused cannot hit it.
 */
function rawGet(
  url: string,
  dispatcher: Dispatcher,
  options: HttpOptions,
  headers: Record<string, string>,
  sink: BodySink,
): Promise<RawResponse> {
  const timeout = options.timeoutMs ?? 30_000;
  const target = new URL(url);
  return new Promise<RawResponse>((resolve, reject) => {
    let response: RawResponse | undefined;
    let keep = false;
    let settled = false;
    let abortRequest: ((reason?: Error) => void) | undefined;
    let failure: Error | undefined;
    const onAbort = () => {
      const reason = options.signal?.reason;
      fail(reason instanceof Error ? reason : new Error('aborted'));
    };
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(response!);
    };
    const fail = (err: Error) => {
      failure ??= err;
      if (abortRequest) abortRequest(err);
      else finish(err);
    };
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const handler = {
      onConnect(abort: (reason?: Error) => void) {
        abortRequest = abort;
        if (failure) abort(failure);
      },
      onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null) {
        response = { statusCode, headers: headerObject(rawHeaders) };
        try {
          keep = sink.onHeaders(response);
        } catch (err) {
          fail(err as Error);
        }
        return true; // never pause
      },
      onData(chunk: Buffer) {
        if (keep && !failure) {
          try {
            sink.onData(chunk);
          } catch (err) {
            fail(err as Error);
          }
        }
        return true; // never pause
      },
      onComplete() {
        finish(failure);
      },
      onError(err: Error) {
        finish(failure ?? err);
      },
    };
    try {
      dispatcher.dispatch(
        {
          origin: target.origin,
          path: `${target.pathname}${target.search}`,
          method: 'GET',
          headers: { 'user-agent': 'valkey-tools', ...headers },
          headersTimeout: timeout,
          bodyTimeout: timeout,
        },
        handler as unknown as Dispatcher.DispatchHandler,
      );
    } catch (err) {
      finish(err as Error);
    }
  });
}

/** Non-2xx answers: retried (5xx, 429, 408) or final. */
function checkStatus(url: string, res: RawResponse): void {
  if (res.statusCode >= 200 && res.statusCode < 300) return;
  if (res.statusCode >= 500 || res.statusCode === 429 || res.statusCode === 408) {
    throw new Retryable(`HTTP ${res.statusCode}`, parseRetryAfter(res.headers['retry-after']));
  }
  throw statusError(url, res.statusCode);
}

/** Manifests and checksum files are small; anything bigger is refused rather than buffered. */
const MAX_TEXT_BYTES = 16 * 1024 * 1024;

/** GET a small text document (releases.json, .sha256) with retries. */
export async function fetchText(url: string, options: HttpOptions = {}): Promise<string> {
  const { dispatcher, close } = createDispatcher(options);
  try {
    return await withRetries(url, options, async () => {
      const chunks: Buffer[] = [];
      let size = 0;
      const res = await rawGet(
        url,
        dispatcher,
        options,
        {},
        {
          onHeaders: (r) => r.statusCode >= 200 && r.statusCode < 300,
          onData: (chunk) => {
            size += chunk.length;
            if (size > MAX_TEXT_BYTES) {
              throw new BinariesError(
                'ERR_BAD_MANIFEST',
                `${redactUrl(url)} is larger than ${MAX_TEXT_BYTES} bytes`,
                {
                  details: { url: redactUrl(url) },
                  hint: 'This is not a releases.json or .sha256 file: check the mirror URL',
                },
              );
            }
            chunks.push(chunk);
          },
        },
      );
      checkStatus(url, res);
      return Buffer.concat(chunks).toString('utf8');
    });
  } finally {
    await close();
  }
}

export interface DownloadResult {
  bytes: number;
  /** True when an earlier partial download was continued with a Range request. */
  resumed: boolean;
}

/**
 * Downloads `url` to `dest`, streaming to disk. If `dest` already holds a partial download it
 * asks for the rest (`Range`), and a connection that drops mid-body is resumed the same way on
 * retry. When `expectedSize` is known, a body of another size is an error (not retried blindly).
 */
export async function downloadFile(
  url: string,
  dest: string,
  options: HttpOptions & { expectedSize?: number } = {},
): Promise<DownloadResult> {
  const { dispatcher, close } = createDispatcher(options);
  let have = await stat(dest).then(
    (s) => s.size,
    () => 0,
  );
  let resumed = false;
  try {
    await withRetries(url, options, async () => {
      if (options.expectedSize !== undefined && have > options.expectedSize) {
        await truncate(dest, 0);
        have = 0;
      }
      if (options.expectedSize !== undefined && have === options.expectedSize && have > 0) return;
      const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
      const asked = have;
      let start = 0;
      let total: number | undefined;
      let rangeMismatch = false;
      let fd: number | undefined;
      let res: RawResponse;
      try {
        res = await rawGet(url, dispatcher, options, headers, {
          onHeaders: (r) => {
            if (r.statusCode < 200 || r.statusCode >= 300) return false;
            if (r.statusCode === 206) {
              const range = /bytes (\d+)-\d+\/(\d+|\*)/.exec(String(r.headers['content-range'] ?? ''));
              start = range ? Number(range[1]) : -1;
              if (start !== have) {
                rangeMismatch = true;
                return false;
              }
            } else {
              start = 0;
              have = 0;
            }
            const length = Number(r.headers['content-length']);
            total = Number.isFinite(length) ? start + length : options.expectedSize;
            // Written synchronously as the parser hands each piece over: nothing waits, so the
            // parser is never paused (see rawGet).
            fd = openSync(dest, start > 0 ? 'a' : 'w');
            return true;
          },
          onData: (chunk) => {
            writeSync(fd!, chunk);
            have += chunk.length;
            options.onProgress?.({ url: redactUrl(url), bytes: have, total });
          },
        });
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
      if (res.statusCode === 416 && asked > 0) {
        // Our partial file does not fit the remote one: start over on the next attempt.
        await truncate(dest, 0);
        have = 0;
        throw new Retryable('HTTP 416 for a resumed download', 0);
      }
      checkStatus(url, res);
      if (rangeMismatch) {
        await truncate(dest, 0);
        have = 0;
        throw new Retryable(
          `server answered range ${String(res.headers['content-range'])} for bytes=${asked}-`,
          0,
        );
      }
      if (res.statusCode === 206) resumed = true;
      if (total !== undefined && have < total)
        throw new Retryable(`body ended after ${have} of ${total} bytes`);
    });
  } finally {
    await close();
  }
  if (options.expectedSize !== undefined && have !== options.expectedSize) {
    throw new BinariesError(
      'ERR_CHECKSUM_MISMATCH',
      `${redactUrl(url)} is ${have} bytes, but the manifest says ${options.expectedSize}`,
      {
        details: { url: redactUrl(url), expectedSize: options.expectedSize, actualSize: have },
        hint: 'The mirror serves a different or truncated file; nothing was installed. Fix or regenerate the mirror',
      },
    );
  }
  return { bytes: have, resumed };
}

/** sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
