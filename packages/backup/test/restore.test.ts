import { buildDataset, serverState, serverPool } from '@valkey-tools/test-utils';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestServer } from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import type { Value } from '../src/model.js';
import { encodeDumpPayload } from '../src/rdb/dump.js';
import { command, encodeCommand } from '../src/resp/encode.js';
import { BackupError } from '../src/errors.js';
import { headerCommand } from '../src/resp/writer.js';
import { type RestoreProgress, restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-restore-'));
let pool: Awaited<ReturnType<typeof serverPool>>;
let source: TestServer;
let backupFile: string;

beforeAll(async () => {
  pool = await serverPool(7);
  source = pool.take();
  await buildDataset(source.url, { big: 400 });
  backupFile = join(work, 'source.valkey');
  await backup({ url: source.url, output: backupFile, mode: 'scan', values: 'commands' });
});

afterAll(async () => {
  await pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

const fresh = async (): Promise<TestServer> => pool.take();

const view = { ignoreConsumerTimes: true, ignoreLayout: true };

describe('restore', () => {
  it('keeps working with a one-command window, reporting keys, bytes and rate', async () => {
    const target = await fresh();
    const events: RestoreProgress[] = [];
    const r = await restore({
      input: backupFile,
      url: target.url,
      maxInFlight: 1,
      maxInFlightBytes: 1,
      progressIntervalMs: 0,
      onProgress: (p) => events.push(p),
    });
    expect(r).toMatchObject({ keys: 100, errorCount: 0 });
    expect(events.length).toBeGreaterThan(10);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ done: true, keys: 100, bytes: r.bytes, commands: r.commands });
    expect(last.inputBytes).toBeGreaterThan(0);
    expect(last.keysPerSecond).toBeGreaterThan(0);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.bytes).toBeGreaterThanOrEqual(events[i - 1]!.bytes);
    expect(await serverState(target.url, view)).toEqual(await serverState(source.url, view));
  });

  it('collects failures with key names and goes on when asked, and filters keys', async () => {
    const target = await fresh();
    await target.command('SET', 'list:small:0', 'in the way');
    await target.command('HSET', 'hash:big:0', 'f', 'v');
    const r = await restore({ input: backupFile, url: target.url, onError: 'continue', db: 0 });
    expect(r.keys).toBe(23);
    expect(r.errorCount).toBe(2);
    expect(r.errors.map((e) => e.key).sort()).toEqual(['hash:big:0', 'list:small:0']);
    expect(r.errors[0]!.message).toMatch(/BUSYKEY/);
    // The key in the way is left alone.
    expect(await target.command('GET', 'list:small:0')).toBe('$10\r\nin the way\r\n');

    const filtered = await fresh();
    const f = await restore({ input: backupFile, url: filtered.url, match: 'stream:*', type: 'stream' });
    expect(f.keys).toBe(4 * 5);
    const c = new Redis(filtered.url);
    for (const db of [0, 1, 5, 15]) {
      await c.select(db);
      expect((await c.keys('*')).every((k) => k.startsWith('stream:'))).toBe(true);
    }
    c.disconnect();
  });

  it('checks for keys in the way only when the target is not empty (INFO commandstats)', async () => {
    const target = await fresh();
    await target.command('CONFIG', 'RESETSTAT');
    await restore({ input: backupFile, url: target.url });
    expect(await target.command('INFO', 'commandstats')).not.toContain('cmdstat_exists');
    expect(await serverState(target.url, view)).toEqual(await serverState(source.url, view));
    // Not empty now: a second restore must look before it writes, and touches nothing.
    const before = await serverState(target.url, view);
    const again = await restore({ input: backupFile, url: target.url, onError: 'continue' });
    expect(again.errorCount).toBe(100);
    expect(again.keys).toBe(0);
    expect(await target.command('INFO', 'commandstats')).toContain('cmdstat_exists');
    expect(await serverState(target.url, view)).toEqual(before);
  });

  it('names a binary key that stops the restore on one escaped line', async () => {
    const key = Buffer.from([0xff, 0x20, 0x0a, 0x41, 0x5c]);
    const file = join(work, 'binary-key.valkey');
    const payload = encodeDumpPayload({ type: 'string', value: Buffer.from('v') }, { rdbVersion: 11 });
    writeFileSync(
      file,
      Buffer.concat([headerCommand({}), command('RESTORE', key, 0, payload)].map(encodeCommand)),
    );
    const target = await fresh();
    await target.command('SET', key, 'in the way');
    const err = await restore({ input: file, url: target.url }).catch((e: unknown) => e);
    expect(BackupError.isInstance(err)).toBe(true);
    expect((err as Error).message).toContain('stopped at key "\\xff \\x0aA\\\\" (db 0)');
    expect((err as Error).message).not.toContain('\n');
  });

  it('falls back to plain commands when the target refuses the payload version (Valkey 9 RESTORE into 8)', async () => {
    const values: Array<[string, Value]> = [
      ['s', { type: 'string', value: Buffer.from('hello') }],
      ['l', { type: 'list', items: [Buffer.from('a'), Buffer.from('b')] }],
      ['z', { type: 'zset', entries: [{ member: Buffer.from('m'), score: 1.5 }] }],
      ['h', { type: 'hash', entries: [{ field: Buffer.from('f'), value: Buffer.from('v') }] }],
    ];
    const cmds = [headerCommand({ source: 'valkey 9' }), command('SELECT', 3)];
    for (const [k, v] of values) {
      cmds.push(command('RESTORE', k, 4102444800000, encodeDumpPayload(v, { rdbVersion: 80 }), 'ABSTTL'));
    }
    const file = join(work, 'v9.valkey');
    writeFileSync(file, Buffer.concat(cmds.map(encodeCommand)));
    const target = await fresh();
    const r = await restore({ input: file, url: target.url });
    expect(r).toMatchObject({ keys: 4, errorCount: 0, fellBack: true });
    const c = new Redis(target.url);
    await c.select(3);
    expect(await c.get('s')).toBe('hello');
    expect(await c.lrange('l', 0, -1)).toEqual(['a', 'b']);
    expect(await c.zscore('z', 'm')).toBe('1.5');
    expect(await c.hgetall('h')).toEqual({ f: 'v' });
    expect(await c.pexpiretime('s')).toBe(4102444800000);
    c.disconnect();
  });

  it('an interrupted backup leaves no file that looks complete', async () => {
    const out = join(work, 'aborted.rdb');
    const controller = new AbortController();
    const p = backup({
      url: source.url,
      output: out,
      mode: 'scan',
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: () => controller.abort(),
    });
    const err = await p.catch((e) => e);
    expect(BackupError.isInstance(err)).toBe(true);
    expect(String(err)).toMatch(/aborted/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('partial'))).toEqual([]);
  });
});
