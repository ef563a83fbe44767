import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverBinary } from '@valkey-tools/test-utils';

export function makeDir(prefix = 'vt-config-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
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
