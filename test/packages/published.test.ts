// `npm run test:packages`: packs every published package, installs the tarballs into an empty project
// (as a user would: no workspace links, no zeromq) and runs CommonJS, ESM and TypeScript (.cts,
// `module: nodenext`) consumers of each, plus the CLI's commands that need no native addon.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '../..');
const PACKAGES = ['core', 'config', 'binaries', 'backup', 'kvcache-index', 'cli'];
const work = mkdtempSync(join(tmpdir(), 'vt-packages-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
const packed = new Map<string, { filename: string; files: string[] }>();

function run(cmd: string, args: string[], cwd: string, input?: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', input, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function runOk(cmd: string, args: string[], cwd: string): string {
  const r = run(cmd, args, cwd);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  mkdirSync(tarballs);
  mkdirSync(app);
  // one npm process packs them all (the dist folders come from `npm run build`)
  const out = runOk(
    'npm',
    ['pack', '--json', '--pack-destination', tarballs, ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])],
    repo,
  );
  for (const p of JSON.parse(out) as Array<{
    name: string;
    filename: string;
    files: Array<{ path: string }>;
  }>)
    packed.set(p.name, { filename: p.filename, files: p.files.map((f) => f.path) });
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '0.0.0', private: true, type: 'commonjs' }, null, 2),
  );
  runOk(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--no-package-lock',
      ...[...packed.values()].map((p) => join(tarballs, p.filename.replace(/^@valkey-tools\//, ''))),
    ],
    app,
  );
  for (const f of readdirSync(join(import.meta.dirname, 'consumer')))
    cpSync(join(import.meta.dirname, 'consumer', f), join(app, f));
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the published packages, packed and installed into an empty project', () => {
  it('every tarball holds LICENSE, README, dist, and package.json has homepage and bugs', () => {
    expect([...packed.keys()].sort()).toEqual(PACKAGES.map((p) => `@valkey-tools/${p}`).sort());
    const license = readFileSync(join(repo, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^BSD 3-Clause License/);
    for (const [name, { files }] of packed) {
      expect(files, name).toContain('LICENSE');
      expect(files, name).toContain('README.md');
      expect(
        files.some((f) => f.startsWith('dist/')),
        name,
      ).toBe(true);
      const dir = join(app, 'node_modules', name);
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8'), name).toBe(license);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(pkg.license, name).toBe('BSD-3-Clause');
      expect(pkg.homepage, name).toMatch(/^https:\/\/valkey-tools\.github\.io\/valkey-tools\//);
      expect(pkg.bugs?.url, name).toBe('https://github.com/valkey-tools/valkey-tools/issues');
      // README links work on npm: no links into the monorepo
      expect(readFileSync(join(dir, 'README.md'), 'utf8'), name).not.toMatch(/\]\(\.\.\//);
    }
  });

  it('installs without the zeromq native addon (an optional peer dependency)', () => {
    expect(existsSync(join(app, 'node_modules', 'zeromq'))).toBe(false);
  });

  it('a CommonJS consumer require()s and uses every package; subscribing to events says to install zeromq', () => {
    expect(runOk(process.execPath, ['consumer.cjs'], app)).toContain('cjs consumer ok (zeromq absent)');
  });

  it('an ES module consumer imports and uses every package', () => {
    expect(runOk(process.execPath, ['consumer.mjs'], app)).toContain('esm consumer ok');
  });

  it('a TypeScript consumer (module nodenext, .cts) type-checks against the packed .d.ts and runs', () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(repo, 'node_modules/@types')],
          outDir: 'out',
        },
        files: ['consumer.cts'],
      }),
    );
    runOk(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
    expect(readFileSync(join(app, 'out/consumer.cjs'), 'utf8')).toMatch(/require\("@valkey-tools\/core"\)/);
    expect(runOk(process.execPath, ['out/consumer.cjs'], app)).toContain('cts consumer ok');
  });

  it('the valkey-tools command runs its commands that need no native addon; kvcache serve --zmq says what to install', () => {
    const bin = join(app, 'node_modules/.bin/valkey-tools');
    expect(runOk(bin, ['--version'], app).trim()).toBe(
      JSON.parse(readFileSync(join(repo, 'packages/cli/package.json'), 'utf8')).version,
    );
    expect(runOk(bin, ['config', 'init', '--preset', 'cache'], app)).toMatch(/^maxmemory-policy /m);
    const keys = run(
      bin,
      ['kvcache', 'keys', '--model', 'm', '--block-size', '4', '--json'],
      app,
      '[1,2,3,4,5,6,7,8]',
    );
    expect(keys.status, keys.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(keys.stdout))).toMatch(/\d/);
    const serve = run(bin, ['kvcache', 'serve', '--zmq', 'tcp://127.0.0.1:1', '--port', '0'], app);
    expect(serve.status).not.toBe(0);
    expect(serve.stderr).toMatch(/zeromq/);
    expect(serve.stderr).toMatch(/npm install zeromq/);
  });
});
