import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freeClusterPorts,
  freePort,
  killProcess,
  rawCommand,
  serverProcessesUnder,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, parseJson, runCli, tempDir } from './helpers.js';

const tmp = tempDir('servers');
const env = { VALKEY_TOOLS_HOME: join(tmp.dir, 'home') };

beforeAll(() => buildCli(), BUILD_TIMEOUT_MS + 5000);
afterAll(async () => {
  await runCli(['stop', '--all'], { env });
  // Managed servers are detached: if a test failed half-way, none outlives the suite.
  for (const pid of serverProcessesUnder(tmp.dir)) killProcess(pid);
  tmp.cleanup();
});

describe('start, list, info, url, stop', () => {
  it('runs the whole lifecycle of a named server with a config file and --set', async () => {
    const port = await freePort();
    const conf = join(tmp.dir, 'dev.conf');
    writeFileSync(join(tmp.dir, 'policy.conf'), 'maxmemory-policy allkeys-lfu\n');
    writeFileSync(conf, `maxmemory 32mb\ninclude policy.conf\nport ${port}\n`);
    const start = await runCli(['start', '--name', 'dev', '--config', conf, '--set', 'hz=20', '--json'], {
      env,
    });
    expect(start.code, start.stderr).toBe(0);
    const started = parseJson<{ name: string; url: string; port: number; pid: number; version: string }>(
      start,
    );
    expect(started).toMatchObject({
      name: 'dev',
      port,
      url: `redis://127.0.0.1:${port}/0`,
      version: '8.0.1',
    });
    expect(await rawCommand(port, ['CONFIG', 'GET', 'maxmemory'])).toContain(String(32 * 1024 * 1024));
    expect(await rawCommand(port, ['CONFIG', 'GET', 'hz'])).toContain('20');
    expect(await rawCommand(port, ['CONFIG', 'GET', 'maxmemory-policy'])).toContain('allkeys-lfu');

    const url = await runCli(['url', 'dev'], { env });
    expect(url).toMatchObject({ code: 0, stdout: `redis://127.0.0.1:${port}/0\n` });
    const urlJson = await runCli(['url', 'dev', '--json'], { env });
    expect(parseJson(urlJson)).toEqual({
      name: 'dev',
      url: `redis://127.0.0.1:${port}/0`,
      hasPassword: false,
    });

    await rawCommand(port, ['SET', 'k', 'v']);
    const info = await runCli(['info', 'dev', '--json'], { env });
    expect(info.code, info.stderr).toBe(0);
    const details = parseJson<{ kind: string; name: string; pid: number; live: Record<string, unknown> }>(
      info,
    );
    expect(details).toMatchObject({ kind: 'server', name: 'dev', pid: started.pid });
    expect(details.live).toMatchObject({
      role: 'master',
      maxmemory: 32 * 1024 * 1024,
      keyspace: { '0': { keys: 1, expires: 0 } },
    });
    const human = await runCli(['info', 'dev'], { env });
    expect(human.stdout).toMatch(/keys\s+db0=1/);

    const list = await runCli(['list', '--json'], { env });
    const listed = parseJson<{ servers: Array<{ name: string; port: number }>; clusters: unknown[] }>(list);
    expect(listed.servers.map((s) => s.name)).toContain('dev');
    const table = await runCli(['list'], { env });
    expect(table.stdout).toMatch(/^NAME\s+URL\s+PID\s+VERSION\s+UPTIME$/m);
    expect(table.stdout).toMatch(
      new RegExp(`^dev\\s+redis://127\\.0\\.0\\.1:${port}/0\\s+${started.pid}`, 'm'),
    );

    // The name is taken while it runs.
    const again = await runCli(['start', '--name', 'dev'], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already running');

    const ping = await runCli(['connect', 'dev', '--', 'GET', 'k'], { env });
    expect(ping).toMatchObject({ code: 0, stdout: 'v\n' });

    const stop = await runCli(['stop', 'dev', '--json'], { env });
    expect(stop.code, stop.stderr).toBe(0);
    expect(parseJson(stop)).toEqual({ stopped: ['dev'] });
    await expect(rawCommand(port, ['PING'], '127.0.0.1', 1000)).rejects.toThrow();
    const after = await runCli(['url', 'dev'], { env });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('no managed server or cluster named "dev"');
  });

  it('stop --all stops every managed server', async () => {
    const [a, b] = await Promise.all([
      runCli(['start', '--name', 'all-a', '--port', String(await freePort()), '--json'], { env }),
      runCli(['start', '--name', 'all-b', '--port', String(await freePort()), '--json'], { env }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const ports = [parseJson<{ port: number }>(a).port, parseJson<{ port: number }>(b).port];
    const stop = await runCli(['stop', '--all', '--json'], { env });
    expect(stop.code, stop.stderr).toBe(0);
    expect(parseJson<{ stopped: string[] }>(stop).stopped).toEqual(
      expect.arrayContaining(['all-a', 'all-b']),
    );
    for (const port of ports) await expect(rawCommand(port, ['PING'], '127.0.0.1', 1000)).rejects.toThrow();
  });

  it('start refuses an invalid config file and a bad --set before starting anything', async () => {
    const bad = join(tmp.dir, 'bad.conf');
    writeFileSync(bad, 'port 6379\nmaxmemory-policy sometimes\n');
    const [file, set, missing, usage] = await Promise.all([
      runCli(['start', '--config', bad], { env }),
      runCli(['start', '--set', 'maxmemory=lots', '--json'], { env }),
      runCli(['start', '--config', join(tmp.dir, 'nope.conf')], { env }),
      runCli(['start', '--port', '70000'], { env }),
    ]);
    expect(file.code).toBe(1);
    expect(file.stderr).toMatch(/bad\.conf:2.*maxmemory-policy/);
    // A bad --set is a command-line error, as in config init.
    expect(set.code).toBe(2);
    expect(parseJson<{ error: { message: string } }>(set).error.message).toContain('maxmemory');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.conf');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--port must be 1..65535');
    const list = await runCli(['list', '--json'], { env });
    expect(parseJson<{ servers: unknown[] }>(list).servers).toEqual([]);
  });

  it('stop, info and url fail clearly for unknown names; stop needs a name or --all', async () => {
    const [stop, info, url, neither, both] = await Promise.all([
      runCli(['stop', 'ghost'], { env }),
      runCli(['info', 'ghost', '--json'], { env }),
      runCli(['url', 'ghost'], { env }),
      runCli(['stop'], { env }),
      runCli(['stop', 'a', '--all'], { env }),
    ]);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain('"ghost"');
    expect(info.code).toBe(1);
    expect(parseJson<{ error: { code: string } }>(info).error.code).toBe('ERR_NOT_FOUND');
    expect(url.code).toBe(1);
    expect(neither.code).toBe(2);
    expect(both.code).toBe(2);
  });
});

describe('cluster create, cluster stop', () => {
  it('starts a 3-primary cluster that serves keys, then stops it', async () => {
    const base = await freeClusterPorts(3);
    const create = await runCli(
      ['cluster', 'create', '--name', 'c1', '--replicas', '0', '--port', String(base), '--json'],
      {
        env,
      },
    );
    expect(create.code, create.stderr).toBe(0);
    const cluster = parseJson<{
      name: string;
      seeds: string[];
      nodes: Array<{ port: number; role: string; slots: [number, number] | null }>;
    }>(create);
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.nodes.every((n) => n.role === 'primary')).toBe(true);
    expect(cluster.nodes.map((n) => n.slots![1] - n.slots![0] + 1).reduce((a, b) => a + b)).toBe(16384);
    const port = cluster.nodes[0]!.port;
    expect(await rawCommand(port, ['CLUSTER', 'INFO'])).toContain('cluster_state:ok');

    const list = await runCli(['list', '--json'], { env });
    expect(parseJson<{ clusters: Array<{ name: string; running: number }> }>(list).clusters).toEqual([
      expect.objectContaining({ name: 'c1', running: 3 }),
    ]);
    const info = await runCli(['info', 'c1', '--json'], { env });
    expect(parseJson(info)).toMatchObject({ kind: 'cluster', name: 'c1', primaries: 3 });
    const url = await runCli(['url', 'c1'], { env });
    expect(url.stdout.trim()).toBe(cluster.seeds[0]);

    // connect follows redirections on a managed cluster: keys land on whichever node owns them.
    const set = await runCli(['connect', 'c1', '--', 'SET', 'user:42', 'x'], { env });
    expect(set).toMatchObject({ code: 0, stdout: 'OK\n' });
    const get = await runCli(['connect', 'c1', '--', 'GET', 'user:42'], { env });
    expect(get).toMatchObject({ code: 0, stdout: 'x\n' });

    // backup --per-node: an RDB file per primary, named after it, each the node's keys.
    const output = join(tmp.dir, 'per-node', 'c1.rdb');
    mkdirSync(join(tmp.dir, 'per-node'));
    const perNode = await runCli([
      'backup',
      '--url',
      cluster.seeds[0]!,
      '--per-node',
      '-o',
      output,
      '--json',
    ]);
    expect(perNode.code, perNode.stderr).toBe(0);
    const files = parseJson<{ keys: number; files: Array<{ node: string; path: string; keys: number }> }>(
      perNode,
    );
    expect(files.keys).toBe(1);
    expect(files.files.map((f) => f.path).sort()).toEqual(
      cluster.nodes.map((n) => join(tmp.dir, 'per-node', `c1.127.0.0.1-${n.port}.rdb`)).sort(),
    );
    expect(readdirSync(join(tmp.dir, 'per-node'))).toHaveLength(3);
    const again2 = await runCli(['backup', '--url', cluster.seeds[0]!, '--per-node', '-o', output]);
    expect(again2.code).toBe(1);
    expect(again2.stderr).toMatch(/c1\.127\.0\.0\.1-\d+\.rdb already exists.*--force/);
    const text = await runCli([
      'backup',
      '--url',
      cluster.seeds[0]!,
      '--per-node',
      '-o',
      join(tmp.dir, 'x.valkey'),
    ]);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('--per-node');

    const dup = await runCli(['cluster', 'create', '--name', 'c1', '--replicas', '0'], { env });
    expect(dup.code).toBe(1);

    const stop = await runCli(['cluster', 'stop', 'c1', '--json'], { env });
    expect(stop.code, stop.stderr).toBe(0);
    expect(parseJson<{ stopped: string; nodes: string[] }>(stop)).toMatchObject({ stopped: 'c1' });
    await expect(rawCommand(port, ['PING'], '127.0.0.1', 1000)).rejects.toThrow();
    const again = await runCli(['cluster', 'stop', 'c1'], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('No managed cluster named "c1"');
  });

  it('--set applies to every node: with requirepass, replicas sync and stop still works; per-node directives are refused', async () => {
    const secret = 'cl-s3cret pw';
    const base = await freeClusterPorts(2);
    const create = await runCli(
      [
        'cluster',
        'create',
        '--name',
        'locked',
        '--primaries',
        '1',
        '--replicas',
        '1',
        '--port',
        String(base),
        '--set',
        `requirepass=${secret}`,
        '--set',
        'maxmemory=64mb',
        '--json',
      ],
      { env },
    );
    expect(create.code, create.stderr).toBe(0);
    expect(`${create.stdout}${create.stderr}`).not.toContain(secret);
    const cluster = parseJson<{ nodes: Array<{ port: number; role: string }> }>(create);
    const [primary, replica] = cluster.nodes;
    expect(await rawCommand(primary!.port, ['PING'])).toMatch(/NOAUTH/);
    const authed = { env: { ...env, VALKEY_TOOLS_PASSWORD: secret } };
    const info = await runCli(
      ['connect', '--url', `redis://127.0.0.1:${replica!.port}`, '--', 'INFO', 'replication'],
      authed,
    );
    expect(info.stdout).toContain('master_link_status:up');
    const maxmemory = await runCli(
      ['connect', '--url', `redis://127.0.0.1:${replica!.port}`, '--', 'CONFIG', 'GET', 'maxmemory'],
      authed,
    );
    expect(maxmemory.stdout).toContain(String(64 * 1024 * 1024));
    const stop = await runCli(['cluster', 'stop', 'locked'], { env });
    expect(stop.code, stop.stderr).toBe(0);
    await expect(rawCommand(primary!.port, ['PING'], '127.0.0.1', 1000)).rejects.toThrow();

    const perNode = await runCli(['cluster', 'create', '--name', 'bad', '--set', 'port=7000'], { env });
    expect(perNode.code).toBe(2);
    expect(perNode.stderr).toContain('--set port: the cluster sets it for each node itself (use --port');
  });
});
