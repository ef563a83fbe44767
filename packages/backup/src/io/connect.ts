import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import {
  type ConnectionTarget,
  parseConnectionUrl,
  parseServerVersion,
  redactUrl,
  toClientOptions,
  parseInfo,
} from '@valkey-tools/core';
import { Cluster, Redis } from 'iovalkey';
import { BackupError } from '../errors.js';

/** TLS material: PEM text or Buffers, or paths to PEM files. */
export interface TlsFiles {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** SNI / certificate host name (default: the URL's host). */
  servername?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

export interface ConnectOptions {
  tls?: TlsFiles;
  /** Default 10 s. */
  connectTimeoutMs?: number;
}

function pem(value: string | Buffer | undefined, what: string): string | Buffer | undefined {
  if (value === undefined || Buffer.isBuffer(value) || value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value);
  } catch (err) {
    throw new BackupError('ERR_INVALID_OPTION', `cannot read the TLS ${what} file "${value}"`, {
      cause: err,
      details: { path: value },
      hint: `Pass tls.${what} as a readable PEM file path or as PEM text`,
    });
  }
}

export function parseTarget(url: string): ConnectionTarget {
  return parseConnectionUrl(url);
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

function clientOptions(target: ConnectionTarget, options: ConnectOptions): Record<string, unknown> {
  const opts = toClientOptions(target);
  const tls = tlsConnectionOptions(target, options.tls);
  if (tls) opts.tls = tls;
  else delete opts.tls;
  return {
    ...opts,
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    retryStrategy: () => null,
  };
}

export interface ServerConnection {
  /** The standalone client (for a cluster: the node the URL names). */
  client: Redis;
  /** Set when the server runs in cluster mode. */
  cluster?: Cluster;
  target: ConnectionTarget;
  /** The URL with its password hidden, for messages. */
  where: string;
  /** `INFO server` fields (`redis_version`, `valkey_version`, `server_name`...). */
  info: Record<string, string>;
  /**
   * A cluster: opens a connection of its own to one node (`host:port` as the cluster names it),
   * with the URL's user, password and TLS settings. The caller closes it.
   */
  connectNode?: (host: string, port: number) => Promise<Redis>;
  close(): Promise<void>;
}

export function connectionError(where: string, err: unknown, action: string): BackupError {
  const message = redactUrl(err instanceof Error ? err.message : String(err)).replace(/\.$/, '');
  const auth = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(message);
  return new BackupError('ERR_CONNECTION', `${action} ${where} failed: ${message}`, {
    cause: err,
    details: { url: where },
    hint: auth
      ? 'Check the user name and password in the URL (redis://user:password@host:port)'
      : /certificate|SSL|TLS|self.signed/i.test(message)
        ? 'Check the TLS options: tls.ca must be the CA that signed the server certificate; servers with tls-auth-clients need tls.cert and tls.key'
        : 'Check that the server is running and reachable, and the URL (host, port, rediss:// for TLS)',
  });
}

/**
 * Connects to a server and finds out whether it is a cluster node (then `cluster` is a connected
 * iovalkey Cluster client that routes by slot and follows MOVED/ASK).
 */
export async function connectServer(url: string, options: ConnectOptions = {}): Promise<ServerConnection> {
  const target = parseTarget(url);
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
  try {
    await client.connect();
  } catch (err) {
    // Once the client has given up (status "end"), disconnect() would only arm iovalkey's 2 s timer
    // for a socket that already closed, keeping the process alive that long after the error.
    if (client.status !== 'end') client.disconnect();
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
    if (client.status !== 'end') client.disconnect();
    // A refused AUTH (wrong password) arrives as an error event; the command only sees "Connection is closed".
    throw connectionError(where, cause ?? err, 'Talking to');
  }
  let closed = false;
  const conn: ServerConnection = {
    client,
    target,
    where,
    info,
    // Once only: disconnect() of a client that already ended arms a 2 s timer in iovalkey.
    close: async () => {
      if (closed) return;
      closed = true;
      client.disconnect();
      conn.cluster?.disconnect();
    },
  };
  if (info.cluster_enabled === '1') {
    const { host, port, db: _db, ...redisOptions } = opts as Record<string, unknown>;
    const cluster = new Cluster([{ host: host as string, port: port as number }], {
      lazyConnect: true,
      redisOptions: { ...redisOptions, lazyConnect: false },
      enableOfflineQueue: true,
      maxRedirections: 32,
      retryDelayOnMoved: 0,
      clusterRetryStrategy: () => null,
    });
    cluster.on('error', () => {});
    try {
      await cluster.connect();
    } catch (err) {
      cluster.disconnect();
      client.disconnect();
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
  return conn;
}

/** The server's version string (`valkey_version`, else `redis_version`) and family. */
export function serverVersion(info: Record<string, string>): { flavor: 'valkey' | 'redis'; version: string } {
  if (info.valkey_version) return { flavor: 'valkey', version: info.valkey_version };
  if (info.server_name === 'valkey') return { flavor: 'valkey', version: info.redis_version ?? '0.0.0' };
  return { flavor: 'redis', version: info.redis_version ?? '0.0.0' };
}

/**
 * The highest DUMP payload RDB version the server accepts: Valkey 9 takes 80, Valkey 7.2/8.x and
 * Redis 7.2+ take 11, Redis 7.0 takes 10, older servers 9.
 */
export function dumpVersionFor(info: Record<string, string>): number {
  const { flavor, version } = serverVersion(info);
  const v = parseServerVersion(`${flavor} v=${version}`);
  if (flavor === 'valkey') return v.major >= 9 ? 80 : 11;
  if (v.major > 7 || (v.major === 7 && v.minor >= 2)) return 11;
  if (v.major === 7) return 10;
  return 9;
}
