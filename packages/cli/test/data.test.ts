import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DatasetCommand,
  type TestServer,
  encodeCommands,
  signalPending,
  startTestServer,
  waitFor,
  writeDataset,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, binPath, buildCli, parseJson, runCli, tempDir } from './helpers.js';

const tmp = tempDir('data');
const file = (name: string) => join(tmp.dir, name);
let source: TestServer;
let target: TestServer;
let sourceDigest: string;

/** Every type, an expiry, and a big incompressible value (it stays the biggest in the RDB). */
const DATA: DatasetCommand[] = [
  ['SET', 'user:1', 'alice'],
  ['SET', 'user:2', 'bob'],
  ['PEXPIREAT', 'user:2', Date.now() + 3_600_000],
  ['RPUSH', 'queue', 'a', 'b', 'c'],
  ['SADD', 'tags', 'x', 'y'],
  ['ZADD', 'scores', '1.5', 'm1', '-inf', 'm2'],
  ['HSET', 'user:1:profile', 'name', 'Alice', 'age', '30'],
  ['XADD', 'events', '1-1', 'type', 'login'],
  ['SET', 'big', randomBytes(4000).toString('hex')],
];

beforeAll(async () => {
  [source, target] = await Promise.all([startTestServer(), startTestServer(), buildCli()]).then(
    ([a, b]) => [a, b] as [TestServer, TestServer],
  );
  await writeDataset(source, DATA);
  // db 1 through valkey-cli -n, since each test-utils command uses a fresh connection
  await runCli(['connect', '--url', `${source.url.replace(/\/\d*$/, '')}/1`, '--', 'SET', 'other:db', 'one']);
  sourceDigest = await source.command('DEBUG', 'DIGEST');
}, BUILD_TIMEOUT_MS + 5000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  tmp.cleanup();
});

describe('backup, verify, inspect, convert, restore', () => {
  it('backs up by replication to an RDB that verifies and inspects', async () => {
    const r = await runCli(['backup', '--url', source.url, '-o', file('dump.rdb'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson(r)).toMatchObject({
      format: 'rdb',
      mode: 'replication',
      nodes: [`127.0.0.1:${source.port}`],
      // The snapshot's true key count (what verify reads below).
      keys: 9,
    });
    expect(r.stderr).toBe('');

    const verify = await runCli(['verify', file('dump.rdb'), '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(parseJson(verify)).toMatchObject({ valid: true, keys: 9, checksum: 'ok', error: null });
    const human = await runCli(['verify', file('dump.rdb')]);
    expect(human.stdout).toMatch(/valid REDIS RDB version \d+, 9 keys/);

    const inspect = await runCli(['inspect', file('dump.rdb'), '--top', '2', '--json']);
    expect(inspect.code, inspect.stderr).toBe(0);
    const report = parseJson<{
      keys: number;
      expires: number;
      databases: Array<{ db: number; keys: number }>;
      biggestKeys: Array<{ key: string }>;
      aux: Record<string, string>;
    }>(inspect);
    expect(report.keys).toBe(9);
    expect(report.expires).toBe(1);
    expect(report.databases.map((d) => [d.db, d.keys])).toEqual([
      [0, 8],
      [1, 1],
    ]);
    expect(report.biggestKeys).toHaveLength(2);
    expect(report.biggestKeys[0]!.key).toBe('big');
    expect(report.aux['valkey-ver'] ?? report.aux['redis-ver']).toBe('8.0.1');
    const table = await runCli(['inspect', file('dump.rdb')]);
    expect(table.stdout).toMatch(/^DB\s+KEYS\s+EXPIRES\s+BYTES\s+TYPES$/m);
    expect(table.stdout).toMatch(/^BYTES\s+ELEMENTS\s+TYPE\s+ENCODING\s+DB\s+KEY$/m);
  });

  it('verify reports the first problem of a corrupt or truncated file with exit 1', async () => {
    const good = readFileSync(file('dump.rdb'));
    const flipped = Buffer.from(good);
    const at = flipped.length - 20;
    flipped[at] = flipped[at]! ^ 0xff;
    writeFileSync(file('flipped.rdb'), flipped);
    writeFileSync(file('truncated.rdb'), good.subarray(0, Math.floor(good.length / 2)));
    writeFileSync(file('notrdb.rdb'), 'hello world, not an RDB');
    const [bad, cut, junk, missing, stdin] = await Promise.all([
      runCli(['verify', file('flipped.rdb'), '--json']),
      runCli(['verify', file('truncated.rdb')]),
      runCli(['inspect', file('notrdb.rdb')]),
      runCli(['verify', file('nope.rdb')]),
      runCli(['verify', '-'], { input: good }),
    ]);
    expect(bad.code).toBe(1);
    const body = parseJson<{ valid: boolean; error: { message: string; offset?: number } }>(bad);
    expect(body.valid).toBe(false);
    expect(body.error.message).toBeTruthy();
    expect(cut.code).toBe(1);
    expect(cut.stdout).toMatch(/invalid at byte \d+/);
    expect(junk.code).toBe(1);
    expect(junk.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read');
    expect(stdin.code, stdin.stderr).toBe(0);
  });

  it('verify of a multi-MB RDB checks the CRC-64 (hashed beside the walk) and names a mismatch', async () => {
    const big = await startTestServer();
    try {
      expect(await big.command('DEBUG', 'POPULATE', '90000', 'key', '40')).toBe('+OK\r\n');
      expect(await big.command('SAVE')).toBe('+OK\r\n');
      const good = readFileSync(join(big.dir, 'dump.rdb'));
      expect(good.length).toBeGreaterThan(2 << 20);
      // A digit inside one value: the structure stays valid, only the checksum can tell.
      const bad = Buffer.from(good);
      const at = bad.indexOf('value:31337') + 'value:'.length;
      expect(at).toBeGreaterThan(6);
      bad[at] = bad[at] === 0x39 ? 0x38 : bad[at]! + 1;
      writeFileSync(file('big.rdb'), good);
      writeFileSync(file('big-bad.rdb'), bad);
      const [ok, mismatch] = await Promise.all([
        runCli(['verify', file('big.rdb'), '--json']),
        runCli(['verify', file('big-bad.rdb'), '--json']),
      ]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(parseJson(ok)).toMatchObject({ valid: true, keys: 90000, checksum: 'ok' });
      expect(mismatch.code).toBe(1);
      expect(parseJson<{ error: { message: string } }>(mismatch).error.message).toMatch(/CRC-64 mismatch/);
    } finally {
      await big.stop();
    }
  });

  it('converts RDB to RESP text and JSONL (file, stdout, stdin) and restores into another server', async () => {
    const toResp = await runCli(['convert', file('dump.rdb'), file('dump.valkey'), '--json']);
    expect(toResp.code, toResp.stderr).toBe(0);
    expect(parseJson(toResp)).toMatchObject({ from: 'rdb', to: 'resp', keys: 9 });

    const toStdout = await runCli([
      'convert',
      file('dump.rdb'),
      '-',
      '--to',
      'jsonl',
      '--match',
      'user:*',
      '--db',
      '0',
    ]);
    expect(toStdout.code, toStdout.stderr).toBe(0);
    const lines = toStdout.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: unknown });
    expect(lines).toHaveLength(3);
    expect(toStdout.stderr).toContain('converted 3 keys');

    const fromStdin = await runCli(['convert', '-', file('from-stdin.jsonl'), '--from', 'rdb'], {
      input: readFileSync(file('dump.rdb')),
    });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(readFileSync(file('from-stdin.jsonl'), 'utf8').trim().split('\n')).toHaveLength(9);

    const restore = await runCli(['restore', file('dump.valkey'), '--url', target.url, '--flush', '--json']);
    expect(restore.code, restore.stderr).toBe(0);
    expect(parseJson(restore)).toMatchObject({ keys: 9, errorCount: 0 });
    expect(await target.command('DEBUG', 'DIGEST')).toBe(sourceDigest);

    // Again without --replace: every key exists, so it fails naming one; with --replace it converges.
    const conflict = await runCli(['restore', file('dump.rdb'), '--url', target.url]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr.trim().split('\n')).toHaveLength(1);
    const all = await runCli([
      'restore',
      file('dump.rdb'),
      '--url',
      target.url,
      '--on-error',
      'continue',
      '--json',
    ]);
    expect(all.code).toBe(1);
    expect(parseJson<{ errorCount: number }>(all).errorCount).toBe(9);
    const replace = await runCli(['restore', file('dump.rdb'), '--url', target.url, '--replace']);
    expect(replace.code, replace.stderr).toBe(0);
    expect(replace.stdout).toMatch(/restored 9 keys/);
    expect(await target.command('DEBUG', 'DIGEST')).toBe(sourceDigest);
  });

  it('draws a progress bar on stderr only when it is a terminal', async () => {
    const { execFile } = await import('node:child_process');
    // `script` runs the CLI on a pseudo-terminal, so stderr is a TTY.
    const command = `${process.execPath} ${binPath} convert ${file('dump.rdb')} ${file('tty.jsonl')} --force`;
    const tty = await new Promise<string>((resolve, reject) =>
      execFile(
        'script',
        ['-qec', command, '/dev/null'],
        { env: { ...process.env, NO_COLOR: '1' } },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    expect(tty).toMatch(/\r\x1b\[2Kconverting /);
    expect(tty).toContain('converted 9 keys');
    const piped = await runCli(['convert', file('dump.rdb'), file('piped.jsonl')]);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).not.toContain('\x1b');
    // A replication backup says it waits for the server's snapshot (repl-diskless-sync-delay).
    const backupCommand = `${process.execPath} ${binPath} backup --url ${source.url} -o ${file('tty.rdb')} --force`;
    const waited = await new Promise<string>((resolve, reject) =>
      execFile(
        'script',
        ['-qec', backupCommand, '/dev/null'],
        { env: { ...process.env, NO_COLOR: '1' } },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    expect(waited).toMatch(/\r\x1b\[2Kwaiting for 127\.0\.0\.1:\d+'s snapshot\.\.\./);
    expect(waited).toMatch(/backed up .*: 9 keys/);
  });

  it('backs up by SCAN with filters, to JSONL and to stdout', async () => {
    const r = await runCli([
      'backup',
      '--url',
      source.url,
      '--mode',
      'scan',
      '-o',
      file('users.jsonl'),
      '--match',
      'user:*',
      '--type',
      'string',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/by scan/);
    const keys = readFileSync(file('users.jsonl'), 'utf8').trim().split('\n');
    expect(keys).toHaveLength(2);
    const out = await runCli([
      'backup',
      '--url',
      source.url,
      '--mode',
      'scan',
      '--db',
      '1',
      '-o',
      '-',
      '--format',
      'resp',
    ]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('other:db');
  });

  it('estimates memory with --memory, writing HTML and CSV reports', async () => {
    const r = await runCli([
      'inspect',
      file('dump.rdb'),
      '--memory',
      '--top',
      '3',
      '--html',
      file('m.html'),
      '--csv',
      file('m.csv'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = parseJson<{ totals: { keys: number; bytes: number }; topKeys: Array<{ key: string }> }>(r);
    expect(report.totals.keys).toBe(9);
    expect(report.topKeys[0]!.key).toBe('big');
    expect(readFileSync(file('m.html'), 'utf8')).toMatch(/^<!doctype html>/);
    expect(readFileSync(file('m.csv'), 'utf8').trim().split('\n')).toHaveLength(10);
    const noMemory = await runCli(['inspect', file('dump.rdb'), '--html', file('x.html')]);
    expect(noMemory.code).toBe(2);
  });

  it('refuses bad input for each data command with the right exit code', async () => {
    const [unknownExt, noServer, dashNoFrom, unknownIn, overwrite, restoreMissing, jsonStdout] =
      await Promise.all([
        runCli(['backup', '--url', source.url, '-o', file('x.bin')]),
        runCli(['backup', '--url', 'redis://:hunter2@127.0.0.1:1', '-o', file('never.rdb')]),
        runCli(['convert', '-', file('y.jsonl')], { input: 'x' }),
        runCli(['convert', file('dump.bin'), file('y.jsonl')]),
        runCli(['convert', file('dump.rdb'), file('dump.valkey')]),
        runCli(['restore', file('nope.rdb'), '--url', target.url]),
        runCli(['backup', '--url', source.url, '-o', '-', '--format', 'rdb', '--json']),
      ]);
    expect(unknownExt.code).toBe(2);
    expect(unknownExt.stderr).toContain('pass --format');
    expect(noServer.code).toBe(1);
    expect(noServer.stderr).not.toContain('hunter2');
    // An unreachable server: the message names the address and what to check.
    expect(noServer.stderr).toMatch(/127\.0\.0\.1:1 failed: connect ECONNREFUSED/);
    expect(noServer.stderr).toContain('Check that the server is running');
    expect(existsSync(file('never.rdb'))).toBe(false);
    expect(dashNoFrom.code).toBe(2);
    expect(dashNoFrom.stderr).toContain('cannot tell the input format of stdin');
    expect(unknownIn.code).toBe(2);
    expect(overwrite.code).toBe(1);
    expect(overwrite.stderr).toContain('already exists. Pass --force');
    // backup -o over an existing file: refused the same way, the file untouched.
    const existing = file('existing.rdb');
    writeFileSync(existing, 'mine');
    const over = await runCli(['backup', '--url', source.url, '-o', existing]);
    expect(over.code).toBe(1);
    expect(over.stderr).toContain('already exists. Pass --force');
    expect(readFileSync(existing, 'utf8')).toBe('mine');
    const unreachable = await runCli(['restore', file('dump.rdb'), '--url', 'redis://127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/127\.0\.0\.1:1 failed: connect ECONNREFUSED/);
    expect(restoreMissing.code).toBe(1);
    expect(restoreMissing.stderr).toContain('no such file');
    expect(jsonStdout.code).toBe(2);
    const badCa = await runCli([
      'backup',
      '--url',
      'rediss://127.0.0.1:1',
      '--tls-ca',
      file('nope.pem'),
      '-o',
      file('t.rdb'),
    ]);
    expect(badCa.code).toBe(1);
    expect(badCa.stderr).toContain('nope.pem');
  });
});

describe('restore of a file someone else made', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.stop();
  });
  const resp = encodeCommands;

  it('refuses a command that is not data, with its position, and changes nothing (--flush too)', async () => {
    await t.command('FLUSHALL');
    await t.command('SET', 'mine', 'precious');
    const p = file('hostile.resp');
    writeFileSync(
      p,
      resp([
        ['SET', 'a', '1'],
        ['CONFIG', 'SET', 'maxmemory', '1mb'],
        ['SET', 'b', '2'],
      ]),
    );
    for (const extra of [[], ['--flush']]) {
      const r = await runCli(['restore', p, '--url', t.url, ...extra]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/command #2 at byte \d+: CONFIG is not a command that writes data/);
      expect(r.stderr).toContain('--verbatim');
      expect(await t.command('DBSIZE')).toBe(':1\r\n');
      expect(await t.command('CONFIG', 'GET', 'maxmemory')).toBe('*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n');
    }
  });

  it("leaves keys the target has as they were (--on-error continue), or makes them the file's (--replace)", async () => {
    await t.command('FLUSHALL');
    await t.command('SET', 'a', 'target');
    await t.command('RPUSH', 'l', 'x');
    const p = file('plain.resp');
    writeFileSync(
      p,
      resp([
        ['SET', 'a', '2'],
        ['RPUSH', 'l', 'y'],
        ['SET', 'n', 'new'],
      ]),
    );

    const stop = await runCli(['restore', p, '--url', t.url, '--json']);
    expect(stop.code).toBe(1);
    expect(stop.stderr + stop.stdout).toMatch(/2 of the keys .* already exist/);
    expect(await t.command('DBSIZE')).toBe(':2\r\n');

    const cont = await runCli(['restore', p, '--url', t.url, '--on-error', 'continue', '--json']);
    expect(cont.code).toBe(1);
    expect(parseJson(cont)).toMatchObject({ keys: 1, skipped: 2, errorCount: 2 });
    expect(await t.command('GET', 'a')).toBe('$6\r\ntarget\r\n');
    expect(await t.command('LRANGE', 'l', '0', '-1')).toBe('*1\r\n$1\r\nx\r\n');
    const human = await runCli(['restore', p, '--url', t.url, '--on-error', 'continue']);
    expect(human.stderr).toMatch(/3 keys already on the target left as they were/);

    const rep = await runCli(['restore', p, '--url', t.url, '--replace', '--json']);
    expect(rep.code, rep.stderr).toBe(0);
    expect(parseJson(rep)).toMatchObject({ keys: 3, skipped: 0, errorCount: 0 });
    expect(await t.command('GET', 'a')).toBe('$1\r\n2\r\n');
    expect(await t.command('LRANGE', 'l', '0', '-1')).toBe('*1\r\n$1\r\ny\r\n');
  });

  it('a password given to a server that has none works, with nothing on stderr (iovalkey warned there)', async () => {
    await t.command('FLUSHALL');
    await t.command('SET', 'k', 'v');
    const url = t.url.replace('redis://', 'redis://:unused-pw@');
    const out = file('nopass.rdb');
    const b = await runCli(['backup', '--url', url, '-o', out, '--force']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toBe('');
    const r = await runCli(['restore', out, '--url', url, '--replace']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('Ctrl-C mid-restore exits 130 and says how many keys went in; the same restore with --replace converges', async () => {
    await t.command('FLUSHALL');
    await t.command('DEBUG', 'POPULATE', '200000', 'k', '64');
    const digest = await t.command('DEBUG', 'DIGEST');
    await t.command('SAVE');
    const rdb = file('populate.rdb');
    writeFileSync(rdb, readFileSync(join(t.dir, 'dump.rdb')));
    const valkey = file('populate.valkey');
    expect((await runCli(['convert', rdb, valkey])).code).toBe(0);
    await t.command('FLUSHALL');
    const child = spawn(process.execPath, [binPath, 'restore', valkey, '--url', t.url], { stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    // Interrupt once keys are going in, with the target's writes paused so the restore surely has
    // work left (it cannot finish while Ctrl-C is on its way); resumed once the CLI has the signal.
    await waitFor(
      'the restore to write its first keys',
      async () => (await t.command('DBSIZE')) !== ':0\r\n',
      {
        detail: () => stderr,
      },
    );
    expect(await t.command('CLIENT', 'PAUSE', '600000', 'WRITE')).toBe('+OK\r\n');
    expect(Number((await t.command('DBSIZE')).slice(1)), 'keys written before the pause').toBeLessThan(
      200_000,
    );
    child.kill('SIGINT');
    await waitFor('the CLI to take the SIGINT', () => !signalPending(child.pid!));
    expect(await t.command('CLIENT', 'UNPAUSE')).toBe('+OK\r\n');
    expect(await exited).toBe(130);
    const written = /(\d+) keys were written before it stopped/.exec(stderr);
    expect(written, stderr).not.toBeNull();
    expect(await t.command('DBSIZE')).toBe(`:${written![1]}\r\n`);
    expect(stderr).toMatch(/--replace/);
    const again = await runCli(['restore', valkey, '--url', t.url, '--replace']);
    expect(again.code, again.stderr).toBe(0);
    expect(await t.command('DEBUG', 'DIGEST')).toBe(digest);
  });

  it('Ctrl-C mid-convert exits 130 and leaves nothing in the output folder, for every fast path', async () => {
    await t.command('FLUSHALL');
    await t.command('DEBUG', 'POPULATE', '1000000', 'k', '16');
    await t.command('SAVE');
    const rdb = file('convert-interrupted.rdb');
    writeFileSync(rdb, readFileSync(join(t.dir, 'dump.rdb')));
    await t.command('FLUSHALL');
    for (const name of ['out.valkey', 'out.jsonl', 'out.rdb']) {
      const outDir = mkdtempSync(join(tmp.dir, 'interrupted-'));
      const child = spawn(process.execPath, [binPath, 'convert', rdb, join(outDir, name)], { stdio: 'pipe' });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const exited = new Promise<number | null>((r) => child.on('close', r));
      // Frozen as soon as its temp file appears (a million keys still to go), then interrupted: the
      // signal surely arrives mid-way however loaded the machine is.
      await waitFor('the convert to start writing', () => readdirSync(outDir).length > 0, {
        detail: () => stderr,
      });
      process.kill(child.pid!, 'SIGSTOP');
      process.kill(child.pid!, 'SIGINT');
      process.kill(child.pid!, 'SIGCONT');
      expect(await exited, `${name}: ${stderr}`).toBe(130);
      expect(stderr).toMatch(/aborted.*was not written/);
      expect(readdirSync(outDir), name).toEqual([]);
    }
  });
});
