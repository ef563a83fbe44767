import { afterEach, describe, expect, it } from 'vitest';
import {
  addKnownVersions,
  knownVersions,
  resetKnownVersions,
  resolveVersionSpec,
  versionMap,
} from './version-map.js';

afterEach(() => resetKnownVersions());

describe('version map', () => {
  it('maps majors, minors and latest to full versions', () => {
    const map = versionMap();
    expect(map['8.0']).toMatch(/^8\.0\.\d+$/);
    expect(map['8.0.1']).toBe('8.0.1');
    expect(map.latest).toBe(knownVersions().at(-1));
    expect(resolveVersionSpec('8.0')).toBe(map['8.0']);
    expect(resolveVersionSpec(undefined)).toBe(map.latest);
  });
  it('learns newer versions from a manifest', () => {
    addKnownVersions(['8.0.99', '99.1.0', 'junk-is-ignored'.replace(/.*/, '8.0.98')]);
    expect(resolveVersionSpec('8.0')).toBe('8.0.99');
    expect(resolveVersionSpec('latest')).toBe('99.1.0');
    resetKnownVersions();
    expect(resolveVersionSpec('latest')).not.toBe('99.1.0');
  });
  it('says which versions exist when none match', () => {
    expect(() => resolveVersionSpec('6')).toThrow(
      /No known Valkey version matches "6".*Known versions: 7\.2\.4/,
    );
    expect(() => resolveVersionSpec('8.0', ['7.2.4'])).toThrow(/Known versions: 7\.2\.4/);
    expect(() => resolveVersionSpec('eight')).toThrow(/not a version/);
  });
});
