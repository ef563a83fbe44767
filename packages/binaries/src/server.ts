import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, join, resolve as resolvePath } from 'node:path';
import {
  mergeConfigs,
  type PresetName,
  preset,
  serializeConfig,
  type ValkeyConfigInput,
} from '@valkey-tools/config';
import { toCygwinPath, valkeyToolsHome, writeFileAtomic, writeFileAtomicSync } from '@valkey-tools/core';
import { BinariesError } from './errors.js';
import { isPidAlive, processCommandLine, sleep } from './process-utils.js';
import { type BinaryName, type ResolveOptions, type ResolvedBinary, resolveBinary } from './resolve.js';
import { type Reply, ReplyError, sendCommand } from './command.js';
import { unwatchServer, watchServer } from './watchdog.js';

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
  /** Data dir (default: the config's `dir` directive, else `<home>/servers/<name>`). */
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
  /**
   * Password the server asks for: readiness checks, `command()` and `stop()` authenticate with it.
   * Default: the `requirepass` directive of the config, if any.
   */
  password?: string;
  /** ACL user to authenticate as (with `password`; default: the `default` user). */
  user?: string;
  /**
   * Keep the server running after this process exits (default false: like mongodb-memory-server,
   * a watchdog ends the server when its owner exits, crashes or is killed, so nothing is left
   * behind). The CLI's `start` is detached.
   */
  detached?: boolean;
  /** Aborting stops the start: the server is killed and its registry entry removed. */
  signal?: AbortSignal;
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
  /** `starting` until the server answered; recorded before waiting, so a killed starter leaves no unknown server. */
  state?: 'starting' | 'running';
  /** The process that is starting it (while `starting`). */
  starterPid?: number;
  /** The server needs AUTH (its credentials are kept in the registry file, mode 0600, never listed). */
  auth?: boolean;
  /** ACL user the tools authenticate as (when not the default user). */
  user?: string;
  /** True when the server outlives the process that started it. */
  detached?: boolean;
}

interface Credentials {
  password: string;
  user?: string;
}

/** What the registry file holds: the record plus the credentials, which are never handed out. */
type StoredRecord = ServerRecord & { credentials?: Credentials };

/** Where the registry lives: `home`, else `VALKEY_TOOLS_HOME` from `env`, else ~/.valkey-tools. */
export interface RegistryOptions {
  home?: string;
  env?: NodeJS.ProcessEnv;
}

export interface StopOptions {
  /**
   * SHUTDOWN SAVE: save an RDB snapshot even when the config has no save points. By default a
   * plain SHUTDOWN stops the server as its config says (save points: it saves; appendonly: it
   * flushes the AOF).
   */
  save?: boolean;
  /** SHUTDOWN NOSAVE: discard what was written since the last save. */
  nosave?: boolean;
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
  /** SHUTDOWN (as the config says; SAVE / NOSAVE when asked), then SIGTERM, then SIGKILL; removes the registry entry. */
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
export function isRecordAlive(
  record: Pick<ServerRecord, 'pid' | 'port' | 'binary'> & { pidFile?: string },
): boolean {
  const pid = livePid(record);
  return pid !== undefined;
}

/** The record's live pid; a record written before its server was spawned uses the pid file. */
function livePid(
  record: Pick<ServerRecord, 'pid' | 'port' | 'binary'> & { pidFile?: string },
): number | undefined {
  const pid = record.pid > 0 ? record.pid : record.pidFile ? Number(readFileSafe(record.pidFile)) : 0;
  if (!isPidAlive(pid)) return undefined;
  const cmdline = processCommandLine(pid);
  if (cmdline === undefined) return pid;
  if (cmdline === '') return undefined; // zombie
  return cmdline.includes(`:${record.port}`) || cmdline.includes(basename(record.binary)) ? pid : undefined;
}

/** A `starting` record whose starter still runs is kept even before its server has a pid. */
function startingAndOwned(record: ServerRecord): boolean {
  return (
    record.state === 'starting' &&
    record.starterPid !== undefined &&
    record.starterPid !== process.pid &&
    isPidAlive(record.starterPid)
  );
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
  credentials?: Credentials,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  if (options.save && options.nosave) {
    throw new BinariesError('ERR_INVALID_OPTION', 'save and nosave exclude each other', {
      details: { name: record.name },
    });
  }
  const gone = () => (child ? child.exitCode !== null || child.signalCode !== null : !isRecordAlive(record));
  if (gone()) return;
  const args = ['SHUTDOWN', ...(options.save ? ['SAVE'] : options.nosave ? ['NOSAVE'] : [])];
  // Unless NOSAVE, the reply (or the close) comes only after the server saved what its config (or
  // SAVE) asks for: wait for it rather than signal a server that is busy saving.
  const reply = await sendCommand(record.port, args, {
    host: record.host,
    timeoutMs: options.nosave ? Math.min(timeoutMs, 10_000) : (options.saveTimeoutMs ?? 600_000),
    allowClose: true,
    ...(credentials ? credentials : {}),
  }).catch((err: unknown) => err);
  // A refused SAVE, or a plain SHUTDOWN refused because saving failed, leaves the data unsaved:
  // say so rather than signal. A server we cannot ask (no credentials, SHUTDOWN renamed) gets
  // SIGTERM, on which it stops as its config says, as a plain SHUTDOWN would.
  const cannotAsk =
    reply instanceof ReplyError && /NOAUTH|WRONGPASS|NOPERM|unknown command/i.test(reply.message);
  if (reply instanceof ReplyError && !options.nosave && (options.save || !cannotAsk)) {
    throw new BinariesError('ERR_SERVER_STOP', `${record.name} refused ${args.join(' ')}: ${reply.message}`, {
      details: { name: record.name, pid: record.pid, port: record.port, reply: reply.message },
      hint: 'The server is still running and its data is not saved. Fix the cause (disk space, dir permissions) and stop it again, or stop without saving (--nosave)',
    });
  }
  // Refused for want of credentials: SIGTERM, on which the server stops as its config says.
  if (!(reply instanceof ReplyError) && (await waitForExit(record.pid, child, timeoutMs))) return;
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

/**
 * Writes a registry entry synchronously (between spawning a server and recording it nothing
 * may be awaited: a starter killed there would leave a server nobody knows). Mode 0600: it may
 * hold the server's password.
 */
function writeRecordSync(home: string, record: StoredRecord): void {
  mkdirSync(registryDir(home), { recursive: true });
  const file = recordPath(home, record.name);
  writeFileAtomicSync(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

async function readStored(home: string, name: string): Promise<StoredRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordPath(home, name), 'utf8')) as StoredRecord;
  } catch {
    return undefined;
  }
}

function publicRecord(stored: StoredRecord): ServerRecord {
  const { credentials: _secret, ...record } = stored;
  return record;
}

async function readRecord(home: string, name: string): Promise<ServerRecord | undefined> {
  const stored = await readStored(home, name);
  return stored && publicRecord(stored);
}

function makeHandle(
  home: string,
  record: ServerRecord,
  child: ChildProcess | undefined,
  credentials: Credentials | undefined,
): ServerHandle {
  let stopping: Promise<void> | undefined;
  return {
    ...record,
    process: child,
    command: (...args) => sendCommand(record.port, args, { host: record.host, ...credentials }),
    stop: (options = {}) => {
      stopping ??= (async () => {
        // A dir deleted on stop holds nothing worth saving first.
        const mode = record.removeDirOnStop && !options.save ? { ...options, nosave: true } : options;
        await stopProcess(record, child, mode, credentials);
        unwatchServer(record.pid);
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

/** The credentials a server needs: explicit ones, else its `requirepass`. */
function credentialsFor(options: StartServerOptions): Credentials | undefined {
  const fromConfig = options.config?.requirepass;
  const password =
    options.password ?? (typeof fromConfig === 'string' && fromConfig !== '' ? fromConfig : undefined);
  if (options.user !== undefined && password === undefined) {
    throw new BinariesError('ERR_INVALID_OPTION', `user "${options.user}" needs a password`, {
      details: { user: options.user },
      hint: 'Pass { user, password } (the password of that ACL user)',
    });
  }
  if (password === undefined) return undefined;
  return options.user === undefined ? { password } : { password, user: options.user };
}

type Readiness =
  | { state: 'ok' }
  | { state: 'exited' }
  | { state: 'aborted' }
  | { state: 'refused'; reply: string }
  | { state: 'timeout'; last: string };

const READY_LINE = /Ready to accept connections/;

/** What the server logged since `offset` (this start's part of an appended log). */
function logSince(file: string, offset: number): string {
  try {
    return readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * Waits until the server answers PING as ours (INFO's process_id). With credentials it
 * authenticates first; a refused AUTH (WRONGPASS) is final. Without credentials a NOAUTH reply
 * means the server is up but asks for a password: it counts as ready once our child's log (this
 * start's part) says "Ready to accept connections", as we cannot ask it who it is.
 */
async function waitForPing(
  port: number,
  host: string,
  child: ChildProcess,
  exited: () => boolean,
  timeoutMs: number,
  credentials: Credentials | undefined,
  log: { file: string; offset: number },
  signal: AbortSignal | undefined,
): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (signal?.aborted) return { state: 'aborted' };
    if (exited()) return { state: 'exited' };
    try {
      const reply = await sendCommand(port, ['PING'], { host, timeoutMs: 1000, ...credentials });
      if (reply === 'PONG') {
        // Another server may own the port: make sure the one answering is ours.
        const info = await sendCommand(port, ['INFO', 'server'], { host, timeoutMs: 1000, ...credentials });
        if (typeof info === 'string' && new RegExp(`process_id:${child.pid}\\b`).test(info))
          return { state: 'ok' };
        if (exited()) return { state: 'exited' };
        last = 'PONG from another process';
      } else if (reply instanceof ReplyError) {
        last = reply.message;
        if (/^(WRONGPASS|NOPERM)/.test(reply.message) && credentials) {
          return { state: 'refused', reply: reply.message };
        }
        if (
          /^NOAUTH/.test(reply.message) &&
          !credentials &&
          READY_LINE.test(logSince(log.file, log.offset))
        ) {
          return { state: 'ok' };
        }
      }
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(25);
  }
  return { state: 'timeout', last };
}

/**
 * Starts a managed valkey-server: resolves the binary, writes `valkey.conf` (with
 * @valkey-tools/config) into its dir, spawns it, records it in the registry (before waiting, so a
 * starter killed while waiting leaves a server that `listServers`/`stopServer` know), then waits
 * for PING (authenticated when the server asks for a password). Unless `detached`, a watchdog
 * ends the server when this process exits. A taken port is skipped upward (unless `strictPort`).
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
  const credentials = credentialsFor(options);
  if (options.name) {
    checkName(options.name);
    await cleanIfStale(home, options.name);
  }
  const binary = await resolveServerBinary(options, home);
  const windows = process.platform === 'win32';
  const tried: string[] = [];
  // The config's own `dir` is where the server keeps its data: report and guard that one.
  const configDir = options.config?.dir;
  const { dir: _dir, ...callerConfig } = options.config ?? {};
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;

  for (let port = firstPort; port < firstPort + attempts && port <= 65535; port++) {
    if (options.signal?.aborted) throw abortError(options.signal);
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
    if (existing && (isRecordAlive(existing) || startingAndOwned(existing))) {
      if (options.name) {
        throw new BinariesError(
          'ERR_SERVER_EXISTS',
          `A managed server named "${name}" is already running (pid ${existing.pid || 'starting'}, port ${existing.port})`,
          {
            details: { name, pid: existing.pid, port: existing.port },
            hint: `Stop it first (stopServer("${name}") / valkey-tools stop ${name}) or pick another name`,
          },
        );
      }
      tried.push(`${port} (name ${name} taken)`);
      continue;
    }
    const dir = resolvePath(
      options.dir ??
        (typeof configDir === 'string' && configDir !== '' ? configDir : join(home, 'servers', name)),
    );
    mkdirSync(dir, { recursive: true });
    const configFile = join(dir, 'valkey.conf');
    const logFile = join(dir, 'valkey.log');
    const pidFile = join(dir, 'valkey.pid');
    const owner = Number(readFileSafe(pidFile));
    const ownerCommand = owner > 0 && isPidAlive(owner) ? processCommandLine(owner) : '';
    // A live valkey/redis process (not an unrelated one that reused the pid) owns the dir.
    if (owner !== process.pid && (ownerCommand === undefined || /valkey|redis/i.test(ownerCommand))) {
      // Two servers in one dir would overwrite each other's dump.rdb / appendonly files.
      const holder = (await listServers({ home })).find((s) => s.dir === dir);
      throw new BinariesError(
        'ERR_SERVER_EXISTS',
        `${dir} is in use by a running server (pid ${owner}${holder ? `, managed server "${holder.name}"` : ''})`,
        {
          details: { dir, pid: owner, ...(holder ? { server: holder.name } : {}) },
          hint: holder
            ? `Stop it first (valkey-tools stop ${holder.name}), or give this one another dir`
            : 'Stop that server first, or give this one another dir',
        },
      );
    }
    const config = buildServerConfig({
      preset: options.preset ?? 'spindb-default',
      port,
      host,
      dir,
      pidFile,
      platform: windows ? 'win32' : 'posix',
      config: callerConfig,
    });
    // 0600, never through a symlink: the config may hold requirepass and masterauth.
    await writeFileAtomic(
      configFile,
      serializeConfig(config, { header: `Written by @valkey-tools/binaries for managed server "${name}"` }),
      { mode: 0o600 },
    );
    const record: StoredRecord = {
      name,
      pid: 0,
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
      state: 'starting',
      starterPid: process.pid,
      ...(options.cluster ? { cluster: options.cluster } : {}),
      ...(options.removeDirOnStop ? { removeDirOnStop: true } : {}),
      ...(credentials ? { auth: true, credentials } : {}),
      ...(credentials?.user ? { user: credentials.user } : {}),
      ...(options.detached ? { detached: true } : {}),
    };
    rmSync(pidFile, { force: true });
    // Recorded before it exists (found through its pid file if we die right after spawning it).
    writeRecordSync(home, record);
    const logOffset = fileSize(logFile);
    const logFd = openSync(logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(binary.path, [windows ? toCygwinPath(configFile) : configFile], {
        cwd: dir,
        detached: true,
        windowsHide: true,
        stdio: ['ignore', logFd, logFd],
      });
    } catch (err) {
      rmSync(recordPath(home, name), { force: true });
      throw err;
    } finally {
      closeSync(logFd);
    }
    if (child.pid !== undefined) {
      // Nothing is awaited between the spawn and these: the server is known before we wait on it.
      record.pid = child.pid;
      if (!options.detached) {
        watchServer({
          pid: child.pid,
          recordFile: recordPath(home, name),
          ...(options.removeDirOnStop ? { removeDir: dir } : {}),
        });
      }
      writeRecordSync(home, record);
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
    const ready = await waitForPing(
      port,
      host,
      child,
      () => exited,
      startTimeoutMs,
      credentials,
      { file: logFile, offset: logOffset },
      options.signal,
    );
    if (ready.state === 'ok') {
      record.state = 'running';
      delete record.starterPid;
      writeRecordSync(home, record);
      return makeHandle(home, publicRecord(record), child, credentials);
    }
    if (!exited) child.kill('SIGKILL');
    if (child.pid !== undefined) {
      await waitForExit(child.pid, child, 5000);
      unwatchServer(child.pid);
    }
    rmSync(recordPath(home, name), { force: true });
    const log = tail(logFile);
    const ourLog = logSince(logFile, logOffset);
    if (ready.state === 'aborted') {
      if (options.removeDirOnStop) await rm(dir, { recursive: true, force: true });
      throw abortError(options.signal!);
    }
    if (ready.state === 'exited' && /Address already in use|bind: /i.test(log) && !options.strictPort) {
      tried.push(`${port} (taken while starting)`);
      continue;
    }
    if (options.removeDirOnStop) await rm(dir, { recursive: true, force: true });
    const said = READY_LINE.test(ourLog) ? ' (its log says "Ready to accept connections")' : '';
    const who = credentials?.user ? `user "${credentials.user}"` : 'the password';
    throw new BinariesError(
      'ERR_SERVER_START',
      ready.state === 'timeout'
        ? `${binary.path} did not answer PING on ${host}:${port} within ${startTimeoutMs} ms${said}; last reply: ${ready.last}`
        : ready.state === 'refused'
          ? `${binary.path} is up on ${host}:${port} but refused ${who}: ${ready.reply}`
          : `${binary.path} exited while starting on ${host}:${port}${spawnError ? `: ${spawnError.message}` : ''}`,
      {
        cause: spawnError,
        details: { binary: binary.path, port, configFile, logFile, log },
        hint:
          ready.state === 'refused'
            ? 'Pass the password (and user) the config sets: requirepass, or the ACL user directive'
            : log
              ? `Its log (${logFile}) ends with:\n${log}`
              : `See ${logFile} and ${configFile}`,
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

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error
    ? reason
    : new BinariesError('ERR_SERVER_START', 'The start was aborted; the server was stopped');
}

async function cleanIfStale(home: string, name: string): Promise<void> {
  const record = await readRecord(home, name);
  if (record && !isRecordAlive(record) && !startingAndOwned(record))
    await rm(recordPath(home, name), { force: true });
}

/** The record with its live pid (a record written before the spawn finds it in the pid file). */
function withLivePid<T extends ServerRecord>(record: T): T | undefined {
  const pid = livePid(record);
  return pid === undefined ? undefined : { ...record, pid };
}

/**
 * Managed servers that are running, including those still starting (`state: 'starting'`); entries
 * whose process is gone are removed.
 */
export async function listServers(options: RegistryOptions = {}): Promise<ServerRecord[]> {
  const home = options.home ?? valkeyToolsHome(options.env);
  const names = await readdir(registryDir(home)).catch(() => [] as string[]);
  const out: ServerRecord[] = [];
  for (const file of names.sort()) {
    if (!file.endsWith('.json')) continue;
    const name = file.slice(0, -'.json'.length);
    const record = await readRecord(home, name);
    if (!record) continue;
    const live = withLivePid(record);
    if (live) out.push(live);
    else if (!startingAndOwned(record)) await rm(recordPath(home, name), { force: true });
  }
  return out;
}

/** A handle for a managed server started by any process (undefined when not running). */
export async function getServer(
  name: string,
  options: RegistryOptions = {},
): Promise<ServerHandle | undefined> {
  const home = options.home ?? valkeyToolsHome(options.env);
  const stored = await readStored(home, name);
  if (!stored) return undefined;
  const live = withLivePid(stored);
  if (!live) {
    if (!startingAndOwned(stored)) await rm(recordPath(home, name), { force: true });
    return undefined;
  }
  return makeHandle(home, publicRecord(live), undefined, live.credentials);
}

/**
 * The credentials a managed server was started with (its registry entry keeps them, mode 0600),
 * for tools that open their own connection (`valkey-tools connect`). Undefined when it needs none.
 */
export async function serverCredentials(
  name: string,
  options: RegistryOptions = {},
): Promise<{ password: string; user?: string } | undefined> {
  const home = options.home ?? valkeyToolsHome(options.env);
  return (await readStored(home, name))?.credentials;
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
