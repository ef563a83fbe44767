import { ValkeyToolsError } from '@valkey-tools/core';
import { describe, expect, it } from 'vitest';
import type { KeyRecord, RdbRecord, Value } from '../model.js';
import { type AnyRecord, analyzeMemory, estimateRecords, MemoryAnalyzer } from './analyze.js';
import { keyMemoryToCsvLine, memoryRowsToCsv } from './csv.js';
import { estimateKeyMemory } from './estimate.js';
import { memoryReportToHtml } from './html.js';
import { keyToText } from '../rdb/text.js';

const b = (s: string) => Buffer.from(s);
const NOW = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

function str(key: string, value: string, extra: Partial<KeyRecord> = {}): KeyRecord {
  return {
    kind: 'key',
    db: 0,
    key: b(key),
    encoding: 'string',
    value: { type: 'string', value: b(value) },
    ...extra,
  };
}

async function errorOf(p: Promise<unknown>): Promise<ValkeyToolsError> {
  try {
    await p;
  } catch (err) {
    if (ValkeyToolsError.isInstance(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('analyzeMemory', () => {
  it('keeps totals by db, type, encoding and expiry', async () => {
    const records: RdbRecord[] = [
      { kind: 'header', magic: 'VALKEY', version: 80, flavor: 'valkey' },
      { kind: 'aux', key: b('valkey-ver'), value: b('8.0.1') },
      str('a', '1'),
      str('b', 'x'.repeat(100), { expiresAt: NOW - 1 }),
      str('c', 'y', { expiresAt: NOW + HOUR / 2 }),
      str('d', 'z', { expiresAt: NOW + 2 * HOUR, db: 2 }),
      str('e', 'z', { expiresAt: NOW + 2 * 24 * HOUR }),
      str('f', 'z', { expiresAt: NOW + 8 * 24 * HOUR }),
      {
        kind: 'key',
        db: 2,
        key: b('l'),
        encoding: 'quicklist2',
        value: { type: 'list', items: [b('1'), b('2')] },
      },
      { kind: 'end', checksum: null },
    ];
    const report = await analyzeMemory(records, { now: NOW, source: 'test.rdb' });
    expect(report.totals).toMatchObject({ keys: 7, keysWithExpiry: 5, expiryBytes: 5 * 24, elements: 8 });
    expect(report.totals.bytes).toBe(
      records
        .filter((r): r is KeyRecord => r.kind === 'key')
        .reduce((s, r) => s + estimateKeyMemory(r).bytes, 0),
    );
    expect(report.byDb.map((g) => [g.db, g.keys])).toEqual([
      [0, 5],
      [2, 2],
    ]);
    expect(report.byType.map((g) => g.type).sort()).toEqual(['list', 'string']);
    expect(report.byEncoding.map((g) => `${g.type}/${g.encoding}`).sort()).toEqual([
      'list/listpack',
      'string/embstr',
      'string/int',
      'string/raw',
    ]);
    expect(Object.fromEntries(report.expiry.map((e) => [e.bucket, e.keys]))).toEqual({
      none: 2,
      expired: 1,
      'under-1h': 1,
      'under-1d': 1,
      'under-7d': 1,
      later: 1,
    });
    expect(report.snapshot).toEqual({ magic: 'VALKEY', rdbVersion: 80, aux: { 'valkey-ver': '8.0.1' } });
    expect(report.source).toBe('test.rdb');
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('keeps only the top N keys, largest first', async () => {
    const records = Array.from({ length: 500 }, (_, i) => str(`k${i}`, 'x'.repeat((i * 37) % 500)));
    const report = await analyzeMemory(records, { top: 5 });
    const all = records.map((r) => estimateKeyMemory(r).bytes).sort((x, y) => y - x);
    expect(report.topKeys.map((r) => r.bytes)).toEqual(all.slice(0, 5));
    expect((await analyzeMemory(records, { top: 0 })).topKeys).toEqual([]);
  });

  it('folds small prefixes to stay within maxPrefixNodes, keeping exact totals above', async () => {
    const records: KeyRecord[] = [];
    for (let i = 0; i < 300; i++) records.push(str(`user:${i}:name`, 'n'));
    for (let i = 0; i < 20; i++) records.push(str(`big/${i}`, 'x'.repeat(5000)));
    records.push(str('plain', 'p'));
    const report = await analyzeMemory(records, { maxPrefixNodes: 20 });
    const count = (n: typeof report.prefixes): number => n.children.reduce((s, c) => s + 1 + count(c), 0);
    expect(count(report.prefixes)).toBeLessThanOrEqual(20);
    expect(report.prefixes.keys).toBe(321);
    const user = report.prefixes.children.find((c) => c.prefix === 'user:')!;
    expect(user.keys).toBe(300);
    expect(user.foldedChildren).toBeGreaterThan(0);
    expect(report.prefixes.children.find((c) => c.prefix === 'big/')!.keys).toBe(20);
    expect(report.prefixes.children[0]!.prefix).toBe('big/');
  });

  it('splits on the separators given, up to prefixDepth', async () => {
    const records = [str('a.b.c.d', '1'), str('a.b.x', '1'), str('a:b', '1')];
    const report = await analyzeMemory(records, { separators: '.', prefixDepth: 2 });
    const a = report.prefixes.children.find((c) => c.prefix === 'a.')!;
    expect(a.keys).toBe(2);
    expect(a.children.map((c) => c.prefix)).toEqual(['a.b.']);
    expect(a.children[0]!.children).toEqual([]);
    expect(report.prefixes.children.some((c) => c.prefix === 'a:')).toBe(false);
  });

  it('prefers the longest separator at a position', async () => {
    const report = await analyzeMemory([str('a::b:c', '1'), str('a::x', '1')], { separators: [':', '::'] });
    const a = report.prefixes.children.find((c) => c.prefix === 'a::')!;
    expect(a.keys).toBe(2);
    expect(a.children.map((c) => c.prefix)).toEqual(['a::b:']);
  });

  it('reports progress and hands every estimate to onKey', async () => {
    const records = Array.from({ length: 25 }, (_, i) => str(`k${i}`, 'v'));
    const progress: Array<[number, boolean]> = [];
    let seen = 0;
    await analyzeMemory(records, {
      progressEvery: 10,
      onProgress: (p) => progress.push([p.keys, p.done]),
      onKey: () => {
        seen++;
      },
    });
    expect(progress).toEqual([
      [10, false],
      [20, false],
      [25, true],
    ]);
    expect(seen).toBe(25);
  });

  it('rejects bad options with a typed error that names the option', async () => {
    for (const [options, option] of [
      [{ top: -1 }, 'top'],
      [{ maxPrefixNodes: 0 }, 'maxPrefixNodes'],
      [{ prefixDepth: 1.5 }, 'prefixDepth'],
      [{ separators: [] }, 'separators'],
      [{ separators: [''] }, 'separators'],
    ] as const) {
      const err = await errorOf(analyzeMemory([], options));
      expect(err.code).toBe('ERR_MEMORY_OPTION');
      expect(err.details.option).toBe(option);
    }
  });

  it('estimates keys delivered in parts and rejects parts out of order', async () => {
    const parts: AnyRecord[] = [
      { kind: 'key-begin', db: 1, key: b('h'), type: 'hash', encoding: 'hashtable', expiresAt: NOW },
      {
        kind: 'key-part',
        db: 1,
        key: b('h'),
        value: { type: 'hash', entries: [{ field: b('a'), value: b('1') }] },
      },
      {
        kind: 'key-part',
        db: 1,
        key: b('h'),
        value: { type: 'hash', entries: [{ field: b('b'), value: b('2') }] },
      },
      { kind: 'key-end', db: 1, key: b('h'), size: 2 },
    ];
    const whole: Value = {
      type: 'hash',
      entries: [
        { field: b('a'), value: b('1') },
        { field: b('b'), value: b('2') },
      ],
    };
    const out = [];
    for await (const k of estimateRecords(parts)) out.push(k);
    expect(out).toEqual([
      estimateKeyMemory({ kind: 'key', db: 1, key: b('h'), encoding: 'x', value: whole, expiresAt: NOW }),
    ]);
    const err = await errorOf(analyzeMemory([parts[1]!]));
    expect(err.code).toBe('ERR_MEMORY_RECORDS');
    expect(err.message).toContain('"h"');
    expect((await errorOf(analyzeMemory(parts.slice(0, 2)))).code).toBe('ERR_MEMORY_RECORDS');
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(analyzeMemory([str('a', '1')], { signal: controller.signal })).rejects.toThrow();
  });
});

describe('MemoryAnalyzer', () => {
  it('keeps the key with most elements per type', () => {
    const analyzer = new MemoryAnalyzer();
    for (const n of [3, 10, 5]) {
      analyzer.add(
        estimateKeyMemory({
          kind: 'key',
          db: 0,
          key: b(`s${n}`),
          encoding: 'x',
          value: { type: 'set', members: Array.from({ length: n }, (_, i) => b(`m${i}`)) },
        }),
      );
    }
    expect(analyzer.report().biggestByType).toEqual([expect.objectContaining({ key: 's10', elements: 10 })]);
  });
});

describe('CSV', () => {
  it('quotes keys that need it and writes expiry as ISO time', async () => {
    const k = estimateKeyMemory(str('a,"b"\nc', 'v', { expiresAt: NOW, db: 3 }));
    expect(keyMemoryToCsvLine(k)).toBe(
      `3,string,"a,""b""\\x0ac",${k.bytes},embstr,1,1,2026-01-01T00:00:00.000Z`,
    );
    const lines = [];
    for await (const line of memoryRowsToCsv([estimateKeyMemory(str('plain', '1'))])) lines.push(line);
    expect(lines).toEqual([
      'database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry\n',
      '0,string,plain,48,int,1,1,\n',
    ]);
  });
});

describe('keyToText', () => {
  it('keeps UTF-8 and escapes control and invalid bytes', () => {
    expect(keyToText(b('ключ🔑'))).toBe('ключ🔑');
    expect(keyToText(b('a\\b\tc'))).toBe('a\\\\b\\x09c');
    expect(keyToText(Buffer.from([0xff, 0x41, 0x00, 0x5c]))).toBe('\\xffA\\x00\\\\');
  });
});

describe('memoryReportToHtml', () => {
  it('embeds the data so a key cannot end the script or inject markup', async () => {
    const evil = '</script><script>alert(1)</script><!--';
    const report = await analyzeMemory([str(evil, 'v')]);
    const html = memoryReportToHtml(report, { title: '<b>x</b>' });
    expect(html).not.toContain(evil);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).toContain('<title>&#60;b&#62;x&#60;/b&#62;</title>');
    const json = html.match(/<script type="application\/json" id="report-data">(.*?)<\/script>/s)![1]!;
    expect(JSON.parse(json).topKeys[0].key).toBe(evil);
    expect(html).not.toMatch(/<(link|script)[^>]+(src|href)=/);
  });
});
