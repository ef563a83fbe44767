import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import {
  type TestServer,
  encodeCommand,
  encodeCommands,
  freePort,
  listenOnFreePort,
  startTestServer,
  waitFor,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILD_TIMEOUT_MS,
  type CliResult,
  binPath,
  buildCli,
  packageDir,
  runCli,
  tempDir,
} from './helpers.js';

/**
 * Issue #17, "treat every input as untrusted", against the built CLI and real servers:
 * - passwords with `@`, spaces, `:` `/` `%` `#`, in every URL form (and the scheme-less one), never
 *   appear in any output, against a server with requirepass and against a dead port; the
 *   environment and --password-file authenticate without a password on the command line;
 * - a hostile server's error text and hostile key names reach the terminal escaped;
 * - files are written without following symlinks planted at predictable names, configs with
 *   secrets get mode 0600, and leftovers of killed runs (kill -9) are cleaned by the next run.
 */
const PASSWORD = 'P@ss w0rd:/%#q@x';
const WRONG = 'Wr0ng @pass #2';
const tmp = tempDir('untrusted');
let secured: TestServer;
let big: TestServer;
let deadPort: number;
const posix = process.platform !== 'win32';

/** Every spelling of a secret that would give it away (and its pieces around the `@`). */
const spellings = (s: string) => [
  s,
  encodeURIComponent(s),
  JSON.stringify(s).slice(1, -1),
  Buffer.from(s).toString('base64'),
  ...s.split('@').filter((p) => p.length >= 4),
];

function expectNoSecret(label: string, result: CliResult): void {
  const output = result.stdout + result.stderr;
  for (const secret of [...spellings(PASSWORD), ...spellings(WRONG)])
    expect(output.includes(secret), `${label} printed ${JSON.stringify(secret)}:\n${output}`).toBe(false);
}

beforeAll(async () => {
  [secured, big, deadPort] = await Promise.all([
    startTestServer({ config: { 'repl-diskless-sync-delay': 0 } }),
    startTestServer({ config: { 'repl-diskless-sync-delay': 0 } }),
    freePort(),
    buildCli(),
  ]).then(([a, b, p]) => [a, b, p] as const);
  // Set after start: a config file cannot hold a password with spaces unquoted.
  expect(await secured.command('CONFIG', 'SET', 'requirepass', PASSWORD)).toBe('+OK\r\n');
  writeFileSync(join(tmp.dir, 'seed.valkey'), encodeCommand(['SET', 'k2', 'v2']));
  writeFileSync(join(tmp.dir, 'diff.conf'), 'maxmemory 0\n');
  // DEBUG POPULATE makes the keys server-side: enough data that a backup takes a while.
  expect(await big.command('DEBUG', 'POPULATE', '300000', 'key', '200')).toBe('+OK\r\n');
}, BUILD_TIMEOUT_MS + 60_000);

afterAll(async () => {
  await Promise.all([secured?.stop(), big?.stop()]);
  tmp.cleanup();
});

describe('passwords never printed', () => {
  it('in any URL form, right or wrong, live or dead port, plain, --json and --verbose', async () => {
    const seed = join(tmp.dir, 'seed.valkey');
    const conf = join(tmp.dir, 'diff.conf');
    const runs: Array<{ args: string[]; ok: boolean }> = [];
    let n = 0;
    for (const [port, password, ok] of [
      [secured.port, PASSWORD, true],
      [secured.port, WRONG, false],
      [deadPort, PASSWORD, false],
    ] as const) {
      const urls = [
        `redis://default:${password}@127.0.0.1:${port}`, // raw @, space, : / % #
        `redis://:${password}@127.0.0.1:${port}/0`,
        `valkey://default:${encodeURIComponent(password)}@127.0.0.1:${port}`,
        `default:${password}@127.0.0.1:${port}`, // no scheme: refused, never echoed
        `:${password}@127.0.0.1:${port}`,
      ];
      for (const [i, url] of urls.entries()) {
        const works = ok && i < 3;
        runs.push(
          {
            args: ['backup', '--url', url, '--mode', 'scan', '-o', join(tmp.dir, `s${n++}.valkey`)],
            ok: works,
          },
          {
            args: ['backup', '--url', url, '--mode', 'scan', '-o', join(tmp.dir, `s${n++}.valkey`), '--json'],
            ok: works,
          },
          { args: ['backup', '--url', url, '-o', join(tmp.dir, `r${n++}.rdb`), '--verbose'], ok: works },
          { args: ['restore', seed, '--url', url, '--replace', '--json'], ok: works },
          { args: ['config', 'diff', conf, '--url', url, '--verbose'], ok: works },
          { args: ['connect', '--url', url, '--verbose', '--', 'PING'], ok: works },
        );
      }
    }
    // A few at a time: the machine is shared.
    const results: CliResult[] = [];
    for (let i = 0; i < runs.length; i += 6)
      results.push(...(await Promise.all(runs.slice(i, i + 6).map((r) => runCli(r.args)))));
    for (const [i, result] of results.entries()) {
      const { args, ok } = runs[i]!;
      const label = `#${i} ${args[0]} ${args.includes('--json') ? '--json' : ''} ${args.includes('--verbose') ? '--verbose' : ''} ${ok ? 'ok' : 'fails'}`;
      expectNoSecret(label, result);
      // `connect` hands over to valkey-cli; `config diff` exits 1 on differences.
      if (args[0] === 'backup' || args[0] === 'restore') {
        if (ok) expect(result.code, `${label}\n${result.stderr}`).toBe(0);
        else expect(result.code, `${label}\n${result.stderr}`).not.toBe(0);
      }
      if (args.includes('--json')) expect(() => JSON.parse(result.stdout), label).not.toThrow();
      if (!ok && args[0] !== 'connect' && args[0] !== 'config')
        expect(result.stdout + result.stderr, label).toMatch(
          /WRONGPASS|auth|password|ECONNREFUSED|refused|no scheme/i,
        );
    }
  }, 600_000);

  it('authenticates from VALKEY_TOOLS_PASSWORD or --password-file, with the URL password winning over the environment', async () => {
    const url = `redis://127.0.0.1:${secured.port}`;
    const pwFile = join(tmp.dir, 'pw');
    writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
    const wrongFile = join(tmp.dir, 'wrong-pw');
    writeFileSync(wrongFile, `${WRONG}\n`, { mode: 0o600 });
    const envOk = { VALKEY_TOOLS_PASSWORD: PASSWORD };
    const cases: Array<{ args: string[]; env?: NodeJS.ProcessEnv; ok: boolean; label: string }> = [
      {
        label: 'env',
        args: ['backup', '--url', url, '--mode', 'scan', '-o', join(tmp.dir, 'env.valkey')],
        env: envOk,
        ok: true,
      },
      {
        label: 'env + user',
        args: ['restore', join(tmp.dir, 'env.valkey'), '--url', url, '--replace'],
        env: { ...envOk, VALKEY_TOOLS_USER: 'default' },
        ok: true,
      },
      {
        label: 'file',
        args: ['backup', '--url', url, '--password-file', pwFile, '-o', join(tmp.dir, 'file.rdb'), '--json'],
        ok: true,
      },
      {
        label: 'file + --user',
        args: [
          'config',
          'diff',
          join(tmp.dir, 'diff.conf'),
          '--url',
          url,
          '--user',
          'default',
          '--password-file',
          pwFile,
          '--json',
        ],
        ok: true,
      },
      {
        label: 'stdin',
        args: [
          'backup',
          '--url',
          url,
          '--password-file',
          '-',
          '--mode',
          'scan',
          '-o',
          join(tmp.dir, 'stdin.valkey'),
        ],
        ok: true,
      },
      {
        label: 'file beats URL',
        args: [
          'backup',
          '--url',
          `redis://:${encodeURIComponent(WRONG)}@127.0.0.1:${secured.port}`,
          '--password-file',
          pwFile,
          '--mode',
          'scan',
          '-o',
          join(tmp.dir, 'f2.valkey'),
        ],
        ok: true,
      },
      {
        label: 'URL beats env',
        args: [
          'backup',
          '--url',
          `redis://:${encodeURIComponent(WRONG)}@127.0.0.1:${secured.port}`,
          '--mode',
          'scan',
          '-o',
          join(tmp.dir, 'e2.valkey'),
        ],
        env: envOk,
        ok: false,
      },
      {
        label: 'wrong file',
        args: [
          'backup',
          '--url',
          url,
          '--password-file',
          wrongFile,
          '--mode',
          'scan',
          '-o',
          join(tmp.dir, 'w.valkey'),
          '--verbose',
        ],
        ok: false,
      },
      {
        label: 'no password',
        args: ['backup', '--url', url, '--mode', 'scan', '-o', join(tmp.dir, 'none.valkey')],
        ok: false,
      },
    ];
    for (const c of cases) {
      const result = await runCli(c.args, {
        env: { VALKEY_TOOLS_PASSWORD: '', VALKEY_TOOLS_USER: '', ...c.env },
        input: c.label === 'stdin' ? `${PASSWORD}\n` : '',
      });
      expectNoSecret(c.label, result);
      if (c.args[0] === 'config') expect(result.code, `${c.label}\n${result.stderr}`).toBeLessThan(2);
      else expect(result.code === 0, `${c.label}\n${result.stdout}${result.stderr}`).toBe(c.ok);
      if (!c.ok) expect(result.stderr, c.label).toMatch(/WRONGPASS|NOAUTH|password/i);
    }
    // A password file others can read is used, with a warning.
    const loose = join(tmp.dir, 'loose-pw');
    writeFileSync(loose, PASSWORD, { mode: 0o644 });
    const warned = await runCli([
      'backup',
      '--url',
      url,
      '--password-file',
      loose,
      '--mode',
      'scan',
      '-o',
      join(tmp.dir, 'l.valkey'),
    ]);
    expect(warned.code, warned.stderr).toBe(0);
    if (posix) expect(warned.stderr).toMatch(/can be read by other users .*chmod 600/);
  });
});

/** A TCP server answering every command with an error full of terminal escape sequences. */
async function hostileServer(): Promise<{ server: Server; port: number }> {
  const reply = Buffer.from(
    '-ERR \x1b]0;pwned-title\x07 boom \x1b[2J\x1b[31m red \u009b2J \x7f end\r\n',
    'utf8',
  );
  const server = createServer((sock: Socket) => {
    sock.on('data', () => sock.write(reply));
    sock.on('error', () => {});
  });
  return { server, port: await listenOnFreePort(server) };
}

const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('server text and key names reach the terminal escaped', () => {
  it('an error reply holding OSC, CSI, C1 and DEL is shown escaped, in text and --json', async () => {
    const { server, port } = await hostileServer();
    try {
      const url = `redis://127.0.0.1:${port}`;
      const conf = join(tmp.dir, 'hostile.conf');
      writeFileSync(conf, 'maxmemory 0\n');
      for (const args of [
        ['backup', '--url', url, '--mode', 'scan', '-o', join(tmp.dir, 'h.valkey')],
        ['backup', '--url', url, '--mode', 'scan', '-o', join(tmp.dir, 'h.valkey'), '--json'],
        ['backup', '--url', url, '-o', join(tmp.dir, 'h.rdb'), '--verbose'],
        ['restore', join(tmp.dir, 'seed.valkey'), '--url', url],
        ['config', 'diff', conf, '--url', url],
      ]) {
        const result = await runCli(args);
        const label = args.join(' ');
        expect(result.code, `${label}\n${result.stderr}`).not.toBe(0);
        // config diff says the connection closed (the client's ready check failed) without the text.
        if (args[0] !== 'config') expect(result.stderr + result.stdout, label).toContain('boom');
        for (const [name, out] of [
          ['stdout', result.stdout],
          ['stderr', result.stderr],
        ] as const)
          expect(
            RAW_CONTROL.test(out),
            `${label}: raw control character on ${name}: ${JSON.stringify(out)}`,
          ).toBe(false);
        if (args[0] !== 'config')
          expect(result.stderr + result.stdout, label).toMatch(/\\{1,2}(x1b|u001b)\]0;pwned-title/);
      }
    } finally {
      server.close();
    }
  });

  it('key names with escape sequences are escaped in inspect --memory tables and --json', async () => {
    const hostile = ['\x1b]0;title\x07k1', 'k2\x1b[2J', 'k3\u009b2J', 'k4\x7f'];
    const auth = `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${secured.port}`;
    const keysFile = join(tmp.dir, 'keys.valkey');
    writeFileSync(keysFile, encodeCommands(hostile.map((k) => ['SET', k, 'x'.repeat(300)])));
    const restored = await runCli(['restore', keysFile, '--url', auth, '--replace']);
    expect(restored.code, restored.stderr).toBe(0);
    const rdb = join(tmp.dir, 'hostile-keys.rdb');
    const backedUp = await runCli(['backup', '--url', auth, '-o', rdb, '--force']);
    expect(backedUp.code, backedUp.stderr).toBe(0);
    for (const extra of [[], ['--json']]) {
      const result = await runCli(['inspect', rdb, '--memory', '--top', '50', ...extra]);
      expect(result.code, result.stderr).toBe(0);
      expect(RAW_CONTROL.test(result.stdout + result.stderr), JSON.stringify(result.stdout)).toBe(false);
      expect(result.stdout).toMatch(/k3\\{1,2}(x9b|u009b)2J/);
      expect(result.stdout).toMatch(/k2\\{1,2}(x1b|u001b)\[2J/);
    }
  });
});

/** The next pids the kernel will hand out (Linux), to plant files at the names they make predictable. */
function nextPids(count: number): number[] {
  const last = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
  return Array.from({ length: count }, (_, i) => last + 1 + i);
}

/** Runs the built CLI and also says which pid it had. */
function runWithPid(args: string[]): Promise<CliResult & { pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid! }));
  });
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('files written without following planted symlinks', () => {
  it.runIf(process.platform === 'linux')(
    'config init -o and inspect --memory --csv/--html leave the symlink targets of every predictable name alone',
    async () => {
      const rdb = join(tmp.dir, 'small.rdb');
      const made = await runCli([
        'backup',
        '--url',
        `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${secured.port}`,
        '-o',
        rdb,
        '--force',
      ]);
      expect(made.code, made.stderr).toBe(0);
      for (const [i, [name, args]] of (
        [
          [
            'valkey.conf',
            (out: string) => [
              'config',
              'init',
              '-o',
              out,
              '--set',
              `requirepass=${PASSWORD.replace(/ /g, '')}`,
            ],
          ],
          ['keys.csv', (out: string) => ['inspect', rdb, '--memory', '--csv', out]],
          ['report.html', (out: string) => ['inspect', rdb, '--memory', '--html', out]],
        ] as const
      ).entries()) {
        const dir = join(tmp.dir, `planted-${i}`);
        mkdirSync(dir);
        const victim = join(tmp.dir, `victim-${i}`);
        writeFileSync(victim, 'precious\n');
        const pids = nextPids(400);
        for (const pid of pids) symlinkSync(victim, join(dir, `.${name}.${pid}.tmp`));
        const result = await runWithPid(args(join(dir, name)));
        expect(result.code, result.stderr).toBe(0);
        // The run's own pid was among the planted names: the test could catch a followed link.
        expect(pids, `pid ${result.pid} outside the planted range`).toContain(result.pid);
        expect(readFileSync(victim, 'utf8'), name).toBe('precious\n');
        expect(lstatSync(join(dir, name)).isSymbolicLink()).toBe(false);
        expect(statSync(join(dir, name)).size).toBeGreaterThan(0);
      }
    },
  );

  it.runIf(posix)(
    'config init -o writes a config holding requirepass with mode 0600 (even over a 0644 file)',
    async () => {
      const out = join(tmp.dir, 'secret.conf');
      writeFileSync(out, 'old\n', { mode: 0o644 });
      const result = await runCli([
        'config',
        'init',
        '-o',
        out,
        '--force',
        '--set',
        'requirepass=S3cretPass',
        '--set',
        'masterauth=S3cretPass',
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(readFileSync(out, 'utf8')).toMatch(/requirepass/);
      expect(statSync(out).mode & 0o777).toBe(0o600);
    },
  );
});

describe('leftovers of killed runs', () => {
  it('a partial file of a dead process is removed by the next run writing there, and reported', async () => {
    const dir = join(tmp.dir, 'leftover');
    mkdirSync(dir);
    const dead = await deadPid();
    const stale = [
      `.dump.rdb.partial-${dead}-0123456789abcdef`,
      `.valkey.conf.partial-${dead}-fedcba9876543210`,
    ];
    for (const f of stale) writeFileSync(join(dir, f), 'half');
    const live = `.other.partial-${process.pid}-0123456789abcdef`;
    writeFileSync(join(dir, live), 'in progress');
    const result = await runCli(['config', 'init', '-o', join(dir, 'valkey.conf')]);
    expect(result.code, result.stderr).toBe(0);
    for (const f of stale)
      expect(result.stderr).toContain(`removed ${join(dir, f)}, left by an interrupted run (pid ${dead})`);
    expect(readdirSync(dir).sort()).toEqual([live, 'valkey.conf'].sort());
  });

  it('kill -9 of a running backup -o leaves only a partial file, which the next backup removes', async () => {
    const dir = join(tmp.dir, 'killed');
    mkdirSync(dir);
    const name = 'big.valkey';
    const child = spawn(
      process.execPath,
      [binPath, 'backup', '--url', big.url, '--mode', 'scan', '-o', join(dir, name)],
      {
        cwd: packageDir,
        stdio: 'ignore',
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
    // Kill it once the partial file has real data in it.
    const partial = await waitFor('the backup to write 64 KiB to its partial file', () => {
      expect(child.exitCode, 'the backup ended before it could be killed').toBeNull();
      return readdirSync(dir).find(
        (f) => f.startsWith(`.${name}.partial-`) && statSync(join(dir, f)).size > 64 * 1024,
      );
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(readdirSync(dir)).toEqual([partial]);
    expect(partial).toMatch(new RegExp(`^\\.${name.replace('.', '\\.')}\\.partial-${child.pid}-[0-9a-f]+$`));
    const again = await runCli([
      'backup',
      '--url',
      big.url,
      '--mode',
      'scan',
      '-o',
      join(dir, 'small.valkey'),
      '--match',
      'key:1',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(['small.valkey']);
    expect(existsSync(join(dir, partial))).toBe(false);
  });
});
