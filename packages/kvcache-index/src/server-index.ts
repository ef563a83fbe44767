import type { Cluster, Redis } from 'iovalkey';
import { KvCacheError } from './errors.js';

export type Client = Redis | Cluster;

/**
 * What every index kept on a server shares, whatever its key layout: the client, the closed state,
 * errors that name the server and say what to do, PING and close.
 */
export abstract class ServerIndex {
  protected closed = false;

  constructor(
    protected readonly client: Client,
    readonly address: string,
    readonly cluster: boolean,
  ) {}

  /** The commands the layout needs, for the hint of a permission error. */
  protected abstract readonly aclCommands: string;

  /** What the index is called in messages ("valkey index", "llm-d layout index"). */
  protected abstract readonly title: string;

  protected check(): void {
    if (this.closed) throw new KvCacheError('ERR_CLOSED', `The ${this.title} at ${this.address} is closed`);
  }

  protected backendError(what: string, err: unknown, details: Record<string, unknown> = {}): KvCacheError {
    if (KvCacheError.isInstance(err)) return err as KvCacheError;
    const message = (err as Error)?.message ?? String(err);
    const hint = /NOPERM|NOAUTH|WRONGPASS/.test(message)
      ? `The user needs ${this.aclCommands}`
      : /OOM/.test(message)
        ? 'The server is out of memory: raise maxmemory, set ttlSeconds, or use a volatile-* eviction policy'
        : /CROSSSLOT|MOVED/.test(message)
          ? 'Keys of one call must share a hash tag: pass the same model scope to every call'
          : undefined;
    return new KvCacheError('ERR_BACKEND', `${what} failed on ${this.address}: ${message}`, {
      cause: err,
      details: { address: this.address, ...details },
      ...(hint ? { hint } : {}),
    });
  }

  /** Round trip to the server (health checks). */
  async ping(): Promise<void> {
    this.check();
    try {
      await this.client.ping();
    } catch (err) {
      throw this.backendError('PING', err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Through Sentinels the client also listens to them for failovers, on connections of its own
    // that QUIT leaves open (and with them the process): disconnect() closes those too.
    if ('sentinels' in this.client.options && this.client.options.sentinels) {
      this.client.disconnect();
      return;
    }
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
