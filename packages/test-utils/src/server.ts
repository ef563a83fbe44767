import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerPid, unregisterPid } from './registry.js';

export type ServerFlavor = 'valkey' | 'redis';

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
  command(...args: Array<string | Buffer>): Promise<string>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Reserves a free loopback port (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

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

function encodeCommand(args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** One command over a fresh TCP connection; resolves with the first complete-looking reply. */
export function rawCommand(
  port: number,
  args: Array<string | Buffer>,
  host = '127.0.0.1',
  timeoutMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timeout waiting for reply from ${host}:${port}`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(encodeCommand(args)));
    sock.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (isCompleteReply(data)) {
        clearTimeout(timer);
        sock.end();
        resolve(data);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function isCompleteReply(s: string): boolean {
  let pos = 0;
  const read = (): boolean => {
    const eol = s.indexOf('\r\n', pos);
    if (eol === -1) return false;
    const type = s[pos];
    const head = s.slice(pos + 1, eol);
    pos = eol + 2;
    if (type === '$') {
      const n = Number(head);
      if (n < 0) return true;
      if (s.length < pos + n + 2) return false;
      pos += n + 2;
      return true;
    }
    if (type === '*') {
      const n = Number(head);
      for (let i = 0; i < n; i++) if (!read()) return false;
      return true;
    }
    return true;
  };
  return read();
}

async function waitForPing(
  port: number,
  child: ChildProcess,
  timeoutMs: number,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode}: ${log()}`);
    try {
      const reply = await rawCommand(port, ['PING'], '127.0.0.1', 1000);
      if (reply.startsWith('+PONG')) {
        // Another test's server may have taken the port between freePort() and our bind:
        // only our own process counts (ours then exits with "Address already in use" and we retry).
        const info = await rawCommand(port, ['INFO', 'server'], '127.0.0.1', 1000);
        if (Number(/process_id:(\d+)/.exec(info)?.[1]) === child.pid) return;
      } else if (reply.startsWith('-LOADING')) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`server on port ${port} did not answer PING within ${timeoutMs} ms: ${log()}`);
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
      base['cluster-node-timeout'] = 5000;
    }
    const cfg = { ...base, ...options.config };
    const args = [...(options.configFile ? [options.configFile] : []), ...toArgs(cfg)];
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      if (output.length < 20000) output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (output.length < 20000) output += d.toString();
    });
    live.add(child);
    if (child.pid) registerPid(child.pid);
    try {
      await waitForPing(port, child, options.startTimeoutMs ?? 15000, () => output.slice(-2000));
    } catch (err) {
      child.kill('SIGKILL');
      live.delete(child);
      if (child.pid) unregisterPid(child.pid);
      rmSync(dir, { recursive: true, force: true });
      lastError = err;
      if (options.port !== undefined || !/Address already in use|did not answer/.test(String(err))) throw err;
      continue;
    }
    const server: TestServer = {
      flavor,
      host: '127.0.0.1',
      port,
      url: `redis://127.0.0.1:${port}/0`,
      dir,
      pid: child.pid!,
      process: child,
      command: (...cmd) => rawCommand(port, cmd),
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        live.delete(child);
        unregisterPid(child.pid!);
        if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
      },
    };
    return server;
  }
  throw lastError;
}
