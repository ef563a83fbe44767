import { execFile, execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { detectPlatform, platformKey } from '@valkey-tools/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CreateMirrorResult,
  createMirror,
  type DownloadProgress,
  installDir,
  installValkey,
  knownVersions,
  listInstalled,
  refreshVersionMap,
  resetKnownVersions,
  resolveBinary,
  sha256File,
  uninstallValkey,
  versionMap,
  writeTarGz,
} from '../src/index.js';
import { expectError, fixtureArgs, systemValkey } from './helpers.js';
import { type MirrorServer, startMirrorServer } from './mirror-server.js';

const execFileAsync = promisify(execFile);
const fast = { retry: { retries: 3, minDelayMs: 10, maxDelayMs: 50 } };
const key = platformKey(detectPlatform());
const work = mkdtempSync(join(tmpdir(), 'vt-install-'));
const root = join(work, 'served');
const sys = systemValkey();
let server: MirrorServer;
let good: CreateMirrorResult;
let winBuild: CreateMirrorResult;
let nextPrefix = 0;

function freshHome(): string {
  return mkdtempSync(join(work, 'home-'));
}

/**
 * The good mirror under a URL prefix of its own: its own fault queues, throttle and request log,
 * so the tests using it can run concurrently.
 */
function isolatedMirror() {
  const prefix = `/iso/${++nextPrefix}`;
  const archivePath = `${prefix}/good/${good.url}`;
  const requests = () => server.requests.filter((r) => r.path.startsWith(`${prefix}/`));
  return {
    base: `${server.url}${prefix}`,
    mirror: `${server.url}${prefix}/good`,
    archivePath,
    manifestPath: `${prefix}/good/releases.json`,
    requests,
    archiveRequests: () => requests().filter((r) => r.path === archivePath),
    throttle: (bytes: number | undefined) => server.throttle(bytes, prefix),
  };
}

/** Nothing installed and no leftovers (downloads, staging dirs) in a home after a failure. */
function expectNothingInstalled(home: string): void {
  expect(existsSync(installDir(sys.version, key, home))).toBe(false);
  const bin = join(home, 'bin');
  const left = existsSync(bin) ? readdirSync(bin).filter((n) => n !== '.locks') : [];
  expect(left).toEqual([]);
  const downloads = join(home, 'downloads');
  expect(existsSync(downloads) ? readdirSync(downloads) : []).toEqual([]);
}

beforeAll(async () => {
  good = await createMirror({ binariesDir: sys.dir, version: sys.version, outDir: join(root, 'good') });
  server = await startMirrorServer(root);
  // A Windows build in the same mirror (any file will do: it is extracted, never run here).
  const winDir = join(work, 'win-build');
  mkdirSync(winDir, { recursive: true });
  copyFileSync(join(sys.dir, 'valkey-cli'), join(winDir, 'valkey-server.exe'));
  writeFileSync(join(winDir, 'cygwin1.dll'), 'dll');
  writeFileSync(join(winDir, 'README'), 'not packaged');
  winBuild = await createMirror({
    binariesDir: winDir,
    version: sys.version,
    platform: 'win32-x64',
    outDir: join(root, 'good'),
    verify: false,
  });
});

afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('createMirror', () => {
  it('writes the hostdb layout: archive, .sha256 and a merged releases.json', async () => {
    expect(good.url).toBe(`valkey/${sys.version}/valkey-${sys.version}-${key}.tar.gz`);
    expect(await sha256File(good.archivePath)).toBe(good.sha256);
    expect(readFileSync(`${good.archivePath}.sha256`, 'utf8')).toMatch(new RegExp(`^${good.sha256}  `));
    const listing = execFileSync('tar', ['-tzvf', good.archivePath], { encoding: 'utf8' });
    expect(listing).toMatch(/valkey\/bin\/valkey-server/);
    expect(listing).toMatch(/valkey\/bin\/valkey-cli/);
    // beforeAll added a Windows build to the same releases.json; the Linux entry is untouched.
    const other = winBuild;
    expect(other.url).toMatch(/\.zip$/);
    const manifest = JSON.parse(readFileSync(join(root, 'good', 'releases.json'), 'utf8'));
    expect(Object.keys(manifest.databases.valkey[sys.version].platforms).sort()).toEqual(
      [key, 'win32-x64'].sort(),
    );
    expect(manifest.databases.valkey[sys.version].platforms[key]).toEqual({
      url: good.url,
      sha256: good.sha256,
      size: good.size,
    });
  });

  it('writes absolute URLs for archives hosted elsewhere, and installs from them', async () => {
    const outDir = join(root, 'cdn-manifest');
    const made = await createMirror({
      binariesDir: sys.dir,
      version: sys.version,
      outDir,
      baseUrl: `${server.url}/cdn-manifest/`,
    });
    expect(made.url).toBe(
      `${server.url}/cdn-manifest/valkey/${sys.version}/valkey-${sys.version}-${key}.tar.gz`,
    );
    // The manifest is read from a directory; the archive comes over HTTP.
    const result = await installValkey({ home: freshHome(), mirror: outDir, version: sys.version, ...fast });
    expect(result.source).toBe(made.url);
    const offline = await installValkey({
      home: freshHome(),
      mirror: outDir,
      version: sys.version,
      offline: true,
    }).catch((e: unknown) => e);
    expect(offline).toMatchObject({ code: 'ERR_OFFLINE' });
  });

  it('refuses binaries that are not the version claimed', async () => {
    const err = await expectError(
      createMirror({ binariesDir: sys.dir, version: '7.2.4', outDir: join(work, 'wrong-mirror') }),
    );
    expect(err.code).toBe('ERR_BINARY_INVALID');
    expect(err.message).toMatch(`not valkey 7.2.4`);
  });
});

describe.concurrent('installValkey from a mirror over HTTP', () => {
  it('downloads, verifies, installs, and the installed valkey-server runs', async () => {
    const { mirror, archiveRequests } = isolatedMirror();
    const home = freshHome();
    const progress: DownloadProgress[] = [];
    const result = await installValkey({
      home,
      mirror,
      version: sys.version,
      onProgress: (p) => progress.push(p),
      ...fast,
    });
    expect(result.downloaded).toBe(true);
    expect(result.dir).toBe(join(home, 'bin', `valkey-${sys.version}-${key}`));
    const { stdout } = await execFileAsync(result.binaries['valkey-server']!, ['--version']);
    expect(stdout).toMatch(`v=${sys.version}`);
    expect((await execFileAsync(result.binaries['valkey-cli']!, ['--version'])).stdout).toMatch(sys.version);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ bytes: good.size, total: good.size });
    expect(progress.every((p, i) => i === 0 || p.bytes >= progress[i - 1]!.bytes)).toBe(true);
    expect(archiveRequests().length).toBe(1);
    expect(await listInstalled({ home })).toMatchObject([
      { version: sys.version, platform: key, sha256: good.sha256 },
    ]);
    expect(readdirSync(join(home, 'downloads'))).toEqual([]);

    // Installed: the next call is a cache hit, and the resolver finds it there.
    const again = await installValkey({ home, mirror, version: sys.version, ...fast });
    expect(again.downloaded).toBe(false);
    expect(archiveRequests().length).toBe(1);
    const resolved = await resolveBinary({ home, version: sys.version, providers: ['cache'] });
    expect(resolved).toMatchObject({
      provider: 'cache',
      version: sys.version,
      path: result.binaries['valkey-server'],
    });
    const cli = await resolveBinary({ name: 'valkey-cli', home, version: '8', providers: ['cache'] });
    expect(cli.path).toBe(result.binaries['valkey-cli']);
  });

  it('resolves "latest" and a major against the versions the mirror offers', async () => {
    const { mirror } = isolatedMirror();
    const home = freshHome();
    const major = sys.version.split('.')[0]!;
    const resolved = await resolveBinary({ home, mirror, version: major, providers: ['download'], ...fast });
    expect(resolved).toMatchObject({ provider: 'download', version: sys.version });
    const err = await expectError(installValkey({ home: freshHome(), mirror, version: '7.2', ...fast }));
    expect(err.code).toBe('ERR_UNKNOWN_VERSION');
    expect(err.message).toMatch(`It offers ${sys.version} for ${key}`);
  });

  it('installs a Windows zip build from the same mirror (extracted, not run)', async () => {
    const { mirror } = isolatedMirror();
    const home = freshHome();
    const result = await installValkey({
      home,
      mirror,
      version: sys.version,
      platform: 'win32-x64',
      ...fast,
    });
    expect(result.downloaded).toBe(true);
    expect(result.dir).toBe(join(home, 'bin', `valkey-${sys.version}-win32-x64`));
    expect(readdirSync(result.dir).sort()).toEqual(['cygwin1.dll', 'install.json', 'valkey-server.exe']);
  });

  it('refuses a wrong sha256: deletes the download, installs nothing', async () => {
    const { mirror } = isolatedMirror();
    const dir = join(root, 'badsha');
    mkdirSync(dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(good.manifestPath, 'utf8'));
    const asset = manifest.databases.valkey[sys.version].platforms[key];
    asset.url = `${mirror}/${good.url}`;
    asset.sha256 = 'f'.repeat(64);
    writeFileSync(join(dir, 'releases.json'), JSON.stringify(manifest));
    const home = freshHome();
    const err = await expectError(
      installValkey({ home, mirror: `${server.url}/badsha`, version: sys.version, ...fast }),
    );
    expect(err.code).toBe('ERR_CHECKSUM_MISMATCH');
    expect(err.message).toMatch(`expected ${'f'.repeat(64)}`);
    expect(err.message).toMatch(good.sha256);
    expect(err.message).toMatch(/deleted and nothing was installed/);
    expectNothingInstalled(home);
  });

  it('resumes a body cut off mid-way with a Range request', async () => {
    const { mirror, archivePath, archiveRequests } = isolatedMirror();
    const home = freshHome();
    server.fault(archivePath, { kind: 'truncate', bytes: 100_000 });
    const result = await installValkey({ home, mirror, version: sys.version, ...fast });
    expect(result.downloaded).toBe(true);
    const hits = archiveRequests();
    expect(hits.map((h) => h.range)).toEqual([undefined, 'bytes=100000-']);
    expect(hits[1]!.status).toBe(206);
    expect((await execFileAsync(result.binaries['valkey-server']!, ['--version'])).stdout).toMatch(
      sys.version,
    );
  });

  it('refuses a truncated file served as complete, and keeps nothing', async () => {
    const { mirror, archivePath } = isolatedMirror();
    const home = freshHome();
    server.fault(archivePath, { kind: 'short', bytes: 5000 });
    const err = await expectError(installValkey({ home, mirror, version: sys.version, ...fast }));
    expect(err.code).toBe('ERR_CHECKSUM_MISMATCH');
    expect(err.message).toMatch(`is 5000 bytes, but the manifest says ${good.size}`);
    expectNothingInstalled(home);
  });

  it('retries 500 and 429 (Retry-After) then succeeds', async () => {
    const { mirror, archivePath, manifestPath, requests } = isolatedMirror();
    const home = freshHome();
    server.fault(manifestPath, { kind: 'status', status: 429, retryAfter: '0' });
    server.fault(archivePath, { kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const retries: string[] = [];
    const result = await installValkey({
      home,
      mirror,
      version: sys.version,
      onRetry: (r) => retries.push(r.reason),
      ...fast,
    });
    expect(result.downloaded).toBe(true);
    const log = requests().map((r) => `${r.path} ${r.status}`);
    expect(log).toEqual([
      `${manifestPath} 429`,
      `${manifestPath} 200`,
      `${archivePath} 500`,
      `${archivePath} 503`,
      `${archivePath} 200`,
    ]);
    expect(retries).toEqual(['HTTP 429', 'HTTP 500', 'HTTP 503']);
  });

  it('gives up after the retries with the last reason, and does not retry a 404', async () => {
    const { base, mirror, archivePath, requests } = isolatedMirror();
    const home = freshHome();
    server.fault(archivePath, ...Array.from({ length: 3 }, () => ({ kind: 'status', status: 502 }) as const));
    const err = await expectError(
      installValkey({
        home,
        mirror,
        version: sys.version,
        retry: { retries: 2, minDelayMs: 5, maxDelayMs: 10 },
      }),
    );
    expect(err.code).toBe('ERR_DOWNLOAD_FAILED');
    expect(err.message).toMatch(/failed after 3 attempt\(s\): HTTP 502/);
    expectNothingInstalled(home);

    const missing = await expectError(installValkey({ home, mirror: `${base}/nowhere`, ...fast }));
    expect(missing.code).toBe('ERR_DOWNLOAD_FAILED');
    expect(missing.message).toMatch(/answered HTTP 404/);
    expect(missing.message).toMatch(/check the mirror URL/);
    expect(requests().filter((r) => r.path.includes('/nowhere/'))).toHaveLength(1);
  });

  it('times out a server that never answers', async () => {
    const { mirror, manifestPath } = isolatedMirror();
    server.fault(manifestPath, { kind: 'hang' }, { kind: 'hang' });
    const err = await expectError(
      installValkey({ home: freshHome(), mirror, timeoutMs: 200, retry: { retries: 1, minDelayMs: 5 } }),
    );
    expect(err.code).toBe('ERR_DOWNLOAD_FAILED');
    expect(err.message).toMatch(/failed after 2 attempt\(s\).*(timeout|Timeout)/i);
  });

  it('resumes a partial download left by a crashed run', async () => {
    const { mirror, archiveRequests } = isolatedMirror();
    const home = freshHome();
    mkdirSync(join(home, 'downloads'), { recursive: true });
    const partial = join(home, 'downloads', `valkey-${sys.version}-${key}.tar.gz.part`);
    writeFileSync(partial, readFileSync(good.archivePath).subarray(0, 70_000));
    const result = await installValkey({ home, mirror, version: sys.version, ...fast });
    expect(result.downloaded).toBe(true);
    const hits = archiveRequests();
    expect(hits.map((h) => `${h.range} ${h.status}`)).toEqual(['bytes=70000- 206']);
    expect(existsSync(partial)).toBe(false);
  });

  it('stops on abort, keeping the partial download for the next run to resume', async () => {
    const { mirror, archiveRequests, throttle } = isolatedMirror();
    const home = freshHome();
    const controller = new AbortController();
    throttle(16 * 1024);
    try {
      const aborted = await installValkey({
        home,
        mirror,
        version: sys.version,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.bytes >= 64 * 1024) controller.abort();
        },
        ...fast,
      }).catch((e: unknown) => e);
      expect((aborted as Error).name).toBe('AbortError');
    } finally {
      throttle(undefined);
    }
    const partial = join(home, 'downloads', `valkey-${sys.version}-${key}.tar.gz.part`);
    const kept = readFileSync(partial).length;
    expect(kept).toBeGreaterThanOrEqual(64 * 1024);
    expect(existsSync(installDir(sys.version, key, home))).toBe(false);
    const result = await installValkey({ home, mirror, version: sys.version, ...fast });
    expect(result.downloaded).toBe(true);
    const hits = archiveRequests();
    expect(hits.map((h) => h.range)).toEqual([undefined, `bytes=${kept}-`]);
  });

  it('downloads again from the start when a resumed file does not match its sha256', async () => {
    const { mirror, archiveRequests } = isolatedMirror();
    const home = freshHome();
    mkdirSync(join(home, 'downloads'), { recursive: true });
    writeFileSync(
      join(home, 'downloads', `valkey-${sys.version}-${key}.tar.gz.part`),
      Buffer.alloc(70_000, 7),
    );
    const statuses: string[] = [];
    const result = await installValkey({
      home,
      mirror,
      version: sys.version,
      onStatus: (m) => statuses.push(m),
      ...fast,
    });
    expect(result.downloaded).toBe(true);
    const hits = archiveRequests();
    expect(hits.map((h) => `${h.range} ${h.status}`)).toEqual(['bytes=70000- 206', 'undefined 200']);
    expect(statuses).toContain('checksum mismatch after resuming; downloading again from the start');
    expect((await execFileAsync(result.binaries['valkey-server']!, ['--version'])).stdout).toMatch(
      sys.version,
    );
  });

  // One test for every proxy case: they count the same server's tunnels.
  it('goes through a proxy when asked, and honours HTTP_PROXY and NO_PROXY', async () => {
    const { mirror } = isolatedMirror();
    const first = server.tunnels.length;
    const viaOption = await installValkey({
      home: freshHome(),
      mirror,
      version: sys.version,
      proxy: server.url,
      ...fast,
    });
    expect(viaOption.downloaded).toBe(true);
    expect(server.tunnels.length - first).toBeGreaterThanOrEqual(1);
    expect(server.tunnels.at(-1)).toBe(new URL(server.url).host);

    const before = server.tunnels.length;
    const proxied = await installValkey({
      home: freshHome(),
      mirror,
      version: sys.version,
      env: { HTTP_PROXY: server.url },
      ...fast,
    });
    expect(proxied.downloaded).toBe(true);
    expect(server.tunnels.length).toBeGreaterThan(before);
    const after = server.tunnels.length;
    const direct = await installValkey({
      home: freshHome(),
      mirror,
      version: sys.version,
      env: { HTTP_PROXY: server.url, NO_PROXY: '127.0.0.1' },
      ...fast,
    });
    expect(direct.downloaded).toBe(true);
    expect(server.tunnels.length).toBe(after);
  });

  it('refreshes the version map from a manifest', async () => {
    const dir = join(root, 'future');
    mkdirSync(dir, { recursive: true });
    const sha256 = 'a'.repeat(64);
    writeFileSync(
      join(dir, 'releases.json'),
      JSON.stringify({
        databases: { valkey: { '8.0.99': { platforms: { [key]: { url: 'x.tar.gz', sha256, size: 1 } } } } },
      }),
    );
    const home = freshHome();
    const elsewhere = freshHome();
    try {
      expect(await refreshVersionMap({ home, mirror: `${server.url}/future`, ...fast })).toEqual(['8.0.99']);
      expect(versionMap({ home })['8.0']).toBe('8.0.99');
      expect(knownVersions({ home: elsewhere })).toContain('8.0.99'); // this process learned it
    } finally {
      resetKnownVersions();
    }
    // Saved in the cache root for later processes; other roots do not know it.
    expect(versionMap({ home })['8.0']).toBe('8.0.99');
    expect(JSON.parse(readFileSync(join(home, 'versions.json'), 'utf8'))).toMatchObject({
      versions: ['8.0.99'],
      source: `${server.url}/future`,
    });
    expect(versionMap({ home: elsewhere })['8.0']).not.toBe('8.0.99');
  });

  it('refuses an archive with path traversal: nothing written outside, nothing installed', async () => {
    const dir = join(root, 'evil');
    const archive = join(dir, 'evil.tar.gz');
    mkdirSync(dir, { recursive: true });
    await writeTarGz(archive, [
      { type: 'file', name: 'valkey/bin/valkey-server', content: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
      { type: 'file', name: 'valkey/bin/../../../../evil-file', content: Buffer.from('pwned') },
    ]);
    const sha256 = await sha256File(archive);
    const size = readFileSync(archive).length;
    writeFileSync(
      join(dir, 'releases.json'),
      JSON.stringify({
        databases: {
          valkey: { [sys.version]: { platforms: { [key]: { url: 'evil.tar.gz', sha256, size } } } },
        },
      }),
    );
    const home = freshHome();
    const err = await expectError(
      installValkey({ home, mirror: `${server.url}/evil`, version: sys.version, ...fast }),
    );
    expect(err.code).toBe('ERR_UNSAFE_ARCHIVE');
    expect(err.message).toMatch(/path traversal/);
    expectNothingInstalled(home);
    const found = execFileSync('find', [work, '-name', 'evil-file'], { encoding: 'utf8' });
    expect(found).toBe('');
  });

  it('two processes installing the same version download it once', async () => {
    const { mirror, archiveRequests, throttle } = isolatedMirror();
    const home = freshHome();
    throttle(32 * 1024);
    try {
      const run = () =>
        execFileAsync(process.execPath, fixtureArgs('install-child', home, mirror, sys.version), {
          timeout: 240_000,
        });
      const [a, b] = await Promise.all([run(), run()]);
      const results = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
      expect(results.map((r) => r.downloaded).sort()).toEqual([false, true]);
      expect(results[0].dir).toBe(results[1].dir);
      expect(results[0].pid).not.toBe(results[1].pid);
    } finally {
      throttle(undefined);
    }
    expect(archiveRequests().length).toBe(1);
    expect(existsSync(join(home, 'bin', '.locks', `valkey-${sys.version}-${key}.lock`))).toBe(false);
  });

  it('takes over a lock left by a dead process', async () => {
    const { mirror } = isolatedMirror();
    const home = freshHome();
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
    );
    const lock = join(home, 'bin', '.locks', `valkey-${sys.version}-${key}.lock`);
    mkdirSync(join(home, 'bin', '.locks'), { recursive: true });
    writeFileSync(lock, JSON.stringify({ pid: dead, hostname: hostname(), since: '2000-01-01' }));
    const result = await installValkey({ home, mirror, version: sys.version, lockTimeoutMs: 5000, ...fast });
    expect(result.downloaded).toBe(true);
    expect(existsSync(lock)).toBe(false);
  });
});

describe('official release tarballs', () => {
  it('downloads <base>/releases/valkey-<v>-<distro>-<arch>.tar.gz checked against its .sha256', async () => {
    const arch = process.arch === 'x64' ? 'x86_64' : 'arm64';
    server.alias(
      new RegExp(`^/official/releases/valkey-${sys.version}-(jammy|noble)-${arch}\\.tar\\.gz$`),
      good.archivePath,
    );
    server.alias(
      new RegExp(`^/official/releases/valkey-${sys.version}-(jammy|noble)-${arch}\\.tar\\.gz\\.sha256$`),
      `${good.archivePath}.sha256`,
    );
    const home = freshHome();
    const result = await installValkey({
      home,
      version: sys.version,
      releasesUrl: `${server.url}/official`,
      env: {},
      ...fast,
    });
    expect(result.downloaded).toBe(true);
    expect(result.source).toMatch(
      new RegExp(`/official/releases/valkey-${sys.version}-(jammy|noble)-${arch}\\.tar\\.gz$`),
    );
  });
});

describe.concurrent('offline mode', () => {
  it('never touches the network and says what was tried and how to fix it', async () => {
    const { mirror, requests } = isolatedMirror();
    const home = freshHome();
    const err = await expectError(installValkey({ home, mirror, version: sys.version, offline: true }));
    expect(err.code).toBe('ERR_OFFLINE');
    expect(err.message).toMatch(`Valkey ${sys.version} for ${key} is not installed and offline mode is on`);
    expect(err.message).toMatch(join(home, 'bin'));
    expect(err.message).toMatch(/apt install valkey-server/);
    expect(err.message).toMatch(/VALKEY_TOOLS_SYSTEM_BINARY/);
    expect(err.message).toMatch(/VALKEY_TOOLS_MIRROR/);

    const viaEnv = await expectError(
      resolveBinary({ home, mirror, providers: ['cache', 'download'], env: { VALKEY_TOOLS_OFFLINE: '1' } }),
    );
    expect(viaEnv.code).toBe('ERR_OFFLINE');
    expect(viaEnv.message).toMatch(/cache: no Valkey latest/);
    expect(viaEnv.message).toMatch(/download: skipped: offline mode/);
    expect(viaEnv.details.tried).toHaveLength(2);
    expect(requests()).toEqual([]);
  });

  it('still installs from a mirror directory, and uses the cache', async () => {
    const { mirror } = isolatedMirror();
    const home = freshHome();
    const result = await installValkey({
      home,
      mirror: join(root, 'good'),
      version: sys.version,
      offline: true,
    });
    expect(result.downloaded).toBe(true);
    const again = await installValkey({ home, mirror, version: sys.version.split('.')[0]!, offline: true });
    expect(again).toMatchObject({ downloaded: false, version: sys.version });
  });
});

describe('cache management', () => {
  it('reinstalls with force and uninstalls', async () => {
    const home = freshHome();
    const dirMirror = join(root, 'good');
    const first = await installValkey({ home, mirror: dirMirror, version: sys.version });
    const again = await installValkey({ home, mirror: dirMirror, version: sys.version, force: true });
    expect(again.downloaded).toBe(true);
    expect(again.dir).toBe(first.dir);
    expect(Date.parse(again.installedAt)).toBeGreaterThanOrEqual(Date.parse(first.installedAt));
    // A damaged install (its server deleted) is not a cache hit: it is installed again.
    rmSync(join(again.dir, 'valkey-server'));
    const repaired = await installValkey({ home, mirror: dirMirror, version: sys.version });
    expect(repaired.downloaded).toBe(true);
    expect(existsSync(join(repaired.dir, 'valkey-server'))).toBe(true);
    expect(await uninstallValkey(sys.version, { home })).toBe(true);
    expect(await listInstalled({ home })).toEqual([]);
    expect(await uninstallValkey(sys.version, { home })).toBe(false);
  });
});

describe.concurrent('resolveBinary', () => {
  it('finds the system valkey-server, valkey-cli and redis-server, validated with --version', async () => {
    const home = freshHome();
    const server = await resolveBinary({ home, providers: ['system'] });
    expect(server).toMatchObject({ provider: 'system', version: sys.version, name: 'valkey-server' });
    const redis = await resolveBinary({ name: 'redis-server', home, providers: ['system'] });
    expect(redis.info.flavor).toBe('redis');
    expect(redis.version).toMatch(/^7\./);
    const check = await resolveBinary({ name: 'valkey-check-rdb', home, providers: ['system'] });
    expect(check.version).toBe(sys.version);
  });

  it('prefers an installed build over PATH, unless the system one is asked for; looks at each folder once', async () => {
    const home = freshHome();
    const dirMirror = join(root, 'good');
    const installed = await installValkey({ home, mirror: dirMirror, version: sys.version });
    const cached = await resolveBinary({ home, version: sys.version, env: {}, offline: true });
    expect(cached).toMatchObject({ provider: 'cache', path: join(installed.dir, 'valkey-server') });
    expect(cached.reason).toMatch(/installed in the cache/);
    const system = await resolveBinary({ home, version: sys.version, env: {}, preferSystem: true });
    expect(system.provider).toBe('system');
    expect(system.reason).toMatch(/system's binary was asked for/);
    const viaEnv = await resolveBinary({
      home,
      env: { VALKEY_TOOLS_SYSTEM_BINARY: 'system' },
      offline: true,
    });
    expect(viaEnv.provider).toBe('system');
    // Nothing cached matches: the system's, saying so.
    const fallback = await resolveBinary({
      home: freshHome(),
      env: {},
      offline: true,
      providers: ['cache', 'system'],
    });
    expect(fallback.reason).toMatch(/no installed build matching any version is cached/);
    // A folder reached twice (PATH entry and a symlink to it) is looked at once.
    const link = join(work, 'same-folder');
    symlinkSync(sys.dir, link);
    const err = await expectError(
      resolveBinary({
        home: freshHome(),
        version: '6.2',
        providers: ['system'],
        systemDirs: [sys.dir, link],
      }),
    );
    const mentions = err.message.split('\n').filter((l) => /valkey-server is /.test(l));
    expect(mentions).toHaveLength(1);
  });

  it('honours an explicit path and VALKEY_TOOLS_SYSTEM_BINARY, refusing a wrong one loudly', async () => {
    const copy = join(work, 'custom', 'my-valkey');
    mkdirSync(join(work, 'custom'), { recursive: true });
    copyFileSync(sys.server, copy);
    execFileSync('chmod', ['+x', copy]);
    const viaEnv = await resolveBinary({ env: { VALKEY_TOOLS_SYSTEM_BINARY: copy }, home: freshHome() });
    expect(viaEnv).toMatchObject({ provider: 'explicit', path: copy });
    const wrongVersion = await expectError(resolveBinary({ path: copy, version: '7.2', home: freshHome() }));
    expect(wrongVersion.code).toBe('ERR_BINARY_INVALID');
    expect(wrongVersion.message).toMatch(`is ${sys.version}, not 7.2`);
    const missing = await expectError(resolveBinary({ path: join(work, 'nope'), home: freshHome() }));
    expect(missing.code).toBe('ERR_BINARY_NOT_FOUND');
    const redisAsValkey = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    const flavor = await expectError(resolveBinary({ path: redisAsValkey, home: freshHome() }));
    expect(flavor.message).toMatch(/is redis 7\.\d+\.\d+, not valkey/);
  });

  it('keeps the download error code and adds what was tried before it', async () => {
    const { mirror } = isolatedMirror();
    const err = await expectError(
      resolveBinary({
        home: freshHome(),
        version: '7.2',
        mirror,
        providers: ['system', 'cache', 'download'],
        ...fast,
      }),
    );
    expect(err.code).toBe('ERR_UNKNOWN_VERSION');
    expect(err.message).toMatch(`has no Valkey 7.2 for ${key}`);
    expect(err.message).toMatch(`Before downloading, tried:`);
    expect(err.message).toMatch(`system: ${sys.dir}/valkey-server is ${sys.version}, not 7.2`);
    expect(err.hint).toMatch(`It offers ${sys.version}`);
  });

  it('skips a system binary of another version and says so', async () => {
    const err = await expectError(
      resolveBinary({ home: freshHome(), version: '7.2', providers: ['system', 'cache'] }),
    );
    expect(err.code).toBe('ERR_BINARY_NOT_FOUND');
    expect(err.message).toMatch(`system: ${sys.dir}/valkey-server is ${sys.version}, not 7.2`);
    expect(err.message).toMatch(/cache: no Valkey 7\.2/);
  });
});
