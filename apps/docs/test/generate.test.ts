/**
 * The generators behind the references: what they escape, and that the API reference lists every
 * value a package really exports (compared with the module loaded at run time).
 */
import { join } from 'node:path';
import * as binaries from '@valkey-tools/binaries';
import * as config from '@valkey-tools/config';
import * as core from '@valkey-tools/core';
import { describe, expect, it } from 'vitest';
import { commandGroups, commands, globalFlags } from '../../../packages/cli/src/definitions.ts';
import { collectApi, renderPackagePage } from '../scripts/api-reference.ts';
import { renderCliReference } from '../scripts/cli-reference.ts';
import { code, fence, prose, safeMarkdown } from '../scripts/markdown.ts';
import { repoRoot } from './site-build.ts';

describe('markdown helpers', () => {
  it('escapes what Vue or a table would read in inline code', () => {
    expect(code('Map<string, {{ x }}> | null')).toBe(
      '<code v-pre>Map&lt;string, &#123;&#123; x &#125;&#125;&gt; &#124; null</code>',
    );
    expect(code('a\n  b')).toBe('<code v-pre>a b</code>');
  });

  it('keeps prose as Markdown but neutralizes tags, braces and pipes', () => {
    expect(prose('Use `a|b` for <T> and {x}', { table: true })).toBe(
      'Use <code v-pre>a&#124;b</code> for &lt;T&gt; and &#123;x&#125;',
    );
    expect(prose('see [the guide](https://example.com)')).toBe('see [the guide](https://example.com)');
  });

  it('fences code containing backticks with a longer fence', () => {
    expect(fence('ts', 'const s = ```x```;')).toBe('````ts\nconst s = ```x```;\n````');
  });

  it('leaves tables and code blocks of included Markdown alone', () => {
    const md = '| case | ratio |\n| --- | --- |\n| `a<b` | <1 ms {x} |\n```\n<raw>\n```';
    expect(safeMarkdown(md)).toBe(
      '| case | ratio |\n| --- | --- |\n| `a<b` | &lt;1 ms &#123;x&#125; |\n```\n<raw>\n```',
    );
  });
});

describe('CLI reference', () => {
  it('has a section, usage and every flag of every command', () => {
    const page = renderCliReference({ commands, groups: commandGroups, globalFlags, exitCodes: [] });
    for (const command of commands) {
      expect(page).toContain(`### valkey-tools ${command.name} {#${command.name.replace(/\s+/g, '-')}}`);
      expect(page).toContain(`valkey-tools ${command.usage}`);
      for (const flag of command.flags) expect(page).toContain(`--${flag.name}`);
    }
  });
});

describe('API reference', () => {
  const packages = [
    { dir: 'core', module: core },
    { dir: 'binaries', module: binaries },
    { dir: 'config', module: config },
  ];
  const apis = collectApi(
    packages.map(({ dir }) => ({
      dir,
      name: `@valkey-tools/${dir}`,
      description: '',
      entry: join(repoRoot, 'packages', dir, 'src', 'index.ts'),
    })),
    repoRoot,
  );

  it.each(packages.map((p, i) => ({ ...p, api: apis[i]! })))(
    'documents every value @valkey-tools/$dir exports',
    ({ module, api }) => {
      const documented = new Set(api.entries.map((e) => e.name));
      const missing = Object.keys(module).filter((name) => !documented.has(name));
      expect(missing).toEqual([]);
    },
  );

  it('renders signatures and doc comments', () => {
    const page = renderPackagePage(apis[0]!);
    expect(page).toContain('### parseConnectionUrl');
    expect(page).toContain('function parseConnectionUrl(input: string');
    expect(page).toContain('### ValkeyToolsError');
    expect(page).toMatch(/Source: <code v-pre>packages\/core\/src\/url\.ts:\d+<\/code>/);
  });
});
