import {
  type ConnectOptions,
  connect,
  findSentinelNode,
  parseConnectionUrl,
  parseServerVersion,
  redactUrl,
} from '@valkey-tools/core';

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

/** A Sentinel failover a restore (or migration) lived through. */
export interface Failover {
  /** The primary before (`host:port`). */
  from: string;
  /** The primary the Sentinels named afterwards. */
  to: string;
  /** Time since the work started. */
  atMs: number;
  /** What the work met on the old primary (or that it was no longer the primary when done). */
  reason: string;
}

export interface FollowFailoversOptions {
  /** The URLs that name Sentinels (others are ignored) and how to reach each. */
  urls: Array<{ url: string; connect: ConnectOptions }>;
  started: number;
  signal?: AbortSignal;
  onFailover?: (failover: Failover) => void;
  /** Default 5. */
  maxFailovers?: number;
}

const address = (n: { host: string; port: number }) =>
  `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`;

/** The primary a Sentinel URL leads to once it answers as one (waits out a failover under way). */
async function primaryOf(url: string, options: ConnectOptions): Promise<string | undefined> {
  try {
    const conn = await connect(url, { ...options, role: 'primary', connectTimeoutMs: 30_000 });
    await conn.close();
    return conn.sentinel ? address(conn.sentinel) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `attempt` against servers found through Sentinels, and runs it again (told the failovers
 * so far, so it can replace what the first try wrote) when a Sentinel URL's primary changed while
 * it ran: the attempt failed on the old primary, or it ended there after the Sentinels had
 * promoted another one (what went to the old primary since may be lost when it is demoted).
 * A failure with the same primary before and after is the attempt's own: thrown as it is.
 */
export async function followFailovers<T>(
  options: FollowFailoversOptions,
  attempt: (failovers: Failover[]) => Promise<T>,
): Promise<{ result: T; failovers: Failover[] }> {
  const watched = options.urls.filter((u) => parseConnectionUrl(u.url).sentinel !== undefined);
  const failovers: Failover[] = [];
  for (;;) {
    const before = await Promise.all(
      watched.map((u) =>
        findSentinelNode(u.url, u.connect).then(
          (n) => address(n),
          () => undefined,
        ),
      ),
    );
    let result: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      result = { ok: true, value: await attempt(failovers) };
    } catch (error) {
      result = { ok: false, error };
    }
    if (watched.length === 0 || options.signal?.aborted) {
      if (result.ok) return { result: result.value, failovers };
      throw result.error;
    }
    const after = await Promise.all(watched.map((u) => primaryOf(u.url, u.connect)));
    const moved = watched.findIndex(
      (_u, i) => before[i] !== undefined && after[i] !== undefined && before[i] !== after[i],
    );
    if (moved === -1 || failovers.length >= (options.maxFailovers ?? 5)) {
      if (result.ok) return { result: result.value, failovers };
      throw result.error;
    }
    const failover: Failover = {
      from: before[moved]!,
      to: after[moved]!,
      atMs: Date.now() - options.started,
      reason: result.ok
        ? `${before[moved]} was no longer the primary when the work ended`
        : redactUrl(String((result.error as Error)?.message ?? result.error)),
    };
    failovers.push(failover);
    options.onFailover?.(failover);
  }
}
