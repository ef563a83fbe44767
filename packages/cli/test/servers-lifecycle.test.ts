import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freeClusterPorts,
  freePort,
  killProcess,
  rawCommand,
  serverProcessesUnder,
  waitFor,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, binPath, buildCli, packageDir, parseJson, runCli, tempDir } from './helpers.js';

// Servers started, killed and interrupted for real: afterwards no valkey-server may run that
// `list` does not show, and `stop --all` must end them all.
const tmp = tempDir('lifecycle');
const home = join(tmp.dir, 'home');
const env = { VALKEY_TOOLS_HOME: home };

/** valkey-server processes (or our gated wrappers) whose cwd is a dir under this file's home. */
const serversUnderHome = () => serverProcessesUnder(home, /valkey-server/);

async function listedPids(): Promise<{ pids: number[]; clusters: Array<{ name: string; state: string }> }> {
  const list = await runCli(['list', '--json'], { env });
  expect(list.code, list.stderr).toBe(0);
  const parsed = parseJson<{
    servers: Array<{ pid: number }>;
    clusters: Array<{ name: string; state: string }>;
  }>(list);
  return { pids: parsed.servers.map((s) => s.pid), clusters: parsed.clusters };
}

/** Every valkey-server under home is listed; stop --all ends them all. */
async function expectAllKnownThenStopAll(): Promise<void> {
  const running = serversUnderHome();
  expect(running.length).toBeGreaterThan(0);
  const { pids } = await listedPids();
  for (const pid of running) expect(pids).toContain(pid);
  const stop = await runCli(['stop', '--all'], { env });
  expect(stop.code, stop.stderr).toBe(0);
  await waitFor('every server to exit', () => serversUnderHome().length === 0);
}

/**
 * A directory (put it first on PATH) whose valkey-server waits for the file `gate` before it runs
 * the real one. Without the gate it gives up after about a minute (1200 x 0.05 s, saying so), so a
 * failed test leaves no wrapper polling.
 */
function gatedServer(name: string): { bin: string; gate: string } {
  const bin = join(tmp.dir, `${name}-bin`);
  const gate = join(tmp.dir, `${name}-gate`);
  mkdirSync(bin, { recursive: true });
  const wrapper = join(bin, 'valkey-server');
  writeFileSync(
    wrapper,
    `#!/bin/sh
case "$1" in --version|-v|-V) exec /usr/bin/valkey-server "$@";; esac
i=0
while [ ! -e "${gate}" ]; do
  i=$((i + 1))
  if [ "$i" -gt 1200 ]; then echo "gated valkey-server: no gate ${gate} after a minute" >&2; exit 1; fi
  sleep 0.05
done
exec /usr/bin/valkey-server "$@"
`,
  );
  chmodSync(wrapper, 0o755);
  return { bin, gate };
}

/** Spawns the CLI; resolves `waitFor(text)` once its stderr has shown `text`. */
function spawnCli(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const child: ChildProcess = spawn(process.execPath, [binPath, ...args], {
    cwd: packageDir,
    env: { ...process.env, ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    stderr: () => stderr,
    waitFor: (text: string) =>
      waitFor(`"${text}" on stderr`, () => stderr.includes(text), {
        detail: () => `stderr so far: ${stderr}`,
      }),
  };
}

beforeAll(() => buildCli(), BUILD_TIMEOUT_MS + 5000);
afterAll(async () => {
  await runCli(['stop', '--all'], { env });
  for (const pid of serverProcessesUnder(tmp.dir)) killProcess(pid);
  tmp.cleanup();
}, 180_000);

describe('servers that ask for a password, and stop', () => {
  it('start --set requirepass is up; stop keeps the data, stop --nosave discards it', async () => {
    const port = await freePort();
    const start = await runCli(
      ['start', '--name', 'pw', '--port', String(port), '--set', 'requirepass=s3cret', '--json'],
      { env },
    );
    expect(start.code, start.stderr).toBe(0);
    expect(`${start.stdout}${start.stderr}`).not.toMatch(/s3cret/);
    const { port: actual } = parseJson<{ port: number }>(start);
    expect(await rawCommand(actual, ['AUTH', 's3cret'])).toBe('+OK\r\n');
    const info = await runCli(['info', 'pw', '--json'], { env });
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).not.toMatch(/s3cret/);
    const valkeyCli = (...args: string[]) =>
      new Promise<string>((resolve) => {
        const c = spawn('valkey-cli', ['-p', String(actual), '-a', 's3cret', '--no-auth-warning', ...args]);
        let out = '';
        c.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        c.on('close', () => resolve(out.trim()));
      });
    expect(await valkeyCli('SET', 'k', 'kept')).toBe('OK');
    expect((await runCli(['stop', 'pw'], { env })).code).toBe(0);
    const again = await runCli(
      ['start', '--name', 'pw', '--port', String(actual), '--set', 'requirepass=s3cret'],
      {
        env,
      },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(await valkeyCli('GET', 'k')).toBe('kept');
    // connect uses the password the server was started with.
    const connect = await runCli(['connect', 'pw', '--', 'GET', 'k'], { env });
    expect(connect).toMatchObject({ code: 0, stdout: 'kept\n' });
    // url leaves the password out and says so; --with-password gives a URL that works on its own.
    const bare = await runCli(['url', 'pw'], { env });
    expect(bare).toMatchObject({ code: 0, stdout: `redis://127.0.0.1:${actual}/0\n` });
    expect(bare.stderr).toMatch(/needs a password.*--with-password/);
    const full = await runCli(['url', 'pw', '--with-password'], { env });
    expect(full.code, full.stderr).toBe(0);
    const viaUrl = await runCli(['connect', '--url', full.stdout.trim(), '--', 'GET', 'k'], { env: {} });
    expect(viaUrl, viaUrl.stderr).toMatchObject({ code: 0, stdout: 'kept\n' });
    // connect --json says what it would run, with the password only in a named variable.
    const plan = await runCli(['connect', 'pw', '--json'], { env });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).not.toMatch(/s3cret/);
    expect(parseJson(plan)).toMatchObject({
      shell: 'valkey-cli',
      args: ['-h', '127.0.0.1', '-p', String(actual)],
      env: ['REDISCLI_AUTH'],
      cluster: false,
    });
    expect(await valkeyCli('SET', 'k', 'changed')).toBe('OK');
    expect((await runCli(['stop', 'pw', '--nosave'], { env })).code).toBe(0);
    const third = await runCli(
      ['start', '--name', 'pw', '--port', String(actual), '--set', 'requirepass=s3cret'],
      {
        env,
      },
    );
    expect(third.code, third.stderr).toBe(0);
    expect(await valkeyCli('GET', 'k')).toBe('kept');
    expect((await runCli(['stop', 'pw', '--nosave'], { env })).code).toBe(0);
  });

  it('start --user with --password-env starts a server whose default user is off', async () => {
    const port = await freePort();
    const start = await runCli(
      [
        'start',
        '--name',
        'acl',
        '--port',
        String(port),
        '--set',
        'user=default off',
        '--set',
        'user=alice on >alicepw ~* &* +@all',
        '--user',
        'alice',
        '--password-env',
        'ALICE_PW',
        '--json',
      ],
      { env: { ...env, ALICE_PW: 'alicepw' } },
    );
    expect(start.code, start.stderr).toBe(0);
    const { port: actual, pid } = parseJson<{ port: number; pid: number }>(start);
    expect(await rawCommand(actual, ['AUTH', 'alice', 'alicepw'])).toBe('+OK\r\n');
    const stop = await runCli(['stop', 'acl'], { env });
    expect(stop.code, stop.stderr).toBe(0);
    await waitFor('the acl server to exit', () => !serversUnderHome().includes(pid));
    // Stopped with SHUTDOWN as alice, not by a signal.
    expect(readFileSync(join(home, 'servers', 'acl', 'valkey.log'), 'utf8')).not.toMatch(/Received SIGTERM/);
  });

  it('start --config with a dir directive reports and guards that dir', async () => {
    const dataDir = join(tmp.dir, 'own-data');
    mkdirSync(dataDir, { recursive: true });
    const conf = join(tmp.dir, 'own.conf');
    writeFileSync(conf, `dir ${dataDir}\n`);
    const start = await runCli(
      ['start', '--name', 'own', '--port', String(await freePort()), '--config', conf, '--json'],
      {
        env,
      },
    );
    expect(start.code, start.stderr).toBe(0);
    expect(parseJson<{ dir: string }>(start).dir).toBe(dataDir);
    const info = await runCli(['info', 'own', '--json'], { env });
    expect(parseJson<{ dir: string }>(info).dir).toBe(dataDir);
    expect(existsSync(join(dataDir, 'valkey.pid'))).toBe(true);
    const second = await runCli(['start', '--name', 'own2', '--config', conf], { env });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`${dataDir} is in use by a running server`);
    expect((await runCli(['stop', 'own'], { env })).code).toBe(0);
  });
});

describe('nothing is left that list does not show', () => {
  it('kill -9 of start while it waits for PING: list shows the server, stop --all ends it, the name is free again', async () => {
    // A valkey-server that waits for a gate file before it runs: start is surely waiting for PING.
    const { bin, gate } = gatedServer('gated');
    const port = await freePort();
    const cli = spawnCli(['start', '--name', 'gated', '--port', String(port)], {
      PATH: `${bin}:${process.env.PATH}`,
    });
    const record = join(home, 'run', 'gated.json');
    await waitFor('the gated server to be recorded with its pid', () => {
      try {
        return (JSON.parse(readFileSync(record, 'utf8')) as { pid: number }).pid > 0;
      } catch {
        return false;
      }
    });
    cli.child.kill('SIGKILL');
    await cli.exited;
    writeFileSync(gate, '');
    const { pid } = JSON.parse(readFileSync(record, 'utf8')) as { pid: number };
    await waitFor('the gated server to answer', () => serversUnderHome().includes(pid));
    await expectAllKnownThenStopAll();
    const again = await runCli(['start', '--name', 'gated', '--port', String(port)], {
      env,
    });
    expect(again.code, again.stderr).toBe(0);
    expect((await runCli(['stop', 'gated', '--nosave'], { env })).code).toBe(0);
  });

  it('kill -9 of cluster create after "joining nodes": list shows the cluster, stop --all ends every node', async () => {
    const cli = spawnCli([
      'cluster',
      'create',
      '--name',
      'killed',
      '--port',
      String(await freeClusterPorts(6)),
    ]);
    await cli.waitFor('joining nodes');
    cli.child.kill('SIGKILL');
    await cli.exited;
    expect(serversUnderHome()).toHaveLength(6);
    const { clusters } = await listedPids();
    expect(clusters.map((c) => c.name)).toContain('killed');
    await expectAllKnownThenStopAll();
  });

  it('kill -9 of cluster create while its nodes wait to answer: nothing is left unknown', async () => {
    // Nodes that wait for a gate before they run: create is surely waiting on all six.
    const { bin, gate } = gatedServer('gated-cluster');
    const cli = spawnCli(['cluster', 'create', '--port', String(await freeClusterPorts(6))], {
      PATH: `${bin}:${process.env.PATH}`,
    });
    await waitFor('six gated nodes', () => serversUnderHome().length === 6);
    cli.child.kill('SIGKILL');
    await cli.exited;
    writeFileSync(gate, '');
    await expectAllKnownThenStopAll();
  });

  it('Ctrl-C during cluster create stops every node and exits 130', async () => {
    const cli = spawnCli([
      'cluster',
      'create',
      '--name',
      'interrupted',
      '--port',
      String(await freeClusterPorts(6)),
    ]);
    await cli.waitFor('joining nodes');
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(130);
    expect(cli.stderr()).not.toMatch(/cluster "interrupted" (is up|ready)/);
    await waitFor('every node to exit', () => serversUnderHome().length === 0);
    const { pids, clusters } = await listedPids();
    expect(pids).toEqual([]);
    expect(clusters).toEqual([]);
  });

  it('cluster create without --name generates a unique name', async () => {
    // Two one-node clusters: base and base + 10.
    const base = await freeClusterPorts(11);
    const first = await runCli(
      ['cluster', 'create', '--replicas', '0', '--primaries', '1', '--port', String(base), '--json'],
      {
        env,
      },
    );
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(
      ['cluster', 'create', '--replicas', '0', '--primaries', '1', '--port', String(base + 10), '--json'],
      { env },
    );
    expect(second.code, second.stderr).toBe(0);
    const a = parseJson<{ name: string }>(first).name;
    const b = parseJson<{ name: string }>(second).name;
    expect(a).toMatch(/^cluster-\d+$/);
    expect(b).toMatch(/^cluster-\d+$/);
    expect(a).not.toBe(b);
    await expectAllKnownThenStopAll();
  });
});
