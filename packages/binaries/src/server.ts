import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, join, resolve as resolvePath } from 'node:path';
import {
  mergeConfigs,
  type PresetName,
  preset,
  serializeConfig,
  type ValkeyConfigInput,
} from '@valkey-tools/config';
import { toCygwinPath, valkeyToolsHome, writeFileAtomic } from '@valkey-tools/core';
import { BinariesError } from './errors.js';
import { isPidAlive, processCommandLine, sleep } from './process-utils.js';
import { type BinaryName, type ResolveOptions, type ResolvedBinary, resolveBinary } from './resolve.js';
import { type Reply, ReplyError, sendCommand } from './command.js';

export interface StartServerOptions {
  /** `8`, `8.0`, `8.0.1`, `latest` (default: whatever the resolver finds first). */
  version?: string;
  /** `valkey` (default) or `redis` (Debian's redis-server, for migration tests). */
  flavor?: 'valkey' | 'redis';
  /** A valkey-server binary to use (skips resolution). */
  binary?: string;
  /** First port to try (default 6379); taken ports are skipped upward unless `strictPort`. */
  port?: number;
  /** How many ports to try upward (default 20). */
  portAttempts?: number;
  /** Fail instead of trying the next port. */
  strictPort?: boolean;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Base config from @valkey-tools/config (default `spindb-default`, run in the foreground). */
  preset?: PresetName;
  /** Directives merged over the preset (`{ maxmemory: '1gb' }`); `undefined` removes one. */
  config?: ValkeyConfigInput;
  /** Data dir (default `<home>/servers/<name>`). */
  dir?: string;
  /** Registry name (default `valkey-<port>`); must not belong to a live managed server. */
  name?: string;
  /** Cache root and registry location (default `VALKEY_TOOLS_HOME` or ~/.valkey-tools). */
  home?: string;
  /** Environment for VALKEY_TOOLS_* variables (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Resolution options (mirror, offline, providers...) when `binary` is not given. */
  resolve?: Omit<ResolveOptions, 'name' | 'version' | 'home'>;
  /** How long to wait for PING (default 20 s). */
  startTimeoutMs?: number;
  /** Called with the pid right after spawning (e.g. to register it for cleanup). */
  onSpawn?: (pid: number) => void;
  /** Delete `dir` when stopped (default false: your data stays). */
  removeDirOnStop?: boolean;
  /** Internal: also require port + 10000 (cluster bus) to be free. */
  clusterBus?: boolean;
  /** Internal: cluster name recorded in the registry. */
  cluster?: string;
}

/** What the on-disk registry records about a managed server. */
export interface ServerRecord {
  name: string;
  pid: number;
  host: string;
  port: number;
  url: string;
  dir: string;
  configFile: string;
  logFile: string;
  pidFile: string;
  binary: string;
  version: string;
  flavor: 'valkey' | 'redis';
  startedAt: string;
  cluster?: string;
  removeDirOnStop?: boolean;
}

/** Where the registry lives: `home`, else `VALKEY_TOOLS_HOME` from `env`, else ~/.valkey-tools. */
export interface RegistryOptions {
  home?: string;
  env?: NodeJS.ProcessEnv;
}

export interface StopOptions {
  /** SHUTDOWN SAVE instead of SHUTDOWN NOSAVE (default false). */
  save?: boolean;
  /** How long to wait after SHUTDOWN and after SIGTERM before escalating (default 5000 ms each). */
  timeoutMs?: number;
  /** With `save`, how long the save may take before giving up on a graceful stop (default 10 min). */
  saveTimeoutMs?: number;
}

export interface ServerHandle extends ServerRecord {
  /** The child process when this process started it. */
  process: ChildProcess | undefined;
  /** Sends one command; error replies come back as ReplyError values. */
  command(...args: Array<string | number | Buffer>): Promise<Reply>;
  /** SHUTDOWN (NOSAVE unless `save`), then SIGTERM, then SIGKILL; removes the registry entry. */
  stop(options?: StopOptions): Promise<void>;
}

export function registryDir(home = valkeyToolsHome()): string {
  return join(home, 'run');
}

function recordPath(home: string, name: string): string {
  return join(registryDir(home), `${name}.json`);
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name)) {
    throw new BinariesError('ERR_INVALID_OPTION', `Invalid server name "${name}"`, {
      details: { name },
      hint: 'Use letters, digits, ".", "_" and "-" (up to 100 characters)',
    });
  }
}

/** True when the record's pid is a live server (not a process that reused the pid). */
export function isRecordAlive(record: Pick<ServerRecord, 'pid' | 'port' | 'binary'>): boolean {
  if (!isPidAlive(record.pid)) return false;
  const cmdline = processCommandLine(record.pid);
  if (cmdline === undefined) return true;
  if (cmdline === '') return false; // zombie
  return cmdline.includes(`:${record.port}`) || cmdline.includes(basename(record.binary));
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function tail(file: string, bytes = 2000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes).trim();
  } catch {
    return '';
  }
}

async function waitForPing(
  port: number,
  host: string,
  child: ChildProcess,
  exited: () => boolean,
  timeoutMs: number,
): Promise<'ok' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) return 'exited';
    try {
      const reply = await sendCommand(port, ['PING'], { host, timeoutMs: 1000 });
      if (reply === 'PONG') {
        // Another server may own the port: make sure the one answering is ours.
        const info = await sendCommand(port, ['INFO', 'server'], { host, timeoutMs: 1000 });
        if (typeof info === 'string' && new RegExp(`process_id:${child.pid}\\b`).test(info)) return 'ok';
        if (exited()) return 'exited';
      }
    } catch {
      // not listening yet
    }
    await sleep(25);
  }
  return 'timeout';
}

async function waitForExit(
  pid: number,
  child: ChildProcess | undefined,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child ? child.exitCode !== null || child.signalCode !== null : !isPidAlive(pid)) return true;
    if (!child && processCommandLine(pid) === '') return true; // zombie: its parent will reap it
    await sleep(25);
  }
  return false;
}

/** Stops a server by pid: SHUTDOWN, then SIGTERM, then SIGKILL. */
async function stopProcess(
  record: ServerRecord,
  child: ChildProcess | undefined,
  options: StopOptions,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const gone = () => (child ? child.exitCode !== null || child.signalCode !== null : !isRecordAlive(record));
  if (gone()) return;
  // With SAVE the reply (or the close) comes only after the RDB is written: wait for it rather
  // than signal a server that is busy saving.
  const reply = await sendCommand(record.port, ['SHUTDOWN', options.save ? 'SAVE' : 'NOSAVE'], {
    host: record.host,
    timeoutMs: options.save ? (options.saveTimeoutMs ?? 600_000) : Math.min(timeoutMs, 10_000),
    allowClose: true,
  }).catch((err: unknown) => err);
  if (options.save && reply instanceof ReplyError) {
    throw new BinariesError('ERR_SERVER_STOP', `${record.name} refused SHUTDOWN SAVE: ${reply.message}`, {
      details: { name: record.name, pid: record.pid, port: record.port, reply: reply.message },
      hint: 'The server is still running and its data is not saved. Fix the cause (disk space, dir permissions) and stop it again, or stop without saving',
    });
  }
  if (await waitForExit(record.pid, child, timeoutMs)) return;
  try {
    process.kill(record.pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitForExit(record.pid, child, timeoutMs)) return;
  try {
    process.kill(record.pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(record.pid, child, 5000);
}

async function writeRecord(home: string, record: ServerRecord): Promise<void> {
  await mkdir(registryDir(home), { recursive: true });
  const file = recordPath(home, record.name);
  // 0600: the record holds the server's URL, which may carry its password.
  await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

async function readRecord(home: string, name: string): Promise<ServerRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordPath(home, name), 'utf8')) as ServerRecord;
  } catch {
    return undefined;
  }
}

function makeHandle(home: string, record: ServerRecord, child: ChildProcess | undefined): ServerHandle {
  let stopping: Promise<void> | undefined;
  return {
    ...record,
    process: child,
    command: (...args) => sendCommand(record.port, args, { host: record.host }),
    stop: (options = {}) => {
      stopping ??= (async () => {
        await stopProcess(record, child, options);
        const current = await readRecord(home, record.name);
        if (current?.pid === record.pid) await rm(recordPath(home, record.name), { force: true });
        if (record.removeDirOnStop) await rm(record.dir, { recursive: true, force: true });
      })().catch((err: unknown) => {
        stopping = undefined; // still running: a later stop() may try again
        throw err;
      });
      return stopping;
    },
  };
}

async function resolveServerBinary(
  options: StartServerOptions,
  home: string,
): Promise<ResolvedBinary | { path: string; version: string }> {
  const name: BinaryName = options.flavor === 'redis' ? 'redis-server' : 'valkey-server';
  return resolveBinary({
    ...options.resolve,
    ...(options.env ? { env: options.env } : {}),
    name,
    home,
    ...(options.binary ? { path: options.binary, providers: ['explicit'] as const } : {}),
    ...(options.version ? { version: options.version } : {}),
  });
}

/**
 * The config a managed server runs with: the preset, the caller's directives, then what we must
 * control (port, foreground, pid file, log to stdout). On Windows every path is handed to the
 * Cygwin-built server in `/cygdrive/...` form.
 */
export function buildServerConfig(options: {
  preset: PresetName;
  port: number;
  host: string;
  dir: string;
  pidFile: string;
  platform: 'win32' | 'posix';
  config?: ValkeyConfigInput;
}): ValkeyConfigInput {
  const windows = options.platform === 'win32';
  const serverPath = (p: string) => (windows ? toCygwinPath(p) : p);
  const base = preset(options.preset, {
    port: options.port,
    bind: options.host,
    dir: serverPath(options.dir),
    daemonize: false,
    pidfile: serverPath(options.pidFile),
    logfile: '',
    platform: windows ? 'win32' : 'linux',
  });
  // Logs go to stdout, which is the log file: early fatal errors land in the same place.
  const config = mergeConfigs(base, options.config, {
    port: options.port,
    pidfile: serverPath(options.pidFile),
    logfile: '',
    ...(windows ? {} : { daemonize: false }),
  });
  if (windows) delete config.daemonize; // not a Windows directive
  for (const key of ['dir', 'cluster-config-file', 'dbfilename', 'appenddirname', 'unixsocket'] as const) {
    const value = config[key];
    if (typeof value !== 'string' || value === '') continue;
    const absolute = /^([A-Za-z]:)?[/\\]/.test(value);
    // The nodes file lives in the node's dir: make it absolute so it never depends on the cwd.
    if (key === 'cluster-config-file' && !absolute) config[key] = serverPath(join(options.dir, value));
    else if (windows && absolute && key !== 'dbfilename' && key !== 'appenddirname')
      config[key] = toCygwinPath(value);
  }
  return config;
}

/**
 * Starts a managed valkey-server: resolves the binary, writes `valkey.conf` (with
 * @valkey-tools/config) into its dir, spawns it detached (it outlives this process), waits for
 * PING, and records it in the registry so `listServers`/`stopServer` work from any process.
 * A taken port is skipped upward (unless `strictPort`).
 */
export async function startServer(options: StartServerOptions = {}): Promise<ServerHandle> {
  const home = options.home ?? valkeyToolsHome(options.env);
  const host = options.host ?? '127.0.0.1';
  const firstPort = options.port ?? 6379;
  const attempts = options.strictPort ? 1 : (options.portAttempts ?? 20);
  if (!Number.isInteger(firstPort) || firstPort < 1 || firstPort > 65535) {
    throw new BinariesError('ERR_INVALID_OPTION', `Port ${firstPort} is out of range (1-65535)`, {
      details: { port: firstPort },
    });
  }
  if (options.name) {
    checkName(options.name);
    await cleanIfStale(home, options.name);
  }
  const binary = await resolveServerBinary(options, home);
  const windows = process.platform === 'win32';
  const tried: string[] = [];

  for (let port = firstPort; port < firstPort + attempts && port <= 65535; port++) {
    if (options.clusterBus && port + 10000 > 65535) break;
    const free =
      (await portFree(port, host)) && (!options.clusterBus || (await portFree(port + 10000, host)));
    if (!free) {
      tried.push(`${port} (in use)`);
      continue;
    }
    const name = options.name ?? `${options.flavor === 'redis' ? 'redis' : 'valkey'}-${port}`;
    checkName(name);
    const existing = await readRecord(home, name);
    if (existing && isRecordAlive(existing)) {
      if (options.name) {
        throw new BinariesError(
          'ERR_SERVER_EXISTS',
          `A managed server named "${name}" is already running (pid ${existing.pid}, port ${existing.port})`,
          {
            details: { name, pid: existing.pid, port: existing.port },
            hint: `Stop it first (stopServer("${name}") / valkey-tools stop ${name}) or pick another name`,
          },
        );
      }
      tried.push(`${port} (name ${name} taken)`);
      continue;
    }
    const dir = resolvePath(options.dir ?? join(home, 'servers', name));
    mkdirSync(dir, { recursive: true });
    const configFile = join(dir, 'valkey.conf');
    const logFile = join(dir, 'valkey.log');
    const pidFile = join(dir, 'valkey.pid');
    const owner = Number(readFileSafe(pidFile));
    const ownerCommand = owner > 0 && isPidAlive(owner) ? processCommandLine(owner) : '';
    // A live valkey/redis process (not an unrelated one that reused the pid) owns the dir.
    if (owner !== process.pid && (ownerCommand === undefined || /valkey|redis/i.test(ownerCommand))) {
      // Two servers in one dir would overwrite each other's dump.rdb / appendonly files.
      throw new BinariesError('ERR_SERVER_EXISTS', `${dir} is in use by a running server (pid ${owner})`, {
        details: { dir, pid: owner },
        hint: 'Stop that server first, or give this one another dir',
      });
    }
    const config = buildServerConfig({
      preset: options.preset ?? 'spindb-default',
      port,
      host,
      dir,
      pidFile,
      platform: windows ? 'win32' : 'posix',
      ...(options.config ? { config: options.config } : {}),
    });
    // 0600, never through a symlink: the config may hold requirepass and masterauth.
    await writeFileAtomic(
      configFile,
      serializeConfig(config, { header: `Written by @valkey-tools/binaries for managed server "${name}"` }),
      { mode: 0o600 },
    );
    const logFd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(binary.path, [windows ? toCygwinPath(configFile) : configFile], {
        cwd: dir,
        detached: true,
        windowsHide: true,
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      closeSync(logFd);
    }
    let exited = false;
    let spawnError: Error | undefined;
    child.once('exit', () => {
      exited = true;
    });
    child.once('error', (err) => {
      spawnError = err;
      exited = true;
    });
    child.unref();
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const state = await waitForPing(port, host, child, () => exited, options.startTimeoutMs ?? 20_000);
    if (state === 'ok') {
      const record: ServerRecord = {
        name,
        pid: child.pid!,
        host,
        port,
        url: `redis://${host.includes(':') ? `[${host}]` : host}:${port}/0`,
        dir,
        configFile,
        logFile,
        pidFile,
        binary: binary.path,
        version: binary.version,
        flavor: options.flavor ?? 'valkey',
        startedAt: new Date().toISOString(),
        ...(options.cluster ? { cluster: options.cluster } : {}),
        ...(options.removeDirOnStop ? { removeDirOnStop: true } : {}),
      };
      await writeRecord(home, record);
      return makeHandle(home, record, child);
    }
    if (!exited) child.kill('SIGKILL');
    const log = tail(logFile);
    if (state === 'exited' && /Address already in use|bind: /i.test(log) && !options.strictPort) {
      tried.push(`${port} (taken while starting)`);
      continue;
    }
    if (options.removeDirOnStop) await rm(dir, { recursive: true, force: true });
    throw new BinariesError(
      'ERR_SERVER_START',
      state === 'timeout'
        ? `${binary.path} did not answer PING on ${host}:${port} within ${options.startTimeoutMs ?? 20_000} ms`
        : `${binary.path} exited while starting on ${host}:${port}${spawnError ? `: ${spawnError.message}` : ''}`,
      {
        cause: spawnError,
        details: { binary: binary.path, port, configFile, logFile, log },
        hint: log ? `Its log (${logFile}) ends with:\n${log}` : `See ${logFile} and ${configFile}`,
      },
    );
  }
  throw new BinariesError(
    'ERR_PORT_UNAVAILABLE',
    `No free port from ${firstPort} (tried ${tried.join(', ') || 'none'})`,
    {
      details: { host, firstPort, tried },
      hint: options.strictPort
        ? 'Pick another port, or drop strictPort to try the next ones'
        : 'Pick another port range with { port }',
    },
  );
}

async function cleanIfStale(home: string, name: string): Promise<void> {
  const record = await readRecord(home, name);
  if (record && !isRecordAlive(record)) await rm(recordPath(home, name), { force: true });
}

/** Managed servers that are running (entries whose process is gone are removed). */
export async function listServers(options: RegistryOptions = {}): Promise<ServerRecord[]> {
  const home = options.home ?? valkeyToolsHome(options.env);
  const names = await readdir(registryDir(home)).catch(() => [] as string[]);
  const out: ServerRecord[] = [];
  for (const file of names.sort()) {
    if (!file.endsWith('.json')) continue;
    const name = file.slice(0, -'.json'.length);
    const record = await readRecord(home, name);
    if (!record) continue;
    if (isRecordAlive(record)) out.push(record);
    else await rm(recordPath(home, name), { force: true });
  }
  return out;
}

/** A handle for a managed server started by any process (undefined when not running). */
export async function getServer(
  name: string,
  options: RegistryOptions = {},
): Promise<ServerHandle | undefined> {
  const home = options.home ?? valkeyToolsHome(options.env);
  const record = await readRecord(home, name);
  if (!record) return undefined;
  if (!isRecordAlive(record)) {
    await rm(recordPath(home, name), { force: true });
    return undefined;
  }
  return makeHandle(home, record, undefined);
}

/** Stops a managed server by name, from any process. Throws ERR_SERVER_NOT_FOUND when none runs. */
export async function stopServer(
  name: string,
  options: StopOptions & RegistryOptions = {},
): Promise<ServerRecord> {
  const home = options.home ?? valkeyToolsHome(options.env);
  const handle = await getServer(name, { home });
  if (!handle) {
    const running = (await listServers({ home })).map((s) => s.name);
    throw new BinariesError('ERR_SERVER_NOT_FOUND', `No running managed server named "${name}"`, {
      details: { name, running },
      hint: running.length ? `Running: ${running.join(', ')}` : 'No managed servers are running',
    });
  }
  await handle.stop(options);
  const { process: _p, command: _c, stop: _s, ...record } = handle;
  return record;
}
