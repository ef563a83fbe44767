/**
 * Builds the documentation site (or reuses a build of the current sources), serves it on 127.0.0.1
 * and opens the main pages in headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core; never a downloaded browser). Each page must render its content with no console
 * error and no failed request; a screenshot of each is saved in test-artifacts/.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../../packages/cli/src/definitions.ts';
import {
  buildIsFresh,
  buildSite,
  builtPages,
  distDir,
  docsRoot,
  repoRoot,
  resolveDistPath,
  type StaticServer,
  serveDist,
} from './site-build.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(repoRoot, 'test-artifacts');

/** The main pages and text each must show once rendered. */
const PAGES = [
  { path: '/', name: 'home', heading: 'valkey-tools', text: 'Backup and restore' },
  {
    path: '/guide/getting-started',
    name: 'getting-started',
    heading: 'Getting started',
    text: 'npx @valkey-tools/cli',
  },
  { path: '/guide/binaries', name: 'binaries', heading: 'Binaries and servers', text: 'VALKEY_TOOLS_HOME' },
  { path: '/guide/config', name: 'config', heading: 'Configuration', text: 'spindb-default' },
  { path: '/guide/backup', name: 'backup', heading: 'Backup and restore', text: "mode: 'scan'" },
  {
    path: '/guide/valkey-format',
    name: 'valkey-format',
    heading: 'The .valkey format',
    text: 'valkey-cli --pipe',
  },
  { path: '/guide/rdb-support', name: 'rdb-support', heading: 'RDB support matrix', text: 'VALKEY080' },
  { path: '/guide/migration', name: 'migration', heading: 'Redis → Valkey migration', text: 'DEBUG DIGEST' },
  { path: '/guide/kvcache-index', name: 'kvcache-index', heading: 'KV-cache index', text: 'BlockStored' },
  { path: '/guide/core', name: 'core', heading: 'Core helpers', text: 'redactUrl' },
  { path: '/guide/cli', name: 'cli', heading: 'The CLI', text: '--json' },
  { path: '/guide/ci', name: 'ci', heading: 'CI recipes', text: 'VALKEY_TOOLS_MIRROR' },
  {
    path: '/guide/sentinel',
    name: 'sentinel',
    heading: 'Sentinel-managed deployments',
    text: 'VALKEY_TOOLS_SENTINEL_PASSWORD',
  },
  { path: '/guide/security', name: 'security', heading: 'Security', text: 'ACL' },
  { path: '/guide/examples', name: 'examples', heading: 'Examples', text: 'examples.test.ts' },
  { path: '/reference/cli', name: 'cli-reference', heading: 'CLI reference', text: 'valkey-tools backup' },
  { path: '/api/', name: 'api-index', heading: 'API reference', text: '@valkey-tools/backup' },
  { path: '/api/config', name: 'api-config', heading: '@valkey-tools/config', text: 'serializeConfig' },
  { path: '/api/backup', name: 'api-backup', heading: '@valkey-tools/backup', text: 'readRdbFile' },
  {
    path: '/api/kvcache-index',
    name: 'api-kvcache-index',
    heading: '@valkey-tools/kvcache-index',
    text: 'KvCacheIndexer',
  },
  { path: '/benchmarks', name: 'benchmarks', heading: 'Benchmarks', text: 'ratio' },
] as const;

let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: the docs test drives Debian's chromium package. Run \`npm run setup\` (or apt-get install chromium).`,
    );
  }
  if (!buildIsFresh()) await buildSite();
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await serveDist();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
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
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the built site', () => {
  it('has every main page and no link to a page that does not exist', () => {
    const pages = builtPages();
    for (const page of PAGES) expect(pages, `page ${page.path} was not built`).toContain(page.path);
    // VitePress checks links written in Markdown; nav and sidebar links come from the config, so check
    // every internal href of every built page here.
    const broken: string[] = [];
    for (const page of pages) {
      const file = resolveDistPath(page)!;
      const html = readFileSync(file, 'utf8');
      for (const [, href] of html.matchAll(/<a [^>]*href="(\/[^"#?]*)[^"]*"/g)) {
        if (!resolveDistPath(href!)) broken.push(`${page} → ${href}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it.concurrent.for(PAGES)(
    'renders $path with its content and no console error',
    async (page, { expect }) => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const tab = await context.newPage();
      const problems: string[] = [];
      tab.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });
      tab.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      tab.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
      tab.on('response', (res) => {
        if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
      });
      try {
        const response = await tab.goto(server.url + page.path, { waitUntil: 'load' });
        expect(response?.status()).toBe(200);
        const heading = page.path === '/' ? tab.locator('.VPHero .name') : tab.locator('.vp-doc h1').first();
        await expect.poll(() => heading.textContent()).toContain(page.heading);
        const body = await tab.locator(page.path === '/' ? '.VPContent' : '.vp-doc').textContent();
        expect(body).toContain(page.text);
        // Hydration happened: the theme's client code runs (the appearance switch is rendered by Vue).
        await expect.poll(() => tab.locator('.VPSwitchAppearance').count()).toBeGreaterThan(0);
        await tab.screenshot({ path: join(ARTIFACTS, `docs-${page.name}.png`) });
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );

  it('finds pages with the local search box', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tab = await context.newPage();
    try {
      await tab.goto(`${server.url}/guide/getting-started`, { waitUntil: 'load' });
      // Until the page has hydrated a click does nothing: click until the search box opens.
      const searchBox = tab.locator('.VPLocalSearchBox input');
      const searchButton = tab.locator('.DocSearch-Button, .VPNavBarSearchButton').first();
      await expect
        .poll(
          async () => {
            if ((await searchBox.count()) === 0) await searchButton.click({ timeout: 2000 }).catch(() => {});
            return searchBox.count();
          },
          { timeout: 30_000 },
        )
        .toBeGreaterThan(0);
      await searchBox.fill('restore');
      const results = tab.locator('.VPLocalSearchBox .result');
      await expect.poll(() => results.count()).toBeGreaterThan(0);
      await tab.screenshot({ path: join(ARTIFACTS, 'docs-search.png') });
    } finally {
      await context.close();
    }
  });

  it('shows every code block and table whole at 1280x800: nothing cut off, no sideways scrolling', async () => {
    // At 1280 px the sidebar and the outline leave the text column 624 px: a code line or a table
    // wider than that used to run under the block's right edge, hidden behind a scrollbar most
    // systems do not draw. Every page: the page itself does not scroll sideways, and each code
    // block and table lies within the text column and shows all of its content.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const tab = await context.newPage();
    const problems: string[] = [];
    try {
      for (const path of builtPages().filter((p) => p !== '/404')) {
        await tab.goto(server.url + path, { waitUntil: 'load' });
        const found = await tab.evaluate(() => {
          const out: string[] = [];
          const root = document.documentElement;
          if (root.scrollWidth > root.clientWidth) {
            out.push(`the page scrolls sideways (${root.scrollWidth} px wide in ${root.clientWidth})`);
          }
          const column = document.querySelector('.vp-doc')?.getBoundingClientRect();
          if (!column) return out;
          const boxes = document.querySelectorAll<HTMLElement>(
            '.vp-doc div[class*="language-"], .vp-doc div[class*="language-"] pre, .vp-doc table',
          );
          for (const box of boxes) {
            const rect = box.getBoundingClientRect();
            const what = `${box.tagName.toLowerCase()} "${(box.textContent ?? '').trim().slice(0, 50)}"`;
            if (rect.left < column.left - 1 || rect.right > column.right + 1) {
              out.push(
                `${what} spans ${Math.round(rect.left)}-${Math.round(rect.right)} px, outside the text column ${Math.round(column.left)}-${Math.round(column.right)}`,
              );
            }
            if (box.scrollWidth > box.clientWidth + 1) {
              out.push(`${what} shows ${box.clientWidth} px of its ${box.scrollWidth}: the rest is cut off`);
            }
          }
          return out;
        });
        problems.push(...found.map((p) => `${path}: ${p}`));
      }
    } finally {
      await context.close();
    }
    expect(problems).toEqual([]);
  }, 300_000);

  it('serves nothing outside the build', () => {
    expect(resolveDistPath('/../package.json')).toBeUndefined();
    expect(resolveDistPath('/%2e%2e/package.json')).toBeUndefined();
    expect(existsSync(join(distDir, 'index.html'))).toBe(true);
  });
});

describe('the sources of the site', () => {
  /** Hand-written pages (the generated references are checked by being generated). */
  const pages = [
    'index.md',
    'benchmarks.md',
    ...readdirSync(join(docsRoot, 'guide')).map((f) => `guide/${f}`),
  ].filter((f) => f.endsWith('.md'));

  it('has no inline TypeScript: every example is an imported file that tsc checks', () => {
    const inline = pages.filter((page) =>
      /^```(ts|typescript|js|javascript|mjs)\b/m.test(readFileSync(join(docsRoot, page), 'utf8')),
    );
    expect(inline).toEqual([]);
  });

  it('imports only snippet files that exist and are typechecked', () => {
    const tsconfig = readFileSync(join(docsRoot, 'tsconfig.json'), 'utf8');
    const imports = pages.flatMap((page) =>
      [...readFileSync(join(docsRoot, page), 'utf8').matchAll(/^<<< @\/(\S+?)(#\S+?)?(?:\{[^}]*\})?$/gm)].map(
        (m) => ({ page, path: resolve(docsRoot, m[1]!), region: m[2] }),
      ),
    );
    expect(imports.length).toBeGreaterThan(10);
    for (const { page, path, region } of imports) {
      expect(existsSync(path), `${page} imports ${path}, which does not exist`).toBe(true);
      const source = readFileSync(path, 'utf8');
      if (region)
        expect(source, `${page}: no ${region} region in ${path}`).toContain(`#region ${region.slice(1)}`);
      // A whole-file import shows region markers as they are: keep them out of such files.
      else expect(source, `${page} shows the region markers of ${path}`).not.toContain('#region');
      const checked =
        path.startsWith(join(docsRoot, 'snippets')) || path.startsWith(join(repoRoot, 'examples'));
      expect(checked, `${page} imports ${path}, outside snippets/ and examples/`).toBe(true);
    }
    expect(tsconfig).toContain('snippets/**/*.ts');
    expect(tsconfig).toContain('../../examples/**/*.ts');
  });

  it('documents every command the CLI defines', () => {
    const reference = readFileSync(join(distDir, 'reference', 'cli.html'), 'utf8');
    for (const command of commands) expect(reference).toContain(`valkey-tools ${command.name}`);
  });
});
