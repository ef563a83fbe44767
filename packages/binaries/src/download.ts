import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import { Agent, type Dispatcher, EnvHttpProxyAgent, interceptors, ProxyAgent, request } from 'undici';
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

function requestOptions(dispatcher: Dispatcher, options: HttpOptions, headers: Record<string, string> = {}) {
  const timeout = options.timeoutMs ?? 30_000;
  return {
    method: 'GET' as const,
    dispatcher,
    headers: { 'user-agent': 'valkey-tools', ...headers },
    headersTimeout: timeout,
    bodyTimeout: timeout,
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

async function checkStatus(url: string, res: Dispatcher.ResponseData): Promise<void> {
  if (res.statusCode >= 200 && res.statusCode < 300) return;
  await res.body.dump().catch(() => undefined);
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
      const res = await request(url, requestOptions(dispatcher, options));
      await checkStatus(url, res);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_TEXT_BYTES) {
          res.body.destroy();
          throw new BinariesError(
            'ERR_BAD_MANIFEST',
            `${redactUrl(url)} is larger than ${MAX_TEXT_BYTES} bytes`,
            {
              details: { url: redactUrl(url) },
              hint: 'This is not a releases.json or .sha256 file: check the mirror URL',
            },
          );
        }
        chunks.push(chunk as Buffer);
      }
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
      const res = await request(url, requestOptions(dispatcher, options, headers));
      if (res.statusCode === 416 && have > 0) {
        // Our partial file does not fit the remote one: start over on the next attempt.
        await res.body.dump().catch(() => undefined);
        await truncate(dest, 0);
        have = 0;
        throw new Retryable('HTTP 416 for a resumed download', 0);
      }
      await checkStatus(url, res);
      let start = 0;
      if (res.statusCode === 206) {
        const range = /bytes (\d+)-\d+\/(\d+|\*)/.exec(String(res.headers['content-range'] ?? ''));
        start = range ? Number(range[1]) : -1;
        if (start !== have) {
          const asked = have;
          await res.body.dump().catch(() => undefined);
          await truncate(dest, 0);
          have = 0;
          throw new Retryable(
            `server answered range ${String(res.headers['content-range'])} for bytes=${asked}-`,
            0,
          );
        }
        resumed = true;
      } else {
        have = 0;
      }
      const length = Number(res.headers['content-length']);
      const total = Number.isFinite(length) ? start + length : options.expectedSize;
      const fh = await open(dest, start > 0 ? 'a' : 'w');
      try {
        for await (const chunk of res.body) {
          await fh.write(chunk as Buffer);
          have += (chunk as Buffer).length;
          options.onProgress?.({ url: redactUrl(url), bytes: have, total });
        }
      } finally {
        await fh.close();
      }
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
