import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  getServer,
  listServers,
  ReplyError,
  registryDir,
  sendCommand,
  type ServerHandle,
  type StartServerOptions,
  startServer,
  stopServer,
} from '../src/index.js';
import { untypedDirectives } from '@valkey-tools/config';
import {
  freePort,
  freePorts,
  isRunning,
  registerPid,
  unregisterExited,
  waitForExit,
} from '@valkey-tools/test-utils';
import { expectError, fixtureArgs } from './helpers.js';

const execFileAsync = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), 'vt-server-'));
const started: ServerHandle[] = [];
const blockers: Server[] = [];

async function start(options: StartServerOptions = {}): Promise<ServerHandle> {
  const server = await startServer({ home, port: await freePort(), onSpawn: registerPid, ...options });
  started.push(server);
  return server;
}

const alive = isRunning;

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop({ timeoutMs: 2000 })));
  for (const b of blockers) b.close();
  unregisterExited();
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
    // Two reserved ports: the blocker takes the first, the server skips up to the second.
    const port = await freePorts(2);
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
    const err = await expectError(start({ config: untypedDirectives({ 'no-such-directive': 'x' }) }));
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
    expect(err.message).toMatch(
      `is in use by a running server (pid ${first.pid}, managed server "dir-owner")`,
    );
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
    await s.stop({ timeoutMs: 300 });
    expect(alive(s.pid)).toBe(false);
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
    await waitForExit(s.pid, 'the server stopped from another process');
    expect((await listServers({ home })).map((r) => r.name)).not.toContain('remote');
    const err = await expectError(stopServer('remote', { home }));
    expect(err.code).toBe('ERR_SERVER_NOT_FOUND');
  });

  it('outlives the process that started it, and is listed and stopped from here', async () => {
    const { stdout } = await execFileAsync(
      process.execPath,
      fixtureArgs('start-server', home, String(await freePort()), 'detached', 'detached'),
    );
    const out = JSON.parse(stdout) as { pid: number; port: number; url: string };
    registerPid(out.pid);
    expect(alive(out.pid)).toBe(true);
    const listed = (await listServers({ home })).find((r) => r.name === 'detached');
    expect(listed).toMatchObject({ pid: out.pid, port: out.port, url: out.url });
    const handle = await getServer('detached', { home });
    expect(await handle!.command('PING')).toBe('PONG');
    await stopServer('detached', { home });
    expect(alive(out.pid)).toBe(false);
  });

  it('ends an owned server when its owner exits without stop(), and when it is killed with SIGKILL', async () => {
    const exiting = await execFileAsync(
      process.execPath,
      fixtureArgs('start-server', home, String(await freePort()), 'owned-exit', 'exit'),
    );
    const first = JSON.parse(exiting.stdout) as { pid: number };
    registerPid(first.pid);
    const owner = spawn(
      process.execPath,
      fixtureArgs('start-server', home, String(await freePort()), 'owned-kill', 'hang'),
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      owner.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf);
      });
      owner.once('exit', (code) => reject(new Error(`the owner exited (${code}) before starting`)));
    });
    const second = JSON.parse(line) as { pid: number };
    registerPid(second.pid);
    expect(alive(second.pid)).toBe(true);
    owner.kill('SIGKILL');
    for (const pid of [first.pid, second.pid]) await waitForExit(pid, `the owned server ${pid}`);
    const names = (await listServers({ home })).map((r) => r.name);
    expect(names).not.toContain('owned-exit');
    expect(names).not.toContain('owned-kill');
    expect(existsSync(join(registryDir(home), 'owned-kill.json'))).toBe(false);
  });

  it('starts with requirepass: readiness, commands and stop authenticate; the password is never listed', async () => {
    const s = await start({ name: 'secret', config: { requirepass: 's3cret' } });
    expect(s.auth).toBe(true);
    expect(await s.command('PING')).toBe('PONG');
    expect(await sendCommand(s.port, ['PING'])).toBeInstanceOf(ReplyError); // NOAUTH without it
    const listed = (await listServers({ home })).find((r) => r.name === 'secret');
    expect(listed?.auth).toBe(true);
    expect(JSON.stringify(listed)).not.toMatch(/s3cret/);
    const { credentials: _c, ...handleFields } = s as unknown as Record<string, unknown>;
    expect(JSON.stringify({ ...handleFields, process: undefined })).not.toMatch(/s3cret/);
    expect(statSync(join(registryDir(home), 'secret.json')).mode & 0o077).toBe(0);
    const other = await getServer('secret', { home });
    expect(await other!.command('PING')).toBe('PONG');
    await other!.stop({ nosave: true });
    expect(alive(s.pid)).toBe(false);
    expect(readFileSync(s.logFile, 'utf8')).not.toMatch(/Received SIGTERM/);
  });

  it('says the server refused the credentials, without the password', async () => {
    const err = await expectError(
      start({ config: { requirepass: 's3cret' }, password: 'wrong-one', startTimeoutMs: 60_000 }),
    );
    expect(err.code).toBe('ERR_SERVER_START');
    expect(err.message).toMatch(/is up on .* but refused the password: WRONGPASS/);
    expect(err.message).not.toMatch(/wrong-one|s3cret/);
  });

  it('stop() keeps what the config says to keep (save points); nosave discards', async () => {
    const s = await start({ name: 'keeper' });
    await s.command('SET', 'k', 'kept');
    await s.stop();
    const again = await start({ name: 'keeper', port: s.port });
    expect(await again.command('GET', 'k')).toBe('kept');
    await again.command('SET', 'k', 'changed');
    await again.stop({ nosave: true });
    const third = await start({ name: 'keeper', port: s.port });
    expect(await third.command('GET', 'k')).toBe('kept');
  });

  it("reports and guards the config's own dir", async () => {
    const own = mkdtempSync(join(tmpdir(), 'vt-own-dir-'));
    const s = await start({ name: 'own-dir', config: { dir: own } });
    expect(s.dir).toBe(own);
    expect(await s.command('CONFIG', 'GET', 'dir')).toEqual(['dir', own]);
    expect((await listServers({ home })).find((r) => r.name === 'own-dir')?.dir).toBe(own);
    const err = await expectError(start({ name: 'own-dir-2', config: { dir: own } }));
    expect(err.code).toBe('ERR_SERVER_EXISTS');
    expect(err.message).toMatch(
      `${own} is in use by a running server (pid ${s.pid}, managed server "own-dir")`,
    );
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
