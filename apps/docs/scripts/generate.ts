/**
 * Generates the pages that must never drift from the code:
 * - reference/cli.md from the CLI's command table,
 * - api/*.md from each package's public surface and TSDoc,
 * - benchmarks/results.md from bench/results/latest.md (or a placeholder until the first run).
 *
 * Run with `tsx --conditions=@valkey-tools/source scripts/generate.ts` (the `generate`, `build` and
 * `dev` scripts do). Files are only rewritten when their content changes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandGroups, commands, exitCodes, globalFlags } from '../../../packages/cli/src/definitions.ts';
import { collectApi, type PackageInfo, renderApiIndex, renderPackagePage } from './api-reference.ts';
import { renderCliReference } from './cli-reference.ts';
import { generatedNotice, safeMarkdown } from './markdown.ts';

const docsRoot = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = join(docsRoot, '..', '..');

/** The published packages, in the order the docs present them. */
export const PACKAGE_DIRS = ['core', 'binaries', 'config', 'backup', 'kvcache-index'] as const;

function writeIfChanged(path: string, content: string): boolean {
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path) && readFileSync(path, 'utf8') === content) return false;
  writeFileSync(path, content);
  return true;
}

/**
 * A package's documented entries: its main surface (`src/index.ts`) and each subpath export (e.g.
 * `@valkey-tools/backup/codec`), described by the subpath source's opening comment.
 */
function packageInfos(dir: string): PackageInfo[] {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'packages', dir, 'package.json'), 'utf8')) as {
    name: string;
    description?: string;
    exports?: Record<string, Record<string, string> | string>;
  };
  const main: PackageInfo = {
    dir,
    name: manifest.name,
    description: manifest.description ?? '',
    entry: join(repoRoot, 'packages', dir, 'src', 'index.ts'),
  };
  const subpaths = Object.entries(manifest.exports ?? {}).flatMap(([sub, target]) => {
    const source = typeof target === 'object' ? target['@valkey-tools/source'] : undefined;
    if (sub === '.' || source === undefined) return [];
    const entry = join(repoRoot, 'packages', dir, source);
    const opening = /^((?:\/\/.*\n)+)/.exec(readFileSync(entry, 'utf8'))?.[1] ?? '';
    const description = opening
      .split('\n')
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join(' ')
      .trim()
      .replace(/^[^:]*: /, '')
      .replace(/^./, (c) => c.toUpperCase());
    return [{ dir: `${dir}-${sub.slice(2)}`, name: `${manifest.name}/${sub.slice(2)}`, description, entry }];
  });
  return [main, ...subpaths];
}

export function generate(): string[] {
  const written: string[] = [];
  const write = (rel: string, content: string) => {
    if (writeIfChanged(join(docsRoot, rel), content)) written.push(rel);
  };

  write(
    'reference/cli.md',
    renderCliReference({
      commands,
      groups: commandGroups,
      globalFlags,
      exitCodes,
    }),
  );

  const packages = PACKAGE_DIRS.flatMap(packageInfos);
  const apis = collectApi(packages, repoRoot);
  write('api/index.md', renderApiIndex(apis));
  for (const api of apis) write(`api/${api.pkg.dir}.md`, renderPackagePage(api));
  // Pages of packages that no longer exist would otherwise linger.
  const wanted = new Set(['index.md', ...packages.map((p) => `${p.dir}.md`)]);
  for (const file of readdirSync(join(docsRoot, 'api'))) {
    if (!wanted.has(file)) rmSync(join(docsRoot, 'api', file));
  }

  const latest = join(repoRoot, 'bench', 'results', 'latest.md');
  const results = existsSync(latest)
    ? `${generatedNotice('bench/results/latest.md')}\n\n${safeMarkdown(readFileSync(latest, 'utf8').replace(/^# .*\n/, ''))}`
    : '::: info No results yet\nNo benchmark run has been committed yet. Run `npm run bench` at the root; ' +
      'the next docs build shows `bench/results/latest.md` here.\n:::\n';
  write('benchmarks/results.md', results);

  write('guide/security.md', securityPage());
  return written;
}

/** The repository's web address: links from repository docs to source files point there. */
const REPOSITORY = 'https://github.com/valkey-tools/valkey-tools/blob/main';

/**
 * docs/security.md (kept beside the code it describes) as a page of the site: links relative to
 * docs/ become links to the repository, and text Vue would read is escaped.
 */
function securityPage(): string {
  const source = join(repoRoot, 'docs', 'security.md');
  if (!existsSync(source)) {
    return '# Security\n\n::: info\nThe security notes (`docs/security.md`) are not written yet.\n:::\n';
  }
  const text = readFileSync(source, 'utf8').replace(/\]\((?!https?:|#)([^)\s]+)\)/g, (_m, target: string) => {
    const path = join('docs', target).split('\\').join('/');
    return `](${REPOSITORY}/${path})`;
  });
  return `${generatedNotice('docs/security.md')}\n\n${safeMarkdown(text)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const written = generate();
  const ms = Math.round(performance.now() - started);
  console.log(
    `docs: generated references in ${ms} ms` + (written.length > 0 ? ` (updated ${written.join(', ')})` : ''),
  );
}
