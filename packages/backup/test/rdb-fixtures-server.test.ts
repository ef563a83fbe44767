import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverGroup } from '@valkey-tools/test-utils';
import { Valkey } from 'iovalkey';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeyRecord, Value } from '../src/model.js';
import { readRdbFile } from '../src/rdb/reader.js';
import { writeRdbFile } from '../src/rdb/writer.js';
import { SHARED_RDB, collect } from './fixtures/rdb/helpers.js';

const dirs: string[] = [];
const servers = serverGroup();
afterAll(async () => {
  await servers.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const hex = (b: Buffer) => b.toString('hex');

/** The value as valkey-server reports it through plain commands, in a comparable form. */
async function fetch(c: Valkey, key: Buffer, type: Value['type']): Promise<unknown> {
  switch (type) {
    case 'string':
      return hex((await c.getBuffer(key))!);
    case 'list':
      return (await c.lrangeBuffer(key, 0, -1)).map(hex);
    case 'set':
      return (await c.smembersBuffer(key)).map(hex).sort();
    case 'zset': {
      const flat = (await c.callBuffer('ZRANGE', key, '0', '-1', 'WITHSCORES')) as Buffer[];
      const out: Array<[string, number]> = [];
      for (let i = 0; i < flat.length; i += 2)
        out.push([hex(flat[i]!), Number(flat[i + 1]!.toString().replace('inf', 'Infinity'))]);
      return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    }
    case 'hash': {
      const flat = (await c.callBuffer('HGETALL', key)) as Buffer[];
      const out: string[] = [];
      for (let i = 0; i < flat.length; i += 2) out.push(`${hex(flat[i]!)}=${hex(flat[i + 1]!)}`);
      return out.sort();
    }
    case 'stream': {
      const entries = (await c.callBuffer('XRANGE', key, '-', '+')) as Array<[Buffer, Buffer[]]>;
      return entries.map(([id, kv]) => [id.toString(), kv.map(hex)]);
    }
    default:
      return null;
  }
}

/** The same form, from our parsed record. */
function expected(v: Value): unknown {
  switch (v.type) {
    case 'string':
      return hex(v.value);
    case 'list':
      return v.items.map(hex);
    case 'set':
      return v.members.map(hex).sort();
    case 'zset':
      return v.entries
        .map((e) => [hex(e.member), e.score] as [string, number])
        .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    case 'hash':
      return v.entries.map((e) => `${hex(e.field)}=${hex(e.value)}`).sort();
    case 'stream':
      return v.entries.map((e) => [`${e.id.ms}-${e.id.seq}`, e.fields.flatMap(([f, x]) => [hex(f), hex(x)])]);
    default:
      return null;
  }
}

describe('every fixture, re-encoded by our writer, loads into valkey-server with the contents we parsed', () => {
  it('all keys of all readable fixtures in one file', async () => {
    const names = ['rdbtools', 'valkey'].flatMap((d) =>
      readdirSync(join(SHARED_RDB, d))
        .filter((f) => /\.(rdb|aof)$/.test(f) && f !== 'corrupt_ziplist.rdb')
        .map((f) => `${d}/${f}`),
    );
    const all: KeyRecord[] = [];
    for (const name of names) {
      for (const r of await collect(readRdbFile(join(SHARED_RDB, name), { onWarning: () => {} }))) {
        // Module values need the module loaded; expired keys would be dropped on load.
        if (r.kind !== 'key' || r.value.type === 'module') continue;
        const { expiresAt: _e, lruIdle: _l, lfuFreq: _f, ...rest } = r;
        all.push({ ...rest, db: 0, key: Buffer.concat([Buffer.from(`${name}|db${r.db}|`), r.key]) });
      }
    }
    expect(all.length).toBeGreaterThan(100);
    const dir = mkdtempSync(join(tmpdir(), 'vt-fixtures-'));
    dirs.push(dir);
    await writeRdbFile(join(dir, 'all.rdb'), all);
    const server = await servers.start({ config: { dir, dbfilename: 'all.rdb' } });
    const c = new Valkey({ port: server.port, host: server.host, maxRetriesPerRequest: 1 });
    try {
      expect(await c.dbsize()).toBe(all.length);
      for (const k of all) {
        expect(await fetch(c, k.key, k.value.type), k.key.toString('latin1')).toEqual(expected(k.value));
      }
    } finally {
      c.disconnect();
    }
  });
});
