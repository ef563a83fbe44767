/**
 * A backup may come from anyone: a restore replays only data, reads the whole input before it
 * sends anything, and empties the target (`flush`) only once the input is known to be good.
 */
import { buildDataset, serverState, serverPool } from '@valkey-tools/test-utils';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../src/convert/convert.js';
import { command, encodeCommand } from '../src/resp/encode.js';
import { headerCommand } from '../src/resp/writer.js';
import { restore } from '../src/restore/restore.js';
import { listpack, payloadOf, rdbStr } from './helpers/craft.js';

const work = mkdtempSync(join(tmpdir(), 'vt-untrusted-'));
let pool: Awaited<ReturnType<typeof serverPool>>;

beforeAll(async () => {
  pool = await serverPool(23);
});
afterAll(async () => {
  await pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

type Arg = string | number | Buffer;
const resp = (cmds: Arg[][]) => Buffer.concat(cmds.map((c) => encodeCommand(command(...c))));
const file = (name: string, bytes: Buffer) => {
  const p = join(work, name);
  writeFileSync(p, bytes);
  return p;
};

/** What a hostile file could change besides data: keys, users, config. */
async function guarded(t: { command: (...a: string[]) => Promise<string> }) {
  return {
    keys: await t.command('DBSIZE'),
    mine: await t.command('GET', 'mine'),
    users: await t.command('ACL', 'USERS'),
    maxmemory: await t.command('CONFIG', 'GET', 'maxmemory'),
    dir: await t.command('CONFIG', 'GET', 'dir'),
  };
}

const HOSTILE: Arg[][] = [
  ['ACL', 'SETUSER', 'evil', 'on', '>pw', '+@all', '~*'],
  ['CONFIG', 'SET', 'maxmemory', '1mb'],
  ['EVAL', "redis.call('SET', 'mine', 'owned')", '0'],
  ['FLUSHALL'],
  ['SAVE'],
  ['FUNCTION', 'FLUSH'],
];

describe('restore refuses a file that runs more than data', () => {
  for (const [i, bad] of HOSTILE.entries()) {
    for (const withHeader of [true, false]) {
      const shown = ['ACL', 'CONFIG', 'FUNCTION'].includes(String(bad[0]))
        ? bad.slice(0, 2).join(' ')
        : bad[0];
      it(`${shown} among SETs (${withHeader ? 'our header' : 'no header'}): refused before anything is sent`, async () => {
        const t = pool.take();
        await t.command('SET', 'mine', 'precious');
        const before = await guarded(t);
        const cmds: Arg[][] = [['SET', 'a', '1'], ['SET', 'b', '2'], bad, ['SET', 'c', '3']];
        const head = withHeader ? [encodeCommand(headerCommand({ source: 'test' }))] : [];
        const body = resp(cmds);
        const p = file(`hostile-${i}-${withHeader}.valkey`, Buffer.concat([...head, body]));
        const err = await restore({ input: p, url: t.url }).catch((e) => e);
        expect(err).toMatchObject({ code: 'ERR_REFUSED_COMMAND' });
        const name = String(bad[0]);
        expect(err.message).toContain(`command #${withHeader ? 4 : 3}`);
        expect(err.message).toContain(name);
        expect(err.message).toMatch(/at byte \d+/);
        expect(err.message).toContain('nothing was sent');
        expect(await guarded(t)).toEqual(before);
        // --flush changes nothing either: the file is refused before the target is emptied.
        const flushed = await restore({ input: p, url: t.url, flush: true }).catch((e) => e);
        expect(flushed).toMatchObject({ code: 'ERR_REFUSED_COMMAND' });
        expect(await guarded(t)).toEqual(before);
      });
    }
  }

  it('a --match filter does not let a non-data command through, and an AOF is held to the same rule', async () => {
    const t = pool.take();
    await t.command('SET', 'mine', 'precious');
    const before = await guarded(t);
    const p = file('match.valkey', resp([['SET', 'a', '1'], HOSTILE[0]!]));
    expect(await restore({ input: p, url: t.url, match: 'a' }).catch((e) => e)).toMatchObject({
      code: 'ERR_REFUSED_COMMAND',
    });
    const aof = file('hostile.aof', resp([['SELECT', '0'], ['SET', 'a', '1'], HOSTILE[1]!]));
    expect(await restore({ input: aof, url: t.url }).catch((e) => e)).toMatchObject({
      code: 'ERR_REFUSED_COMMAND',
    });
    const dir = join(work, 'aofdir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'appendonly.aof.1.base.aof'), resp([['SET', 'a', '1']]));
    writeFileSync(join(dir, 'appendonly.aof.1.incr.aof'), resp([['SET', 'b', '1'], HOSTILE[2]!]));
    writeFileSync(
      join(dir, 'appendonly.aof.manifest'),
      'file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n',
    );
    expect(await restore({ input: dir, url: t.url }).catch((e) => e)).toMatchObject({
      code: 'ERR_REFUSED_COMMAND',
    });
    expect(await guarded(t)).toEqual(before);
  });

  it('commands that span keys (RENAME, SMOVE, a MULTI block across keys) are refused in a replayed file; verbatim replays them', async () => {
    const cases: Arg[][][] = [
      [
        ['SET', 'a', '1'],
        ['RENAME', 'a', 'b'],
      ],
      [
        ['SADD', 's', 'x'],
        ['SMOVE', 's', 'd', 'x'],
      ],
      [['MULTI'], ['SET', 'a', '1'], ['SET', 'b', '2'], ['EXEC']],
    ];
    for (const [i, cmds] of cases.entries()) {
      const t = pool.take();
      const p = file(`cross-${i}.resp`, resp(cmds));
      const err = await restore({ input: p, url: t.url }).catch((e) => e);
      expect(err).toMatchObject({ code: 'ERR_REFUSED_COMMAND' });
      expect(err.message).toMatch(/between keys|spans keys/);
      expect(await t.command('DBSIZE')).toBe(':0\r\n');
      const r = await restore({ input: p, url: t.url, verbatim: true });
      expect(r.errorCount).toBe(0);
      expect(await t.command('DBSIZE')).not.toBe(':0\r\n');
    }
    // A MULTI block on one key (the server wraps some single-key effects so) is replayed.
    const t = pool.take();
    const one = file('multi-one.resp', resp([['MULTI'], ['SET', 'a', '1'], ['INCR', 'a'], ['EXEC']]));
    expect(await restore({ input: one, url: t.url })).toMatchObject({ keys: 1, errorCount: 0 });
    expect(await t.command('GET', 'a')).toBe('$1\r\n2\r\n');
  });
});

describe('RESTORE payloads in a command file are checked like RDB values', () => {
  it('a hash listpack with a repeated field (the server would plant it and crash later) is refused before anything is sent', async () => {
    const dup = payloadOf(16, rdbStr(listpack(['f', '1', 'f', '2'])));
    const clean = payloadOf(16, rdbStr(listpack(['f', '1', 'g', '2'])));
    const t = pool.take();
    await t.command('SET', 'mine', 'precious');
    for (const withHeader of [true, false]) {
      const head = withHeader ? [encodeCommand(headerCommand({ source: 'test' }))] : [];
      const p = file(
        `payload-${withHeader}.valkey`,
        Buffer.concat([
          ...head,
          resp([
            ['SET', 'a', '1'],
            ['RESTORE', 'h', 0, dup],
            ['SET', 'b', '2'],
          ]),
        ]),
      );
      const err = await restore({ input: p, url: t.url, flush: true }).catch((e) => e);
      expect(err).toMatchObject({ code: 'ERR_RESTORE' });
      expect(err.message).toMatch(/command #\d+ at byte \d+ \(RESTORE of key "h"\): .*appears twice/);
      expect(err.message).toContain('nothing was sent');
      expect(await t.command('DBSIZE')).toBe(':1\r\n');
      expect(await t.command('PING')).toBe('+PONG\r\n');
    }
    const ok = file('payload-clean.valkey', resp([['RESTORE', 'h', 0, clean]]));
    expect(await restore({ input: ok, url: t.url })).toMatchObject({ keys: 1, errorCount: 0 });
    expect(await t.command('HGET', 'h', 'g')).toBe('$1\r\n2\r\n');
  });
});

describe('--flush empties the target only after the whole input was checked', () => {
  it('a truncated RDB, a .valkey and a JSONL file that break mid-file: the target keeps every key, whichever way the restore sends them', async () => {
    const source = pool.take();
    await buildDataset(source.url, { big: 300, dbs: [0, 2] });
    await source.command('SAVE');
    const rdb = join(work, 'full.rdb');
    copyFileSync(join(source.dir, 'dump.rdb'), rdb);
    const valkey = join(work, 'full.valkey');
    await convert({ input: rdb, output: valkey });
    const bytes = readFileSync(rdb);
    const truncated = file('truncated.rdb', bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const text = readFileSync(valkey);
    // A syntax error after the first half of the commands (a stream, a function and more before it).
    const cut = text.indexOf('\r\n*', Math.floor(text.length / 2)) + 2;
    const broken = file(
      'broken.valkey',
      Buffer.concat([text.subarray(0, cut), Buffer.from('+garbage\r\n'), text.subarray(cut)]),
    );

    const t = pool.take();
    await buildDataset(t.url, { big: 300, dbs: [0, 1], prefix: 'target:' });
    const before = await serverState(t.url);
    const e1 = await restore({ input: truncated, url: t.url, flush: true }).catch((e) => e);
    expect(e1).toMatchObject({ code: 'ERR_RESTORE' });
    expect(e1.message).toMatch(/not a valid RDB file/);
    expect(await serverState(t.url)).toEqual(before);
    const e2 = await restore({ input: broken, url: t.url, flush: true }).catch((e) => e);
    expect(e2).toMatchObject({ code: 'ERR_RESP_SYNTAX' });
    expect(await serverState(t.url)).toEqual(before);
    // The same files decoded record by record (no RESTORE; keys replaced), and a JSONL file.
    const e3 = await restore({ input: truncated, url: t.url, flush: true, useRestore: 'never' }).catch(
      (e) => e,
    );
    expect(e3).toMatchObject({ code: 'ERR_RESTORE' });
    expect(e3.message).toMatch(/not a valid RDB file/);
    expect(await serverState(t.url)).toEqual(before);
    const e4 = await restore({ input: broken, url: t.url, flush: true, replace: true }).catch((e) => e);
    expect(e4).toMatchObject({ code: 'ERR_RESP_SYNTAX' });
    expect(await serverState(t.url)).toEqual(before);
    const jsonl = join(work, 'full.jsonl');
    await convert({ input: rdb, output: jsonl });
    const lines = readFileSync(jsonl);
    const at = lines.indexOf('\n', Math.floor(lines.length / 2)) + 1;
    const badJsonl = file(
      'broken.jsonl',
      Buffer.concat([lines.subarray(0, at), Buffer.from('{"db":0,"key":\n'), lines.subarray(at)]),
    );
    const e5 = await restore({ input: badJsonl, url: t.url, flush: true }).catch((e) => e);
    expect(e5).toMatchObject({ code: 'ERR_JSONL_PARSE' });
    expect(e5.message).toMatch(/invalid JSONL: .* \(on line \d+\)/);
    expect(await serverState(t.url)).toEqual(before);
    // A good file with --flush: exactly the source.
    await restore({ input: valkey, url: t.url, flush: true });
    // (Consumer seen/active times are set by XCLAIM when a .valkey file re-creates them.)
    const view = { ignoreConsumerTimes: true };
    expect(await serverState(t.url, view)).toEqual(await serverState(source.url, view));
  });
});

describe('a restore stopped part-way says what it left', () => {
  it('aborted by its signal (Ctrl-C): names how many keys were written; the same restore with replace converges', async () => {
    const source = pool.take();
    await source.command('DEBUG', 'POPULATE', '50000', 'k', '64');
    await source.command('SAVE');
    const rdb = join(work, 'populate.rdb');
    copyFileSync(join(source.dir, 'dump.rdb'), rdb);
    const valkey = join(work, 'populate.valkey');
    await convert({ input: rdb, output: valkey });
    const t = pool.take();
    const ac = new AbortController();
    const err = await restore({
      input: valkey,
      url: t.url,
      maxInFlight: 100,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase === 'restoring' && p.keys > 1000) ac.abort();
      },
      progressIntervalMs: 0,
    }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_ABORTED' });
    const written = Number(/(\d+) keys were written before it stopped/.exec(err.message)?.[1]);
    expect(written).toBeGreaterThan(1000);
    expect(written).toBeLessThan(50000);
    expect(err.details.keysRestored).toBe(written);
    expect(await t.command('DBSIZE')).toBe(`:${written}\r\n`);
    expect(err.hint).toMatch(/--replace/);
    await restore({ input: valkey, url: t.url, replace: true });
    expect(await t.command('DEBUG', 'DIGEST')).toBe(await source.command('DEBUG', 'DIGEST'));
  });
});

describe('the per-key rule needs to know which keys exist', () => {
  it('a user that may not run EXISTS gets an error before anything is written, never a merge', async () => {
    const t = pool.take();
    await t.command('RPUSH', 'l', 'x');
    await t.command('ACL', 'SETUSER', 'noexists', 'on', '>pw', '~*', '&*', '+@all', '-exists');
    const url = t.url.replace('redis://', 'redis://noexists:pw@');
    const p = file(
      'replay-l.resp',
      resp([
        ['RPUSH', 'l', 'y'],
        ['SET', 'n', '1'],
      ]),
    );
    const err = await restore({ input: p, url, onError: 'continue' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_RESTORE' });
    expect(err.message).toMatch(/EXISTS failed: NOPERM.*nothing was written/);
    expect(await t.command('LRANGE', 'l', '0', '-1')).toBe('*1\r\n$1\r\nx\r\n');
    expect(await t.command('EXISTS', 'n')).toBe(':0\r\n');
  });
});
