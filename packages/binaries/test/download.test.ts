import { execFile, type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listenOnFreePort } from '@valkey-tools/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createMirror } from '../src/index.js';
import { fixtureArgs, systemValkey } from './helpers.js';

// undici < 8 (Node < 22.19) fails an internal assertion, `assert(!this.paused)` in Parser.finish,
// when the server closes the connection while the parser is paused by a slow consumer
// (nodejs/undici#5360). Nobody can catch it: the process dies. Downloads must never pause it.
const execFileAsync = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'vt-download-'));
const servers: Server[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const s of servers) s.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** Answers every request with the headers, the whole body and FIN in one write. */
async function headersBodyAndFinAtOnce(size: number): Promise<string> {
  const body = Buffer.alloc(size, 7);
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => {
      socket.end(
        Buffer.concat([
          Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`),
          body,
        ]),
      );
    });
  });
  servers.push(server);
  return `http://127.0.0.1:${await listenOnFreePort(server)}/file`;
}

describe('downloads from servers that close the connection', () => {
  it('survives 50 downloads whose body and FIN arrive at once while the consumer is slow', async () => {
    const size = 4 << 20;
    const url = await headersBodyAndFinAtOnce(size);
    const dir = mkdtempSync(join(work, 'raw-'));
    const { stdout } = await execFileAsync(
      process.execPath,
      fixtureArgs('download-child', url, dir, '50', String(size)),
      { maxBuffer: 1 << 20 },
    );
    expect(JSON.parse(stdout)).toEqual({ ok: 50 });
  });

  it('installs 50 times in a row from a python3 -m http.server mirror (Connection: close)', async () => {
    const sys = systemValkey();
    const root = join(work, 'python-mirror');
    await createMirror({ binariesDir: sys.dir, version: sys.version, outDir: root });
    const python = spawn('python3', ['-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', root], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    children.push(python);
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      python.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /port (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      python.once('exit', (code) => reject(new Error(`python3 -m http.server exited (${code}): ${out}`)));
    });
    const home = mkdtempSync(join(work, 'home-'));
    const { stdout } = await execFileAsync(
      process.execPath,
      fixtureArgs('install-loop', home, `http://127.0.0.1:${port}`, sys.version, '50'),
      { maxBuffer: 1 << 20 },
    );
    expect(JSON.parse(stdout)).toEqual({ downloads: 50 });
  });
});
