/**
 * Runs every program in examples/ against real servers, as a user would, and checks what it did
 * on the server (not only that it exited 0).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer, writeDataset } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, runExample, runExampleTests } from './run-example.ts';

let work: string;
const servers: TestServer[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'docs-examples-'));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(work, { recursive: true, force: true });
});

describe.concurrent('examples/', () => {
  it('generate-config.ts writes a valkey.conf that a real valkey-server runs as intended', async () => {
    const out = join(work, 'cache.conf');
    const run = await runExample('generate-config.ts', [out]);
    expect(run.code, describeRun(run)).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('maxmemory-policy allkeys-lfu');
    // Written with mode 0600: configs hold passwords.
    expect(statSync(out).mode & 0o777).toBe(0o600);

    // The file as written must start a server with exactly those settings.
    const server = await startTestServer({ configFile: out });
    servers.push(server);
    expect(await server.command('CONFIG', 'GET', 'maxmemory-policy')).toContain('allkeys-lfu');
    expect(await server.command('CONFIG', 'GET', 'maxmemory')).toContain(String(512 * 1024 * 1024));
    expect(await server.command('CONFIG', 'GET', 'lazyfree-lazy-eviction')).toContain('yes');
    expect(await server.command('CONFIG', 'GET', 'client-output-buffer-limit')).toContain(
      `pubsub ${64 * 1024 * 1024} ${16 * 1024 * 1024} 60`,
    );
  });

  it('backup-restore.ts copies every db, type, expiry and function into another server', async () => {
    const [source, target] = await Promise.all([startTestServer(), startTestServer()]);
    servers.push(source, target);
    await writeDataset(source, [
      ['SET', 'plain', 'hello'],
      ['SET', 'binary', '\u0000\u00ff\r\n"quoted"'],
      ['SET', 'expiring', 'soon', 'PX', '3600000'],
      ['RPUSH', 'list', 'a', 'b', 'c'],
      ['SADD', 'set', '1', '2', '3'],
      ['ZADD', 'zset', '-inf', 'low', '1.5', 'mid', '+inf', 'high'],
      ['HSET', 'hash', 'f1', 'v1', 'f2', 'v2'],
      ['XADD', 'stream', '1-1', 'field', 'value'],
      ['XGROUP', 'CREATE', 'stream', 'group', '0'],
      ['XREADGROUP', 'GROUP', 'group', 'alice', 'COUNT', '1', 'STREAMS', 'stream', '>'],
      [
        'FUNCTION',
        'LOAD',
        "#!lua name=examplelib\nredis.register_function('answer', function() return 42 end)",
      ],
      // MOVE puts a key into db 3.
      ['MOVE', 'plain', '3'],
      ['SET', 'plain', 'hello again'],
    ]);

    const file = join(work, 'copy.valkey');
    const run = await runExample('backup-restore.ts', [source.url, target.url, file]);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toContain('restored');
    expect(readFileSync(file).subarray(0, 1).toString()).toBe('*');

    const [sourceDigest, targetDigest] = await Promise.all([
      source.command('DEBUG', 'DIGEST'),
      target.command('DEBUG', 'DIGEST'),
    ]);
    expect(sourceDigest).not.toMatch(/^\+0{40}/);
    expect(targetDigest).toBe(sourceDigest);
    expect(await target.command('FUNCTION', 'LIST')).toContain('examplelib');
  });

  it('kvcache-score.ts routes a prompt to the pod holding its longest prefix (in memory)', async () => {
    const run = await runExample('kvcache-score.ts');
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toContain('pod-a\t4\n');
    expect(run.stdout).toContain('pod-b\t1.6\n');
    expect(run.stdout).toContain('route to pod-a');
  });

  it('kvcache-score.ts gives the same scores with the index on a real valkey-server', async () => {
    const server = await startTestServer();
    servers.push(server);
    const run = await runExample('kvcache-score.ts', [`valkey://127.0.0.1:${server.port}`]);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toContain('pod-a\t4\n');
    expect(run.stdout).toContain('pod-b\t1.6\n');
    // The index really lives on the server, under the example's key prefix.
    expect(await server.command('DBSIZE')).not.toBe(':0\r\n');
  });

  it('throwaway-server.test.ts passes under Vitest', async () => {
    const run = await runExampleTests('throwaway-server.test.ts');
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/3 passed/);
  });
});
