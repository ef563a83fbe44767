import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeDumpPayload } from '../src/rdb/dump.js';
import { type Command, command, encodeCommand } from '../src/resp/encode.js';
import { BackupError } from '../src/resp/errors.js';
import { headerCommand } from '../src/resp/writer.js';
import { restore } from '../src/restore/restore.js';
import { serverPool } from './helpers/servers.js';

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
function mixedFile(): { path: string; keys: number; commands: number } {
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
  return { path: file('mixed.valkey', cmds), keys, commands: cmds.length - 1 };
}

beforeAll(async () => {
  pool = await serverPool(7);
});

afterAll(async () => {
  await pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('restore of a .valkey file into an empty server, commands sent as they are', () => {
  it('keeps order across SELECT, RESTORE, FUNCTION LOAD and a value split across read chunks', async () => {
    const { path, keys, commands } = mixedFile();
    const target = pool.take();
    const reference = pool.take();
    await target.command('CONFIG', 'RESETSTAT');
    const r = await restore({ input: path, url: target.url, maxInFlight: 7 });
    // 1000 lists per db have a PEXPIREAT, and 250 SETs per db one on the next key (a list):
    // the 250 PEXPIREATs right after a SET of the same key went out inside it.
    expect(await target.command('INFO', 'commandstats')).toMatch(/cmdstat_pexpireat:calls=2500,/);
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
    } finally {
      c.disconnect();
    }
    // Sent: every command but the two SELECTs (the target selects dbs itself), 500 fewer for the
    // PEXPIREATs that went out inside their SET.
    expect(r.commands).toBe(commands - 2 - 500);
  });

  it('names the key and command the server refuses, and counts only keys whose first command went in', async () => {
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
    // 500 of the lists get a PEXPIREAT (after their neighbour's SET) before their first RPUSH:
    // their first command went in, so they count.
    expect(r.keys).toBe(keys - lists + 500);
    expect(r.errors[0]).toMatchObject({ key: 'k:0:1', db: 0, command: 'RPUSH' });
  });

  it('reports a truncated last command (or drops it when asked) and a syntax error at its byte offset', async () => {
    const cmds = [headerCommand({ source: 'test' }), command('SET', 'a', '1'), command('SET', 'b', '2')];
    const tail = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nc');
    const cut = file('cut.valkey', cmds, tail);
    const good = Buffer.concat(cmds.map(encodeCommand));
    const t1 = pool.take();
    const err = await restore({ input: cut, url: t1.url }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_RESP_TRUNCATED' });
    // What came before the cut is written, like the item path does.
    expect(await t1.command('DBSIZE')).toBe(':2\r\n');
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
