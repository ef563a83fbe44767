/**
 * The built CLI against a real Sentinel-managed deployment (a primary, two replicas and three
 * Sentinels on loopback; the servers and the Sentinels each with a password of their own):
 * backup --from-replica, restore (also through a failover in the middle), connect, config diff and
 * kvcache score through a `valkey+sentinel://` URL, with both passwords kept off the command line
 * (files and environment) and out of everything printed.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type SentinelTopology,
  type TestServer,
  buildDataset,
  serverGroup,
  serverState,
  startSentinelTopology,
  waitFor,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILD_TIMEOUT_MS,
  type CliResult,
  type RunOptions,
  buildCli,
  parseJson,
  runCli,
  tempDir,
} from './helpers.js';

const SERVER_PASSWORD = 'cli-srv-Secret-8';
const SENTINEL_PASSWORD = 'cli-sen-Secret-2';
const WRONG_SENTINEL_PASSWORD = 'cli-wrong-Sentinel-5';
const SECRETS = [SERVER_PASSWORD, SENTINEL_PASSWORD, WRONG_SENTINEL_PASSWORD];

const tmp = tempDir('sentinel');
const servers = serverGroup();
let topo: SentinelTopology;
/** A standalone server with every type of value, and its backup. */
let source: TestServer;
let dataset: string;
/** The topology's URL without any password: those come from files or the environment. */
let bareUrl: string;
const serverPw = join(tmp.dir, 'server.pw');
const sentinelPw = join(tmp.dir, 'sentinel.pw');
const wrongSentinelPw = join(tmp.dir, 'wrong-sentinel.pw');
/** Both passwords from the environment, for the runs that take them from there. */
const envPasswords = {
  VALKEY_TOOLS_PASSWORD: SERVER_PASSWORD,
  VALKEY_TOOLS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
};

const nodeUrl = (s: TestServer) => `redis://:${SERVER_PASSWORD}@127.0.0.1:${s.port}/0`;

/** Runs the CLI and checks nothing it printed holds a password, in any spelling. */
async function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onSpawn?: RunOptions['onSpawn'],
): Promise<CliResult> {
  // Nothing from the test's own environment: each run says where its passwords come from.
  const result = await runCli(args, {
    env: { VALKEY_TOOLS_PASSWORD: '', VALKEY_TOOLS_SENTINEL_PASSWORD: '', ...env },
    ...(onSpawn ? { onSpawn } : {}),
  });
  const output = result.stdout + result.stderr;
  for (const secret of SECRETS)
    for (const spelling of [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])
      expect(output.includes(spelling), `valkey-tools ${args.join(' ')} printed a password:\n${output}`).toBe(
        false,
      );
  return result;
}

/** Waits until both replicas have what the primary has. */
async function replicated(): Promise<void> {
  const c = topo.client(await topo.primary());
  try {
    await waitFor('the replicas to catch up', async () => Number(await c.call('WAIT', '2', '1000')) === 2);
  } finally {
    c.disconnect();
  }
}

async function onPrimary<T>(fn: (c: ReturnType<SentinelTopology['client']>) => Promise<T>): Promise<T> {
  const c = topo.client(await topo.primary());
  try {
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

beforeAll(async () => {
  [topo] = await Promise.all([
    startSentinelTopology({ password: SERVER_PASSWORD, sentinelPassword: SENTINEL_PASSWORD }),
    buildCli(),
  ]);
  // No 5 s wait before a replication snapshot.
  for (const s of topo.servers) {
    const c = topo.client(s);
    await c.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
    c.disconnect();
  }
  bareUrl = topo.url.replace(/\/\/[^@]*@/, '//').replace(/\?.*$/, '');
  expect(bareUrl).toMatch(/^valkey\+sentinel:\/\/127\.0\.0\.1:\d+,.*\/mymaster$/);
  writeFileSync(serverPw, `${SERVER_PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(sentinelPw, `${SENTINEL_PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(wrongSentinelPw, `${WRONG_SENTINEL_PASSWORD}\n`, { mode: 0o600 });
  // The data comes from a file restored through the Sentinels (the first test): the replicas then
  // hold exactly what the primary holds (written directly, a stream's consumer seen-times differ).
  source = await servers.start();
  await buildDataset(source.url);
  dataset = join(tmp.dir, 'source.rdb');
  expect((await run(['backup', '--url', source.url, '-o', dataset])).code).toBe(0);
}, BUILD_TIMEOUT_MS + 60_000);

afterAll(async () => {
  await Promise.all([topo?.stop(), servers.stop()]);
  tmp.cleanup();
});

const flushTopology = async () => {
  await topo.settled();
  await onPrimary((c) => c.flushall());
  await replicated();
};

describe('restore through Sentinels', () => {
  it('loads a file into the primary, both passwords from the environment', async () => {
    await flushTopology();
    const result = await run(['restore', dataset, '--url', bareUrl, '--json'], envPasswords);
    expect(result.code, result.stderr).toBe(0);
    expect(parseJson(result).failovers).toBeUndefined();
    expect(await serverState(nodeUrl(await topo.primary()))).toEqual(await serverState(source.url));
    await replicated();
  });
});

describe('backup through Sentinels', () => {
  it('--from-replica reads a replica, says which, and the file loads digest-equal to the primary', async () => {
    const primary = await topo.primary();
    const expected = await serverState(nodeUrl(primary));
    const out = join(tmp.dir, 'replica.rdb');
    const human = await run([
      'backup',
      '--url',
      bareUrl,
      '--from-replica',
      '--password-file',
      serverPw,
      '--sentinel-password-file',
      sentinelPw,
      '-o',
      out,
    ]);
    expect(human.code, human.stderr).toBe(0);
    const said = /read replica 127\.0\.0\.1:(\d+) of mymaster \(Sentinel 127\.0\.0\.1:(\d+)\)/.exec(
      human.stdout,
    );
    expect(said, human.stdout).not.toBeNull();
    const read = Number(said![1]);
    expect(read).not.toBe(primary.port);
    expect(topo.servers.map((s) => s.port)).toContain(read);
    expect(topo.sentinels.map((s) => s.port)).toContain(Number(said![2]));
    const fresh = await servers.start();
    expect((await run(['restore', out, '--url', fresh.url])).code).toBe(0);
    expect(await serverState(fresh.url)).toEqual(expected);

    // The same with both passwords from the environment, as JSON: `sentinel` names the node.
    const json = await run(
      [
        'backup',
        '--url',
        bareUrl,
        '--from-replica',
        '--mode',
        'scan',
        '-o',
        join(tmp.dir, 'r.valkey'),
        '--json',
      ],
      envPasswords,
    );
    expect(json.code, json.stderr).toBe(0);
    expect(parseJson(json).sentinel).toMatchObject({ name: 'mymaster', role: 'replica', host: '127.0.0.1' });
    expect((parseJson(json).sentinel as { port: number }).port).not.toBe(primary.port);
    // Without --from-replica: the primary.
    const fromPrimary = await run(
      ['backup', '--url', bareUrl, '-o', join(tmp.dir, 'primary.rdb'), '--json'],
      envPasswords,
    );
    expect(parseJson(fromPrimary).sentinel).toMatchObject({ role: 'primary', port: primary.port });
  });

  it('a wrong Sentinel password fails naming the Sentinel, never a password', async () => {
    for (const extra of [[], ['--json'], ['--verbose']]) {
      const result = await run([
        'backup',
        '--url',
        bareUrl,
        '--password-file',
        serverPw,
        '--sentinel-password-file',
        wrongSentinelPw,
        '-o',
        join(tmp.dir, 'never.rdb'),
        ...extra,
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`127.0.0.1:${topo.sentinels[0]!.port}`);
      expect(result.stderr).toMatch(/WRONGPASS|invalid username-password/);
      // The hint names the flags, not the API's options.
      expect(result.stderr).toContain('--sentinel-password-file');
    }
  });

  it('--from-replica and the Sentinel credential flags need a Sentinel URL: usage errors', async () => {
    const fresh = await servers.start();
    const replica = await run(['backup', '--url', fresh.url, '--from-replica', '-o', join(tmp.dir, 'x.rdb')]);
    expect(replica.code).toBe(2);
    expect(replica.stderr).toMatch(/--from-replica needs a Sentinel URL/);
    const flag = await run([
      'restore',
      join(tmp.dir, 'replica.rdb'),
      '--url',
      fresh.url,
      '--sentinel-password-file',
      sentinelPw,
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--sentinel-password-file is only for Sentinel URLs/);
    const both = await run([
      'backup',
      '--url',
      bareUrl,
      '--password-file',
      '-',
      '--sentinel-password-file',
      '-',
      '-o',
      join(tmp.dir, 'x.rdb'),
    ]);
    expect(both.code).toBe(2);
    expect(await serverState(fresh.url)).toMatchObject({ digest: '0'.repeat(40) });
  });
});

describe('connect, config diff and kvcache score through Sentinels', () => {
  it('connect runs valkey-cli on the primary (or with --replica on a replica)', async () => {
    const primary = await topo.primary();
    const set = await run(['connect', '--url', bareUrl, '--', 'SET', 'via:connect', 'yes'], envPasswords);
    expect(set, set.stderr).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(set.stderr).toContain(`primary 127.0.0.1:${primary.port} of mymaster`);
    expect(await onPrimary((c) => c.get('via:connect'))).toBe('yes');
    const role = await run(
      [
        'connect',
        '--url',
        bareUrl,
        '--replica',
        '--password-file',
        serverPw,
        '--sentinel-password-file',
        sentinelPw,
        '--',
        'ROLE',
      ],
      {},
    );
    expect(role.code, role.stderr).toBe(0);
    expect(role.stdout.split('\n')[0]).toBe('slave');
    const plain = await run(['connect', '--url', nodeUrl(primary), '--replica', '--', 'PING']);
    expect(plain.code).toBe(2);
    // --json says what would run: the node's address, the password in a named variable only.
    const plan = await run(['connect', '--url', bareUrl, '--json'], envPasswords);
    expect(parseJson(plan)).toMatchObject({
      args: ['-h', '127.0.0.1', '-p', String(primary.port)],
      env: ['REDISCLI_AUTH'],
      sentinel: { role: 'primary', port: primary.port },
    });
  });

  it('config diff compares with the primary', async () => {
    const primary = await topo.primary();
    for (const s of topo.servers) {
      const c = topo.client(s);
      await c.call('CONFIG', 'SET', 'hz', s === primary ? '17' : '10');
      c.disconnect();
    }
    const conf = join(tmp.dir, 'valkey.conf');
    writeFileSync(conf, 'hz 17\n');
    const same = await run(['config', 'diff', conf, '--url', bareUrl, '--file-only'], envPasswords);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toContain('matches the server');
    writeFileSync(conf, 'hz 10\n');
    const differs = await run(
      ['config', 'diff', conf, '--url', bareUrl, '--file-only', '--json'],
      envPasswords,
    );
    expect(differs.code).toBe(1);
    expect(parseJson(differs).differences).toEqual([
      expect.objectContaining({ directive: 'hz', actual: '17' }),
    ]);
  });

  it('kvcache score reads an index on the primary', async () => {
    const tokens = join(tmp.dir, 'tokens.json');
    writeFileSync(tokens, '[1,2,3,4]');
    const result = await run(
      [
        'kvcache',
        'score',
        '--url',
        bareUrl,
        '--model',
        'm',
        '--tokens',
        tokens,
        '--block-size',
        '4',
        '--json',
      ],
      envPasswords,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(parseJson(result)).toMatchObject({ model: 'm', blocks: 1, matchedBlocks: 0 });
  });
});

describe('restore through a failover', () => {
  let big: TestServer;
  let bigDataset: string;

  beforeAll(async () => {
    big = await servers.start();
    await buildDataset(big.url);
    await big.command('DEBUG', 'POPULATE', 200_000, 'pop', 64);
    bigDataset = join(tmp.dir, 'big.rdb');
    expect((await run(['backup', '--url', big.url, '-o', bigDataset])).code).toBe(0);
  });

  it('through a failover in the middle: says so, restores again into the new primary, lists it in --json', async () => {
    await flushTopology();
    const before = await topo.primary();
    let cli: ChildProcess | undefined;
    const restoring = run(
      [
        'restore',
        bigDataset,
        '--url',
        bareUrl,
        '--password-file',
        serverPw,
        '--sentinel-password-file',
        sentinelPw,
        '--json',
      ],
      {},
      (child) => {
        cli = child;
      },
    );
    // Once part of the keys are in, the CLI is frozen while writes on the primary pause (so it
    // cannot finish first, however loaded the machine), and the Sentinels fail over meanwhile:
    // the paused writes end on the old primary after another one was promoted.
    const watcher = topo.client(before);
    try {
      await waitFor('the restore to write some keys', async () => Number(await watcher.dbsize()) >= 20_000, {
        intervalMs: 20,
      });
      process.kill(cli!.pid!, 'SIGSTOP');
      try {
        await watcher.call('CLIENT', 'PAUSE', '60000', 'WRITE');
      } finally {
        process.kill(cli!.pid!, 'SIGCONT');
      }
      await topo.failover();
    } finally {
      await watcher.call('CLIENT', 'UNPAUSE').catch(() => {});
      watcher.disconnect();
    }
    const result = await restoring;
    expect(result.code, result.stderr).toBe(0);
    const after = await topo.primary();
    expect(after).not.toBe(before);
    const failovers = parseJson(result).failovers as Array<{ from: string; to: string }>;
    expect(failovers?.[0]).toMatchObject({
      from: `127.0.0.1:${before.port}`,
      to: `127.0.0.1:${after.port}`,
    });
    expect(result.stderr).toContain(
      `the primary moved from 127.0.0.1:${before.port} to 127.0.0.1:${after.port}`,
    );
    expect(await serverState(nodeUrl(after))).toEqual(await serverState(big.url));
  });
});
