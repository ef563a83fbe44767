import { buildDataset, serverState, loadRdb, serverPool } from '@valkey-tools/test-utils';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../src/convert/convert.js';
import { RespCommandParser } from '../src/resp/parser.js';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-convert-'));
let pool: Awaited<ReturnType<typeof serverPool>>;
let source: TestServer;
let rdbPath: string;
/** Plain commands cannot restore consumers' seen/active times, nor the stream node layout. */
const commandView = { ignoreConsumerTimes: true, ignoreLayout: true };

beforeAll(async () => {
  pool = await serverPool(11);
  source = pool.take();
  await buildDataset(source.url, { big: 500 });
  await source.command('SAVE');
  rdbPath = join(work, 'source.rdb');
  copyFileSync(join(source.dir, 'dump.rdb'), rdbPath);
});

afterAll(async () => {
  await pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

const fresh = async (): Promise<TestServer> => pool.take();

describe('RDB -> RESP text', () => {
  it('pipes into valkey-cli --pipe and reproduces DEBUG DIGEST and XINFO STREAM FULL', async () => {
    const out = join(work, 'from-rdb.valkey');
    const r = await convert({ input: rdbPath, output: out });
    expect(r).toMatchObject({ from: 'rdb', to: 'resp', keys: 100 });
    const target = await fresh();
    const pipe = spawnSync('valkey-cli', ['-p', String(target.port), '--pipe'], { input: readFileSync(out) });
    expect(pipe.stdout.toString()).toMatch(/errors: 0, replies: \d+/);
    expect(pipe.status).toBe(0);
    const want = await serverState(source.url, commandView);
    expect(await serverState(target.url, commandView)).toEqual(want);
  });

  it('restores with our restore (plain commands and RESTORE fast path alike)', async () => {
    const resp = join(work, 'from-rdb.valkey');
    const t1 = await fresh();
    const r1 = await restore({ input: resp, url: t1.url });
    expect(r1).toMatchObject({ keys: 100, errorCount: 0, functions: 1 });
    expect(await serverState(t1.url, commandView)).toEqual(await serverState(source.url, commandView));

    const t2 = await fresh();
    const r2 = await restore({ input: rdbPath, url: t2.url });
    expect(r2).toMatchObject({ keys: 100, errorCount: 0, usedRestore: true, fellBack: false });
    // RESTORE carries everything, consumer times included.
    expect(await serverState(t2.url, { ignoreLayout: true })).toEqual(
      await serverState(source.url, { ignoreLayout: true }),
    );

    const t3 = await fresh();
    const r3 = await restore({ input: rdbPath, url: t3.url, useRestore: 'never', batchSize: 7 });
    expect(r3).toMatchObject({ keys: 100, usedRestore: false });
    expect(await serverState(t3.url, commandView)).toEqual(await serverState(source.url, commandView));
  });

  it('a corrupt RDB is refused before anything reaches the target', async () => {
    const bad = Buffer.from(readFileSync(rdbPath));
    // A byte flipped three quarters in: the first keys read fine, the checksum does not match.
    bad[Math.floor((bad.length * 3) / 4)]! ^= 0x55;
    const badPath = join(work, 'corrupt.rdb');
    writeFileSync(badPath, bad);
    const target = await fresh();
    const err = await restore({ input: badPath, url: target.url }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_RESTORE' });
    expect((err as Error).message).toMatch(/corrupt\.rdb is not a valid RDB file/);
    expect(await target.command('DBSIZE')).toBe(':0\r\n');
    expect(await target.command('FUNCTION', 'LIST')).toBe('*0\r\n');
  });

  it('re-running an interrupted restore with replace converges', async () => {
    const resp = join(work, 'from-rdb.valkey');
    const target = await fresh();
    // A partial first run: only some dbs, and a key that holds something else.
    await restore({ input: resp, url: target.url, db: 1 });
    await target.command('RPUSH', 'list:big:0', 'stale');
    const r = await restore({ input: resp, url: target.url, replace: true });
    expect(r.errorCount).toBe(0);
    expect(await serverState(target.url, commandView)).toEqual(await serverState(source.url, commandView));
  });
});

describe('conversions between formats', () => {
  it('RESP -> readable -> RESP keeps every command byte for byte', async () => {
    const resp = join(work, 'db1.valkey');
    await convert({ input: rdbPath, output: resp, db: 1 });
    const txt = join(work, 'view.txt');
    const back = join(work, 'back.valkey');
    await convert({ input: resp, output: txt });
    await convert({ input: txt, output: back });
    const a = new RespCommandParser().push(readFileSync(resp)).slice(1);
    const b = new RespCommandParser().push(readFileSync(back)).slice(1);
    expect(b.length).toBe(a.length);
    expect(b.map((c) => c.args)).toEqual(a.map((c) => c.args));
  });

  it('RESP -> RDB loads in a real server with the same data', async () => {
    const dir = mkdtempSync(join(work, 'rdb-'));
    const r = await convert({ input: join(work, 'from-rdb.valkey'), output: join(dir, 'dump.rdb') });
    expect(r.keys).toBe(100);
    execFileSync('valkey-check-rdb', [join(dir, 'dump.rdb')]);
    const loaded = await fresh();
    await loadRdb(loaded, join(dir, 'dump.rdb'));
    expect(await serverState(loaded.url, commandView)).toEqual(await serverState(source.url, commandView));
  });

  it('RDB -> JSONL -> restore and JSONL -> RDB keep the data', async () => {
    const jsonl = join(work, 'data.jsonl');
    const r = await convert({ input: rdbPath, output: jsonl });
    expect(r).toMatchObject({ to: 'jsonl', keys: 100 });
    const target = await fresh();
    const restored = await restore({ input: jsonl, url: target.url });
    expect(restored).toMatchObject({ keys: 100, errorCount: 0, usedRestore: true });
    expect(await serverState(target.url, { ignoreLayout: true })).toEqual(
      await serverState(source.url, { ignoreLayout: true }),
    );
    const dir = mkdtempSync(join(work, 'jsonl-rdb-'));
    await convert({ input: jsonl, output: join(dir, 'dump.rdb') });
    const loaded = await fresh();
    await loadRdb(loaded, join(dir, 'dump.rdb'));
    expect(await serverState(loaded.url, { ignoreLayout: true })).toEqual(
      await serverState(source.url, { ignoreLayout: true }),
    );
  });

  it('filters by db, pattern and type in every direction', async () => {
    const out = join(work, 'filtered.valkey');
    const r = await convert({ input: rdbPath, output: out, db: 15, match: 'zset:*', type: ['zset'] });
    expect(r.keys).toBe(2);
    const names = new RespCommandParser().push(readFileSync(out)).map((c) =>
      c.args
        .map((a) => a.toString('latin1'))
        .slice(0, 2)
        .join(' '),
    );
    expect(
      names.filter((n) => n.startsWith('ZADD')).every((n) => /ZADD zset:(listpack|big):15/.test(n)),
    ).toBe(true);
    const again = await convert({ input: out, output: join(work, 'filtered2.txt'), match: '*listpack*' });
    expect(again.keys).toBe(1);
  });
});
