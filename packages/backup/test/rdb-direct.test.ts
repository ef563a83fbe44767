import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { convert } from '../src/convert/convert.js';
import type { RdbRecord, Value } from '../src/model.js';
import { rdbFileToResp } from '../src/resp/rdb-to-resp.js';
import { rdbFileToJsonl } from '../src/jsonl/rdb-to-jsonl.js';
import { DirectFallback, walkRdbRecords } from '../src/rdb/direct.js';
import { analyzeRdbFile } from '../src/memory/sources.js';
import { writeRdb } from '../src/rdb/writer.js';
import { encodeDump } from '../src/rdb/dump.js';
import { startTestServer, withoutValkeyHeader } from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { readRdbFile } from '../src/rdb/reader.js';
import { SHARED_RDB } from './fixtures/rdb/helpers.js';

// The direct converters (RDB bytes -> output, no records) must write exactly what the record path
// writes. The record path is what convert takes with a filter that keeps everything.

const work = mkdtempSync(join(tmpdir(), 'vt-rdb-direct-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The file without its header command (it holds the creation time). */
const body = (path: string): Buffer => withoutValkeyHeader(readFileSync(path));

async function bothWays(input: string, ext: string): Promise<{ direct: Buffer; records: Buffer }> {
  const a = join(work, `direct.${ext}`);
  const b = join(work, `records.${ext}`);
  await convert({ input, output: a });
  await convert({ input, output: b, match: '*' });
  return { direct: body(a), records: body(b) };
}

/** True when the direct path converts the file without handing it to the record reader. */
async function directWorks(input: string, to: 'resp' | 'jsonl' = 'resp'): Promise<boolean> {
  try {
    const chunks =
      to === 'resp'
        ? rdbFileToResp(input, { commands: { exactScores: true, dumpPayload: encodeDump } })
        : rdbFileToJsonl(input);
    for await (const _ of chunks) {
      // drained
    }
    return true;
  } catch (err) {
    if (err instanceof DirectFallback) return false;
    throw err;
  }
}

const b = (s: string) => Buffer.from(s);
const key = (db: number, k: string, value: Value, expiresAt?: number): RdbRecord => ({
  kind: 'key',
  db,
  key: b(k),
  encoding: '',
  value,
  ...(expiresAt !== undefined ? { expiresAt } : {}),
});

/** A file of every modern encoding, small and big (parts), with odd elements. */
async function datasetFile(): Promise<string> {
  const n = (count: number, f: (i: number) => string) => Array.from({ length: count }, (_, i) => b(f(i)));
  const records: RdbRecord[] = [
    { kind: 'header', magic: 'REDIS', version: 11, flavor: 'redis' },
    { kind: 'function', code: b("#!lua name=lib\nserver.register_function('f', function() return 1 end)") },
    key(0, 'str', { type: 'string', value: b('hello') }),
    key(0, 'int', { type: 'string', value: b('-12345') }),
    key(0, 'big-int', { type: 'string', value: b('123456789012') }),
    key(0, 'lzf', { type: 'string', value: b('abc'.repeat(300)) }, 4102444800000),
    key(0, 'empty-string', { type: 'string', value: b('') }),
    key(0, 'bin', { type: 'string', value: Buffer.from([0, 255, 13, 10, 34, 92]) }),
    key(0, 'ctl "quoted" \\ é ✓', {
      type: 'string',
      value: Buffer.from('tab\there\nnl \u0001\u001f\u007f "q" \\ é ✓ \u2028'),
    }),
    key(1, 'list', { type: 'list', items: n(300, (i) => (i % 3 ? `item-${i}` : String(i - 150))) }),
    key(1, 'list-lzf', { type: 'list', items: n(2000, () => 'same text again and again') }),
    key(1, 'list-big', { type: 'list', items: n(25_000, (i) => `v${i}`) }, 4102444800001),
    key(1, 'after-big', { type: 'string', value: b('a string after a key in parts') }),
    key(1, 'list-plain-node', { type: 'list', items: [b('x'.repeat(10_000)), b('y')] }),
    key(2, 'intset', { type: 'set', members: n(100, (i) => String(i * 1000 - 5000)) }),
    key(2, 'intset64', {
      type: 'set',
      members: [b('9223372036854775807'), b('-9223372036854775808'), b('1')],
    }),
    key(2, 'set-lp', { type: 'set', members: n(50, (i) => (i % 2 ? `m${i}` : String(i * 100_000))) }),
    key(2, 'set-big', { type: 'set', members: n(23_000, (i) => `member-${i}`) }),
    key(3, 'zset-lp', {
      type: 'zset',
      entries: n(60, (i) => `z${i}`).map((member, i) => ({ member, score: i % 4 ? i / 7 : i * 1e20 })),
    }),
    key(3, 'zset-inf', {
      type: 'zset',
      entries: [
        { member: b('a'), score: Infinity },
        { member: b('b'), score: -Infinity },
        { member: b('c'), score: 1e-7 },
        { member: b('d'), score: 5 },
      ],
    }),
    key(3, 'zset-neg0', { type: 'zset', entries: [{ member: b('a'), score: -0 }] }),
    key(3, 'zset-skip', {
      type: 'zset',
      entries: n(500, (i) => `s${i}`).map((member, i) => ({ member, score: (i - 250) * 0.37 })),
    }),
    key(3, 'zset-skip-neg0', {
      type: 'zset',
      entries: n(300, (i) => `s${i}`).map((member, i) => ({ member, score: i === 7 ? -0 : i })),
    }),
    key(3, 'zset-big', {
      type: 'zset',
      entries: n(21_000, (i) => `s${i}`).map((member, i) => ({ member, score: i === 9 ? -0 : i / 3 })),
    }),
    key(4, 'hash-lp', {
      type: 'hash',
      entries: n(40, (i) => `f${i}`).map((field, i) => ({ field, value: b(String(i)) })),
    }),
    key(4, 'hash-table', {
      type: 'hash',
      entries: n(1000, (i) => `field-${i}`).map((field, i) => ({ field, value: b('v'.repeat(i % 90)) })),
    }),
    key(4, 'hash-big', {
      type: 'hash',
      entries: n(20_001, (i) => `f${i}`).map((field, i) => ({ field, value: b(String(-i)) })),
    }),
    key(5, 'stream', {
      type: 'stream',
      entries: [
        { id: { ms: 1n, seq: 1n }, fields: [[b('f'), b('v')]] },
        { id: { ms: 2n, seq: 0n }, fields: [[b('f'), b('12')]] },
      ],
      length: 2n,
      lastId: { ms: 2n, seq: 0n },
      firstId: { ms: 1n, seq: 1n },
      maxDeletedId: { ms: 0n, seq: 0n },
      entriesAdded: 2n,
      groups: [],
    }),
    key(
      5,
      'stream-big',
      {
        type: 'stream',
        entries: Array.from({ length: 25_000 }, (_, i) => ({
          id: { ms: 1_700_000_000_000n + BigInt(i >> 2), seq: BigInt(i & 3) },
          fields:
            i % 9 === 0
              ? [[b('other'), b(`x${i}`)]]
              : [
                  [b('f'), b(`v${i}`)],
                  [b('n'), b(String(i))],
                ],
        })),
        length: 25_000n,
        lastId: { ms: 1_700_000_006_249n, seq: 3n },
        firstId: { ms: 1_700_000_000_000n, seq: 0n },
        maxDeletedId: { ms: 0n, seq: 0n },
        entriesAdded: 25_000n,
        groups: [
          {
            name: b('readers'),
            lastId: { ms: 1_700_000_000_001n, seq: 0n },
            entriesRead: 5n,
            pending: [
              {
                id: { ms: 1_700_000_000_000n, seq: 1n },
                deliveryTime: 1_700_000_000_500,
                deliveryCount: 2,
                consumer: b('c1'),
              },
            ],
            consumers: [
              {
                name: b('c1'),
                seenTime: 1_700_000_000_600,
                activeTime: 1_700_000_000_500,
                pending: [{ ms: 1_700_000_000_000n, seq: 1n }],
              },
            ],
          },
        ],
      },
      4102444800002,
    ),
    { kind: 'end', checksum: null },
  ];
  const path = join(work, 'dataset.rdb');
  const chunks: Buffer[] = [];
  for await (const c of writeRdb(records)) chunks.push(c);
  writeFileSync(path, Buffer.concat(chunks));
  return path;
}

describe('RDB -> RESP and JSONL written straight from the file', () => {
  it('writes what the record path writes for every modern encoding, in parts for big keys', async () => {
    const input = await datasetFile();
    expect(await directWorks(input)).toBe(true);
    const { direct, records } = await bothWays(input, 'valkey');
    expect(direct.length).toBeGreaterThan(500_000);
    expect(direct.equals(records)).toBe(true);
    const jsonl = await bothWays(input, 'jsonl');
    expect(jsonl.direct.length).toBeGreaterThan(500_000);
    expect(jsonl.direct.toString()).toBe(jsonl.records.toString());
    expect(jsonl.direct.equals(jsonl.records)).toBe(true);
    expect(await directWorks(input, 'jsonl')).toBe(true);
  });

  it('writes what the record path writes for every fixture file (or hands it over)', async () => {
    let direct = 0;
    const dirs = ['rdbtools', 'valkey'];
    for (const dir of dirs) {
      for (const name of readdirSync(join(SHARED_RDB, dir)).filter((f) => f.endsWith('.rdb'))) {
        const input = join(SHARED_RDB, dir, name);
        let ours: { direct: Buffer; records: Buffer };
        try {
          ours = await bothWays(input, 'valkey');
        } catch (err) {
          // A file the record path refuses is refused the same way.
          await expect(convert({ input, output: join(work, 'x.valkey'), match: '*' })).rejects.toThrow(
            (err as Error).message,
          );
          continue;
        }
        expect(ours.direct.equals(ours.records), `${dir}/${name}`).toBe(true);
        const jsonl = await bothWays(input, 'jsonl');
        expect(jsonl.direct.equals(jsonl.records), `${dir}/${name} (JSONL)`).toBe(true);
        if (await directWorks(input)) direct++;
      }
    }
    expect(direct).toBeGreaterThan(15);
  });

  it('inspect --memory: the report from records read straight from the file is the reader report', async () => {
    const inputs = [
      await datasetFile(),
      ...['rdbtools', 'valkey'].flatMap((dir) =>
        readdirSync(join(SHARED_RDB, dir))
          .filter((f) => f.endsWith('.rdb'))
          .map((f) => join(SHARED_RDB, dir, f)),
      ),
    ];
    let walked = 0;
    for (const input of inputs) {
      let viaReader: unknown;
      try {
        viaReader = {
          ...(await analyzeRdbFile(input, { read: {}, now: 1_800_000_000_000 })),
          generatedAt: '',
        };
      } catch (err) {
        await expect(analyzeRdbFile(input)).rejects.toThrow((err as Error).message);
        continue;
      }
      const direct = await analyzeRdbFile(input, { now: 1_800_000_000_000 });
      expect({ ...direct, generatedAt: '' }, input).toEqual(viaReader);
      if (await walkRdbRecords(input, () => undefined)) walked++;
    }
    expect(walked).toBeGreaterThan(15);
  });

  it('reads streams the server wrote (deleted entries, nodes, groups, consumers) as the record reader does', async () => {
    const server = await startTestServer({ config: { save: '' } });
    const client = new Redis({ host: server.host, port: server.port, lazyConnect: true });
    try {
      await client.connect();
      // Entries with the master's fields and with others, over several nodes, some deleted.
      for (let i = 1; i <= 450; i++) {
        const fields = i % 7 === 0 ? ['other', `x${i}`, 'n', String(i)] : ['f', `v${i}`, 'n', String(-i)];
        await client.call('XADD', 's:mixed', `${1_700_000_000_000 + i}-${i % 3}`, ...fields);
      }
      await client.call('XDEL', 's:mixed', '1700000000005-2', '1700000000100-1', '1700000000101-2');
      await client.call('XADD', 's:big-ids', '9007199254740993-18446744073709551614', 'k', 'v');
      await client.call('XADD', 's:bin', '*', Buffer.from([0, 255, 34, 92]), 'é ✓ "q"');
      // Groups: pending entries owned by consumers, an unknown entries-read, a consumer without any.
      for (const name of ['g1', Buffer.from([1, 2, 250])]) {
        await client.call('XGROUP', 'CREATE', 's:mixed', name, '0');
        await client.call('XREADGROUP', 'GROUP', name, 'alice', 'COUNT', '5', 'STREAMS', 's:mixed', '>');
        await client.call('XREADGROUP', 'GROUP', name, 'bob', 'COUNT', '3', 'STREAMS', 's:mixed', '>');
        await client.call('XGROUP', 'CREATECONSUMER', 's:mixed', name, 'idle');
      }
      await client.call('XACK', 's:mixed', 'g1', '1700000000002-2');
      await client.call('XCLAIM', 's:mixed', 'g1', 'idle', '0', '1700000000003-0');
      await client.call('XGROUP', 'SETID', 's:mixed', 'g1', '1700000000200-0', 'ENTRIESREAD', '7');
      await client.call('XADD', 's:emptied', '5-1', 'a', 'b');
      await client.call('XDEL', 's:emptied', '5-1');
      await client.call('XGROUP', 'CREATE', 's:emptied', 'g', '$');
      await client.call('XADD', 's:trimmed', '1-1', 'a', '1');
      await client.call('XADD', 's:trimmed', '2-1', 'a', '2');
      await client.call('XTRIM', 's:trimmed', 'MAXLEN', '1');
      await client.call('SAVE');
      const rdb = join(work, 'streams.rdb');
      writeFileSync(rdb, readFileSync(join(server.dir, 'dump.rdb')));

      const read = new Map<string, unknown>();
      for await (const r of readRdbFile(rdb))
        if (r.kind === 'key') read.set(r.key.toString('latin1'), r.value);
      // The walk's elements are views valid during the call: compared there.
      const walked: string[] = [];
      const differ: string[] = [];
      expect(
        await walkRdbRecords(rdb, (r) => {
          if (r.kind !== 'key') return;
          const name = r.key.toString('latin1');
          walked.push(name);
          if (!isDeepStrictEqual(r.value, read.get(name))) differ.push(name);
        }),
      ).toBe(true);
      expect(walked.sort()).toEqual(['s:big-ids', 's:bin', 's:emptied', 's:mixed', 's:trimmed']);
      expect(differ).toEqual([]);
      const mixed = read.get('s:mixed') as { entries: unknown[]; groups: Array<{ pending: unknown[] }> };
      expect(mixed.entries).toHaveLength(447);
      // Groups in name order: the binary one (8 pending), then g1 (7 after the XACK).
      expect(mixed.groups.map((g) => g.pending.length)).toEqual([8, 7]);

      expect(await directWorks(rdb)).toBe(true);
      expect(await directWorks(rdb, 'jsonl')).toBe(true);
      const resp = await bothWays(rdb, 'valkey');
      expect(resp.direct.equals(resp.records)).toBe(true);
      const jsonl = await bothWays(rdb, 'jsonl');
      expect(jsonl.direct.toString()).toBe(jsonl.records.toString());
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});
