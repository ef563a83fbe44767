import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  rewriteAof,
  type TestServer,
  buildDataset,
  serverState,
  serverGroup,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, describe, expect, it } from 'vitest';
import { readAof } from '../src/aof/read-aof.js';
import { convert } from '../src/convert/convert.js';
import { BackupError } from '../src/errors.js';
import { RespCommandParser } from '../src/resp/parser.js';
import { restore } from '../src/restore/restore.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/rdb/valkey/rdb-preamble.aof');
const work = mkdtempSync(join(tmpdir(), 'vt-aof-'));
const servers = serverGroup();

afterAll(async () => {
  await servers.stop();
  rmSync(work, { recursive: true, force: true });
});

const start = (config: Record<string, string | number> = {}) => servers.start({ config });

/** A real multi-part AOF directory: BASE (RDB or AOF form) from a rewrite, then INCR commands. */
async function makeAof(preamble: boolean): Promise<{ server: TestServer; dir: string }> {
  const server = await start({ appendonly: 'yes', 'aof-use-rdb-preamble': preamble ? 'yes' : 'no' });
  await buildDataset(server.url, { big: 500, dbs: [0, 3] });
  await rewriteAof(server);
  const c = new Redis(server.url);
  await c.incr('counter');
  await c.incrby('counter', 41);
  await c.lpush('list:small:0', 'pushed-after-rewrite');
  await c.del('str:raw:0');
  await c.select(3);
  await c.hset('hash:listpack:3', 'late', 'yes');
  await c.pexpireat('str:int:3', 4102444800123);
  c.disconnect();
  return { server, dir: join(server.dir, 'appendonlydir') };
}

describe('AOF input', () => {
  it('reads a single-file AOF with an RDB preamble (fixture), converts and restores it', async () => {
    const segments: string[] = [];
    for await (const seg of readAof(FIXTURE)) {
      segments.push(seg.kind);
      if (seg.kind === 'records') for await (const _ of seg.records);
      else for await (const _ of seg.batches);
    }
    expect(segments).toEqual(['records', 'commands']);
    const out = join(work, 'preamble.valkey');
    await convert({ input: FIXTURE, output: out });
    const cmds = new RespCommandParser()
      .push(readFileSync(out))
      .slice(1)
      .map((c) => c.args.map((a) => a.toString()).join(' '));
    expect(cmds).toEqual(['SELECT 0', 'SET k2 v2', 'SET k1 v1', 'set k3 v3']);
    const target = await start();
    const r = await restore({ input: FIXTURE, url: target.url });
    expect(r.errorCount).toBe(0);
    expect(await target.command('MGET', 'k1', 'k2', 'k3')).toBe('*3\r\n$2\r\nv1\r\n$2\r\nv2\r\n$2\r\nv3\r\n');
  });

  for (const preamble of [true, false]) {
    it(`restores a multi-part AOF directory (BASE in ${preamble ? 'RDB' : 'AOF'} form + INCR) to the same DEBUG DIGEST`, async () => {
      const { server, dir } = await makeAof(preamble);
      const files = readdirSync(dir);
      expect(files.some((f) => f.endsWith(preamble ? '.base.rdb' : '.base.aof'))).toBe(true);
      expect(files.some((f) => f.endsWith('.incr.aof'))).toBe(true);
      // The reference is what the server itself loads from the same directory.
      const copyDir = mkdtempSync(join(work, 'load-'));
      cpSync(dir, join(copyDir, 'appendonlydir'), { recursive: true });
      const loaded = await start({ appendonly: 'yes', dir: copyDir });
      const view = preamble ? { ignoreLayout: true } : { ignoreLayout: true, ignoreConsumerTimes: true };
      const want = await serverState(loaded.url, view);
      expect(want.dbsize).toEqual((await serverState(server.url, view)).dbsize);
      const target = await start();
      const r = await restore({ input: dir, url: target.url });
      expect(r.errorCount).toBe(0);
      expect(await serverState(target.url, view)).toEqual(want);
      // An AOF's increments do not say which keys they make: the count is what the target gained.
      expect(r.keys).toBe(Object.values(want.dbsize).reduce((a, b) => a + b, 0));
      expect(r.keys).toBeGreaterThan(0);

      // A cut-off last command is reported with file and offset, and can be dropped.
      const copy = join(work, `cut-${preamble}`);
      cpSync(dir, copy, { recursive: true });
      const incr = readdirSync(copy).find((f) => f.endsWith('.incr.aof'))!;
      const size = statSync(join(copy, incr)).size;
      appendFileSync(join(copy, incr), '*3\r\n$3\r\nSET\r\n$4\r\nlost');
      const t2 = await start();
      const err = await restore({ input: copy, url: t2.url }).catch((e) => e);
      expect(BackupError.hasCode(err, 'ERR_RESP_TRUNCATED')).toBe(true);
      expect(String(err)).toContain(`${incr}: the last command`);
      expect(String(err)).toContain(`starting at byte ${size}`);
      const t3 = await start();
      const dropped = await restore({ input: copy, url: t3.url, truncated: 'drop' });
      expect(dropped.dropped).toEqual([{ source: join(copy, incr), offset: size, bytes: 21 }]);
      expect(await serverState(t3.url, view)).toEqual(want);
    });
  }

  it('converts an AOF to RESP text, and refuses offline conversion of arbitrary commands to RDB', async () => {
    const { server, dir } = await makeAof(true);
    const out = join(work, 'aof.valkey');
    await convert({ input: dir, output: out });
    const target = await start();
    await restore({ input: out, url: target.url });
    // The preamble's keys become plain commands: consumer seen/active times are not carried.
    const view = { ignoreLayout: true, ignoreConsumerTimes: true };
    expect(await serverState(target.url, view)).toEqual(await serverState(server.url, view));
    const err = await convert({ input: dir, output: join(work, 'aof.rdb') }).catch((e) => e);
    expect(BackupError.hasCode(err, 'ERR_UNSUPPORTED_COMMAND')).toBe(true);
    expect(String(err)).toMatch(/\(INCR\|INCRBY\)|\(INCR\)/);
    expect(String(err)).toContain('restore()');
  });
});
