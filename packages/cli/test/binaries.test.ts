import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestServer, startTestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, parseJson, runCli, tempDir } from './helpers.js';

const tmp = tempDir('binaries');
const home = join(tmp.dir, 'home');
const mirror = join(tmp.dir, 'mirror');
const env = { VALKEY_TOOLS_HOME: home, VALKEY_TOOLS_MIRROR: '', VALKEY_TOOLS_OFFLINE: '' };
let server: TestServer;

beforeAll(async () => {
  [server] = await Promise.all([startTestServer({ config: { databases: 4 } }), buildCli()]);
  await server.command('ACL', 'SETUSER', 'alice', 'on', '>s3cret', '~*', '+@all');
}, BUILD_TIMEOUT_MS + 5000);
afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

describe('mirror add, install, which, versions', () => {
  it('packages the system binaries into a mirror, then installs from it', async () => {
    const add = await runCli(
      [
        'mirror',
        'add',
        '--binaries',
        '/usr/bin',
        '--version',
        '8.0.1',
        '--platform',
        'linux-x64',
        '--out',
        mirror,
        '--json',
      ],
      { env },
    );
    expect(add.code, add.stderr).toBe(0);
    const added = parseJson<{ sha256: string; size: number; manifestPath: string; url: string }>(add);
    expect(added.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(added.size).toBeGreaterThan(100_000);
    const manifest = JSON.parse(readFileSync(added.manifestPath, 'utf8'));
    expect(manifest.databases.valkey['8.0.1'].platforms['linux-x64'].sha256).toBe(added.sha256);

    const install = await runCli(['install', '8.0', '--mirror', mirror, '--json'], { env });
    expect(install.code, install.stderr).toBe(0);
    const installed = parseJson<{
      version: string;
      downloaded: boolean;
      dir: string;
      binaries: Record<string, string>;
    }>(install);
    expect(installed).toMatchObject({ version: '8.0.1', downloaded: true });
    expect(existsSync(installed.binaries['valkey-server']!)).toBe(true);
    expect(install.stderr).toBe(''); // no progress bar when stderr is not a terminal

    const again = await runCli(['install', '8.0.1', '--mirror', mirror], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Valkey 8.0.1 (linux-x64) is already installed in');
    const forced = await runCli(['install', '8.0.1', '--mirror', mirror, '--force', '--json'], { env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(parseJson(forced)).toMatchObject({ version: '8.0.1', downloaded: true });

    const versions = await runCli(['versions', '--json'], { env });
    expect(versions.code).toBe(0);
    const v = parseJson<{
      known: string[];
      installed: Array<{ version: string }>;
      aliases: Record<string, string>;
    }>(versions);
    expect(v.known).toContain('8.0.1');
    expect(v.installed.map((i) => i.version)).toEqual(['8.0.1']);
    expect(v.aliases['8.0.1']).toBe('8.0.1');
    const table = await runCli(['versions'], { env });
    expect(table.stdout).toMatch(/^VERSION\s+INSTALLED\s+ALIASES$/m);
    expect(table.stdout).toMatch(/^8\.0\.1\s+yes/m);
  });

  it('versions shows what a mirror offers, remembers it offline, and VALKEY_TOOLS_VERSION is the default', async () => {
    const newer = join(tmp.dir, 'newer-mirror');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(newer, { recursive: true });
    const entry = { url: 'x.tar.gz', sha256: 'a'.repeat(64), size: 1 };
    writeFileSync(
      join(newer, 'releases.json'),
      JSON.stringify({
        databases: {
          valkey: {
            '9.7.2': { platforms: { 'linux-x64': entry } },
            '8.1.9': { platforms: { 'linux-x64': entry } },
          },
        },
      }),
    );
    const vhome = join(tmp.dir, 'versions-home');
    const venv = { ...env, VALKEY_TOOLS_HOME: vhome };
    const fromMirror = await runCli(['versions', '--mirror', newer, '--json'], { env: venv });
    expect(fromMirror.code, fromMirror.stderr).toBe(0);
    const m = parseJson<{ latest: string; aliases: Record<string, string>; mirror: { offered: string[] } }>(
      fromMirror,
    );
    expect(m.latest).toBe('9.7.2');
    expect(m.aliases['8']).toBe('8.1.9');
    expect(m.mirror.offered.sort()).toEqual(['8.1.9', '9.7.2']);
    const table = await runCli(['versions', '--mirror', newer], { env: venv });
    expect(table.stdout).toMatch(/^VERSION\s+INSTALLED\s+MIRROR\s+ALIASES$/m);
    expect(table.stdout).toMatch(/^9\.7\.2\s+yes\s+.*latest/m);
    // Later, offline and without the mirror: the saved list still knows them.
    const offline = await runCli(['versions', '--json'], { env: { ...venv, VALKEY_TOOLS_OFFLINE: '1' } });
    expect(parseJson<{ latest: string }>(offline).latest).toBe('9.7.2');
    // A mirror that cannot be reached is a warning, not a failure.
    const dead = await runCli(['versions', '--mirror', 'http://127.0.0.1:1/', '--json'], { env: venv });
    expect(dead.code, dead.stderr).toBe(0);
    expect(dead.stderr).toMatch(/versions: .*showing the versions saved in/);
    expect(parseJson<{ latest: string }>(dead).latest).toBe('9.7.2');
    // The default version when none is given.
    const [which80, which62] = await Promise.all([
      runCli(['which', '--json'], { env: { ...env, VALKEY_TOOLS_VERSION: '8.0' } }),
      runCli(['which'], { env: { ...env, VALKEY_TOOLS_VERSION: '6.2' } }),
    ]);
    expect(parseJson<{ version: string }>(which80).version).toBe('8.0.1');
    expect(which62.code).toBe(1);
    expect(which62.stderr).toContain('No valkey-server 6.2 found');
  });

  it('mirror add refuses a directory without valkey-server and a bad platform', async () => {
    const [noServer, badPlatform, missing] = await Promise.all([
      runCli([
        'mirror',
        'add',
        '--binaries',
        tmp.dir,
        '--version',
        '8.0.1',
        '--platform',
        'linux-x64',
        '--out',
        mirror,
      ]),
      runCli([
        'mirror',
        'add',
        '--binaries',
        '/usr/bin',
        '--version',
        '8.0.1',
        '--platform',
        'linux-amd64',
        '--out',
        mirror,
      ]),
      runCli(['mirror', 'add', '--binaries', '/usr/bin', '--version', '8.0.1', '--out', mirror]),
    ]);
    expect(noServer.code).toBe(1);
    expect(noServer.stderr).toContain('has no valkey-server');
    expect(badPlatform.code).toBe(1);
    expect(badPlatform.stderr).toContain('Invalid platform "linux-amd64"');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing --platform');
  });

  it('install fails clearly offline with nothing to install, and on a bad version', async () => {
    const [offline, junk] = await Promise.all([
      runCli(['install', '7.2.4', '--offline', '--json'], {
        env: { ...env, VALKEY_TOOLS_HOME: join(tmp.dir, 'empty') },
      }),
      runCli(['install', 'eight'], { env }),
    ]);
    expect(offline.code).toBe(1);
    expect(parseJson<{ error: { code: string } }>(offline).error.code).toMatch(/^ERR_/);
    expect(offline.stderr.trim().split('\n')).toHaveLength(1);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toContain('not a version');
  });

  it('which prints the server binary, and fails for a version nobody has', async () => {
    const [found, json, none] = await Promise.all([
      runCli(['which'], { env }),
      runCli(['which', '8', '--json'], { env }),
      runCli(['which', '6.2'], { env }),
    ]);
    expect(found.code).toBe(0);
    expect(found.stdout.trim()).toMatch(/valkey-server$/);
    expect(parseJson(json)).toMatchObject({ name: 'valkey-server', version: '8.0.1', flavor: 'valkey' });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('No valkey-server 6.2 found');
  });

  it('after install, which and start pick the installed build over PATH, and say why; --system picks PATH', async () => {
    const cached = join(home, 'bin', 'valkey-8.0.1-linux-x64', 'valkey-server');
    expect(existsSync(cached)).toBe(true); // installed by the first test
    const [which, json, system] = await Promise.all([
      runCli(['which', '8.0.1'], { env }),
      runCli(['which', '8.0.1', '--json'], { env }),
      runCli(['which', '8.0.1', '--system', '--json'], { env }),
    ]);
    expect(which.code, which.stderr).toBe(0);
    expect(which.stdout.trim()).toBe(cached);
    expect(which.stderr).toMatch(/installed in the cache .* installed builds win over PATH/);
    const parsed = parseJson<{ provider: string; passedOver: Array<{ path: string; provider: string }> }>(
      json,
    );
    expect(parsed.provider).toBe('cache');
    // /bin and /usr/bin are one folder here: the system binary is listed once.
    expect(parsed.passedOver.filter((o) => o.provider === 'system')).toHaveLength(1);
    const sys = parseJson<{ path: string; provider: string; reason: string }>(system);
    expect(sys.provider).toBe('system');
    expect(sys.path).not.toBe(cached);
    expect(sys.reason).toMatch(/system's binary was asked for/);
    const viaEnv = await runCli(['which', '8.0.1', '--json'], {
      env: { ...env, VALKEY_TOOLS_SYSTEM_BINARY: 'system' },
    });
    expect(parseJson<{ provider: string }>(viaEnv).provider).toBe('system');

    const start = await runCli(
      ['start', '--name', 'cached', '--version', '8.0.1', '--port', '24680', '--json'],
      {
        env,
      },
    );
    expect(start.code, start.stderr).toBe(0);
    expect(parseJson<{ binary: string }>(start).binary).toBe(cached);
    expect((await runCli(['stop', 'cached', '--nosave'], { env })).code).toBe(0);
  });
});

describe.concurrent('connect', () => {
  it('runs valkey-cli on a URL with its password and db, passing arguments through', async () => {
    const url = `redis://alice:s3cret@127.0.0.1:${server.port}/2`;
    const set = await runCli(['connect', '--url', url, '--', 'SET', 'greeting', 'hello']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout.trim()).toBe('OK');
    expect(await server.command('SELECT', '2')).toContain('OK');
    // Commands from stdin when it is not a terminal, in db 2.
    const piped = await runCli(['connect', '--url', url], { input: 'GET greeting\nDBSIZE\n' });
    expect(piped.code).toBe(0);
    expect(piped.stdout.split('\n').slice(0, 2)).toEqual(['hello', '1']);
  });

  it('uses iredis when asked, with the full URL', async () => {
    const bin = join(tmp.dir, 'fake-bin');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(bin, { recursive: true });
    const script = join(bin, 'iredis');
    writeFileSync(script, '#!/bin/sh\necho "iredis $*"\n');
    chmodSync(script, 0o755);
    const r = await runCli(['connect', '--url', `127.0.0.1:${server.port}`, '--iredis'], {
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`iredis --url redis://127.0.0.1:${server.port}/0`);
  });

  it('fails without a target, with both, on a bad URL, and when iredis is missing', async () => {
    const [neither, both, badUrl, noIredis, wrongPass] = await Promise.all([
      runCli(['connect']),
      runCli(['connect', 'dev', '--url', 'redis://h']),
      runCli(['connect', '--url', 'redis://:hunter2@h:99999']),
      runCli(['connect', '--url', `127.0.0.1:${server.port}`, '--iredis'], {
        env: { PATH: '/usr/bin:/bin' },
      }),
      runCli(['connect', '--url', `redis://alice:wrong@127.0.0.1:${server.port}`, '--', 'PING']),
    ]);
    expect(neither.code).toBe(2);
    expect(both.code).toBe(2);
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toContain('port 99999 is out of range');
    expect(badUrl.stderr).not.toContain('hunter2');
    expect(noIredis.code).toBe(1);
    expect(noIredis.stderr).toContain('iredis is not installed');
    expect(wrongPass.stdout + wrongPass.stderr).toMatch(/WRONGPASS|invalid password/i);
  });
});
