import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { killProcess, registerPid, stopChild, unregisterPid, waitForExit } from './processes.js';
import { parseReply, type RespArg, rawCommand } from './resp.js';
import { waitFor } from './wait.js';

import type { ServerFlavor } from '@valkey-tools/core';

export type { ServerFlavor };

/**
 * `cluster-node-timeout` of test clusters: 15 s, so a node that misses pings for a while on a loaded
 * machine is never taken for failed (no test waits for a failover; it only slows the first
 * `cluster_state:ok` by up to 5 s, the server's cap on its rejoin delay).
 */
export const TEST_CLUSTER_NODE_TIMEOUT_MS = 15_000;

export interface StartTestServerOptions {
  flavor?: ServerFlavor;
  /** Extra `--name value` arguments (e.g. `{ 'maxmemory-policy': 'allkeys-lfu' }`). Arrays repeat. */
  config?: Record<string, string | number | string[]>;
  /** Start in cluster mode (`cluster-enabled yes`). */
  cluster?: boolean;
  /** Path to a config file passed first on the command line. */
  configFile?: string;
  port?: number;
  /** Keep the data dir after stop (default: removed). */
  keepDir?: boolean;
  /** Bounds a server that never answers (default: a minute). */
  startTimeoutMs?: number;
}

export interface TestServer {
  flavor: ServerFlavor;
  host: string;
  port: number;
  url: string;
  dir: string;
  pid: number;
  process: ChildProcess;
  /** Sends a raw command over a fresh connection and returns the raw RESP reply as text. */
  command(...args: RespArg[]): Promise<string>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function serverBinary(flavor: ServerFlavor): string {
  const name = flavor === 'valkey' ? 'valkey-server' : 'redis-server';
  const fromEnv =
    flavor === 'valkey' ? process.env.VALKEY_TOOLS_SYSTEM_BINARY : process.env.REDIS_SERVER_BINARY;
  if (fromEnv) return fromEnv;
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      `${name} was not found on PATH. Integration tests need a real server: run \`npm run setup\` (installs it from Debian's packages).`,
    );
  }
}

export interface SpawnedServer {
  child: ChildProcess;
  /** The server's pid: the child's, or the daemon's when the server daemonized. */
  pid: number;
  /** The end of what the server printed. */
  output(): string;
}

/**
 * Spawns a server and waits until it answers PING (or -MASTERDOWN: a replica that serves no stale
 * data is up) on `port` as itself: INFO's process_id is the child's (another test's server may hold
 * the port; ours then exits with "Address already in use"), or, when the child exited 0 after
 * daemonizing, the server that reads `configFile`. Every pid is registered for the teardown.
 */
export async function spawnServer(
  binary: string,
  args: string[],
  options: { port: number; cwd?: string; timeoutMs?: number; configFile?: string; describe: () => string },
): Promise<SpawnedServer> {
  const child = spawn(binary, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer) => {
    if (output.length < 20000) output += d.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  live.add(child);
  if (child.pid) registerPid(child.pid);
  const tail = () => `${output.slice(-2000)}${options.describe()}`;
  const forget = () => {
    live.delete(child);
    if (child.pid) unregisterPid(child.pid);
  };
  try {
    const pid = await waitFor(
      `${binary} to answer PING on port ${options.port}`,
      async () => {
        if ((child.exitCode !== null && child.exitCode !== 0) || child.signalCode !== null)
          throw new Error(`${binary} exited with ${child.exitCode ?? child.signalCode}: ${tail()}`);
        try {
          const reply = await rawCommand(options.port, ['PING'], '127.0.0.1', 1000);
          if (!reply.startsWith('+PONG') && !reply.startsWith('-MASTERDOWN')) return 0; // -LOADING
          const info = String(
            parseReply(await rawCommand(options.port, ['INFO', 'server'], '127.0.0.1', 1000)),
          );
          const serverPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
          if (serverPid === child.pid) return serverPid;
          const daemonized =
            child.exitCode === 0 &&
            options.configFile !== undefined &&
            info.includes(`config_file:${options.configFile}\r\n`);
          return daemonized ? serverPid : 0;
        } catch {
          return 0; // not listening yet
        }
      },
      { ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}), detail: tail },
    );
    if (pid !== child.pid) {
      registerPid(pid);
      forget();
    }
    return { child, pid, output: () => output };
  } catch (err) {
    child.kill('SIGKILL');
    forget();
    throw err;
  }
}

function toArgs(config: Record<string, string | number | string[]>): string[] {
  const args: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    const values = Array.isArray(value) ? value : [String(value)];
    for (const v of values) args.push(`--${key}`, ...String(v).split(' '));
  }
  return args;
}

/**
 * Starts a real valkey-server (or redis-server) on a free loopback port in a temp dir, waits for
 * PING, and returns a handle. Always call `stop()` (use `afterAll`); a global teardown kills leftovers.
 */
export async function startTestServer(options: StartTestServerOptions = {}): Promise<TestServer> {
  const flavor = options.flavor ?? 'valkey';
  const bin = serverBinary(flavor);
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), `vt-${flavor}-${port}-`));
    const base: Record<string, string | number | string[]> = {
      port,
      bind: '127.0.0.1',
      dir,
      daemonize: 'no',
      save: '',
      appendonly: 'no',
      logfile: '',
      'enable-debug-command': 'local',
    };
    if (options.cluster) {
      base['cluster-enabled'] = 'yes';
      base['cluster-config-file'] = join(dir, 'nodes.conf');
      base['cluster-node-timeout'] = TEST_CLUSTER_NODE_TIMEOUT_MS;
    }
    const cfg = { ...base, ...options.config };
    const args = [...(options.configFile ? [options.configFile] : []), ...toArgs(cfg)];
    let spawned: SpawnedServer;
    try {
      spawned = await spawnServer(bin, args, {
        port,
        ...(options.startTimeoutMs ? { timeoutMs: options.startTimeoutMs } : {}),
        describe: () => '',
      });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      lastError = err;
      // Something outside the tests took the port: try another.
      if (options.port !== undefined || !/Address already in use/.test(String(err))) throw err;
      continue;
    }
    const { child } = spawned;
    return {
      flavor,
      host: '127.0.0.1',
      port,
      url: `redis://127.0.0.1:${port}/0`,
      dir,
      pid: spawned.pid,
      process: child,
      command: (...cmd) => rawCommand(port, cmd),
      stop: async () => {
        await stopChild(child);
        live.delete(child);
        unregisterPid(spawned.pid);
        if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw lastError;
}

/** The servers a test file starts as it goes, stopped together (call `stop()` in afterAll). */
export function serverGroup(): {
  servers: TestServer[];
  start(options?: StartTestServerOptions): Promise<TestServer>;
  stop(): Promise<void>;
} {
  const servers: TestServer[] = [];
  return {
    servers,
    async start(options = {}) {
      const server = await startTestServer(options);
      servers.push(server);
      return server;
    },
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

/**
 * Starts `count` plain servers at once (startup in parallel keeps suites quick on a busy
 * machine); `take()` hands them out one by one; `stop()` stops them all.
 */
export async function serverPool(count: number, config: Record<string, string | number> = {}) {
  const servers = await Promise.all(Array.from({ length: count }, () => startTestServer({ config })));
  let next = 0;
  return {
    servers,
    take(): TestServer {
      const s = servers[next++];
      if (!s) throw new Error(`the server pool of ${count} is used up: raise its size`);
      return s;
    },
    stop: () => Promise.all(servers.map((s) => s.stop())),
  };
}

/** Makes a running server load an RDB file the way it loads at startup (`DEBUG RELOAD NOSAVE`). */
export async function loadRdb(server: TestServer, rdbPath: string): Promise<void> {
  copyFileSync(rdbPath, join(server.dir, 'dump.rdb'));
  const reply = await server.command('DEBUG', 'RELOAD', 'NOSAVE');
  if (!reply.startsWith('+OK')) throw new Error(`DEBUG RELOAD failed: ${reply}`);
}

/** Rewrites a server's AOF (BGREWRITEAOF) and waits until the rewrite has finished. */
export async function rewriteAof(server: { port: number; host?: string }): Promise<void> {
  const host = server.host ?? '127.0.0.1';
  const started = await rawCommand(server.port, ['BGREWRITEAOF'], host);
  if (!started.startsWith('+')) throw new Error(`BGREWRITEAOF failed: ${started.trim()}`);
  await waitFor(`the AOF rewrite of ${host}:${server.port} to finish`, async () => {
    const info = await rawCommand(server.port, ['INFO', 'persistence'], host);
    return /aof_rewrite_in_progress:0\r\n/.test(info) && /aof_rewrite_scheduled:0\r\n/.test(info);
  });
}

export interface ConfigFileServer {
  port: number;
  dir: string;
  pid: number;
  /** CONFIG GET <name> as raw bytes (latin1 string, one char per byte). */
  configGet(name: string): Promise<Map<string, string>>;
  command(...args: RespArg[]): Promise<string>;
  /** Kills the server (SIGKILL: nothing of it is kept) and waits until it is gone. */
  stop(): Promise<void>;
}

/**
 * Starts valkey-server with exactly `text` as its config file (`<dir>/valkey.conf`, nothing else
 * on the command line, so the file is the judge). `port` is the port it answers on (the file's
 * port, or its tls-port for a TLS-only file); a file that daemonizes is followed to its daemon.
 */
export async function startWithConfigFile(
  text: string,
  options: { dir: string; port: number; timeoutMs?: number },
): Promise<ConfigFileServer> {
  const file = join(options.dir, 'valkey.conf');
  writeFileSync(file, text);
  const { port } = options;
  const { child, pid } = await spawnServer(serverBinary('valkey'), [file], {
    port,
    cwd: options.dir,
    configFile: file,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    describe: () => `\n--- config ---\n${text}`,
  });
  const configGet = async (name: string) => {
    const reply = parseReply(await rawCommand(port, ['CONFIG', 'GET', name]));
    if (reply instanceof Error) throw reply;
    const list = reply as string[];
    const map = new Map<string, string>();
    for (let i = 0; i < list.length; i += 2) map.set(list[i]!, list[i + 1]!);
    return map;
  };
  return {
    port,
    dir: options.dir,
    pid,
    configGet,
    command: (...args) => rawCommand(port, args),
    stop: async () => {
      if (pid === child.pid) await stopChild(child, { signal: 'SIGKILL' });
      else {
        killProcess(pid);
        await waitForExit(pid, `the daemonized valkey-server ${pid}`);
      }
      live.delete(child);
      unregisterPid(pid);
    },
  };
}
