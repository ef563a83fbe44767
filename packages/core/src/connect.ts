import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Cluster, Redis } from 'iovalkey';
import { ValkeyToolsError } from './errors.js';
import { parseInfo, replyFields } from './text.js';
import {
  type ConnectionTarget,
  type SentinelSpec,
  parseConnectionUrl,
  redactUrl,
  toClientOptions,
} from './url.js';

/**
 * iovalkey, loaded on the first connection: code that never connects (a worker thread checking a
 * file, `--help`) does not pay for loading it.
 */
let iovalkey: Promise<{ Redis: typeof Redis; Cluster: typeof Cluster }> | undefined;
const loadIovalkey = () => {
  iovalkey ??= import('iovalkey').then((m) => ({ Redis: m.Redis, Cluster: m.Cluster }));
  return iovalkey;
};

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
  /**
   * A Sentinel URL: connect to the current primary (default) or to a replica (the most
   * up-to-date one the Sentinels see as healthy).
   */
  role?: 'primary' | 'replica';
  /** A Sentinel URL: the Sentinels' user and password (instead of the URL's query). */
  sentinel?: { username?: string; password?: string };
}

/** The server a Sentinel URL led to. */
export interface SentinelNode {
  /** The primary's name the Sentinels monitor. */
  name: string;
  role: 'primary' | 'replica';
  host: string;
  port: number;
  /** The Sentinel that answered (`host:port`). */
  answeredBy: string;
}

export interface ServerConnection {
  /** The standalone client (for a cluster: the node the URL names). */
  client: Redis;
  /** Set when the server runs in cluster mode (and `cluster` was not false). */
  cluster?: Cluster;
  target: ConnectionTarget;
  /** The URL with its password hidden, for messages. */
  where: string;
  /** Set when the URL named Sentinels: the server they led to. */
  sentinel?: SentinelNode;
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

function clientOptions(
  target: ConnectionTarget,
  options: ConnectOptions,
  sentinel?: { spec: SentinelSpec; node: SentinelNode },
): Record<string, unknown> {
  const opts = toClientOptions(target);
  const tls = tlsConnectionOptions(target, options.tls);
  if (tls) opts.tls = tls;
  else delete opts.tls;
  if (sentinel && options.reconnect) {
    // A long-running service keeps its client in iovalkey's Sentinel mode, which asks the
    // Sentinels again whenever the connection drops (and watches for +switch-master).
    const { spec, node } = sentinel;
    const username = options.sentinel?.username ?? spec.username;
    const password = options.sentinel?.password ?? spec.password;
    const { host: _h, port: _p, ...rest } = opts;
    Object.assign(rest, {
      sentinels: spec.nodes,
      name: spec.name,
      role: node.role === 'primary' ? 'master' : 'slave',
      ...(node.role === 'replica'
        ? { preferredSlaves: [{ ip: node.host, port: String(node.port), prio: 1 }] }
        : {}),
      ...(username !== undefined ? { sentinelUsername: username } : {}),
      ...(password !== undefined ? { sentinelPassword: password } : {}),
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      sentinelRetryStrategy: () => null,
      failoverDetector: node.role === 'primary',
    });
    return clientDefaults(rest, options);
  }
  return clientDefaults(opts, options);
}

function clientDefaults(opts: Record<string, unknown>, options: ConnectOptions): Record<string, unknown> {
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
  if (target.sentinel) return connectThroughSentinels(url, target, target.sentinel, options);
  return connectTarget(target, redactUrl(url), options);
}

/**
 * Opens a client and waits for it to be ready, reporting the cause (TLS, refused, auth) of a
 * failure as the client's first error event (its promise only says "Connection is closed").
 */
async function openClient(client: Redis, where: string, action = 'Connecting to'): Promise<void> {
  let cause: unknown;
  const onError = (e: unknown) => {
    cause ??= e;
  };
  client.on('error', onError);
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
    // Once the client has given up (status "end"), disconnect() would only arm iovalkey's 2 s
    // timer for a socket that already closed, keeping the process alive that long after the error.
    if (client.status !== 'end') client.disconnect();
    throw connectionError(where, cause ?? err, action);
  } finally {
    console.warn = warn;
  }
}

async function connectTarget(
  target: ConnectionTarget,
  where: string,
  options: ConnectOptions,
  sentinel?: { spec: SentinelSpec; node: SentinelNode },
): Promise<ServerConnection> {
  const opts = clientOptions(target, options, sentinel);
  const { Redis, Cluster } = await loadIovalkey();
  const client = new Redis(opts);
  let cause: unknown;
  client.on('error', (e: unknown) => {
    cause ??= e;
  });
  const drop = () => {
    if (client.status !== 'end') client.disconnect();
  };
  await openClient(client, where);
  let info: Record<string, string>;
  try {
    info = parseInfo(String(await client.call('INFO', 'server')));
    const clusterInfo = parseInfo(String(await client.call('INFO', 'cluster')));
    if (clusterInfo.cluster_enabled === '1') info.cluster_enabled = '1';
    if (sentinel) info.role = parseInfo(String(await client.call('INFO', 'replication'))).role ?? '';
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
    ...(sentinel ? { sentinel: sentinel.node } : {}),
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
      await openClient(node, `${nodeHost}:${nodePort}`, 'Connecting to the cluster node');
      return node;
    };
  }
  // From now on a long-running service reconnects (the first attempt gave up at once on purpose);
  // through Sentinels it asks them again, so it follows a failover to the new primary.
  if (options.reconnect) {
    const live = client.options as {
      retryStrategy?: (n: number) => number | null;
      sentinelRetryStrategy?: (n: number) => number | null;
    };
    live.retryStrategy = RECONNECT;
    if (sentinel) live.sentinelRetryStrategy = RECONNECT;
  }
  return conn;
}

/** Asks one Sentinel something, on a connection of its own. */
async function askSentinel<T>(
  host: string,
  port: number,
  target: ConnectionTarget,
  spec: SentinelSpec,
  options: ConnectOptions,
  ask: (sentinel: Redis) => Promise<T>,
): Promise<T> {
  const username = options.sentinel?.username ?? spec.username;
  const password = options.sentinel?.password ?? spec.password;
  const tls = tlsConnectionOptions({ ...target, host }, options.tls);
  const { Redis } = await loadIovalkey();
  const client = new Redis({
    host,
    port,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    retryStrategy: () => null,
  });
  try {
    await openClient(client, `Sentinel ${host}:${port}`);
    return await ask(client);
  } finally {
    if (client.status !== 'end') client.disconnect();
  }
}

/** A replica the Sentinels see as up, linked to its primary. */
function healthy(replica: Record<string, string>): boolean {
  const flags = (replica.flags ?? '').split(',');
  return (
    flags.includes('slave') &&
    !flags.some((f) => f === 's_down' || f === 'o_down' || f === 'disconnected') &&
    replica['master-link-status'] === 'ok'
  );
}

/**
 * Asks the Sentinels of a `valkey+sentinel://` URL (in order, until one answers) for the current
 * primary of the named deployment, or with `role: 'replica'` for its most up-to-date healthy
 * replica. Throws a `ConnectionError` that says what each Sentinel answered.
 */
export async function findSentinelNode(url: string, options: ConnectOptions = {}): Promise<SentinelNode> {
  return findNode(parseConnectionUrl(url), redactUrl(url), options);
}

async function findNode(
  target: ConnectionTarget,
  where: string,
  options: ConnectOptions,
): Promise<SentinelNode> {
  const spec = target.sentinel;
  if (!spec) {
    throw new ConnectionError('ERR_CONNECTION', `${where} names no Sentinels`, {
      details: { url: where },
      hint: 'Use valkey+sentinel://host:port[,host:port...]/<primary-name>',
    });
  }
  const role = options.role ?? 'primary';
  const failures: string[] = [];
  let unknown = 0;
  let refusedAuth = false;
  let known: string[] = [];
  for (const { host, port } of spec.nodes) {
    const answeredBy = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    try {
      const found = await askSentinel(host, port, target, spec, options, async (s) => {
        if (role === 'primary') {
          const addr = (await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', spec.name)) as string[] | null;
          if (addr) return { host: String(addr[0]), port: Number(addr[1]) };
        } else {
          const reply = await s.call('SENTINEL', 'REPLICAS', spec.name).catch((err: Error) => {
            if (/no such master/i.test(err.message)) return null;
            throw err;
          });
          if (reply !== null) {
            const replicas = (reply as unknown[]).map(replyFields);
            const up = replicas.filter(healthy);
            up.sort((a, b) => Number(b['slave-repl-offset'] ?? 0) - Number(a['slave-repl-offset'] ?? 0));
            if (up[0]) return { host: String(up[0].ip), port: Number(up[0].port) };
            return `lists ${replicas.length} replica${replicas.length === 1 ? '' : 's'} of "${spec.name}", none up and linked${replicas.length > 0 ? ` (${replicas.map((r) => `${r.ip}:${r.port} ${r.flags} link ${r['master-link-status']}`).join('; ')})` : ''}`;
          }
        }
        const masters = ((await s.call('SENTINEL', 'MASTERS').catch(() => [])) as unknown[]).map(replyFields);
        return { unknown: masters.map((m) => m.name ?? '').filter((n) => n !== '') };
      });
      if (typeof found === 'string') failures.push(`${answeredBy} ${found}`);
      else if ('unknown' in found) {
        unknown++;
        known = found.unknown;
        failures.push(`${answeredBy} knows no primary named "${spec.name}"`);
      } else return { name: spec.name, role, ...found, answeredBy };
    } catch (err) {
      // What this Sentinel said, without the hint (written for server URLs) the error carries.
      let said = String(err instanceof Error ? err.message : err);
      if (ConnectionError.isInstance(err) && err.hint !== undefined && said.endsWith(` ${err.hint}`))
        said = said.slice(0, -(err.hint.length + 1));
      said = withoutTrailingDot(said.replace(/^Connecting to Sentinel \S+ failed: /, ''));
      if (/WRONGPASS|NOAUTH|invalid (username|password)/i.test(said)) refusedAuth = true;
      failures.push(`${answeredBy}: ${said}`);
    }
  }
  const message =
    unknown === spec.nodes.length
      ? `no primary named "${spec.name}" is monitored by the Sentinels of ${where}`
      : `no Sentinel of ${where} could name ${role === 'primary' ? 'the primary' : 'a replica'} of "${spec.name}": ${failures.join('; ')}`;
  throw new ConnectionError('ERR_CONNECTION', message, {
    details: { url: where, name: spec.name, role },
    hint: refusedAuth
      ? "Check the Sentinels' password and user (sentinelUsername / sentinelPassword in the URL's query; the URL's own user and password are the servers')"
      : unknown > 0
        ? `Use the name the Sentinels monitor${known.length > 0 ? ` (they know: ${known.join(', ')})` : ''}`
        : role === 'replica'
          ? 'Connect to the primary instead (leave out role: replica / --from-replica), or wait for a replica to catch up'
          : 'Check that the Sentinels are running and reachable, and their user and password (sentinelUsername / sentinelPassword)',
  });
}

function withoutTrailingDot(text: string): string {
  return text.replace(/\.$/, '');
}

/**
 * Connects to the server the Sentinels name, and checks that it holds the role asked for: right
 * after a failover a Sentinel may still name a node that is no longer (or not yet) the primary,
 * so the question is asked again until the connect timeout.
 */
async function connectThroughSentinels(
  url: string,
  target: ConnectionTarget,
  spec: SentinelSpec,
  options: ConnectOptions,
): Promise<ServerConnection> {
  const deadline = Date.now() + (options.connectTimeoutMs ?? 10_000);
  const wanted = (options.role ?? 'primary') === 'primary' ? 'master' : 'slave';
  for (;;) {
    const node = await findNode(target, redactUrl(url), options);
    const { sentinel: _s, ...server } = target;
    const nodeTarget: ConnectionTarget = { ...server, host: node.host, port: node.port };
    const where = `${redactUrl(url)} (${node.role} ${node.host.includes(':') ? `[${node.host}]` : node.host}:${node.port})`;
    const conn = await connectTarget(nodeTarget, where, options, { spec, node });
    if (conn.info.role === wanted) return conn;
    await conn.close();
    if (Date.now() >= deadline) {
      throw new ConnectionError(
        'ERR_CONNECTION',
        `the Sentinels name ${node.host}:${node.port} as the ${node.role} of "${spec.name}", but it reports role ${conn.info.role}: a failover is under way`,
        {
          details: { url: redactUrl(url), node: `${node.host}:${node.port}` },
          hint: 'Try again in a few seconds',
        },
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
