/**
 * Helpers for the site test: make sure `.vitepress/dist` is a build of the current sources (reusing
 * the one `npm test`'s `turbo run build` just made when nothing changed since), and serve it on
 * 127.0.0.1 the way a static host would (clean URLs: `/guide/ci` is `guide/ci.html`).
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenOnFreePort } from '@valkey-tools/test-utils';

export const docsRoot = fileURLToPath(new URL('..', import.meta.url));
export const repoRoot = join(docsRoot, '..', '..');
export const distDir = join(docsRoot, '.vitepress', 'dist');

const SKIP_DIRS = new Set(['node_modules', 'dist', 'cache', '.turbo', 'test']);

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory() && SKIP_DIRS.has(entry.name)) continue;
    newest = Math.max(newest, newestMtime(join(path, entry.name)));
  }
  return newest;
}

/** Everything a build reads: pages, snippets, theme, examples, the packages' sources, bench results, docs/. */
export function newestInput(): number {
  const packages = join(repoRoot, 'packages');
  const packageSources = existsSync(packages)
    ? readdirSync(packages).map((name) => newestMtime(join(packages, name, 'src')))
    : [];
  return Math.max(
    newestMtime(docsRoot),
    newestMtime(join(repoRoot, 'examples')),
    newestMtime(join(repoRoot, 'bench', 'results')),
    newestMtime(join(repoRoot, 'docs')),
    ...packageSources,
  );
}

export function buildIsFresh(): boolean {
  const index = join(distDir, 'index.html');
  return existsSync(index) && statSync(index).mtimeMs >= newestInput();
}

/** Runs the docs build (`generate` + `vitepress build`); rejects with its output when it fails. */
export function buildSite(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build', '--silent'], { cwd: docsRoot, env: process.env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`docs build failed (exit ${code}):\n${output.slice(-4000)}`));
    });
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

/** Maps a URL path to a file in dist the way VitePress' clean URLs expect; undefined when none. */
export function resolveDistPath(urlPath: string): string | undefined {
  const decoded = decodeURIComponent(urlPath.split(/[?#]/)[0]!);
  const rel = normalize(decoded).replace(/^([/\\])+/, '');
  if (rel.startsWith('..')) return undefined;
  const base = join(distDir, rel);
  if (!base.startsWith(distDir)) return undefined;
  const candidates = decoded.endsWith('/') ? [join(base, 'index.html')] : [base, `${base}.html`];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

export interface StaticServer {
  url: string;
  /** Paths requested that had no file (the test fails on any). */
  missing: string[];
  close(): Promise<void>;
}

export async function serveDist(): Promise<StaticServer> {
  const missing: string[] = [];
  const server: Server = createServer((req, res) => {
    const file = resolveDistPath(req.url ?? '/');
    if (!file) {
      missing.push(req.url ?? '');
      const notFound = join(distDir, '404.html');
      res.writeHead(404, { 'content-type': TYPES['.html']! });
      if (existsSync(notFound)) createReadStream(notFound).pipe(res);
      else res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  const port = await listenOnFreePort(server);
  return {
    url: `http://127.0.0.1:${port}`,
    missing,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Every HTML file of the build, as site paths (`guide/ci.html` → `/guide/ci`). */
export function builtPages(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.html')) {
        const rel = full.slice(distDir.length).split(sep).join('/');
        out.push(rel.replace(/\/index\.html$/, '/').replace(/\.html$/, ''));
      }
    }
  };
  walk(distDir);
  return out.sort();
}
