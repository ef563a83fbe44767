import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import {
  type DatasetCommand,
  seededRandom,
  startTestServer,
  type TestServer,
  writeDataset,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { estimateRecords } from '../src/memory/analyze.js';
import { estimatePackedKey, type KeyMemory } from '../src/memory/estimate.js';
import { walkRdbRecords } from '../src/rdb/direct.js';
import { readRdbFile } from '../src/rdb/reader.js';

/** Keys of every encoding, sized around each threshold, with the encoding valkey should pick. */
function datasetCommands(): DatasetCommand[] {
  const r = seededRandom(12);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const text = (n: number) => {
    let s = '';
    while (s.length < n) s += Math.floor(r() * 36 ** 6).toString(36);
    return s.slice(0, n);
  };
  const c: DatasetCommand[] = [];
  for (let i = 0; i < 60; i++) {
    const key = `str:int:${'k'.repeat(int(0, 40))}${i}`;
    c.push(['SET', key, String(int(-1_000_000_000, 1_000_000_000) * (i % 5 === 0 ? 1_000_000 : 1))]);
  }
  for (let i = 0; i < 60; i++) c.push(['SET', `str:embstr:${i}`, text(int(0, 44))]);
  for (let i = 0; i < 60; i++) c.push(['SET', `str:raw:${i}`, text(int(45, i < 50 ? 2000 : 70000))]);
  c.push(['SET', `str:longkey:${'x'.repeat(300)}`, 'v']);
  c.push(['SET', 'str:ttl', 'value', 'EX', 100000]);
  for (let i = 0; i < 40; i++) {
    const n = int(1, 100);
    c.push([
      'RPUSH',
      `list:lp:${i}`,
      ...Array.from({ length: n }, () => (r() < 0.3 ? String(int(-5000, 5000)) : text(int(1, 40)))),
    ]);
  }
  for (let i = 0; i < 12; i++) {
    const n = int(300, 2500);
    c.push([
      'RPUSH',
      `list:ql:${i}`,
      ...Array.from({ length: n }, (_, j) => (j % 3 === 0 ? String(j) : text(int(1, 60)))),
    ]);
  }
  c.push(['RPUSH', 'list:plain', 'x'.repeat(10000), 'a', 'b', 'y'.repeat(20000)]);
  for (let i = 0; i < 30; i++) {
    const n = int(1, 512);
    const bound = [30000, 2_000_000_000, 9_000_000_000_000][i % 3]!;
    const members = new Set<string>();
    while (members.size < n) members.add(String(int(-bound, bound)));
    c.push(['SADD', `set:intset:${i}`, ...members]);
  }
  for (let i = 0; i < 30; i++)
    c.push(['SADD', `set:lp:${i}`, ...Array.from({ length: int(1, 128) }, () => text(int(1, 30)))]);
  for (let i = 0; i < 12; i++) {
    const n = int(129, 3000);
    c.push(['SADD', `set:ht:${i}`, ...Array.from({ length: n }, (_, j) => `${text(int(1, 50))}${j}`)]);
  }
  for (let i = 0; i < 30; i++) {
    const n = int(1, 128);
    // Odd keys have integer scores; float scores get their own bound (see boundFor).
    const args: DatasetCommand = ['ZADD', i % 2 ? `zset:lp:${i}` : `zset:lpf:${i}`];
    for (let j = 0; j < n; j++)
      args.push(i % 2 ? String(int(-100000, 100000)) : String(r() * 1000), text(int(1, 40)));
    c.push(args);
  }
  for (let i = 0; i < 10; i++) {
    const n = int(129, 2500);
    const args: DatasetCommand = ['ZADD', `zset:sl:${i}`];
    for (let j = 0; j < n; j++) args.push(String(r() * 1e6), `${text(int(1, 40))}${j}`);
    c.push(args);
  }
  for (let i = 0; i < 30; i++) {
    const n = int(1, 512);
    const args: DatasetCommand = ['HSET', `hash:lp:${i}`];
    for (let j = 0; j < n; j++) args.push(`f${j}`, r() < 0.4 ? String(int(0, 1e9)) : text(int(1, 64)));
    c.push(args);
  }
  for (let i = 0; i < 10; i++) {
    const n = int(20, 2500);
    const args: DatasetCommand = ['HSET', `hash:ht:${i}`];
    for (let j = 0; j < n; j++) args.push(`field:${j}`, text(int(1, n > 512 ? 40 : 200)));
    c.push(args);
  }
  for (let i = 0; i < 10; i++) {
    const n = int(1, 1200);
    const key = `stream:${i}`;
    for (let j = 0; j < n; j++) {
      const fields: string[] =
        i % 2 ? ['temp', String(int(0, 100)), 'loc', text(int(1, 20))] : ['f', text(int(1, 80))];
      if (j % 50 === 7) fields.push('extra', 'x');
      c.push(['XADD', key, '*', ...fields]);
    }
    if (i % 3 === 0) {
      c.push(['XGROUP', 'CREATE', key, 'g1', '0']);
      c.push(['XGROUP', 'CREATE', key, 'g2', '$']);
      c.push(['XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', int(1, 200), 'STREAMS', key, '>']);
      c.push(['XREADGROUP', 'GROUP', 'g1', 'bob', 'COUNT', int(1, 50), 'STREAMS', key, '>']);
      c.push(['XGROUP', 'CREATECONSUMER', key, 'g2', 'carol']);
    }
  }
  c.push(['XGROUP', 'CREATE', 'stream:empty', 'g', '$', 'MKSTREAM']);
  // Deleted entries stay in their nodes as tombstones, which the file does not keep.
  for (const [i, every] of [2, 3, 10, 50].entries()) {
    const key = `stream:xdel:${i}`;
    const ids: string[] = [];
    for (let j = 1; j <= 600; j++) {
      ids.push(`5-${j}`);
      c.push(['XADD', key, `5-${j}`, 'f', text(int(1, 30))]);
    }
    c.push(['XDEL', key, ...ids.filter((_, j) => j % every === 1)]);
  }
  return c;
}

/** `MEMORY USAGE key SAMPLES 0` and `OBJECT ENCODING key` of each key, in one pipeline. */
async function usageOf(client: Redis, keys: Buffer[]): Promise<Array<{ usage: number; encoding: string }>> {
  const p = client.pipeline();
  for (const key of keys) {
    p.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    p.call('OBJECT', 'ENCODING', key);
  }
  const replies = (await p.exec()) ?? [];
  return keys.map((_, i) => {
    const [usageErr, usage] = replies[2 * i]!;
    const [encErr, encoding] = replies[2 * i + 1]!;
    if (usageErr || encErr) throw usageErr ?? encErr;
    return { usage: Number(usage), encoding: String(encoding) };
  });
}

interface Sample {
  key: string;
  estimate: KeyMemory;
  written: KeyMemory;
  live: number;
  loaded: number;
  liveEncoding: string;
}

/**
 * Encodings whose size depends on the server's random hash seed (set members chained in a bucket) or
 * random skiplist levels: the estimate is the expected value, bounded by 3% per key. Every other
 * encoding is modelled byte for byte and held to 0.5%.
 */
const RANDOMIZED = new Set(['set/hashtable', 'zset/skiplist']);

/** Bound for a key in a category (`type/encoding`, or a named special case). */
function boundFor(category: string): number {
  if (category === 'stream/stream (XDEL)') return 0.15;
  // valkey prints scores with grisu2, which now and then gives one digit more than the shortest
  // form we compute: a listpack at a size-class edge then lands one class (<= 25%) higher.
  if (category === 'zset/listpack (float scores)') return 0.25;
  return RANDOMIZED.has(category) ? 0.03 : 0.005;
}

/** The accuracy category of a sample: streams with XDEL'd entries are estimated, not modelled. */
function categoryOf(key: string, k: KeyMemory): string {
  if (key.startsWith('stream:xdel:')) return 'stream/stream (XDEL)';
  if (key.startsWith('zset:lpf:')) return 'zset/listpack (float scores)';
  return `${k.type}/${k.encoding}`;
}

const ratioError = (est: number, actual: number) => Math.abs(est - actual) / actual;
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

// The two setups (a valkey and a Redis server, each filled and snapshotted) run side by side.
describe.concurrent('memory accuracy', () => {
  describe('memory estimate vs MEMORY USAGE on valkey-server 8.0', () => {
    let server: TestServer;
    let client: Redis;
    const samples: Sample[] = [];
    let chunkedMismatches: string[] = [];
    let rdb = '';

    beforeAll(async () => {
      server = await startTestServer({ config: { save: '' } });
      client = new Redis({
        host: server.host,
        port: server.port,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
      });
      await client.connect();
      await writeDataset(client, datasetCommands());

      const keys = ((await client.callBuffer('KEYS', '*')) as Buffer[]).sort(Buffer.compare);
      const live = new Map<string, { usage: number; encoding: string }>();
      const before = await usageOf(client, keys);
      keys.forEach((key, i) => {
        live.set(key.toString('latin1'), before[i]!);
      });
      // DEBUG RELOAD saves dump.rdb and loads it back: the server then holds what a restart would.
      await client.call('DEBUG', 'RELOAD');
      rdb = join(server.dir, 'dump.rdb');
      const written = new Map<string, KeyMemory>();
      for await (const k of estimateRecords(readRdbFile(rdb), { state: 'written' }))
        written.set(k.key.toString('latin1'), k);
      const estimates: KeyMemory[] = [];
      for await (const estimate of estimateRecords(readRdbFile(rdb))) estimates.push(estimate);
      const after = await usageOf(
        client,
        estimates.map((e) => e.key),
      );
      estimates.forEach((estimate, i) => {
        const name = estimate.key.toString('latin1');
        const was = live.get(name)!;
        samples.push({
          key: name.slice(0, 60),
          estimate,
          written: written.get(name)!,
          live: was.usage,
          loaded: after[i]!.usage,
          liveEncoding: was.encoding,
        });
      });
      // Huge keys delivered in parts must get the very same estimate.
      const chunked = new Map<string, number>();
      for await (const k of estimateRecords(
        readRdbFile(rdb, { chunked: { elements: 50, bytes: 1000, pieceBytes: 300 } }),
      )) {
        chunked.set(k.key.toString('latin1'), k.bytes);
      }
      chunkedMismatches = samples
        .filter((s) => chunked.get(s.estimate.key.toString('latin1')) !== s.estimate.bytes)
        .map((s) => s.key);
      expect(samples.length).toBe(keys.length);
    });

    afterAll(async () => {
      client?.disconnect();
      await server?.stop();
    });

    it('gives the same estimates when the reader delivers huge keys in parts', () => {
      expect(chunkedMismatches).toEqual([]);
    });

    it('sizes strings, intsets and listpack keys from their sizes alone (the walk), as their elements do', async () => {
      const bySizes = new Map<string, KeyMemory>();
      const offered = new Set<string>();
      const walked = await walkRdbRecords(rdb, () => {}, {
        lengthsOnly: true,
        packed: (key, summary) => {
          offered.add(key.key.toString('latin1'));
          // the name is a view of the walk's window: kept past the call, it is copied
          const k = estimatePackedKey({ ...key, key: Buffer.from(key.key) }, summary);
          if (k) bySizes.set(key.key.toString('latin1'), k);
          return k !== undefined;
        },
      });
      expect(walked).toBe(true);
      const listpacks = samples.filter((s) =>
        /^(set|hash|zset)\/listpack$|^set\/intset$|^string\//.test(
          `${s.estimate.type}/${s.estimate.encoding}`,
        ),
      );
      expect(listpacks.length).toBeGreaterThan(50);
      const wrong: string[] = [];
      for (const s of samples) {
        const name = s.estimate.key.toString('latin1');
        const k = bySizes.get(name);
        if (!k) continue;
        // Scores printed by the server's grisu2 may take a digit more than the shortest form the
        // elements' estimate computes: the listpack's own size is what the server holds.
        const ok = name.startsWith('zset:lpf:')
          ? ratioError(k.bytes, s.loaded) <= 0.005
          : JSON.stringify(k) === JSON.stringify(s.estimate);
        if (!ok) wrong.push(`${s.key}: ${k.bytes} vs ${s.estimate.bytes} (server ${s.loaded})`);
      }
      expect(wrong).toEqual([]);
      // every string, intset, and listpack the server keeps as one, was sized without its elements
      const missed = listpacks
        .filter((s) => !bySizes.has(s.estimate.key.toString('latin1')))
        .map((s) => s.key);
      expect(missed).toEqual([]);
      // lists of one listpack node: by their sizes unless near the node limit (then by elements)
      const lists = samples.filter((s) => s.key.startsWith('list:') && s.estimate.encoding === 'listpack');
      const listsBySize = lists.filter((s) => bySizes.has(s.estimate.key.toString('latin1')));
      expect(listsBySize.length).toBeGreaterThan(lists.length / 2);
      expect(offered.size).toBeGreaterThanOrEqual(bySizes.size);
    });

    it('picks the encoding the server uses', () => {
      const wrong = samples
        .filter((s) => s.estimate.encoding !== s.liveEncoding)
        .map((s) => `${s.key}: ${s.estimate.encoding} vs ${s.liveEncoding}`);
      expect(wrong).toEqual([]);
    });

    it('stays within the documented error bounds per encoding', () => {
      const byEncoding = new Map<string, Sample[]>();
      for (const s of samples) {
        const k = categoryOf(s.key, s.estimate);
        byEncoding.set(k, [...(byEncoding.get(k) ?? []), s]);
      }
      const lines = [
        '| type/encoding | keys | median error (loaded) | p90 | max | max error vs live server |',
        '|---|---|---|---|---|---|',
      ];
      const worst: string[] = [];
      for (const [enc, list] of [...byEncoding].sort()) {
        const errs = list.map((s) => ratioError(s.estimate.bytes, s.loaded)).sort((a, b) => a - b);
        const liveErrs = list.map((s) => ratioError(s.written.bytes, s.live)).sort((a, b) => a - b);
        const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
        lines.push(
          `| ${enc} | ${list.length} | ${pct(quantile(errs, 0.5))} | ${pct(quantile(errs, 0.9))} | ${pct(errs.at(-1)!)} | ${pct(liveErrs.at(-1)!)} |`,
        );
        for (const s of list) {
          const e = ratioError(s.estimate.bytes, s.loaded);
          const w = ratioError(s.written.bytes, s.live);
          const bound = boundFor(enc);
          if (e > bound || w > bound)
            worst.push(
              `${s.key} ${enc}: est ${s.estimate.bytes} loaded ${s.loaded} / ${s.written.bytes} live ${s.live}`,
            );
        }
      }
      mkdirSync(new URL('../../../test-artifacts/', import.meta.url), { recursive: true });
      writeFileSync(
        new URL('../../../test-artifacts/memory-accuracy.md', import.meta.url),
        `${lines.join('\n')}\n\noutside the bounds:\n${worst.join('\n')}\n`,
      );
      expect(worst).toEqual([]);
    });
  });

  describe('a Redis 7.0 snapshot loaded by valkey-server 8.0', () => {
    let redis: TestServer;
    let valkey: TestServer;
    let client: Redis;
    let dir: string;
    const rows: Array<{ key: string; estimate: KeyMemory; usage: number; encoding: string }> = [];

    beforeAll(async () => {
      [redis, dir] = await Promise.all([
        startTestServer({ flavor: 'redis', config: { save: '' } }),
        mkdtemp(join(tmpdir(), 'vt-memory-redis-')),
      ]);
      const source = new Redis({
        host: redis.host,
        port: redis.port,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
      });
      await source.connect();
      await writeDataset(source, datasetCommands());
      await source.call('SAVE');
      source.disconnect();
      const rdb = join(dir, 'dump.rdb');
      copyFileSync(join(redis.dir, 'dump.rdb'), rdb);
      await redis.stop();
      // valkey starts on the Redis file: what it holds is what a migration by snapshot gives.
      valkey = await startTestServer({ config: { save: '', dir, dbfilename: 'dump.rdb' } });
      client = new Redis({
        host: valkey.host,
        port: valkey.port,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
      });
      await client.connect();
      const estimates: KeyMemory[] = [];
      for await (const estimate of estimateRecords(readRdbFile(rdb))) estimates.push(estimate);
      const actual = await usageOf(
        client,
        estimates.map((e) => e.key),
      );
      estimates.forEach((estimate, i) => {
        rows.push({ key: estimate.key.toString('latin1').slice(0, 60), estimate, ...actual[i]! });
      });
    });

    afterAll(async () => {
      client?.disconnect();
      await Promise.all([redis?.stop(), valkey?.stop()]);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('predicts the encodings valkey converts the Redis values to, and their size', async () => {
      expect(rows.length).toBe(Number(await client.dbsize()));
      expect(
        rows
          .filter((r) => r.estimate.encoding !== r.encoding)
          .map((r) => `${r.key}: ${r.estimate.encoding} vs ${r.encoding}`),
      ).toEqual([]);
      const off = rows.filter((r) => {
        const bound = boundFor(categoryOf(r.key, r.estimate));
        return ratioError(r.estimate.bytes, r.usage) > bound;
      });
      expect(off.map((r) => `${r.key}: est ${r.estimate.bytes} actual ${r.usage}`)).toEqual([]);
    });
  });
});
