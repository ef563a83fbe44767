import { describe, expect, it } from 'vitest';
import { fromCygwinPath, toCygwinPath } from './cygwin.js';
import { CoreError, ValkeyToolsError } from './errors.js';
import { valkeyToolsHome, isOfflineEnv } from './paths.js';
import { detectPlatform, executableName, parsePlatformKey, platformKey } from './platform.js';
import {
  buildVersionMap,
  compareVersions,
  parseServerVersion,
  parseVersionSpec,
  resolveVersion,
  versionMatches,
} from './version.js';

describe('platform', () => {
  it('detects this machine as a supported target with libc on Linux', () => {
    const t = detectPlatform();
    expect(['darwin', 'linux', 'win32']).toContain(t.platform);
    expect(['x64', 'arm64']).toContain(t.arch);
    if (t.platform === 'linux') expect(t.libc).toBe('glibc');
    else expect(t.libc).toBeUndefined();
  });
  it('accepts overrides and builds keys', () => {
    expect(platformKey(detectPlatform({ platform: 'darwin', arch: 'arm64' }))).toBe('darwin-arm64');
    expect(detectPlatform({ platform: 'linux', arch: 'x64', libc: 'musl' }).libc).toBe('musl');
    expect(parsePlatformKey('win32-x64')).toEqual({ platform: 'win32', arch: 'x64' });
    expect(executableName('valkey-server', { platform: 'win32' })).toBe('valkey-server.exe');
    expect(executableName('valkey-server', { platform: 'linux' })).toBe('valkey-server');
  });
  it('refuses unsupported platforms and arches clearly', () => {
    expect(() => detectPlatform({ platform: 'freebsd' })).toThrow(/Unsupported platform "freebsd"/);
    expect(() => detectPlatform({ platform: 'linux', arch: 'ia32' })).toThrow(
      /Unsupported CPU architecture "ia32"/,
    );
    expect(() => parsePlatformKey('linux-amd64')).toThrow(/Invalid platform "linux-amd64".*linux-x64/);
  });
});

describe('version', () => {
  it('parses valkey-server --version output', () => {
    const v = parseServerVersion(
      'Valkey server v=8.0.1 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=abc123',
    );
    expect(v).toEqual({
      flavor: 'valkey',
      major: 8,
      minor: 0,
      patch: 1,
      version: '8.0.1',
      sha: '00000000',
      malloc: 'jemalloc-5.3.0',
      bits: 64,
    });
  });
  it('parses redis-server --version output', () => {
    const v = parseServerVersion(
      'Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=1',
    );
    expect(v).toMatchObject({ flavor: 'redis', version: '7.0.15' });
  });
  it('falls back to a looser pattern', () => {
    expect(parseServerVersion('valkey-server 9.0 (git build)').version).toBe('9.0.0');
    expect(parseServerVersion('Redis 6.2.14').version).toBe('6.2.14');
  });
  it('refuses output with no version', () => {
    expect(() => parseServerVersion('command not found')).toThrow(CoreError);
    expect(() => parseServerVersion('command not found')).toThrow(/no version number found/);
  });
  it('compares, matches and resolves', () => {
    expect(compareVersions('8.0.1', '8.0.10')).toBe(-1);
    expect(compareVersions('8.1', '8.0.9')).toBe(1);
    expect(compareVersions('8', '8.0.0')).toBe(0);
    expect(versionMatches('8.0.1', '8')).toBe(true);
    expect(versionMatches('8.0.1', '8.1')).toBe(false);
    expect(versionMatches('8.0.1', 'latest')).toBe(true);
    const known = ['7.2.5', '8.0.1', '8.0.2', '8.1.0'];
    expect(resolveVersion('8', known)).toBe('8.1.0');
    expect(resolveVersion('8.0', known)).toBe('8.0.2');
    expect(resolveVersion('latest', known)).toBe('8.1.0');
    expect(resolveVersion('9', known)).toBeUndefined();
    expect(buildVersionMap(known)).toMatchObject({
      '7': '7.2.5',
      '8': '8.1.0',
      '8.0': '8.0.2',
      latest: '8.1.0',
      '8.0.1': '8.0.1',
    });
  });
  it('refuses bad version specs', () => {
    expect(() => parseVersionSpec('eight')).toThrow(/not a version/);
    expect(() => parseVersionSpec('8.0.1.2')).toThrow(/not a version/);
  });
});

describe('cygwin paths', () => {
  it('converts drive paths both ways', () => {
    expect(toCygwinPath('C:\\Users\\foo\\valkey.conf')).toBe('/cygdrive/c/Users/foo/valkey.conf');
    expect(fromCygwinPath('/cygdrive/c/Users/foo/valkey.conf')).toBe('C:\\Users\\foo\\valkey.conf');
    expect(toCygwinPath('D:/data')).toBe('/cygdrive/d/data');
  });
  it('handles UNC and relative paths', () => {
    expect(toCygwinPath('\\\\server\\share\\dir')).toBe('//server/share/dir');
    expect(fromCygwinPath('//server/share/dir')).toBe('\\\\server\\share\\dir');
    expect(toCygwinPath('data\\dump.rdb')).toBe('data/dump.rdb');
    expect(fromCygwinPath('data/dump.rdb')).toBe('data\\dump.rdb');
  });
  it('refuses ambiguous paths clearly', () => {
    expect(() => toCygwinPath('C:foo')).toThrow(/drive-relative/);
    expect(() => toCygwinPath('\\\\server')).toThrow(/server and a share/);
    expect(() => toCygwinPath('\\\\?\\C:\\x')).toThrow(/device paths/);
    expect(() => toCygwinPath('')).toThrow(/empty/);
    expect(() => fromCygwinPath('/usr/bin')).toThrow(/cygdrive/);
  });
});

describe('errors', () => {
  it('recognizes errors across duplicated package copies by marker', () => {
    const e = new CoreError('ERR_INVALID_PATH', 'x', { details: { file: 'a' }, hint: 'do y' });
    expect(e.name).toBe('CoreError');
    expect(e.message).toBe('x. do y');
    expect(ValkeyToolsError.isInstance(e)).toBe(true);
    const foreign = Object.assign(new Error('copy'), {
      [Symbol.for('@valkey-tools/error')]: true,
      code: 'X',
    });
    expect(ValkeyToolsError.isInstance(foreign)).toBe(true);
    expect(ValkeyToolsError.isInstance(new Error('plain'))).toBe(false);
    expect(ValkeyToolsError.hasCode(e, 'ERR_INVALID_PATH')).toBe(true);
    const cause = new Error('root');
    expect(new ValkeyToolsError('E', 'm', { cause }).cause).toBe(cause);
    expect(e.toJSON()).toMatchObject({ code: 'ERR_INVALID_PATH', file: 'a' });
  });
});

describe('paths', () => {
  it('uses VALKEY_TOOLS_HOME when set', () => {
    expect(valkeyToolsHome({ VALKEY_TOOLS_HOME: '/x/y' })).toBe('/x/y');
    expect(valkeyToolsHome({})).toMatch(/\.valkey-tools$/);
    expect(isOfflineEnv({ VALKEY_TOOLS_OFFLINE: '1' })).toBe(true);
    expect(isOfflineEnv({})).toBe(false);
  });
});

describe('error classes', () => {
  class OtherError extends ValkeyToolsError<'ERR_OTHER'> {
    static override readonly errorName = 'OtherError';
  }
  it('isInstance and hasCode are exact per class; ValkeyToolsError takes any of ours', () => {
    const core = new CoreError('ERR_INVALID_URL', 'bad');
    const other = new OtherError('ERR_OTHER', 'x');
    expect(core.name).toBe('CoreError');
    expect(CoreError.isInstance(core)).toBe(true);
    expect(OtherError.isInstance(core)).toBe(false);
    expect(CoreError.isInstance(other)).toBe(false);
    expect(ValkeyToolsError.isInstance(core) && ValkeyToolsError.isInstance(other)).toBe(true);
    expect(CoreError.hasCode(core, 'ERR_INVALID_URL')).toBe(true);
    expect(OtherError.hasCode(core, 'ERR_INVALID_URL')).toBe(false);
    expect(ValkeyToolsError.hasCode(core, 'ERR_INVALID_URL')).toBe(true);
    // A copy from a second install of the package: same marker and name, another prototype.
    const copy = Object.assign(new Error('bad'), { name: 'CoreError', code: 'ERR_INVALID_URL' });
    (copy as unknown as Record<symbol, boolean>)[Symbol.for('@valkey-tools/error')] = true;
    expect(CoreError.isInstance(copy)).toBe(true);
    expect(OtherError.isInstance(copy)).toBe(false);
    expect(CoreError.isInstance(new Error('plain'))).toBe(false);
  });
});
