import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawCommand, registerPid, serverBinary, unregisterPid } from '@valkey-tools/test-utils';

export interface FileServer {
  port: number;
  dir: string;
  pid: number;
  /** CONFIG GET <name> as raw bytes (latin1 string, one char per byte). */
  configGet(name: string): Promise<Map<string, string>>;
  command(...args: Array<string | Buffer>): Promise<string>;
  stop(): Promise<void>;
}

/** Parses a RESP2 reply (the subset CONFIG GET/SET and INFO return) from a latin1 string. */
export function parseResp(s: string): unknown {
  let pos = 0;
  const read = (): unknown => {
    const eol = s.indexOf('\r\n', pos);
    const type = s[pos];
    const head = s.slice(pos + 1, eol);
    pos = eol + 2;
    if (type === '+') return head;
    if (type === '-') return new Error(head);
    if (type === ':') return Number(head);
    if (type === '$') {
      const n = Number(head);
      if (n < 0) return null;
      const v = s.slice(pos, pos + n);
      pos += n + 2;
      return v;
    }
    if (type === '*') {
      const n = Number(head);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(read());
      return out;
    }
    throw new Error(`unexpected reply ${JSON.stringify(s.slice(0, 80))}`);
  };
  return read();
}

export function makeDir(prefix = 'vt-config-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Starts valkey-server with exactly `text` as its config file (nothing else on the command line,
 * so the file is the judge). `port` must match the file's port (or tlsPort for TLS-only files).
 */
export async function startWithConfig(
  text: string,
  options: { dir: string; port: number; pingPort?: number; timeoutMs?: number },
): Promise<FileServer> {
  const file = join(options.dir, 'valkey.conf');
  writeFileSync(file, text);
  const child = spawn(serverBinary('valkey'), [file], {
    cwd: options.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    if (output.length < 20000) output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    if (output.length < 20000) output += d.toString();
  });
  if (child.pid) registerPid(child.pid);
  const port = options.pingPort ?? options.port;
  const deadline = Date.now() + (options.timeoutMs ?? 10000);
  let pid = child.pid!;
  for (;;) {
    if (child.exitCode !== null && child.exitCode !== 0)
      throw new Error(
        `valkey-server exited with ${child.exitCode}: ${output.slice(-2000)}\n--- config ---\n${text}`,
      );
    try {
      const reply = await rawCommand(port, ['PING'], '127.0.0.1', 1000);
      // a replica that may not serve stale data answers -MASTERDOWN, but it is up
      if (reply.startsWith('+PONG') || reply.startsWith('-MASTERDOWN')) {
        // Another test's server may hold the port (a race between freePort() and bind): only our
        // own process counts. A daemonized server (child exited 0) is checked below.
        if (child.exitCode !== null) break;
        const info = parseResp(await rawCommand(port, ['INFO', 'server'])) as string;
        if (Number(/process_id:(\d+)/.exec(info)?.[1]) === child.pid) break;
      }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `valkey-server did not answer on ${port}: ${output.slice(-2000)}\n--- config ---\n${text}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (child.exitCode === 0) {
    // daemonized: the parent exited, the server is another process
    const info = parseResp(await rawCommand(port, ['INFO', 'server'])) as string;
    pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    registerPid(pid);
  }
  const configGet = async (name: string) => {
    const reply = parseResp(await rawCommand(port, ['CONFIG', 'GET', name], '127.0.0.1', 20000));
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
      const exited = new Promise<void>((resolve) => {
        if (pid !== child.pid || child.exitCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
      if (pid !== child.pid) {
        // wait for a daemonized server to go away
        for (let i = 0; i < 200; i++) {
          try {
            process.kill(pid, 0);
          } catch {
            break;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      unregisterPid(pid);
      if (child.pid) unregisterPid(child.pid);
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Asks the real server whether it accepts `text` as a config file: it is started with `--port 0`
 * so it exits at once either way ("not listen anywhere" when the file is fine, else the loader's
 * FATAL CONFIG FILE ERROR and the reason).
 */
export function serverAccepts(
  text: string,
  dir: string,
  name = 'probe.conf',
): Promise<{ ok: boolean; error: string }> {
  const file = join(dir, name);
  writeFileSync(file, text);
  return new Promise((resolve, reject) => {
    const child = spawn(serverBinary('valkey'), [file, '--port', '0', '--logfile', '', '--daemonize', 'no'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    // The server answers quickly either way; this only bounds a hang, which is then an error
    // (our own kill is no verdict on the config).
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const fatal = /FATAL CONFIG FILE ERROR[\s\S]*?>>> [^\n]*\n([^\n]*)/.exec(out);
      const tail = out.trim().split('\n').slice(-3).join(' | ');
      if (killed) reject(new Error(`valkey-server did not finish reading the config in 60 s: ${tail}`));
      else if (fatal) resolve({ ok: false, error: fatal[1]!.trim() });
      else if (/Configured to not listen anywhere/.test(out)) resolve({ ok: true, error: '' });
      // Refused otherwise: an error exit, or a crash on the config (an assertion) — it did not start.
      else if (code !== 0) resolve({ ok: false, error: signal ? `crashed (${signal}): ${tail}` : tail });
      else reject(new Error(`valkey-server exited 0 without saying whether it took the config: ${tail}`));
    });
  });
}

/** Runs `fn` over `items` with at most `size` at a time. */
export async function pool<T, R>(
  items: readonly T[],
  size: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}
