import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  addKnownVersions,
  knownVersions,
  resetKnownVersions,
  resolveVersionSpec,
  saveKnownVersions,
  versionMap,
} from './version-map.js';

// An empty cache root, so versions saved on this machine do not leak into the assertions.
const home = mkdtempSync(join(tmpdir(), 'vt-versions-'));
afterEach(() => resetKnownVersions());
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('version map', () => {
  it('maps majors, minors and latest to full versions', () => {
    const map = versionMap({ home });
    expect(map['8.0']).toMatch(/^8\.0\.\d+$/);
    expect(map['8.0.1']).toBe('8.0.1');
    expect(map.latest).toBe(knownVersions({ home }).at(-1));
    expect(resolveVersionSpec('8.0', undefined, { home })).toBe(map['8.0']);
    expect(resolveVersionSpec(undefined, undefined, { home })).toBe(map.latest);
  });
  it('learns newer versions from a manifest', () => {
    addKnownVersions(['8.0.99', '99.1.0', 'junk', '8.0.98']);
    expect(resolveVersionSpec('8.0', undefined, { home })).toBe('8.0.99');
    expect(resolveVersionSpec('latest', undefined, { home })).toBe('99.1.0');
    resetKnownVersions();
    expect(resolveVersionSpec('latest', undefined, { home })).not.toBe('99.1.0');
  });
  it('saves versions for later processes, per cache root', () => {
    saveKnownVersions(['8.0.97', 'junk'], { home, source: 'test' });
    resetKnownVersions();
    expect(knownVersions({ home })).toContain('8.0.97');
    expect(knownVersions({ home: join(home, 'other') })).not.toContain('8.0.97');
    rmSync(join(home, 'versions.json'));
  });
  it('says which versions exist when none match', () => {
    expect(() => resolveVersionSpec('6', undefined, { home })).toThrow(
      /No known Valkey version matches "6".*Known versions: 7\.2\.4/,
    );
    expect(() => resolveVersionSpec('8.0', ['7.2.4'])).toThrow(/Known versions: 7\.2\.4/);
    expect(() => resolveVersionSpec('eight', undefined, { home })).toThrow(/not a version/);
  });
});
