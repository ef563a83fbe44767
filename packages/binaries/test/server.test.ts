import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BinariesError,
  getServer,
  listServers,
  registryDir,
  type ServerHandle,
  type StartServerOptions,
  startServer,
  stopServer,
} from '../src/index.js';
import { fixtureArgs, isRunning, randomBasePort, trackPid, untrackAll } from './helpers.js';

const execFileAsync = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), 'vt-server-'));
const started: ServerHandle[] = [];
const blockers: Server[] = [];

async function start(options: StartServerOptions = {}): Promise<ServerHandle> {
  const server = await startServer({ home, port: randomBasePort(), onSpawn: trackPid, ...options });
  started.push(server);
  return server;
}

const alive = isRunning;

async function expectError(promise: Promise<unknown>): Promise<BinariesError> {
  try {
    await promise;
  } catch (err) {
    expect(BinariesError.isInstance(err)).toBe(true);
    return err as BinariesError;
  }
  throw new Error('expected a BinariesError');
}

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop({ timeoutMs: 2000 })));
  for (const b of blockers) b.close();
  untrackAll();
  rmSync(home, { recursive: true, force: true });
});

describe.concurrent('startServer', () => {
  it('writes valkey.conf with @valkey-tools/config, starts, answers, records a pid file and a registry entry', async () => {
    const s = await start({
      name: 'basic',
      config: { maxmemory: '10mb', 'maxmemory-policy': 'allkeys-lru' },
    });
    expect(s.url).toBe(`redis://127.0.0.1:${s.port}/0`);
    expect(await s.command('PING')).toBe('PONG');
    expect(await s.command('CONFIG', 'GET', 'maxmemory')).toEqual(['maxmemory', '10485760']);
    expect(await s.command('CONFIG', 'GET', 'dir')).toEqual(['dir', s.dir]);
    const conf = readFileSync(s.configFile, 'utf8');
    expect(conf).toMatch(/^# Written by @valkey-tools\/binaries for managed server "basic"/);
    expect(conf).toMatch(new RegExp(`^port ${s.port}$`, 'm'));
    expect(conf).toMatch(/^daemonize no$/m);
    expect(Number(readFileSync(s.pidFile, 'utf8'))).toBe(s.pid);
    expect(s.dir).toBe(join(home, 'servers', 'basic'));
    expect((await listServers({ home })).map((r) => r.name)).toContain('basic');
    expect(readFileSync(s.logFile, 'utf8')).toMatch(/Ready to accept connections/);
  });

  it('skips a taken port upward, or fails with strictPort', async () => {
    const blocker = createServer();
    blockers.push(blocker);
    const port = randomBasePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    const s = await start({ port });
    expect(s.port).toBeGreaterThan(port);
    expect(await s.command('PING')).toBe('PONG');
    const err = await expectError(start({ port, strictPort: true }));
    expect(err.code).toBe('ERR_PORT_UNAVAILABLE');
    expect(err.message).toMatch(`${port} (in use)`);
  });

  it('refuses a second live server with the same name', async () => {
    await start({ name: 'unique' });
    const err = await expectError(start({ name: 'unique' }));
    expect(err.code).toBe('ERR_SERVER_EXISTS');
    expect(err.message).toMatch(/already running/);
  });

  it('reports a server that cannot start with the end of its log', async () => {
    const err = await expectError(start({ config: { 'no-such-directive': 'x' } }));
    expect(err.code).toBe('ERR_SERVER_START');
    expect(err.message).toMatch(/exited while starting/);
    expect(err.message).toMatch(/no-such-directive/);
  });

  it('stop() saves when asked, removes the registry entry, and the process is gone', async () => {
    const s = await start({ name: 'saver' });
    await s.command('SET', 'k', 'v');
    await s.stop({ save: true });
    expect(alive(s.pid)).toBe(false);
    expect(existsSync(join(s.dir, 'dump.rdb'))).toBe(true);
    expect(await getServer('saver', { home })).toBeUndefined();
    expect(existsSync(join(registryDir(home), 'saver.json'))).toBe(false);
  });

  it('refuses to start a second server in a dir in use', async () => {
    const first = await start({ name: 'dir-owner' });
    const err = await expectError(start({ dir: first.dir }));
    expect(err.code).toBe('ERR_SERVER_EXISTS');
    expect(err.message).toMatch(`is in use by a running server (pid ${first.pid})`);
  });

  it('does not kill a server whose SHUTDOWN SAVE is refused', async () => {
    const s = await start({ config: { 'rename-command': [['SHUTDOWN', '']] } });
    const err = await expectError(s.stop({ save: true, timeoutMs: 300 }));
    expect(err.code).toBe('ERR_SERVER_STOP');
    expect(err.message).toMatch(/refused SHUTDOWN SAVE: ERR unknown command/);
    expect(alive(s.pid)).toBe(true);
    expect(await s.command('PING')).toBe('PONG');
  });

  it('escalates to SIGTERM when SHUTDOWN is not possible', async () => {
    const s = await start({ config: { 'rename-command': [['SHUTDOWN', '']] } });
    expect(await s.command('SHUTDOWN')).toBeInstanceOf(Error);
    const t0 = Date.now();
    await s.stop({ timeoutMs: 300 });
    expect(alive(s.pid)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(readFileSync(s.logFile, 'utf8')).toMatch(/Received SIGTERM/);
  });

  it('is stopped by name from another process', async () => {
    const s = await start({ name: 'remote' });
    const { stdout } = await execFileAsync(
      process.execPath,
      fixtureArgs('stop-server', home, 'server', 'remote'),
    );
    const out = JSON.parse(stdout);
    expect(out.before).toContain('remote');
    expect(out.stopped).toBe('remote');
    for (let i = 0; i < 100 && alive(s.pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(s.pid)).toBe(false);
    expect((await listServers({ home })).map((r) => r.name)).not.toContain('remote');
    const err = await expectError(stopServer('remote', { home }));
    expect(err.code).toBe('ERR_SERVER_NOT_FOUND');
  });

  it('outlives the process that started it, and is listed and stopped from here', async () => {
    const { stdout } = await execFileAsync(
      process.execPath,
      fixtureArgs('start-server', home, String(randomBasePort()), 'detached'),
    );
    const out = JSON.parse(stdout) as { pid: number; port: number; url: string };
    trackPid(out.pid);
    expect(alive(out.pid)).toBe(true);
    const listed = (await listServers({ home })).find((r) => r.name === 'detached');
    expect(listed).toMatchObject({ pid: out.pid, port: out.port, url: out.url });
    const handle = await getServer('detached', { home });
    expect(await handle!.command('PING')).toBe('PONG');
    await stopServer('detached', { home });
    expect(alive(out.pid)).toBe(false);
  });

  it('cleans registry entries whose process is gone', async () => {
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
    );
    const file = join(registryDir(home), 'ghost.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'ghost',
        pid: dead,
        host: '127.0.0.1',
        port: 1,
        binary: '/usr/bin/valkey-server',
      }),
    );
    expect((await listServers({ home })).map((r) => r.name)).not.toContain('ghost');
    expect(existsSync(file)).toBe(false);
  });

  it('starts redis-server for migration tests', async () => {
    const s = await start({ flavor: 'redis' });
    expect(s.version).toMatch(/^7\./);
    expect(String(await s.command('INFO', 'server'))).toMatch(/redis_version:7\./);
    expect(s.name).toBe(`redis-${s.port}`);
  });
});
