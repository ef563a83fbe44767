/**
 * Paths users hit with backup and restore (issue #23), through the built CLI against real servers:
 * restore --flush over a server that holds data, backup -o over an existing file, an unreachable
 * server, and Ctrl-C in the middle of a backup. Data is judged on the server, key by key.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  countTypes,
  freePort,
  type KeyspaceKey,
  keyspaceState,
  pickKeys,
  startTestServer,
  type TestServer,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, binPath, buildCli, packageDir, parseJson, runCli, tempDir } from './helpers.js';

const tmp = tempDir('paths');
let source: TestServer;
let target: TestServer;
let slow: TestServer;

/** Every type, expiries, a stream with a group, a PEL and an idle consumer, in dbs 0 and 3. */
async function fill(url: string, variant: 'source' | 'other'): Promise<void> {
  const c = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    for (const db of [0, 3]) {
      await c.select(db);
      const v = (s: string) => `${s}-${variant}-${db}`;
      await c.set('str', v('value'));
      await c.set('str:ttl', v('soon'), 'PXAT', 4102444800000 + db);
      await c.rpush('list', v('a'), v('b'), '3');
      await c.sadd('set', v('x'), 'y', '1');
      await c.zadd('zset', 1.5, v('m'), Number.NEGATIVE_INFINITY, 'low');
      await c.hset('hash', 'f', v('v'), 'n', '2');
      await c.call('XADD', 'stream', '1-1', 'k', v('e1'));
      await c.call('XADD', 'stream', '2-1', 'k', v('e2'));
      await c.call('XGROUP', 'CREATE', 'stream', 'g', '0');
      await c.call('XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '1', 'STREAMS', 'stream', '>');
      await c.call('XGROUP', 'CREATECONSUMER', 'stream', 'g', 'idle');
      if (variant === 'source') await c.set(`only:source:${db}`, 'here');
      else {
        // Keys the backup does not have: after restore --flush they must be gone.
        await c.set(`only:target:${db}`, 'stale', 'PX', 3_600_000);
        await c.hset('str:ttl:other', 'f', 'v');
      }
    }
  } finally {
    c.disconnect();
  }
}

beforeAll(async () => {
  [source, target, slow] = await Promise.all([
    startTestServer({ config: { 'repl-diskless-sync-delay': 0 } }),
    startTestServer(),
    startTestServer(),
    buildCli(),
  ]).then(([a, b, c]) => [a, b, c] as [TestServer, TestServer, TestServer]);
  await fill(source.url, 'source');
  // DEBUG POPULATE makes the keys server-side: enough that a scan backup is far from done after its
  // first progress line.
  expect(await slow.command('DEBUG', 'POPULATE', '200000', 'key', '100')).toBe('+OK\r\n');
}, BUILD_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop(), slow?.stop()]);
  tmp.cleanup();
});

/** A fresh empty directory, so "nothing else was written" is a directory listing. */
let dirs = 0;
function freshDir(): string {
  const dir = join(tmp.dir, `d${dirs++}`);
  mkdirSync(dir);
  return dir;
}

describe('restore --flush into a server that already holds data', () => {
  for (const [name, args] of [
    ['an RDB by replication', ['-o', 'backup.rdb']],
    ['RESP text by scan', ['--mode', 'scan', '-o', 'backup.valkey']],
  ] as const) {
    it(`${name}: the target ends up holding exactly the backup, key by key`, async () => {
      const dir = freshDir();
      const made = await runCli(['backup', '--url', source.url, ...args], { cwd: dir });
      expect(made.code, made.stderr).toBe(0);
      await target.command('FLUSHALL');
      await fill(target.url, 'other');
      const want = await keyspaceState(source);
      const before = await keyspaceState(target);
      // The target shares key names with the backup (values differ) and has keys the backup lacks.
      expect(Object.keys(before).filter((k) => k in want).length).toBeGreaterThan(10);
      expect(Object.keys(before).some((k) => !(k in want))).toBe(true);
      expect(before).not.toEqual(want);

      const file = join(dir, args.at(-1)!);
      const r = await runCli(['restore', file, '--url', target.url, '--flush', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(parseJson(r)).toMatchObject({ keys: Object.keys(want).length, errorCount: 0, skipped: 0 });
      expect(await keyspaceState(target)).toEqual(want);
      expect(await target.command('DEBUG', 'DIGEST')).toBe(await source.command('DEBUG', 'DIGEST'));
    });
  }
});

describe('--db, --match and --type, judged per key', () => {
  const cases: Array<{
    name: string;
    backup: string[];
    restore: string[];
    selects: (k: KeyspaceKey) => boolean;
    /** The types the selection holds: a filter that dropped or added a type would show. */
    types: string[];
  }> = [
    {
      name: 'backup by replication to JSONL with --db 3 --match *s*',
      backup: ['--db', '3', '--match', '*s*', '-o', 'f.jsonl'],
      restore: [],
      selects: (k) => k.db === 3 && k.key.includes('s'),
      types: ['hash', 'list', 'set', 'stream', 'string', 'zset'],
    },
    {
      name: 'backup by scan to text with --type stream',
      backup: ['--mode', 'scan', '--type', 'stream', '-o', 'f.txt'],
      restore: [],
      selects: (k) => k.type === 'stream',
      types: ['stream'],
    },
    {
      name: 'restore of a whole backup with --db 0 --match str* --type string',
      backup: ['-o', 'f.rdb'],
      restore: ['--db', '0', '--match', 'str*', '--type', 'string'],
      selects: (k) => k.db === 0 && k.key.startsWith('str') && k.type === 'string',
      types: ['string'],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: exactly the selected keys, each as on the source`, async () => {
      const all = await keyspaceState(source);
      const want = pickKeys(all, c.selects);
      // Not empty, and not everything: "exactly" must mean something.
      expect(Object.keys(want).length).toBeGreaterThan(1);
      expect(Object.keys(want).length).toBeLessThan(Object.keys(all).length);
      expect(Object.keys(countTypes(want)).sort()).toEqual(c.types);
      const dir = freshDir();
      const made = await runCli(['backup', '--url', source.url, ...c.backup], { cwd: dir });
      expect(made.code, made.stderr).toBe(0);
      await target.command('FLUSHALL');
      const r = await runCli(['restore', join(dir, c.backup.at(-1)!), '--url', target.url, ...c.restore]);
      expect(r.code, r.stderr).toBe(0);
      expect(await keyspaceState(target)).toEqual(want);
    });
  }
});

describe('backup -o over an existing file', () => {
  it('is refused without --force (the file and its directory untouched) and replaced with it', async () => {
    const dir = freshDir();
    const out = join(dir, 'data.valkey');
    writeFileSync(out, 'an older backup\n');
    const refused = await runCli(['backup', '--url', source.url, '--mode', 'scan', '-o', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(out);
    expect(refused.stderr).toContain('already exists. Pass --force');
    expect(readFileSync(out, 'utf8')).toBe('an older backup\n');
    expect(readdirSync(dir)).toEqual(['data.valkey']);

    const forced = await runCli(['backup', '--url', source.url, '--mode', 'scan', '-o', out, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(['data.valkey']);
    // The new file is a whole backup: it restores to exactly the source.
    await target.command('FLUSHALL');
    const r = await runCli(['restore', out, '--url', target.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(await keyspaceState(target)).toEqual(await keyspaceState(source));
  });
});

describe('an unreachable server', () => {
  let port: number;
  beforeAll(async () => {
    port = await freePort(); // free: nothing listens there
  });

  it('backup (both modes) names the address, exits 1, and leaves an existing file as it was', async () => {
    for (const mode of ['replication', 'scan']) {
      const dir = freshDir();
      const out = join(dir, 'data.rdb');
      writeFileSync(out, 'the previous backup');
      const r = await runCli([
        'backup',
        '--url',
        `redis://127.0.0.1:${port}`,
        '--mode',
        mode,
        '-o',
        out,
        '--force',
      ]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`127.0.0.1:${port}`);
      expect(r.stderr).toMatch(/ECONNREFUSED/);
      expect(readdirSync(dir)).toEqual(['data.rdb']);
      expect(readFileSync(out, 'utf8')).toBe('the previous backup');
      const fresh = join(dir, 'new.rdb');
      const r2 = await runCli(['backup', '--url', `redis://127.0.0.1:${port}`, '--mode', mode, '-o', fresh]);
      expect(r2.code).toBe(1);
      expect(existsSync(fresh)).toBe(false);
    }
  });

  it('restore (--flush too) names the address and exits 1', async () => {
    const dir = freshDir();
    const file = join(dir, 'small.valkey');
    expect((await runCli(['backup', '--url', source.url, '--mode', 'scan', '-o', file])).code).toBe(0);
    for (const extra of [[], ['--flush'], ['--json']]) {
      const r = await runCli(['restore', file, '--url', `redis://127.0.0.1:${port}`, ...extra]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr + r.stdout).toContain(`127.0.0.1:${port}`);
      expect(r.stderr + r.stdout).toMatch(/ECONNREFUSED/);
    }
  });
});

/**
 * The CLI on a pseudo-terminal (`script`), so it draws its progress bar; `PID=` comes first, then
 * the shell execs node under the same pid, so the signal goes to the CLI itself.
 */
function runOnTerminal(args: string[], cwd: string) {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = `echo PID=$$; exec ${[process.execPath, binPath, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {
    exited,
    output: () => output,
    pid: () => Number(/PID=(\d+)/.exec(output)?.[1]),
    async waitFor(pattern: RegExp, what: string, timeoutMs = 60_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) before ${what}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms:\n${output}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

describe('Ctrl-C during backup', () => {
  it('exits 130 mid-way, leaving no partial file and a previous backup intact', async () => {
    for (const previous of [undefined, 'the previous backup\n']) {
      const dir = freshDir();
      const out = join(dir, 'big.valkey');
      if (previous !== undefined) writeFileSync(out, previous);
      const cli = runOnTerminal(
        ['backup', '--url', slow.url, '--mode', 'scan', '-o', out, ...(previous ? ['--force'] : [])],
        packageDir,
      );
      // Keys are flowing (the first progress line); then the server stops answering its clients
      // (CLIENT PAUSE replies once in force), so the backup is mid-way whatever the machine's speed.
      await cli.waitFor(/backing up .*\d keys/, 'progress line');
      expect(await slow.command('CLIENT', 'PAUSE', '60000', 'ALL')).toBe('+OK\r\n');
      try {
        expect(existsSync(out) ? readFileSync(out, 'utf8') : undefined).toBe(previous);
        expect(readdirSync(dir).some((f) => f.includes('.partial-'))).toBe(true);
        process.kill(cli.pid(), 'SIGINT');
        expect(await cli.exited, cli.output()).toBe(130);
      } finally {
        // CLIENT UNPAUSE would wait for the pause too: a pause ends with a restart of the server.
        await restartPaused();
      }
      expect(cli.output()).toContain('interrupted');
      expect(readdirSync(dir)).toEqual(previous === undefined ? [] : ['big.valkey']);
      if (previous !== undefined) expect(readFileSync(out, 'utf8')).toBe(previous);
    }
  });
});

/** Replaces the paused server by a new one with the same data (its pause would last a minute). */
async function restartPaused(): Promise<void> {
  await slow.stop();
  slow = await startTestServer();
  expect(await slow.command('DEBUG', 'POPULATE', '200000', 'key', '100')).toBe('+OK\r\n');
}

describe('a command file cut off while being written', () => {
  it('is refused whole (nothing written, the flag named); --truncated drop restores and converts the rest', async () => {
    const file = join(tmp.dir, 'cut.valkey');
    // Two whole commands, then one cut off in its last argument.
    writeFileSync(
      file,
      '*3\r\n$3\r\nSET\r\n$3\r\ncut\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$4\r\ncut2\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$4\r\ncut3\r\n$9\r\nabc',
    );
    const server = await startTestServer();
    try {
      const refused = await runCli(['restore', file, '--url', server.url]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('truncated after');
      expect(refused.stderr).toContain('nothing was written');
      expect(refused.stderr).toContain('--truncated drop');
      expect(await server.command('DBSIZE')).toBe(':0\r\n');

      const dropped = await runCli(['restore', file, '--url', server.url, '--truncated', 'drop']);
      expect(dropped.code, dropped.stderr).toBe(0);
      expect(dropped.stderr).toMatch(/dropped an incomplete command at byte \d+ of /);
      expect(await server.command('DBSIZE')).toBe(':2\r\n');
      expect(await server.command('GET', 'cut2')).toBe('$1\r\n2\r\n');

      const out = join(tmp.dir, 'cut.jsonl');
      const converted = await runCli(['convert', file, out, '--truncated', 'drop']);
      expect(converted.code, converted.stderr).toBe(0);
      expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
    } finally {
      await server.stop();
    }
  });
});

describe('backup -o - of an RDB', () => {
  it('streams the snapshot to stdout as it arrives (no temp file): the first bytes long before the end', async () => {
    const server = await startTestServer({ config: { 'repl-diskless-sync-delay': 0 } });
    try {
      expect(await server.command('DEBUG', 'POPULATE', '20000', 'k', '20')).toBe('+OK\r\n');
      // The server takes about 2 s to produce its snapshot (100 µs a key).
      expect(await server.command('CONFIG', 'SET', 'rdb-key-save-delay', '100')).toBe('+OK\r\n');
      const started = Date.now();
      const child = spawn(
        process.execPath,
        [binPath, 'backup', '--url', server.url, '-o', '-', '--format', 'rdb'],
        {
          cwd: tmp.dir,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const chunks: Buffer[] = [];
      let firstAt = 0;
      child.stdout.on('data', (b: Buffer) => {
        firstAt ||= Date.now() - started;
        chunks.push(b);
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      const code = await new Promise<number | null>((r) => child.on('close', r));
      const endedAt = Date.now() - started;
      expect(code, stderr).toBe(0);
      expect(stderr).toContain('to stdout (rdb): 20,000 keys');
      // With a temp file, nothing reached stdout before the whole snapshot was in.
      expect(firstAt).toBeGreaterThan(0);
      expect(endedAt - firstAt).toBeGreaterThan(1000);
      const { verifyRdb } = await import('@valkey-tools/backup');
      const v = await verifyRdb(Buffer.concat(chunks));
      expect(v).toMatchObject({ keys: 20_000, checksum: 'ok' });
      expect(v.error).toBeUndefined();
    } finally {
      await server.stop();
    }
  });
});
