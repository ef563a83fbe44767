import { serverPool } from '@valkey-tools/test-utils';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDumpPayload } from '../src/rdb/dump.js';
import { type Command, command, encodeCommand } from '../src/resp/encode.js';
import { BackupError } from '../src/errors.js';
import { headerCommand } from '../src/resp/writer.js';
import { restore } from '../src/restore/restore.js';

// Into an empty server, a `.valkey` file's key commands go out byte for byte as the file has
// them (like valkey-cli --pipe); the header, SELECT, FUNCTION LOAD and RESTORE take the item
// path in between. Both must keep the file's order, count keys, and name keys in errors.
const work = mkdtempSync(join(tmpdir(), 'vt-restore-pass-'));
let pool: Awaited<ReturnType<typeof serverPool>>;
const LIB =
  "#!lua name=passlib\nredis.register_function('pass_echo', function(keys, args) return args[1] end)";

function file(name: string, cmds: Command[], tail = Buffer.alloc(0)): string {
  const path = join(work, name);
  writeFileSync(path, Buffer.concat([...cmds.map(encodeCommand), tail]));
  return path;
}

/** A file of `keys` keys over dbs 0 and 3, in mixed case, with a value bigger than a read chunk. */
function mixedFile(): { path: string; keys: number } {
  const cmds: Command[] = [headerCommand({ source: 'test' })];
  let keys = 0;
  for (const db of [0, 3]) {
    cmds.push(command('SELECT', db));
    for (let i = 0; i < 3000; i++) {
      const k = `k:${db}:${i}`;
      keys++;
      if (i % 3 === 0) {
        cmds.push(command(i % 2 ? 'set' : 'SET', k, `v${i}`));
        // SET + PEXPIREAT on the same key go out as one SET ... PXAT; on another key they do not.
        if (i % 6 === 0) cmds.push(command('pexpireat', i % 12 ? k : `k:${db}:${i + 1}`, 4102444800000 + i));
      } else if (i % 3 === 1)
        cmds.push(
          command('RPUSH', k, 'a', i),
          command('rpush', k, 'b'),
          command('PEXPIREAT', k, 4102444800000),
        );
      else cmds.push(command('HSET', k, 'f', i), command('HSET', k, 'g', 'x'.repeat(i % 700)));
    }
    // Collections made by one command (RESTOREd from a payload encoded on the way), some with a
    // PEXPIREAT (the RESTORE's ttl), and one with a duplicate member (goes as it is).
    for (let j = 0; j < 400; j++) {
      const k = `c:${db}:${j}`;
      keys++;
      if (j % 4 === 0) cmds.push(command('HSET', k, 'f1', j, 'f2', 'x'.repeat(j % 60)));
      else if (j % 4 === 1) {
        cmds.push(command('sadd', k, j, j + 1, 7));
        if (j % 8 === 1) cmds.push(command('PEXPIREAT', k, 4102444800000 + j));
      } else if (j % 4 === 2) cmds.push(command('ZADD', k, '1.5', 'a', '-inf', 'b', j, 'c', '0.1', 'd'));
      else cmds.push(command('RPUSH', k, 'a', j, 'b'), command('PEXPIREAT', k, 4102444800000 + j));
    }
    cmds.push(command('SADD', `dup:${db}`, 'a', 'a', 'b'));
    keys++;
    cmds.push(command('SET', `big:${db}`, Buffer.alloc(600 * 1024, 'z')));
    keys++;
    cmds.push(
      command(
        'RESTORE',
        `restored:${db}`,
        0,
        encodeDumpPayload({ type: 'set', members: [Buffer.from('m')] }),
      ),
    );
    keys++;
  }
  cmds.push(command('FUNCTION', 'LOAD', LIB));
  return { path: file('mixed.valkey', cmds), keys };
}

beforeAll(async () => {
  pool = await serverPool(10);
});

afterAll(async () => {
  await pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('restore of a .valkey file into an empty server, commands sent as they are', () => {
  it('keeps order across SELECT, RESTORE, FUNCTION LOAD and a value split across read chunks', async () => {
    const { path, keys } = mixedFile();
    const target = pool.take();
    const reference = pool.take();
    await target.command('CONFIG', 'RESETSTAT');
    const r = await restore({ input: path, url: target.url, maxInFlight: 7 });
    // What went out, as the server counted it. (A command that lies across a read-chunk boundary
    // goes as it is, so a few keys near the boundaries may take the plain form: counts have slack.)
    const stats = String(await target.command('INFO', 'commandstats'));
    const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+),`).exec(stats)?.[1] ?? 0);
    // 1000 lists per db have a PEXPIREAT, and 250 SETs per db one on the next key (a list): the
    // 250 PEXPIREATs right after a SET of the same key went out inside it (SET ... PXAT), and the
    // 150 per db after a single-command collection as the ttl of its RESTORE.
    expect(calls('pexpireat')).toBeGreaterThanOrEqual(2500);
    expect(calls('pexpireat')).toBeLessThan(2510);
    // The other 750 plain SETs per db went out together as MSETs of many keys; SET itself was
    // called for the 500 with PXAT and the two big values.
    expect(Math.abs(calls('set') - 502)).toBeLessThan(10);
    expect(calls('mset')).toBeGreaterThanOrEqual(24);
    expect(calls('mset')).toBeLessThan(100);
    // 400 single-command collections per db went as RESTOREs (and the file's own two); so did a
    // hash's first HSET when its second one lay across a read-chunk boundary (the second went after).
    expect(calls('restore')).toBeGreaterThanOrEqual(800);
    expect(calls('restore') + calls('hset')).toBeGreaterThanOrEqual(802 + 4000 - 10);
    expect(calls('sadd')).toBeLessThan(10);
    expect(calls('zadd')).toBeLessThan(10);
    // The commands the restore says it sent are the ones the server ran (it selects dbs itself).
    let ran = 0;
    for (const m of stats.matchAll(/cmdstat_([a-z|]+):calls=(\d+),/g))
      if (!['info', 'select', 'config|resetstat'].includes(m[1]!)) ran += Number(m[2]);
    expect(r.commands).toBe(ran);
    expect(r).toMatchObject({ keys, errorCount: 0, functions: 1 });
    // The same file replayed by plain commands into another server (a target that is not empty
    // takes the item path): the two must hold the same data.
    await reference.command('SET', 'placeholder', '1');
    await restore({ input: path, url: reference.url });
    await reference.command('DEL', 'placeholder');
    expect(await target.command('DEBUG', 'DIGEST')).toBe(await reference.command('DEBUG', 'DIGEST'));
    const c = new Redis(target.url);
    try {
      await c.select(3);
      expect(await c.lrange('k:3:1', 0, -1)).toEqual(['a', '1', 'b']);
      expect(await c.pexpiretime('k:3:1')).toBe(4102444800000);
      expect(await c.pexpiretime('k:3:6')).toBe(4102444800006);
      expect(await c.get('k:3:6')).toBe('v6');
      expect(await c.pexpiretime('k:3:12')).toBe(-1);
      // The PEXPIREAT came before the list existed: only the list's own expiry holds.
      expect(await c.pexpiretime('k:3:13')).toBe(4102444800000);
      expect(await c.strlen('big:3')).toBe(600 * 1024);
      expect(await c.smembers('restored:3')).toEqual(['m']);
      expect(await c.call('FCALL', 'pass_echo', 0, 'hi')).toBe('hi');
      expect(await c.zrange('c:3:6', 0, -1, 'WITHSCORES')).toEqual([
        'b',
        '-inf',
        'd',
        '0.1',
        'a',
        '1.5',
        'c',
        '6',
      ]);
      expect(await c.lrange('c:3:7', 0, -1)).toEqual(['a', '7', 'b']);
      expect(await c.pexpiretime('c:3:7')).toBe(4102444800007);
      expect(await c.pexpiretime('c:3:9')).toBe(4102444800009);
      expect(await c.pexpiretime('c:3:5')).toBe(-1);
      expect((await c.smembers('c:3:9')).sort()).toEqual(['10', '7', '9']);
      expect(await c.hgetall('c:3:8')).toEqual({ f1: '8', f2: 'x'.repeat(8) });
      expect(await c.hgetall('c:3:64')).toEqual({ f1: '64', f2: 'x'.repeat(4) });
      expect((await c.smembers('dup:3')).sort()).toEqual(['a', 'b']);
    } finally {
      c.disconnect();
    }
  });

  it('names the key and command the server refuses, and counts only the keys the target holds', async () => {
    const target = pool.take();
    await target.command('ACL', 'SETUSER', 'norpush', 'on', '>pw', '~*', '&*', '+@all', '-rpush');
    const url = target.url.replace('redis://', 'redis://norpush:pw@');
    const { path, keys } = mixedFile();
    const stop = await restore({ input: path, url }).catch((e) => e);
    expect(BackupError.isInstance(stop)).toBe(true);
    expect((stop as Error).message).toMatch(/stopped at key "k:0:1" \(db 0\): RPUSH failed: NOPERM/);

    const again = pool.take();
    await again.command('ACL', 'SETUSER', 'norpush', 'on', '>pw', '~*', '&*', '+@all', '-rpush');
    const r = await restore({
      input: path,
      url: again.url.replace('redis://', 'redis://norpush:pw@'),
      onError: 'continue',
    });
    const lists = 2 * 1000;
    expect(r.errorCount).toBe(2 * lists);
    // The keys counted are the ones the target holds: no refused list (500 of them got a
    // PEXPIREAT before their first RPUSH, which made nothing).
    expect(r.keys).toBe(keys - lists);
    expect(await again.command('DBSIZE')).toBe(`:${r.keys - (await dbKeys(again, 3))}\r\n`);
    expect(r.errors[0]).toMatchObject({ key: 'k:0:1', db: 0, command: 'RPUSH' });
  });

  it('reports every key of a refused MSET (plain SETs sent together) by name, and counts none of them', async () => {
    const target = pool.take();
    await target.command('ACL', 'SETUSER', 'nomset', 'on', '>pw', '~*', '&*', '+@all', '-mset');
    const { path, keys } = mixedFile();
    const r = await restore({
      input: path,
      url: target.url.replace('redis://', 'redis://nomset:pw@'),
      onError: 'continue',
    });
    // 750 plain SETs per db went out in MSETs (a few more near read-chunk boundaries, where a SET's
    // PEXPIREAT came apart from it); the ones with PXAT and the big values did not.
    expect(r.errorCount).toBeGreaterThanOrEqual(1500);
    expect(r.errorCount).toBeLessThan(1510);
    expect(r.keys).toBe(keys - r.errorCount);
    expect(r.errors[0]).toMatchObject({ key: 'k:0:0', db: 0, command: 'MSET' });
    expect(r.errors[0]!.message).toMatch(/NOPERM/);
    expect(r.errors.some((e) => e.key === 'k:3:0' && e.db === 3)).toBe(true);
    // db 0: 3000 + 400 + 1 keys, the big value and the RESTOREd set, less the ones in refused MSETs.
    const lost = r.errors.filter((e) => e.db === 0).length;
    expect(lost).toBeGreaterThanOrEqual(750);
    expect(await target.command('DBSIZE')).toBe(`:${3401 + 2 - lost}\r\n`);
  });

  it('counts the keys of a file without our header (commands of a key need not be together)', async () => {
    const plain = file('plain.valkey', [
      command('SET', 'a', '1'),
      command('RPUSH', 'l', 'x'),
      command('SET', 'b', '2'),
      command('RPUSH', 'l', 'y'),
      command('SELECT', 1),
      command('HSET', 'h', 'f', 'v'),
      command('PEXPIREAT', 'h', 4102444800000),
    ]);
    const target = pool.take();
    const r = await restore({ input: plain, url: target.url });
    expect(r).toMatchObject({ keys: 4, errorCount: 0 });
    expect(await target.command('LRANGE', 'l', '0', '-1')).toBe('*2\r\n$1\r\nx\r\n$1\r\ny\r\n');
    // Into a target that has keys (the commands are replayed one by one): the keys it gained.
    const busy = pool.take();
    await busy.command('SET', 'other', '1');
    expect(await restore({ input: plain, url: busy.url })).toMatchObject({ keys: 4, errorCount: 0 });
  });

  it('reports a truncated last command (or drops it when asked) and a syntax error at its byte offset', async () => {
    const cmds = [headerCommand({ source: 'test' }), command('SET', 'a', '1'), command('SET', 'b', '2')];
    const tail = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nc');
    const cut = file('cut.valkey', cmds, tail);
    const good = Buffer.concat(cmds.map(encodeCommand));
    const t1 = pool.take();
    const err = await restore({ input: cut, url: t1.url }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_RESP_TRUNCATED' });
    // The whole file is checked before anything is sent: a cut file writes nothing.
    expect(await t1.command('DBSIZE')).toBe(':0\r\n');
    const t2 = pool.take();
    const dropped = await restore({ input: cut, url: t2.url, truncated: 'drop' });
    expect(dropped).toMatchObject({ keys: 2, errorCount: 0 });
    expect(dropped.dropped).toEqual([{ source: cut, offset: good.length, bytes: tail.length }]);
    expect(await t2.command('DBSIZE')).toBe(':2\r\n');

    const bad = file('bad.valkey', cmds, Buffer.from('+OK\r\n'));
    const syntax = await restore({ input: bad, url: pool.take().url }).catch((e) => e);
    expect(syntax).toMatchObject({ code: 'ERR_RESP_SYNTAX' });
    expect((syntax as Error).message).toContain(`at byte ${good.length}`);
  });
});

/** Keys in one db of a server (INFO keyspace). */
async function dbKeys(s: { command: (...a: string[]) => Promise<string> }, db: number): Promise<number> {
  const m = new RegExp(`^db${db}:keys=(\\d+)`, 'm').exec(await s.command('INFO', 'keyspace'));
  return m ? Number(m[1]) : 0;
}
