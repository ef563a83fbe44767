import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { Cluster, Redis } from 'iovalkey';
import { ValkeyToolsError } from './errors.js';
import { parseInfo } from './text.js';
import { type ConnectionTarget, parseConnectionUrl, redactUrl, toClientOptions } from './url.js';

/** TLS material: PEM text or Buffers, or paths to PEM files. */
export interface TlsFiles {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** SNI / certificate host name (default: the URL's host when it is a name, none for an IP). */
  servername?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

export interface ConnectOptions {
  tls?: TlsFiles;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * `'auto'` (default): a cluster node also gets a connected `cluster` client that routes by slot
   * and follows MOVED/ASK; `true`: the server must be a cluster node; `false`: never.
   */
  cluster?: boolean | 'auto';
  /**
   * Give up at the first failure (default, for one-shot tools) or, for long-running services, keep
   * reconnecting once the first connection succeeded (commands then retry twice).
   */
  reconnect?: boolean;
  /** A cluster: send read-only commands to replicas. */
  readFromReplicas?: boolean;
}

export interface ServerConnection {
  /** The standalone client (for a cluster: the node the URL names). */
  client: Redis;
  /** Set when the server runs in cluster mode (and `cluster` was not false). */
  cluster?: Cluster;
  target: ConnectionTarget;
  /** The URL with its password hidden, for messages. */
  where: string;
  /** `INFO server` fields (`redis_version`, `valkey_version`, `server_name`...), `cluster_enabled`. */
  info: Record<string, string>;
  /**
   * A cluster: opens a connection of its own to one node (`host:port` as the cluster names it),
   * with the URL's user, password and TLS settings. The caller closes it.
   */
  connectNode?: (host: string, port: number) => Promise<Redis>;
  /** Closes every connection (once; later calls do nothing). */
  close(): Promise<void>;
}

export type ConnectionErrorCode =
  /** The server could not be reached, refused the credentials or the TLS handshake failed. */
  | 'ERR_CONNECTION'
  /** A TLS file (CA, certificate, key) cannot be read. */
  | 'ERR_TLS_FILE';

/** Errors raised while connecting to (or talking to) a server, by every package. */
export class ConnectionError extends ValkeyToolsError<ConnectionErrorCode> {
  static override readonly errorName = 'ConnectionError';
}

function pem(value: string | Buffer | undefined, what: string): string | Buffer | undefined {
  if (value === undefined || Buffer.isBuffer(value) || value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value);
  } catch (err) {
    throw new ConnectionError('ERR_TLS_FILE', `cannot read the TLS ${what} file "${value}"`, {
      cause: err,
      details: { path: value },
      hint: `Pass tls.${what} as a readable PEM file path or as PEM text`,
    });
  }
}

/** node:tls options for a target (undefined when the target is not TLS and no TLS files were given). */
export function tlsConnectionOptions(
  target: ConnectionTarget,
  tls?: TlsFiles,
): TlsConnectionOptions | undefined {
  if (!target.tls && !tls) return undefined;
  const out: TlsConnectionOptions = {};
  // SNI takes host names only; an IP address is still checked against the certificate's IP SANs.
  const servername = tls?.servername ?? (isIP(target.host) ? undefined : target.host);
  if (servername !== undefined) out.servername = servername;
  const ca = pem(tls?.ca, 'ca');
  const cert = pem(tls?.cert, 'cert');
  const key = pem(tls?.key, 'key');
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  if (tls?.rejectUnauthorized !== undefined) out.rejectUnauthorized = tls.rejectUnauthorized;
  return out;
}

/**
 * The error for a failed connection or conversation: the cause's message with any password
 * hidden, `action` and `where` ("Connecting to redis://...:6380"), and a hint by kind (credentials,
 * TLS, reachability).
 */
export function connectionError(where: string, err: unknown, action: string): ConnectionError {
  const message = redactUrl(err instanceof Error ? err.message : String(err)).replace(/\.$/, '');
  const auth = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(message);
  const tls = /certificate|SSL|TLS|self.signed/i.test(message);
  return new ConnectionError('ERR_CONNECTION', `${action} ${where} failed: ${message}`, {
    cause: err,
    details: { url: where },
    hint: auth
      ? 'Check the user name and password in the URL (redis://user:password@host:port)'
      : tls
        ? 'Check the TLS options: tls.ca must be the CA that signed the server certificate; servers with tls-auth-clients need tls.cert and tls.key'
        : 'Check that the server is running and reachable, and the URL (host, port, rediss:// for TLS)',
  });
}

const RECONNECT = (times: number) => Math.min(times * 100, 2000);

function clientOptions(target: ConnectionTarget, options: ConnectOptions): Record<string, unknown> {
  const opts = toClientOptions(target);
  const tls = tlsConnectionOptions(target, options.tls);
  if (tls) opts.tls = tls;
  else delete opts.tls;
  return {
    ...opts,
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    maxRetriesPerRequest: options.reconnect ? 2 : 0,
    enableOfflineQueue: true,
    retryStrategy: () => null,
  };
}

/**
 * Opens a client (and, for a cluster node, a cluster client) from a URL (`redis://`, `rediss://`,
 * `valkey://`, `valkeys://`, `unix://`): the one way every package connects. Failures throw a
 * `ConnectionError` that names the server (password hidden) and says what to check.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<ServerConnection> {
  const target = parseConnectionUrl(url);
  const where = redactUrl(url);
  const opts = clientOptions(target, options);
  const client = new Redis(opts);
  // The client reports the cause (TLS, refused, auth) as an event and rejects with "Connection is closed".
  let cause: unknown;
  client.on('error', (e: unknown) => {
    cause ??= e;
  });
  // A password given to a server that has none works (like valkey-cli), but iovalkey says so on
  // stderr with console.warn: that one line is kept out of the caller's output.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /^\[WARN\].*does not require a password/.test(args[0])) return;
    warn.apply(console, args);
  };
  // Once the client has given up (status "end"), disconnect() would only arm iovalkey's 2 s timer
  // for a socket that already closed, keeping the process alive that long after the error.
  const drop = () => {
    if (client.status !== 'end') client.disconnect();
  };
  try {
    await client.connect();
  } catch (err) {
    drop();
    throw connectionError(where, cause ?? err, 'Connecting to');
  } finally {
    console.warn = warn;
  }
  let info: Record<string, string>;
  try {
    info = parseInfo(String(await client.call('INFO', 'server')));
    const clusterInfo = parseInfo(String(await client.call('INFO', 'cluster')));
    if (clusterInfo.cluster_enabled === '1') info.cluster_enabled = '1';
  } catch (err) {
    drop();
    // A refused AUTH (wrong password) arrives as an error event; the command only sees "Connection is closed".
    throw connectionError(where, cause ?? err, 'Talking to');
  }
  let closed = false;
  const conn: ServerConnection = {
    client,
    target,
    where,
    info,
    close: async () => {
      if (closed) return;
      closed = true;
      drop();
      conn.cluster?.disconnect();
    },
  };
  const isCluster = info.cluster_enabled === '1';
  if (options.cluster === true && !isCluster) {
    drop();
    throw new ConnectionError('ERR_CONNECTION', `${where} is not a cluster node (cluster_enabled is 0)`, {
      details: { url: where },
      hint: 'Point the URL at a node of the cluster, or connect without requiring a cluster',
    });
  }
  if (isCluster && options.cluster !== false) {
    if (target.scheme === 'unix') {
      drop();
      throw new ConnectionError('ERR_CONNECTION', 'A cluster cannot be reached over a unix socket', {
        details: { url: where },
        hint: 'Use the host:port of one of its nodes',
      });
    }
    const { host, port, db: _db, ...redisOptions } = opts as Record<string, unknown>;
    let connected = false;
    const cluster = new Cluster([{ host: host as string, port: port as number }], {
      lazyConnect: true,
      redisOptions: { ...redisOptions, lazyConnect: false },
      enableOfflineQueue: true,
      maxRedirections: 32,
      retryDelayOnMoved: 0,
      ...(options.readFromReplicas ? { scaleReads: 'slave' as const } : {}),
      // Give up at once while connecting; a long-running service keeps reconnecting once up.
      clusterRetryStrategy: (times) => (options.reconnect && connected ? RECONNECT(times) : null),
    });
    cluster.on('error', () => {});
    try {
      await cluster.connect();
      connected = true;
    } catch (err) {
      cluster.disconnect();
      drop();
      throw connectionError(where, err, 'Connecting to the cluster at');
    }
    conn.cluster = cluster;
    conn.connectNode = async (nodeHost, nodePort) => {
      const node = new Redis({ ...opts, host: nodeHost, port: nodePort, db: 0 });
      let nodeCause: unknown;
      node.on('error', (e: unknown) => {
        nodeCause ??= e;
      });
      try {
        await node.connect();
      } catch (err) {
        node.disconnect();
        throw connectionError(`${nodeHost}:${nodePort}`, nodeCause ?? err, 'Connecting to the cluster node');
      }
      return node;
    };
  }
  // From now on a long-running service reconnects (the first attempt gave up at once on purpose).
  if (options.reconnect)
    (client.options as { retryStrategy?: (n: number) => number | null }).retryStrategy = RECONNECT;
  return conn;
}
