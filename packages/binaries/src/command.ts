import { Valkey } from 'iovalkey';

/** A reply as iovalkey returns it. Error replies are returned as ReplyError values, not thrown. */
export type Reply = string | number | null | Buffer | ReplyError | Reply[];

/** An error reply from the server (`-ERR ...`), kept apart from transport errors. */
export class ReplyError extends Error {
  override readonly name = 'ReplyError';
}

export interface CommandOptions {
  host?: string;
  timeoutMs?: number;
  /** Resolve with null when the server closes the connection without a reply (SHUTDOWN). */
  allowClose?: boolean;
  /** Authenticate first (AUTH [user] password); a refused AUTH comes back as its ReplyError. */
  password?: string;
  /** ACL user for AUTH (default: the `default` user). */
  user?: string;
}

/**
 * Sends one command over a fresh iovalkey connection (no retries, no offline queue) and resolves
 * with the reply. Server error replies come back as ReplyError values; transport errors throw.
 * Used for the few commands server lifecycle needs (PING, INFO, SHUTDOWN, CLUSTER ...).
 */
export async function sendCommand(
  port: number,
  args: ReadonlyArray<string | number | Buffer>,
  options: CommandOptions = {},
): Promise<Reply> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 5000;
  const client = new Valkey({
    host,
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {
    // reported through the command's promise
  });
  const [name, ...rest] = args;
  try {
    await client.connect();
    if (options.password !== undefined) {
      const auth = options.user === undefined ? [options.password] : [options.user, options.password];
      await client.call('AUTH', ...auth);
    }
    return (await client.call(String(name), ...rest)) as Reply;
  } catch (err) {
    const e = err as Error;
    if (e.name === 'ReplyError') return new ReplyError(e.message);
    if (options.allowClose && /Connection is closed/i.test(e.message)) return null;
    if (/Command timed out/i.test(e.message)) {
      throw new Error(`no reply from ${host}:${port} to ${String(name)} within ${timeoutMs} ms`, {
        cause: e,
      });
    }
    throw e;
  } finally {
    client.disconnect();
  }
}
