import { defineConfig } from 'vitepress';

const guide = [
  {
    text: 'Introduction',
    items: [
      { text: 'Getting started', link: '/guide/getting-started' },
      { text: 'Examples', link: '/guide/examples' },
    ],
  },
  {
    text: 'Packages',
    items: [
      { text: 'Binaries and servers', link: '/guide/binaries' },
      { text: 'Configuration', link: '/guide/config' },
      {
        text: 'Backup and restore',
        link: '/guide/backup',
        items: [
          { text: 'The .valkey format', link: '/guide/valkey-format' },
          { text: 'RDB support matrix', link: '/guide/rdb-support' },
          { text: 'Redis → Valkey migration', link: '/guide/migration' },
        ],
      },
      { text: 'KV-cache index', link: '/guide/kvcache-index' },
      { text: 'Core helpers', link: '/guide/core' },
      { text: 'The CLI', link: '/guide/cli' },
    ],
  },
  {
    text: 'Operations',
    items: [
      { text: 'Sentinel-managed deployments', link: '/guide/sentinel' },
      { text: 'CI recipes', link: '/guide/ci' },
      { text: 'Security', link: '/guide/security' },
      { text: 'Benchmarks', link: '/benchmarks' },
    ],
  },
];

const reference = [
  { text: 'CLI reference', link: '/reference/cli' },
  {
    text: 'API reference',
    link: '/api/',
    items: [
      { text: '@valkey-tools/core', link: '/api/core' },
      { text: '@valkey-tools/binaries', link: '/api/binaries' },
      { text: '@valkey-tools/config', link: '/api/config' },
      { text: '@valkey-tools/backup', link: '/api/backup' },
      { text: '@valkey-tools/backup/codec', link: '/api/backup-codec' },
      { text: '@valkey-tools/kvcache-index', link: '/api/kvcache-index' },
    ],
  },
];

export default defineConfig({
  title: 'valkey-tools',
  description:
    'Valkey tooling for JavaScript and TypeScript: binaries, valkey.conf, backup and restore, KV-cache index, CLI',
  lang: 'en-US',
  cleanUrls: true,
  // The folder's README is for contributors, not a page of the site.
  srcExclude: ['README.md'],
  lastUpdated: false,
  // Dead links fail the build: keep this off.
  ignoreDeadLinks: false,
  head: [['link', { rel: 'icon', href: '/logo.svg', type: 'image/svg+xml' }]],
  markdown: {
    theme: { light: 'github-light', dark: 'github-dark' },
    lineNumbers: false,
    codeTransformers: [
      {
        // Long code lines wrap (theme/custom.css); a browser may break a line after any hyphen,
        // which cuts `--block-size` into `--block-` and `size`. Each word holding a hyphen becomes
        // one box, so a line wraps between words. (The text, and what the copy button copies, is
        // unchanged.)
        name: 'wrap-between-words',
        span(node) {
          const [child] = node.children;
          if (node.children.length !== 1 || child?.type !== 'text') return;
          const word = /^(\s*)(\S*-\S*)$/.exec(child.value);
          if (!word) return;
          const box = {
            type: 'element' as const,
            tagName: 'span',
            properties: { class: 'word' },
            children: [{ type: 'text' as const, value: word[2]! }],
          };
          node.children = word[1] ? [{ type: 'text', value: word[1] }, box] : [box];
        },
      },
    ],
  },
  themeConfig: {
    logo: '/logo.svg',
    nav: [
      { text: 'Guide', link: '/guide/getting-started', activeMatch: '^/guide/' },
      { text: 'CLI', link: '/reference/cli', activeMatch: '^/reference/' },
      { text: 'API', link: '/api/', activeMatch: '^/api/' },
      { text: 'Examples', link: '/guide/examples' },
      { text: 'Benchmarks', link: '/benchmarks' },
    ],
    sidebar: {
      '/guide/': guide,
      '/benchmarks': guide,
      '/reference/': reference,
      '/api/': reference,
    },
    search: { provider: 'local' },
    outline: { level: [2, 3] },
    footer: {
      message: 'Released under the BSD-3-Clause license.',
      copyright: 'valkey-tools contributors',
    },
  },
});
