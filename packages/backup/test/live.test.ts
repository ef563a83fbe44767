import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestServer, buildDataset, serverState, loadRdb, serverGroup } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../src/convert/convert.js';
import { backup } from '../src/live/backup.js';
import { ConnectionError } from '@valkey-tools/core';
import { BackupError } from '../src/errors.js';
import { RespCommandParser } from '../src/resp/parser.js';
import { parseHeaderCommand } from '../src/resp/writer.js';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-live-'));
const servers = serverGroup();
let source: TestServer;
let sourceUrl: string;

beforeAll(async () => {
  source = await servers.start({ config: { 'repl-diskless-sync': 'no' } });
  await buildDataset(source.url, { big: 600 });
  // A password set after start (test-utils waits for an unauthenticated PING).
  await source.command('CONFIG', 'SET', 'requirepass', 'sekret');
  sourceUrl = `redis://:sekret@127.0.0.1:${source.port}/0`;
});

afterAll(async () => {
  await servers.stop();
  rmSync(work, { recursive: true, force: true });
});

const fresh = (config: Record<string, string | number> = {}) => servers.start({ config });

describe('live backup, scan mode', () => {
  it('writes RESTORE commands that restore to the same DEBUG DIGEST and XINFO STREAM FULL', async () => {
    const out = join(work, 'scan.valkey');
    const events: number[] = [];
    const result = await backup({
      url: sourceUrl,
      output: out,
      mode: 'scan',
      onProgress: (p) => events.push(p.keys),
      progressIntervalMs: 0,
    });
    expect(result.format).toBe('resp');
    expect(result.keys).toBe(100);
    expect(events.at(-1)).toBe(result.keys);
    // The file starts with our ECHO header and is a plain command stream.
    const cmds = new RespCommandParser().push(readFileSync(out));
    expect(parseHeaderCommand(cmds[0]!.args)).toMatchObject({ mode: 'scan', tool: '@valkey-tools/backup' });
    expect(JSON.stringify(parseHeaderCommand(cmds[0]!.args))).not.toContain('sekret');
    expect(readdirSync(work).filter((n) => n.includes('partial'))).toEqual([]);

    const target = await fresh();
    const progress: number[] = [];
    const r = await restore({ input: out, url: target.url, onProgress: (p) => progress.push(p.keys) });
    expect(r.errorCount).toBe(0);
    expect(r.keys).toBe(result.keys);
    expect(progress.at(-1)).toBe(result.keys);
    expect(await serverState(target.url)).toEqual(await serverState(sourceUrl));

    // Restoring again fails on the first existing key (with its name), unless replace is given.
    const again = restore({ input: out, url: target.url });
    await expect(again).rejects.toThrow(
      /stopped at key ".*" \(db \d+\): RESTORE failed: BUSYKEY Target key name already exists; no key was written/,
    );
    const cont = await restore({ input: out, url: target.url, onError: 'continue' });
    expect(cont.errorCount).toBe(result.keys);
    expect(cont.errors[0]!.message).toMatch(/BUSYKEY/);
    const replaced = await restore({ input: out, url: target.url, replace: true });
    expect(replaced.errorCount).toBe(0);
    expect(await serverState(target.url)).toEqual(await serverState(sourceUrl));

    // The RESTORE lines convert offline into an RDB file that loads with the same data.
    const rdb = join(work, 'from-scan.rdb');
    const conv = await convert({ input: out, output: rdb });
    expect(conv.keys).toBe(100);
    const loaded = await fresh();
    await loadRdb(loaded, rdb);
    expect(await serverState(loaded.url, { ignoreLayout: true })).toEqual(
      await serverState(sourceUrl, { ignoreLayout: true }),
    );
  });

  it('filters by db, pattern and type, and writes the readable view', async () => {
    const out = join(work, 'filtered.txt');
    const result = await backup({
      url: sourceUrl,
      output: out,
      mode: 'scan',
      db: 5,
      match: '*list*',
      type: 'list',
    });
    expect(result.format).toBe('readable');
    const lines = readFileSync(out, 'latin1').trim().split('\n');
    expect(lines[0]).toMatch(/^ECHO "valkey-tools resp 1 \{/);
    expect(lines[1]).toMatch(/^FUNCTION LOAD REPLACE "#!lua name=vtlib/);
    expect(lines[2]).toBe('SELECT 5');
    expect(lines.slice(3).every((l) => /^RESTORE list:[a-z]+:5 0 "/.test(l))).toBe(true);
    expect(lines.length - 3).toBe(3);
    const target = await fresh();
    const r = await restore({ input: out, url: target.url });
    expect(r.keys).toBe(3);
    const check = new (await import('iovalkey')).Redis(`redis://127.0.0.1:${target.port}/5`);
    expect(await check.llen('list:big:5')).toBe(600);
    expect(await check.dbsize()).toBe(3);
    check.disconnect();
  });
});

describe('live backup, replication mode', () => {
  for (const diskless of ['no', 'yes'] as const) {
    it(`receives the snapshot with repl-diskless-sync ${diskless} (${diskless === 'yes' ? '$EOF:' : '$<length>'} framing)`, async () => {
      const c = await import('iovalkey');
      const admin = new c.Redis(sourceUrl);
      await admin.config('SET', 'repl-diskless-sync', diskless);
      await admin.config('SET', 'repl-diskless-sync-delay', '0');
      admin.disconnect();
      const dir = mkdtempSync(join(work, `repl-${diskless}-`));
      const out = join(dir, 'dump.rdb');
      const seen: number[] = [];
      const result = await backup({
        url: sourceUrl,
        output: out,
        onProgress: (p) => seen.push(p.bytesReceived),
        progressIntervalMs: 0,
      });
      expect(result.mode).toBe('replication');
      const bytes = readFileSync(out);
      expect(bytes.subarray(0, 5).toString()).toBe('REDIS');
      expect(result.bytesWritten).toBe(bytes.length);
      expect(seen.at(-1)).toBe(bytes.length);
      // The snapshot loads in a real server and holds the same data.
      const loaded = await fresh();
      await loadRdb(loaded, out);
      expect(await serverState(loaded.url)).toEqual(await serverState(sourceUrl));
    });
  }

  it('writes an RDB backup into a stream as it arrives (replication and scan), loadable as the source', async () => {
    for (const mode of ['replication', 'scan'] as const) {
      const { PassThrough } = await import('node:stream');
      const stream = new PassThrough();
      const parts: Buffer[] = [];
      stream.on('data', (b: Buffer) => parts.push(b));
      const r = await backup({ url: sourceUrl, output: '-', format: 'rdb', mode, outputStream: stream });
      expect(r).toMatchObject({ keys: 100, bytesWritten: Buffer.concat(parts).length });
      expect(r.unchecked).toBeUndefined();
      const file = join(work, `stream-${mode}.rdb`);
      writeFileSync(file, Buffer.concat(parts));
      const loaded = await fresh();
      await loadRdb(loaded, file);
      expect(await serverState(loaded.url, { ignoreLayout: true })).toEqual(
        await serverState(sourceUrl, { ignoreLayout: true }),
      );
    }
    await expect(
      backup({
        url: sourceUrl,
        output: '-',
        format: 'jsonl',
        outputStream: new (await import('node:stream')).PassThrough(),
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });

  it('converts on the fly: scan into an RDB file, replication into JSONL, both restore to the same data', async () => {
    const rdb = join(work, 'scan.rdb');
    const a = await backup({ url: sourceUrl, output: rdb, mode: 'scan' });
    expect(a).toMatchObject({ format: 'rdb', keys: 100 });
    const loaded = await fresh();
    await loadRdb(loaded, rdb);
    // Each value went into the file as the server's DUMP encoded it (the same encodings too):
    // every key's DUMP body is in the file byte for byte, compressed strings included.
    expect(await serverState(loaded.url)).toEqual(await serverState(sourceUrl));
    const file = readFileSync(rdb);
    const client = new (await import('iovalkey')).Redis(sourceUrl);
    try {
      let checked = 0;
      for (const db of [0, 1, 5, 15]) {
        await client.select(db);
        for (const key of await client.keysBuffer('*')) {
          const payload = (await client.dumpBuffer(key))!;
          expect(file.indexOf(payload.subarray(1, payload.length - 10)), key.toString()).toBeGreaterThan(0);
          checked++;
        }
      }
      expect(checked).toBe(100);
    } finally {
      client.disconnect();
    }
    const jsonl = join(work, 'repl.jsonl');
    const b = await backup({ url: sourceUrl, output: jsonl, db: 5 });
    expect(b).toMatchObject({ format: 'jsonl', mode: 'replication', keys: 25 });
    const target = await fresh();
    const r = await restore({ input: jsonl, url: target.url });
    expect(r).toMatchObject({ keys: 25, errorCount: 0, usedRestore: true });
    const check = new (await import('iovalkey')).Redis(`redis://127.0.0.1:${target.port}/5`);
    expect(await check.dbsize()).toBe(25);
    expect(await check.xlen('stream:full:5')).toBe(58);
    check.disconnect();
  });

  it('authenticates as an ACL user, and reports a refused sync clearly', async () => {
    const admin = new (await import('iovalkey')).Redis(sourceUrl);
    await admin.call('ACL', 'SETUSER', 'backup', 'on', '>pw1', '~*', '+@all');
    await admin.call('ACL', 'SETUSER', 'nosync', 'on', '>pw2', '~*', '+@all', '-sync', '-psync');
    admin.disconnect();
    const out = join(work, 'acl.rdb');
    await backup({ url: `redis://backup:pw1@127.0.0.1:${source.port}`, output: out });
    expect(readFileSync(out).subarray(0, 5).toString()).toBe('REDIS');
    const refused = join(work, 'refused.rdb');
    const err = await backup({ url: `redis://nosync:pw2@127.0.0.1:${source.port}`, output: refused }).catch(
      (e) => e,
    );
    expect(BackupError.hasCode(err, 'ERR_REPLICATION')).toBe(true);
    expect(String(err)).toMatch(/refused to sync.*(NOPERM|permission)/i);
    expect(String(err)).toContain('mode: "scan"');
    expect(existsSync(refused)).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('partial'))).toEqual([]);
    const bad = await backup({ url: `redis://backup:wrong@127.0.0.1:${source.port}`, output: refused }).catch(
      (e) => e,
    );
    expect(ConnectionError.hasCode(bad, 'ERR_CONNECTION')).toBe(true);
    expect(String(bad)).not.toContain('wrong@');
    expect(existsSync(refused)).toBe(false);
  });
});
