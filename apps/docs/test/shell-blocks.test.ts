/**
 * Every shell block of the hand-written docs (guides, home page, READMEs) runs as written, or says
 * why not with a `<!-- not run: REASON -->` before it (see shell-blocks.ts).
 *
 * A page's blocks run in order, in one fresh directory, as a reader following the page would:
 * `bash -euo pipefail`, with this checkout's CLI as `valkey-tools` and as `npx @valkey-tools/cli`
 * (shims on PATH), its own `VALKEY_TOOLS_HOME` and `HOME`, and `VALKEY_TOOLS_MIRROR` pointing at a
 * mirror of the system's valkey-server served on 127.0.0.1 (so `install 8.0` downloads and
 * verifies, offline). `$VALKEY_URL`, `$TARGET_URL`, `$REDIS_URL` and `$PROD_REPLICA_URL` are real
 * servers the test starts for the page; `<!-- given: NAME -->` files are made by the test (GIVEN).
 * Pages run concurrently. A block must exit 0 and leave the files it writes with `-o`, `>` and
 * the like; CHECKS adds what a few blocks should have done on their servers and files.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { detectPlatform, platformKey } from '@valkey-tools/core';
import {
  registerPid,
  serverBinary,
  startTestServer,
  type TestServer,
  unregisterPid,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MirrorServer, startMirrorServer } from '../../../packages/binaries/test/mirror-server.ts';
import { buildCli } from '../../../packages/cli/test/helpers.ts';
import {
  type BlockRun,
  declaredOutputs,
  describeBlock,
  documentedPages,
  runBash,
  SERVER_VARIABLES,
  type ServerVariable,
  type ShellBlock,
  serverVariables,
  shellBlocks,
} from './shell-blocks.ts';
import { repoRoot } from './site-build.ts';

const BLOCK_TIMEOUT_MS = 180_000;
const PAGE_TIMEOUT_MS = 900_000;

/** The sample data on the servers behind $VALKEY_URL, $REDIS_URL, $PROD_REPLICA_URL and in the given files. */
const SAMPLE: Array<Array<string | Buffer>> = [
  ['SET', 'user:1', 'alice'],
  ['SET', 'user:2', 'bob'],
  ['HSET', 'user:1:profile', 'name', 'Alice', 'lang', 'en'],
  ['SET', 'session:9f2c', 'token', 'PX', '3600000'],
  ['RPUSH', 'queue', 'a', 'b', 'c'],
  ['SADD', 'tags', 'x', 'y'],
  ['ZADD', 'scores', '1', 'a', '2.5', 'b'],
  ['XADD', 'events', '1-1', 'kind', 'login'],
  ['SET', 'binary', Buffer.from([0, 0xff, 13, 10])],
];
/** SAMPLE, plus `seeded-by` (the flavor of the server it was written to). */
const SAMPLE_KEYS = SAMPLE.length + 1;

async function seed(server: TestServer): Promise<void> {
  for (const command of SAMPLE) await server.command(...command);
  await server.command('SET', 'seeded-by', server.flavor);
}

/** The servers a page's blocks name, started for that page only. */
async function startServer(name: ServerVariable): Promise<TestServer> {
  // No 5 s wait before a replication snapshot: backups by replication start at once.
  const config = { 'repl-diskless-sync-delay': 0 };
  if (name === 'TARGET_URL') return startTestServer({ config });
  const server = await startTestServer({ flavor: name === 'REDIS_URL' ? 'redis' : 'valkey', config });
  await seed(server);
  return server;
}

let work: string;
let shimDir: string;
let mirror: MirrorServer;

/** Runs the CLI of this checkout (setup only: blocks run it through the shims). */
function cli(args: string[], cwd: string): string {
  return execFileSync(process.execPath, [join(repoRoot, 'packages/cli/bin/valkey-tools.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
}

/** Files made once from a valkey-server holding the sample data, for `given:`. */
let fixtures: Promise<string> | undefined;
function sampleFiles(): Promise<string> {
  fixtures ??= (async () => {
    const dir = join(work, 'fixtures');
    mkdirSync(dir, { recursive: true });
    const server = await startTestServer({ config: { appendonly: 'yes', appendfsync: 'always' } });
    try {
      await seed(server);
      await server.command('SAVE');
      cpSync(join(server.dir, 'dump.rdb'), join(dir, 'dump.rdb'));
      cpSync(join(server.dir, 'appendonlydir'), join(dir, 'appendonlydir'), { recursive: true });
    } finally {
      await server.stop();
    }
    cli(['convert', 'dump.rdb', 'backup.valkey'], dir);
    return dir;
  })();
  return fixtures;
}

const NPM_PROJECT_TEST = `// The project's tests: they reach the cluster the CI step started through VALKEY_CLUSTER_SEEDS.
import { connect } from 'node:net';
const seeds = (process.env.VALKEY_CLUSTER_SEEDS ?? '').split(',').filter(Boolean);
if (seeds.length === 0) {
  console.error('VALKEY_CLUSTER_SEEDS is not set');
  process.exit(1);
}
const { hostname, port } = new URL(seeds[0]);
const socket = connect(Number(port), hostname, () => socket.write('*2\\r\\n$7\\r\\nCLUSTER\\r\\n$4\\r\\nINFO\\r\\n'));
let reply = '';
socket.on('data', (chunk) => {
  reply += chunk;
  if (!reply.includes('cluster_state:')) return;
  const ok = reply.includes('cluster_state:ok');
  console.log(ok ? \`cluster_state:ok on \${seeds.length} seeds\` : reply);
  process.exitCode = ok ? 0 : 1;
  socket.end();
});
socket.on('error', (err) => {
  console.error(err.message);
  process.exitCode = 1;
});
`;

/** What `<!-- given: NAME -->` puts in the block's directory. */
const GIVEN: Record<string, { description: string; make(cwd: string): Promise<void> | void }> = {
  clone: {
    description: 'a built clone of this repository: its examples/, packages/ and node_modules/ are linked in',
    make(cwd) {
      for (const name of ['examples', 'packages', 'node_modules']) {
        if (!existsSync(join(cwd, name))) symlinkSync(join(repoRoot, name), join(cwd, name));
      }
    },
  },
  'dump.rdb': {
    description: 'the RDB file a valkey-server holding the sample data saved',
    async make(cwd) {
      cpSync(join(await sampleFiles(), 'dump.rdb'), join(cwd, 'dump.rdb'));
    },
  },
  appendonlydir: {
    description:
      'the AOF directory (manifest, base and increment) of a valkey-server holding the sample data',
    async make(cwd) {
      cpSync(join(await sampleFiles(), 'appendonlydir'), join(cwd, 'appendonlydir'), { recursive: true });
    },
  },
  'backup.valkey': {
    description: 'a .valkey file of the sample data',
    async make(cwd) {
      cpSync(join(await sampleFiles(), 'backup.valkey'), join(cwd, 'backup.valkey'));
    },
  },
  'npm-project': {
    description: 'a project whose `npm test` connects to the cluster VALKEY_CLUSTER_SEEDS names',
    make(cwd) {
      writeFileSync(
        join(cwd, 'package.json'),
        `${JSON.stringify({ name: 'my-app', private: true, type: 'module', scripts: { test: 'node test.js' } }, null, 2)}\n`,
      );
      writeFileSync(join(cwd, 'test.js'), NPM_PROJECT_TEST);
    },
  },
};

interface CheckContext {
  block: ShellBlock;
  run: BlockRun;
  cwd: string;
  /** The page's VALKEY_TOOLS_HOME. */
  home: string;
  servers: Partial<Record<ServerVariable, TestServer>>;
  /** Runs a command the way the blocks run (same directory and environment). */
  sh(command: string): Promise<BlockRun>;
  expect: typeof expect;
}

/** What some blocks must have done, beyond exiting 0. `block` is a piece of the block's text. */
const CHECKS: Array<{ file: string; block: string; check(c: CheckContext): Promise<void> | void }> = [
  {
    file: 'apps/docs/guide/getting-started.md',
    block: 'npx @valkey-tools/cli inspect dev.rdb --top 20',
    async check({ cwd, run, sh, expect }) {
      expect(run.stdout).toMatch(/Installed Valkey \d+\.\d+\.\d+/);
      expect(readFileSync(join(cwd, 'dev.rdb')).subarray(0, 5).toString()).toBe('REDIS');
      expect(run.stdout).toMatch(/^keys: 0,/m);
      const list = JSON.parse((await sh('valkey-tools list --json')).stdout);
      expect(list.servers, 'stop dev stopped it').toEqual([]);
    },
  },
  {
    file: 'apps/docs/guide/cli.md',
    block: 'valkey-tools which 8',
    async check({ run, home, sh, expect }) {
      // which: the path on stdout, why on stderr, and what else it found.
      expect(run.stdout).toContain(join(home, 'bin'));
      expect(run.stderr).toMatch(/\(cache\): Valkey .* is installed in the cache/);
      expect(run.stderr).toMatch(/also found: .*valkey-server \(system/);
      const which = JSON.parse((await sh('valkey-tools which 8 --json')).stdout);
      expect(typeof which.reason).toBe('string');
      expect(Array.isArray(which.passedOver)).toBe(true);
      // list: "each managed server: name, URL, pid, version, uptime".
      expect(run.stdout).toMatch(/^NAME +URL +PID +VERSION +UPTIME$/m);
      expect(run.stdout).toMatch(/^dev +redis:\/\/127\.0\.0\.1:\d+\/0 +\d+ +valkey \d+\.\d+\.\d+ +\S+$/m);
      // stop: "saves first when its config has save points" (the default preset has them).
      expect(existsSync(join(home, 'servers', 'dev', 'dump.rdb'))).toBe(true);
    },
  },
  {
    file: 'apps/docs/guide/cli.md',
    block: 'valkey-tools config diff valkey.conf --url "$(valkey-tools url durable)"',
    check({ cwd, run, expect }) {
      // "config init -o writes mode 0600" (configs hold passwords).
      expect(statSync(join(cwd, 'valkey.conf')).mode & 0o777).toBe(0o600);
      expect(run.stdout).toMatch(/valkey\.conf: \d+ directives, 0 errors, 0 warnings: valid/);
      expect(run.stdout).toContain('valkey.conf matches the server');
      expect(existsSync(join(cwd, 'appendonlydir'))).toBe(true);
    },
  },
  {
    file: 'apps/docs/guide/cli.md',
    block: 'valkey-tools restore backup.valkey --url "$TARGET_URL" --replace',
    async check({ run, servers, expect }) {
      const { VALKEY_URL: source, TARGET_URL: target } = servers;
      expect(await target!.command('DBSIZE')).toBe(`:${SAMPLE_KEYS}\r\n`);
      expect(await target!.command('DEBUG', 'DIGEST')).toBe(await source!.command('DEBUG', 'DIGEST'));
      expect(run.stdout).toMatch(/^ok$/m);
    },
  },
  {
    file: 'apps/docs/guide/backup.md',
    block: 'valkey-tools convert dump.rdb - --to jsonl --match "user:*"',
    check({ cwd, run, expect }) {
      const keys = run.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l).key)
        .sort();
      expect(keys).toEqual(['user:1', 'user:1:profile', 'user:2']);
      expect(readFileSync(join(cwd, 'dump.valkey'), 'utf8')).toContain('user:1:profile');
      expect(readFileSync(join(cwd, 'data.rdb')).subarray(0, 5).toString()).toBe('REDIS');
    },
  },
  {
    file: 'apps/docs/guide/backup.md',
    block: 'valkey-tools inspect dump.rdb --memory --html memory.html --csv keys.csv',
    check({ cwd, expect }) {
      expect(readFileSync(join(cwd, 'memory.html'), 'utf8')).toContain('<html');
      const rows = readFileSync(join(cwd, 'keys.csv'), 'utf8').trim().split('\n');
      expect(rows).toHaveLength(SAMPLE_KEYS + 1);
    },
  },
  {
    file: 'apps/docs/guide/ci.md',
    block:
      'valkey-tools mirror add --binaries /usr/bin --version 8.0.1 \\\n  --platform linux-x64 --out ./mirror',
    async check({ cwd, sh, expect }) {
      const manifest = JSON.parse(readFileSync(join(cwd, 'mirror', 'releases.json'), 'utf8'));
      expect(manifest.databases.valkey['8.0.1'].platforms['linux-x64'].sha256).toMatch(/^[0-9a-f]{64}$/);
      // The mirror works: a job pointed at it installs from it.
      const install = await sh('valkey-tools install 8.0.1 --mirror ./mirror');
      expect(install.code, install.stderr).toBe(0);
    },
  },
  {
    file: 'apps/docs/guide/ci.md',
    block: "export VALKEY_CLUSTER_SEEDS=$(node -p \"require('./cluster.json').seeds.join(',')\")",
    async check({ run, sh, expect }) {
      expect(run.stdout).toContain('cluster_state:ok on 6 seeds');
      const list = JSON.parse((await sh('valkey-tools list --json')).stdout);
      expect(list.clusters, 'cluster stop ci stopped it').toEqual([]);
    },
  },
  {
    file: 'apps/docs/guide/ci.md',
    block: 'valkey-tools restore nightly.valkey --url "$(valkey-tools url restore-check)"',
    check({ cwd, expect }) {
      const result = JSON.parse(readFileSync(join(cwd, 'restore.json'), 'utf8'));
      expect(result.keys).toBe(SAMPLE_KEYS);
    },
  },
  {
    file: 'apps/docs/guide/config.md',
    block: 'valkey-tools config check valkey.conf   # exits 1 when it finds an error',
    check({ run, expect }) {
      expect(run.stdout).toMatch(/0 errors, 0 warnings: valid/);
    },
  },
  {
    file: 'apps/docs/guide/examples.md',
    block: 'npx tsx examples/generate-config.ts valkey.conf',
    check({ cwd, expect }) {
      expect(readFileSync(join(cwd, 'valkey.conf'), 'utf8')).toContain('maxmemory-policy allkeys-lfu');
    },
  },
  {
    file: 'apps/docs/guide/examples.md',
    block: 'npx tsx examples/backup-restore.ts "$VALKEY_URL" "$TARGET_URL" backup.valkey',
    async check({ cwd, servers, expect }) {
      const { VALKEY_URL: source, TARGET_URL: target } = servers;
      expect(await target!.command('DEBUG', 'DIGEST')).toBe(await source!.command('DEBUG', 'DIGEST'));
      expect(existsSync(join(cwd, 'backup.valkey'))).toBe(true);
    },
  },
  {
    file: 'apps/docs/guide/examples.md',
    block: 'npx tsx examples/kvcache-score.ts "$VALKEY_URL"   # on that Valkey',
    check({ run, expect }) {
      expect(run.stdout.match(/route to pod-a/g)).toHaveLength(2);
    },
  },
  {
    file: 'apps/docs/guide/migration.md',
    block: 'valkey-tools restore redis.rdb --url "$VALKEY_URL" --replace',
    async check({ servers, expect }) {
      const { VALKEY_URL: valkey, REDIS_URL: redis } = servers;
      // Every key is now the Redis one: `seeded-by` too, and the data digests are equal.
      expect(await valkey!.command('GET', 'seeded-by')).toBe('$5\r\nredis\r\n');
      expect(await valkey!.command('DEBUG', 'DIGEST')).toBe(await redis!.command('DEBUG', 'DIGEST'));
    },
  },
  {
    file: 'apps/docs/guide/migration.md',
    block:
      'valkey-tools migrate --from "$REDIS_URL" --to "$VALKEY_URL" --follow --until-synced --synced-for 1000 --replace',
    async check({ run, servers, expect }) {
      const { VALKEY_URL: valkey, REDIS_URL: redis } = servers;
      expect(run.stdout).toMatch(/^in sync: .*offset \d+/m);
      expect(await valkey!.command('DEBUG', 'DIGEST')).toBe(await redis!.command('DEBUG', 'DIGEST'));
    },
  },
  {
    file: 'apps/docs/guide/valkey-format.md',
    block: 'valkey-tools restore backup.valkey --url "$TARGET_URL" --replace',
    async check({ run, servers, expect }) {
      expect(run.stdout).toContain('errors: 0');
      expect(await servers.TARGET_URL!.command('DBSIZE')).toBe(`:${SAMPLE_KEYS}\r\n`);
    },
  },
  {
    file: 'packages/cli/README.md',
    block: 'npx @valkey-tools/cli verify dump.rdb && echo valid',
    check({ run, expect }) {
      expect(run.stdout).toMatch(/^valid$/m);
    },
  },
  {
    file: 'README.md',
    block: 'npx valkey-tools --help',
    check({ run, expect }) {
      expect(run.stdout).toContain('Usage: valkey-tools <command> [options]');
      expect(run.stdout).toMatch(/^valkey-tools \d+\.\d+\.\d+/m);
    },
  },
];

const checksFor = (block: ShellBlock) =>
  CHECKS.filter((c) => c.file === block.file && block.code.includes(c.block));

const pages = documentedPages().map((file) => ({ file, ...shellBlocks(file) }));
const allBlocks = pages.flatMap((p) => p.blocks);
const pagesToRun = pages
  .map(({ file, blocks }) => ({ file, blocks: blocks.filter((b) => b.notRun === undefined) }))
  .filter((p) => p.blocks.length > 0);

/** `npx` as a reader's machine has it, minus the downloads. */
const NPX_SHIM = `#!/bin/sh
# npx for the docs test: it never downloads. @valkey-tools/cli is this checkout's CLI; any other
# command is looked up as npx does, in node_modules/.bin of this directory and its parents.
case "$1" in
  @valkey-tools/cli | @valkey-tools/cli@*) shift; exec valkey-tools "$@" ;;
esac
dir=$PWD
while :; do
  if [ -x "$dir/node_modules/.bin/$1" ]; then
    cmd=$1; shift; exec "$dir/node_modules/.bin/$cmd" "$@"
  fi
  [ "$dir" = / ] && break
  dir=$(dirname "$dir")
done
echo "npx $1: not installed here, and the docs test never downloads packages" >&2
exit 127
`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'docs-shell-'));
  // Blocks run the built CLI, as `npx @valkey-tools/cli` does: build what changed.
  await buildCli();
  shimDir = join(work, 'bin');
  mkdirSync(shimDir);
  const bin = join(repoRoot, 'packages', 'cli', 'bin', 'valkey-tools.js');
  writeFileSync(
    join(shimDir, 'valkey-tools'),
    `#!/bin/sh\n# this checkout's CLI, linked as npm links it\nexec "${process.execPath}" "${bin}" "$@"\n`,
    { mode: 0o755 },
  );
  writeFileSync(join(shimDir, 'npx'), NPX_SHIM, { mode: 0o755 });

  // A mirror holding the system's valkey-server, served over HTTP: `install 8.0` downloads and
  // verifies from it as it would from a team's mirror.
  const system = serverBinary('valkey');
  const version = /v=(\d+\.\d+\.\d+)/.exec(execFileSync(system, ['--version'], { encoding: 'utf8' }))?.[1];
  if (!version) throw new Error(`cannot read the version of ${system}`);
  const mirrorDir = join(work, 'mirror');
  cli(
    [
      'mirror',
      'add',
      '--binaries',
      dirname(system),
      '--version',
      version,
      '--platform',
      platformKey(detectPlatform()),
      '--out',
      mirrorDir,
    ],
    work,
  );
  mirror = await startMirrorServer(mirrorDir);
}, 600_000);

afterAll(async () => {
  await mirror?.close();
  if (fixtures) await fixtures.catch(() => {});
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the shell blocks of the docs', () => {
  it('are found on the pages that have them', () => {
    expect(allBlocks.length).toBeGreaterThan(30);
    for (const file of ['apps/docs/guide/cli.md', 'apps/docs/guide/getting-started.md', 'README.md']) {
      expect(
        allBlocks.some((b) => b.file === file),
        file,
      ).toBe(true);
    }
  });

  it('are each run, or say why not; markers are well-formed and name known files', () => {
    const problems = pages.flatMap((p) => p.problems.map((m) => `${m.file}:${m.line}: ${m.problem}`));
    for (const block of allBlocks) {
      if (block.notRun !== undefined && block.notRun.trim().length < 10) {
        problems.push(
          `${block.file}:${block.line}: the reason it is not run is too short: "${block.notRun}"`,
        );
      }
      for (const name of block.given) {
        if (!GIVEN[name]) {
          problems.push(
            `${block.file}:${block.line}: given "${name}" is none of ${Object.keys(GIVEN).join(', ')}`,
          );
        }
      }
    }
    expect(problems).toEqual([]);
    // Each run block is either a shell script bash can parse, so a not-run block is checked too.
    for (const block of allBlocks) {
      const parsed = (() => {
        try {
          execFileSync('bash', ['-n'], { input: block.code, stdio: ['pipe', 'pipe', 'pipe'] });
          return '';
        } catch (err) {
          return String((err as { stderr?: Buffer }).stderr ?? err);
        }
      })();
      expect(parsed, describeBlock(block)).toBe('');
    }
  });

  it('name only the servers the test provides', () => {
    for (const block of allBlocks.filter((b) => b.notRun === undefined)) {
      for (const [, name] of block.code.matchAll(/\$\{?([A-Z][A-Z0-9_]*_URL)\b/g)) {
        expect(Object.keys(SERVER_VARIABLES), describeBlock(block)).toContain(name);
      }
    }
  });

  it('have checks that each apply to exactly one block that is run', () => {
    for (const check of CHECKS) {
      const matching = allBlocks.filter(
        (b) => b.notRun === undefined && b.file === check.file && b.code.includes(check.block),
      );
      expect(matching, `${check.file}: "${check.block}"`).toHaveLength(1);
    }
  });

  it.concurrent.for(pagesToRun)(
    'run as written: $file',
    { timeout: PAGE_TIMEOUT_MS },
    async ({ file, blocks }, { expect }) => {
      const root = mkdtempSync(join(work, `${file.replace(/[^a-z0-9]+/gi, '-')}-`));
      const cwd = join(root, 'work');
      const home = join(root, 'valkey-tools-home');
      const userHome = join(root, 'home');
      const scripts = join(root, 'blocks');
      for (const dir of [cwd, home, userHome, scripts]) mkdirSync(dir);
      const servers: Partial<Record<ServerVariable, TestServer>> = {};
      const env = blockEnv({ home, userHome });
      const pids = new Set<number>();
      const sh = async (command: string) => {
        const script = join(scripts, `check-${Date.now()}-${Math.random().toString(36).slice(2)}.sh`);
        writeFileSync(script, `${command}\n`);
        return runBash(script, { cwd, env, timeoutMs: BLOCK_TIMEOUT_MS });
      };
      try {
        const needed = [...new Set(blocks.flatMap((b) => serverVariables(b.code)))];
        await Promise.all(
          needed.map(async (name) => {
            servers[name] = await startServer(name);
          }),
        );
        for (const [name, server] of Object.entries(servers)) env[name] = server.url;

        for (const block of blocks) {
          for (const name of block.given) await GIVEN[name]!.make(cwd);
          const script = join(scripts, `line-${block.line}.sh`);
          writeFileSync(script, block.code);
          const run = await runBash(script, { cwd, env, timeoutMs: BLOCK_TIMEOUT_MS });
          trackServers(home, pids);
          expect(run.code, describeBlock(block, run)).toBe(0);
          for (const output of declaredOutputs(block.code)) {
            expect(existsSync(join(cwd, output)), `${describeBlock(block, run)}\nno ${output} after it`).toBe(
              true,
            );
          }
          for (const { check } of checksFor(block)) {
            await check({ block, run, cwd, home, servers, sh, expect });
          }
        }
      } finally {
        // Stop what the blocks left running, the way a reader would, then make sure.
        if (existsSync(join(home, 'run'))) {
          trackServers(home, pids);
          await sh('valkey-tools stop --all --nosave >/dev/null 2>&1').catch(() => {});
          for (const pid of pids) {
            if (isServerProcess(pid)) process.kill(pid, 'SIGKILL');
            unregisterPid(pid);
          }
        }
        await Promise.all(Object.values(servers).map((s) => s.stop()));
        rmSync(root, { recursive: true, force: true });
      }
    },
  );
});

/** The environment of a block: a clean shell's, plus what the test provides. */
function blockEnv({ home, userHome }: { home: string; userHome: string }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  // Not the node_modules/.bin folders npm and Vitest put on PATH: a block gets no command the
  // reader would not have.
  const path = (process.env.PATH ?? '').split(':').filter((p) => p !== '' && !p.includes('node_modules'));
  env.PATH = [shimDir, dirname(process.execPath), ...path].join(':');
  env.HOME = userHome;
  env.VALKEY_TOOLS_HOME = home;
  env.VALKEY_TOOLS_MIRROR = mirror.url;
  env.NO_COLOR = '1';
  // npm never reaches the registry: a block that would install must say so with `not run`.
  env.npm_config_offline = 'true';
  env.npm_config_update_notifier = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_audit = 'false';
  return env;
}

/** Registers the servers the CLI started for the page, so the run's teardown kills any left over. */
function trackServers(home: string, pids: Set<number>): void {
  const run = join(home, 'run');
  if (!existsSync(run)) return;
  for (const name of readdirSync(run)) {
    if (!name.endsWith('.json')) continue;
    try {
      const pid = Number(JSON.parse(readFileSync(join(run, name), 'utf8')).pid);
      if (Number.isInteger(pid) && pid > 0 && !pids.has(pid)) {
        pids.add(pid);
        registerPid(pid);
      }
    } catch {
      // being written
    }
  }
}

function isServerProcess(pid: number): boolean {
  try {
    return /(valkey|redis)-server/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}
