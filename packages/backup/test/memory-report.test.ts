import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ValkeyToolsError } from '@valkey-tools/core';
import {
  type DatasetCommand,
  startTestServer,
  type TestServer,
  writeDataset,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { analyzeMemory, type MemoryProgress, type MemoryReport } from '../src/memory/analyze.js';
import { memoryReportToHtml } from '../src/memory/html.js';
import { RdbError } from '../src/errors.js';
import { analyzeRdbFile, analyzeServerMemory } from '../src/memory/sources.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const HOUR = 3_600_000;

/** A small "application" keyspace: users, sessions, carts, a queue, caches, feeds, binary keys. */
function appCommands(): DatasetCommand[] {
  const c: DatasetCommand[] = [];
  for (let i = 0; i < 400; i++) {
    c.push([
      'HSET',
      `user:${i}:profile`,
      'name',
      `user ${i}`,
      'email',
      `u${i}@example.com`,
      'bio',
      'b'.repeat(i % 90),
    ]);
    c.push(['SET', `user:${i}:visits`, i * 7]);
  }
  for (let i = 0; i < 300; i++)
    c.push([
      'SET',
      `session:${i.toString(16).padStart(8, '0')}`,
      's'.repeat(200),
      'PX',
      (i % 3) * HOUR + 30 * 60_000,
    ]);
  for (let i = 0; i < 60; i++)
    c.push(['SADD', `cart:${i}`, ...Array.from({ length: 5 + i }, (_, j) => `sku-${j}`)]);
  c.push([
    'RPUSH',
    'queue:emails',
    ...Array.from({ length: 3000 }, (_, i) => `{"to":"u${i}@example.com","tpl":"welcome"}`),
  ]);
  for (let i = 0; i < 50; i++)
    c.push(['SET', `cache/page/${i}`, 'p'.repeat(3000 + i * 100), 'EX', 3 * 86400]);
  c.push(['SET', 'cache/page/huge', 'h'.repeat(300_000), 'EX', 30 * 86400]);
  c.push([
    'ZADD',
    'leaderboard',
    ...Array.from({ length: 500 }, (_, i) => [String(i * 3), `player-${i}`]).flat(),
  ]);
  for (let i = 0; i < 3; i++) c.push(['XADD', 'events:clicks', '*', 'page', `/p/${i}`, 'user', String(i)]);
  c.push(['SET', Buffer.from([0xff, 0x00, 0x3a, 0x0a]), 'binary key']);
  c.push(['SET', 'config', '{"feature":true}']);
  return c;
}

describe('memory report from a real snapshot', () => {
  let server: TestServer;
  let client: Redis;
  let dir: string;
  let report: MemoryReport;
  let csvLines: string[];
  const progress: MemoryProgress[] = [];

  beforeAll(async () => {
    [server, dir] = await Promise.all([
      startTestServer({ config: { save: '', 'repl-diskless-sync-delay': 0 } }),
      mkdtemp(join(tmpdir(), 'vt-memory-')),
    ]);
    client = new Redis({ host: server.host, port: server.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    await writeDataset(client, [
      { db: 0, commands: appCommands() },
      { db: 3, commands: [['SET', 'other:db:key', 'in db 3']] },
    ]);
    await client.call('SAVE');
    const csvPath = join(dir, 'keys.csv');
    const csv = createWriteStream(csvPath);
    report = await analyzeRdbFile(join(server.dir, 'dump.rdb'), {
      top: 40,
      csv,
      maxPrefixNodes: 50,
      progressEvery: 500,
      onProgress: (p) => progress.push(p),
    });
    csv.end();
    await finished(csv);
    csvLines = readFileSync(csvPath, 'utf8').trimEnd().split('\n');
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'memory-report.html'), memoryReportToHtml(report));
  });

  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts every key and splits the totals by db, type and expiry', async () => {
    const keys0 = Number(await client.dbsize());
    expect(report.totals.keys).toBe(keys0 + 1);
    expect(report.byDb).toEqual([
      expect.objectContaining({ db: 0, keys: keys0 }),
      expect.objectContaining({ db: 3, keys: 1 }),
    ]);
    const types = Object.fromEntries(report.byType.map((g) => [g.type, g.keys]));
    expect(types).toEqual({
      string: 400 + 300 + 51 + 2 + 1,
      hash: 400,
      set: 60,
      list: 1,
      zset: 1,
      stream: 1,
    });
    const expiry = Object.fromEntries(report.expiry.map((e) => [e.bucket, e.keys]));
    expect(expiry).toEqual({
      none: report.totals.keys - 351,
      expired: 0,
      'under-1h': 100,
      'under-1d': 200,
      'under-7d': 50,
      later: 1,
    });
    expect(report.totals.keysWithExpiry).toBe(351);
    expect(report.totals.expiryBytes).toBe(351 * 24);
    expect(report.snapshot.aux['valkey-ver'] ?? report.snapshot.aux['redis-ver']).toMatch(/^\d+\.\d+/);
  });

  it('reports progress in keys and file bytes', () => {
    const size = statSync(join(server.dir, 'dump.rdb')).size;
    expect(progress.map((p) => [p.keys, p.done])).toEqual([
      [500, false],
      [1000, false],
      [report.totals.keys, true],
    ]);
    expect(progress.every((p) => p.totalBytes === size && p.readBytes! > 0 && p.readBytes! <= size)).toBe(
      true,
    );
    expect(progress.at(-1)!.readBytes).toBe(size);
  });

  it('ranks the largest keys as MEMORY USAGE does', async () => {
    expect(report.topKeys).toHaveLength(40);
    expect(report.topKeys[0]!.key).toBe('cache/page/huge');
    const bytes = report.topKeys.map((r) => r.bytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => b - a));
    for (const row of report.topKeys.slice(0, 10)) {
      const usage = Number(await client.call('MEMORY', 'USAGE', row.key, 'SAMPLES', '0'));
      expect(Math.abs(row.bytes - usage) / usage).toBeLessThan(0.03);
    }
    expect(report.biggestByType.find((r) => r.type === 'list')).toMatchObject({
      key: 'queue:emails',
      elements: 3000,
    });
  });

  it('builds a bounded prefix tree whose totals add up', () => {
    const root = report.prefixes;
    expect(root.keys).toBe(report.totals.keys);
    expect(root.bytes).toBe(report.totals.bytes);
    const user = root.children.find((c) => c.prefix === 'user:')!;
    expect(user.keys).toBe(800);
    expect(root.children.find((c) => c.prefix === 'cache/')?.keys).toBe(51);
    expect(root.children.find((c) => c.prefix === 'session:')?.keys).toBe(300);
    let nodes = 0;
    const walk = (n: MemoryReport['prefixes']): void => {
      for (const c of n.children) {
        nodes++;
        expect(c.prefix.startsWith(n.prefix)).toBe(true);
        walk(c);
      }
      expect(n.children.reduce((s, c) => s + c.bytes, 0)).toBeLessThanOrEqual(n.bytes);
    };
    walk(root);
    expect(nodes).toBeLessThanOrEqual(50);
    expect(user.foldedChildren).toBeGreaterThan(0);
  });

  it('writes one rdbtools-style CSV line per key', () => {
    expect(csvLines[0]).toBe(
      'database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry',
    );
    expect(csvLines).toHaveLength(report.totals.keys + 1);
    const huge = csvLines.find((l) => l.includes(',cache/page/huge,'))!.split(',');
    expect(huge.slice(0, 3)).toEqual(['0', 'string', 'cache/page/huge']);
    expect(Number(huge[3])).toBe(report.topKeys[0]!.bytes);
    expect(huge[4]).toBe('raw');
    expect(new Date(huge[7]!).getTime()).toBeGreaterThan(Date.now() + 29 * 86400_000);
    expect(csvLines.some((l) => l.startsWith('0,string,\\xff\\x00:\\x0a,'))).toBe(true);
  });

  it('analyzes a live server over replication or SCAN+DUMP like its snapshot', async () => {
    const [replication, scan, written] = await Promise.all([
      analyzeServerMemory(server.url, { top: 40, maxPrefixNodes: 50, state: 'loaded' }),
      analyzeServerMemory(server.url, {
        top: 40,
        maxPrefixNodes: 50,
        state: 'loaded',
        mode: 'scan',
        scanCount: 100,
      }),
      analyzeServerMemory(server.url, { top: 40, mode: 'scan' }),
    ]);
    for (const live of [replication, scan]) {
      expect(live.totals).toEqual(report.totals);
      expect(live.topKeys).toEqual(report.topKeys);
      expect(live.byEncoding).toEqual(report.byEncoding);
      expect(live.source).toBe(server.url);
    }
    // A running server holds the keys as clients wrote them: the default there.
    expect(written.options.state).toBe('written');
    expect(written.totals.keys).toBe(report.totals.keys);
    expect(written.totals.bytes).toBeGreaterThan(report.totals.bytes);
    for (const row of written.topKeys.slice(0, 5)) {
      const usage = Number(await client.call('MEMORY', 'USAGE', row.key, 'SAMPLES', '0'));
      // The top includes a skiplist (expected size of random levels): the 3% bound of randomized encodings.
      expect(Math.abs(row.bytes - usage) / usage).toBeLessThan(0.03);
    }
  });

  it('fails with typed errors for a missing file and a truncated snapshot', async () => {
    const missing = await analyzeRdbFile(join(dir, 'nope.rdb')).catch((e: unknown) => e);
    expect(ValkeyToolsError.hasCode(missing, 'ERR_MEMORY_INPUT')).toBe(true);
    expect((missing as Error).message).toContain('nope.rdb');
    expect((await analyzeRdbFile(dir).catch((e: unknown) => e)) as ValkeyToolsError).toMatchObject({
      code: 'ERR_MEMORY_INPUT',
    });
    const whole = readFileSync(join(server.dir, 'dump.rdb'));
    const cut = join(dir, 'cut.rdb');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const err = await analyzeRdbFile(cut).catch((e: unknown) => e);
    expect(RdbError.isInstance(err)).toBe(true);
    expect(['ERR_RDB_TRUNCATED', 'ERR_RDB_BAD_LENGTH']).toContain((err as RdbError).code);
    expect(typeof (err as RdbError).details.offset).toBe('number');
    expect((err as RdbError).message).toMatch(/byte offset \d+/);
  });

  it('fails with a typed error naming the server when it cannot connect', async () => {
    const err = await analyzeServerMemory('redis://127.0.0.1:1', { mode: 'scan' }).catch((e: unknown) => e);
    expect(ValkeyToolsError.isInstance(err)).toBe(true);
    expect((err as ValkeyToolsError).code).toBe('ERR_CONNECTION');
    expect((err as Error).message).toContain('127.0.0.1:1');
  });

  describe('HTML report in headless Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('renders an empty snapshot without errors', async () => {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      await page.setContent(memoryReportToHtml(await analyzeMemory([])), { waitUntil: 'load' });
      expect(await page.locator('#treemap text').allTextContents()).toEqual(['No keys']);
      expect(await page.locator('#count').textContent()).toContain('0 of the 0');
      expect(problems).toEqual([]);
      await page.close();
    });

    it('renders the charts and the table offline, filters by search, logs no errors', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('request', (r) => requests.push(r.url()));
      await page.setContent(memoryReportToHtml(report), {
        waitUntil: 'load',
      });

      await page.screenshot({ path: join(ARTIFACTS, 'memory-report.png'), fullPage: true });
      expect(await page.title()).toBe('Valkey memory report');
      expect(await page.locator('#treemap rect').count()).toBeGreaterThanOrEqual(5);
      const labels = await page.locator('#treemap text').allTextContents();
      expect(labels.some((t) => t.startsWith('user:'))).toBe(true);
      for (const id of ['chart-type', 'chart-encoding', 'chart-db', 'chart-expiry']) {
        expect(await page.locator(`#${id} rect`).count()).toBeGreaterThan(0);
      }
      expect(await page.locator('#chart-type text').allTextContents()).toContain('hash');
      expect(await page.locator('#top-keys tbody tr').count()).toBe(40);
      expect(await page.locator('#summary .card').count()).toBeGreaterThanOrEqual(6);

      await page.fill('#search', 'cache/page');
      const filtered = await page.locator('#top-keys tbody td.key').allTextContents();
      expect(filtered.length).toBeGreaterThan(0);
      expect(filtered.length).toBeLessThan(40);
      expect(filtered.every((k) => k.includes('cache/page'))).toBe(true);
      await page.fill('#search', 'no-such-key-anywhere');
      expect(await page.locator('#top-keys tbody tr').count()).toBe(0);
      await page.fill('#search', '');

      // Zoom into user: and back out through the breadcrumb.
      await page
        .locator('#treemap rect.zoom')
        .first()
        .click({ position: { x: 12, y: 8 } });
      expect(await page.locator('#crumbs button').count()).toBe(2);
      await page.locator('#crumbs button').first().click();
      expect(await page.locator('#crumbs button').count()).toBe(1);

      await page.locator('#top-keys th[data-sort="elements"]').click();
      const first = await page.locator('#top-keys tbody td.key').first().textContent();
      expect(first).toBe('queue:emails');

      expect(problems).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:'))).toEqual([]);
      await page.close();
    });
  });
});
