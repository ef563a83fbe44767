import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'iovalkey';
import { replyFields } from '@valkey-tools/core';
import { freePort } from './ports.js';
import { stopChild, unregisterPid } from './processes.js';
import { rawCommand } from './resp.js';
import { serverBinary, spawnServer, startTestServer, type TestServer } from './server.js';
import { type TestCertificates, tlsServerConfig } from './tls.js';
import { waitFor } from './wait.js';

export interface StartSentinelTopologyOptions {
  /** The name the Sentinels monitor (default `mymaster`). */
  name?: string;
  /** `requirepass` (and `masterauth`) of every data node. */
  password?: string;
  /** The Sentinels' own password (clients and the other Sentinels use it). */
  sentinelPassword?: string;
  /** Default 2. */
  replicas?: number;
  /** Default 3. */
  sentinels?: number;
  /**
   * Serve TLS (client certificates required) on every server and Sentinel, and replicate and
   * monitor over it: `url` is then `valkeys+sentinel://` with the Sentinels' TLS ports.
   */
  tls?: TestCertificates;
}

export interface TestSentinel {
  port: number;
  /** The TLS port (with `tls`). */
  tlsPort?: number;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

export interface SentinelTopology {
  name: string;
  /** Primary then replicas, as started (roles change with a failover: ask `primary()`). */
  servers: TestServer[];
  /** With `tls`: each server's TLS port (the one the Sentinels name), by plain port. */
  tlsPorts: Map<number, number>;
  sentinels: TestSentinel[];
  /** `valkey+sentinel://[:password@]127.0.0.1:p1,.../<name>[?sentinelPassword=...]` (db 0). */
  url: string;
  /** The server the Sentinels name as the primary now. */
  primary(): Promise<TestServer>;
  /** A client of a data node (authenticated), closed by the caller. */
  client(server: TestServer): Redis;
  /**
   * Waits for the last failover to end, sends `SENTINEL FAILOVER`, then waits until every
   * Sentinel names another primary and it reports role master (the old primary is demoted some
   * 10 s later: see `settled()`). Returns the old and the new primary.
   */
  failover(): Promise<{ from: TestServer; to: TestServer }>;
  /** Waits until the last failover has ended: every other node replicates from the primary. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

async function startSentinel(
  name: string,
  primaryPort: number,
  quorum: number,
  certs?: TestCertificates,
): Promise<TestSentinel> {
  const port = await freePort();
  const tlsPort = certs ? await freePort() : undefined;
  const dir = mkdtempSync(join(tmpdir(), `vt-sentinel-${port}-`));
  const file = join(dir, 'sentinel.conf');
  // down-after is long on purpose: a loaded machine must never fail over by itself; tests fail
  // over with SENTINEL FAILOVER, which does not wait for it.
  writeFileSync(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'daemonize no',
      'logfile ""',
      `sentinel monitor ${name} 127.0.0.1 ${primaryPort} ${quorum}`,
      `sentinel down-after-milliseconds ${name} 60000`,
      `sentinel failover-timeout ${name} 60000`,
      `sentinel parallel-syncs ${name} 2`,
      ...(certs && tlsPort
        ? Object.entries(tlsServerConfig(certs, tlsPort, { replication: true })).map(([k, v]) => `${k} ${v}`)
        : []),
      '',
    ].join('\n'),
  );
  const spawned = await spawnServer(serverBinary('valkey'), [file, '--sentinel'], {
    port,
    cwd: dir,
    describe: () => `\n--- ${file} ---`,
  });
  return {
    port,
    ...(tlsPort ? { tlsPort } : {}),
    pid: spawned.pid,
    dir,
    stop: async () => {
      await stopChild(spawned.child);
      unregisterPid(spawned.pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a real Sentinel-managed deployment on loopback: a primary, replicas (default 2) and
 * Sentinels (default 3, `valkey-server --sentinel`), and waits until every Sentinel sees every
 * replica up and linked and the other Sentinels. Passwords are set once the topology is up.
 * Everything is stopped by pid (`stop()`; the global teardown kills leftovers).
 */
export async function startSentinelTopology(
  options: StartSentinelTopologyOptions = {},
): Promise<SentinelTopology> {
  const name = options.name ?? 'mymaster';
  const replicaCount = options.replicas ?? 2;
  const sentinelCount = options.sentinels ?? 3;
  const servers: TestServer[] = [];
  const sentinels: TestSentinel[] = [];
  const certs = options.tls;
  const tlsPorts = new Map<number, number>();
  /** A server's config: snapshots to replicas at once, TLS with `tls`. */
  const serverConfig = async (extra: Record<string, string | number> = {}) => {
    const config: Record<string, string | number> = { 'repl-diskless-sync-delay': 0, ...extra };
    if (certs) Object.assign(config, tlsServerConfig(certs, await freePort(), { replication: true }));
    return config;
  };
  const startServer = async (extra?: Record<string, string | number>) => {
    const config = await serverConfig(extra);
    const server = await startTestServer({ config });
    if (config['tls-port'] !== undefined) tlsPorts.set(server.port, Number(config['tls-port']));
    return server;
  };
  /** The port the Sentinels and clients use for a server. */
  const portOf = (s: TestServer) => tlsPorts.get(s.port) ?? s.port;
  const stop = async () => {
    await Promise.all([...sentinels.map((s) => s.stop()), ...servers.map((s) => s.stop())]);
  };
  try {
    const primary = await startServer();
    servers.push(primary);
    servers.push(
      ...(await Promise.all(
        Array.from({ length: replicaCount }, () =>
          startServer({ replicaof: `127.0.0.1 ${portOf(primary)}` }),
        ),
      )),
    );
    await waitFor('the replicas to link to the primary', async () => {
      const info = await primary.command('INFO', 'replication');
      return (info.match(/state=online/g) ?? []).length === replicaCount;
    });
    const password = options.password;
    if (password !== undefined) {
      // masterauth first: after a failover the old primary replicates from a new one.
      for (const s of servers) await s.command('CONFIG', 'SET', 'masterauth', password);
      for (const s of servers) await s.command('CONFIG', 'SET', 'requirepass', password);
    }
    const quorum = Math.floor(sentinelCount / 2) + 1;
    sentinels.push(
      ...(await Promise.all(
        Array.from({ length: sentinelCount }, () => startSentinel(name, portOf(primary), quorum, certs)),
      )),
    );
    if (password !== undefined)
      for (const s of sentinels) await rawCommand(s.port, ['SENTINEL', 'SET', name, 'auth-pass', password]);
    const sentinelPassword = options.sentinelPassword;
    if (sentinelPassword !== undefined) {
      for (const s of sentinels)
        await rawCommand(s.port, ['SENTINEL', 'CONFIG', 'SET', 'sentinel-pass', sentinelPassword]);
      for (const s of sentinels)
        await rawCommand(s.port, ['ACL', 'SETUSER', 'default', 'resetpass', `>${sentinelPassword}`]);
    }
    const askSentinel = async <T>(s: TestSentinel, fn: (c: Redis) => Promise<T>): Promise<T> => {
      const c = new Redis({
        host: '127.0.0.1',
        port: s.port,
        ...(sentinelPassword !== undefined ? { password: sentinelPassword } : {}),
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      c.on('error', () => {});
      try {
        await c.connect();
        return await fn(c);
      } finally {
        c.disconnect();
      }
    };
    const ready = async (): Promise<string> => {
      const states = await Promise.all(
        sentinels.map((s) =>
          askSentinel(s, async (c) => {
            const replicas = ((await c.call('SENTINEL', 'REPLICAS', name)) as unknown[]).map(replyFields);
            const others = (await c.call('SENTINEL', 'SENTINELS', name)) as unknown[];
            const up = replicas.filter(
              (r) =>
                r['master-link-status'] === 'ok' &&
                !/s_down|o_down|disconnected/.test(r.flags ?? '') &&
                servers.some((srv) => portOf(srv) === Number(r.port)),
            );
            // Every other Sentinel known and linked (a link still being made would show up later
            // among the clients a test counts).
            const linked = others.map(replyFields).filter((o) => o.flags === 'sentinel');
            return up.length === replicaCount && linked.length === sentinelCount - 1;
          }).catch(() => false),
        ),
      );
      return states.every(Boolean) ? 'ready' : '';
    };
    await waitFor(`${sentinelCount} Sentinels to see ${replicaCount} replicas and each other`, ready, {
      intervalMs: 200,
    });
    const byPort = (port: number) => {
      const s = servers.find((x) => portOf(x) === port);
      if (!s) throw new Error(`the Sentinels name 127.0.0.1:${port}, which is not a server of this topology`);
      return s;
    };
    const primaryNow = async () =>
      byPort(
        Number(
          (
            (await askSentinel(sentinels[0]!, (c) =>
              c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name),
            )) as string[]
          )[1],
        ),
      );
    // Tests talk to the servers over their plain ports (the Sentinels and `url` use TLS with `tls`).
    const client = (server: TestServer) => {
      const c = new Redis({
        host: '127.0.0.1',
        port: server.port,
        ...(password !== undefined ? { password } : {}),
        maxRetriesPerRequest: 1,
      });
      // A failover closes the clients of the old primary: that is expected, not an error to print.
      c.on('error', () => {});
      return c;
    };
    /**
     * A failover ends once the old primary replicates from the new one (the Sentinels demote it
     * some 10 s after the promotion) and no Sentinel still runs it: another SENTINEL FAILOVER
     * before then is refused with INPROG.
     */
    const settled = async () => {
      const primary = await primaryNow();
      await waitFor(
        'the last failover to end (every node replicating from the primary)',
        async () => {
          const c = client(primary);
          try {
            const info = String(await c.info('replication'));
            if ((info.match(/state=online/g) ?? []).length !== replicaCount) return false;
          } catch {
            return false;
          } finally {
            c.disconnect();
          }
          const flags = await Promise.all(
            sentinels.map((s) =>
              askSentinel(s, (c) => c.call('SENTINEL', 'MASTER', name)).then(
                (m) => replyFields(m).flags ?? '',
                () => 'unreachable',
              ),
            ),
          );
          return flags.every((f) => f === 'master');
        },
        { intervalMs: 200 },
      );
    };
    const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
    const query =
      sentinelPassword === undefined ? '' : `?sentinelPassword=${encodeURIComponent(sentinelPassword)}`;
    return {
      name,
      servers,
      sentinels,
      url: `${certs ? 'valkeys' : 'valkey'}+sentinel://${auth}${sentinels.map((s) => `127.0.0.1:${s.tlsPort ?? s.port}`).join(',')}/${name}${query}`,
      tlsPorts,
      primary: primaryNow,
      settled,
      client,
      failover: async () => {
        await settled();
        const from = await primaryNow();
        const reply = await askSentinel(sentinels[0]!, (c) => c.call('SENTINEL', 'FAILOVER', name));
        if (String(reply) !== 'OK') throw new Error(`SENTINEL FAILOVER answered ${String(reply)}`);
        const to = await waitFor(
          `the Sentinels to name a primary other than 127.0.0.1:${portOf(from)}`,
          async () => {
            const states = await Promise.all(
              sentinels.map((s) =>
                askSentinel(s, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)).then(
                  (a) => Number((a as string[])[1]),
                  () => 0,
                ),
              ),
            );
            const port = states[0]!;
            if (port === portOf(from) || states.some((p) => p !== port)) return undefined;
            const candidate = byPort(port);
            const c = client(candidate);
            try {
              return /role:master/.test(String(await c.info('replication'))) ? candidate : undefined;
            } finally {
              c.disconnect();
            }
          },
          { intervalMs: 100 },
        );
        return { from, to };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
