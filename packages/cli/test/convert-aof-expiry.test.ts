/**
 * `valkey-tools convert appendonlydir/ data.rdb --from aof` (as the backup guide shows it) on the AOF
 * of a real server where strings were set with an expiry: the server logs `SET k v EX 100`, `SET k v
 * PX ...` and `SETEX` as `SET k v PXAT <ms>`, which the offline converter used to refuse ("only SET
 * key value can be converted"), so the documented command failed on most real AOFs.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, runCli, tempDir } from './helpers.js';

const tmp = tempDir('convert-aof');
let server: TestServer;
let before: number;

beforeAll(async () => {
  [server] = await Promise.all([
    startTestServer({ config: { appendonly: 'yes', appendfsync: 'always' } }),
    buildCli(),
  ]);
  before = Date.now();
  await server.command('SET', 'plain', 'v');
  await server.command('SET', 'px', 'v', 'PX', '3600000');
  await server.command('SET', 'ex', 'v', 'EX', '7200');
  await server.command('SETEX', 'setex', '600', 'v');
  await server.command('SET', 'keepttl', 'v', 'KEEPTTL');
  await server.command('RPUSH', 'list', 'a');
  await server.command('EXPIRE', 'list', '100');
  // A copy, as a reader has it: the server's own files.
  cpSync(join(server.dir, 'appendonlydir'), join(tmp.dir, 'appendonlydir'), { recursive: true });
}, BUILD_TIMEOUT_MS + 5000);

afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

describe('convert from an AOF with expiring strings', () => {
  it('converts SET ... PXAT (how the server logs EX, PX and SETEX) with the expiry', async () => {
    const aof = readFileSync(join(tmp.dir, 'appendonlydir', 'appendonly.aof.1.incr.aof'), 'latin1');
    expect(aof).toContain('PXAT');

    const r = await runCli(['convert', 'appendonlydir/', 'data.jsonl', '--from', 'aof'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    const records = readFileSync(join(tmp.dir, 'data.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; value: unknown; expiresAt?: number });
    const byKey = new Map(records.map((r) => [r.key, r]));
    expect([...byKey.keys()].sort()).toEqual(['ex', 'keepttl', 'list', 'plain', 'px', 'setex']);
    const near = (key: string, seconds: number) => {
      const at = byKey.get(key)?.expiresAt;
      expect(at, key).toBeGreaterThanOrEqual(before + seconds * 1000 - 1000);
      expect(at, key).toBeLessThanOrEqual(Date.now() + seconds * 1000);
    };
    near('px', 3600);
    near('ex', 7200);
    near('setex', 600);
    near('list', 100);
    expect(byKey.get('plain')?.expiresAt).toBeUndefined();
    expect(byKey.get('keepttl')?.expiresAt).toBeUndefined();
    expect(byKey.get('px')?.value).toBe('v');
  });

  it('writes an RDB of it that verifies, as the guide does', async () => {
    const r = await runCli(['convert', 'appendonlydir/', 'data.rdb', '--from', 'aof'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    const verify = await runCli(['verify', 'data.rdb'], { cwd: tmp.dir });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/6 keys/);
  });

  it('still refuses a SET whose result depends on what was there (NX, XX, GET)', async () => {
    const file = join(tmp.dir, 'nx.aof');
    writeFileSync(file, '*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n');
    const r = await runCli(['convert', file, join(tmp.dir, 'nx.jsonl'), '--from', 'aof']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'only SET key value [PXAT ms | EXAT s | PX ms | EX s | KEEPTTL] can be converted',
    );
  });
});
