import { describe, expect, it } from 'vitest';
import { manifestVersions, mergeManifests, parseManifest, resolveMirrorUrl } from './mirror.js';

const sha = 'a'.repeat(64);

describe('releases manifest', () => {
  it('parses, lists versions per platform and merges', () => {
    const m = parseManifest(
      JSON.stringify({
        databases: {
          valkey: {
            '8.0.1': { platforms: { 'linux-x64': { url: 'valkey/8.0.1/a.tar.gz', sha256: sha, size: 10 } } },
            '8.1.0': { platforms: { 'darwin-arm64': { url: 'https://x/b.tar.gz', sha256: sha, size: 10 } } },
          },
          redis: { '7.0.15': {} },
        },
      }),
    );
    expect(manifestVersions(m)).toEqual(['8.0.1', '8.1.0']);
    expect(manifestVersions(m, 'linux-x64')).toEqual(['8.0.1']);
    const merged = mergeManifests(m, {
      databases: {
        valkey: { '8.0.1': { platforms: { 'linux-arm64': { url: 'c', sha256: sha, size: 1 } } } },
      },
    });
    expect(Object.keys(merged.databases.valkey!['8.0.1']!.platforms).sort()).toEqual([
      'linux-arm64',
      'linux-x64',
    ]);
    expect(merged.databases.redis).toEqual({ '7.0.15': {} });
  });
  it('names the broken field', () => {
    expect(() => parseManifest('{')).toThrow(/not valid JSON/);
    expect(() => parseManifest('{"x":1}')).toThrow(/no "databases" object/);
    expect(() =>
      parseManifest(
        JSON.stringify({
          databases: { valkey: { '8.0.1': { platforms: { 'linux-x64': { url: 'u', sha256: 'zz' } } } } },
        }),
      ),
    ).toThrow(/databases\.valkey\["8\.0\.1"\]\.platforms\["linux-x64"\]\.sha256/);
    expect(() =>
      parseManifest(JSON.stringify({ databases: { valkey: { nope: { platforms: {} } } } })),
    ).toThrow(/"nope" is not a version/);
  });
  it('resolves asset URLs against URL and directory mirrors', () => {
    expect(resolveMirrorUrl('http://h:1/m', 'valkey/a.tar.gz')).toBe('http://h:1/m/valkey/a.tar.gz');
    expect(resolveMirrorUrl('http://h:1/m/', 'https://cdn/a.tar.gz')).toBe('https://cdn/a.tar.gz');
    expect(resolveMirrorUrl('/srv/mirror', 'valkey/a.tar.gz')).toBe('/srv/mirror/valkey/a.tar.gz');
  });
});
