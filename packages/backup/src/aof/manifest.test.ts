import { describe, expect, it } from 'vitest';
import { BackupError } from '../errors.js';
import { aofLoadOrder, parseAofManifest } from './manifest.js';

describe('AOF manifest', () => {
  it('parses the server format, quoted names included, and orders BASE then INCR', () => {
    const text = [
      'file appendonly.aof.2.base.rdb seq 2 type b',
      'file appendonly.aof.1.incr.aof seq 1 type h',
      'file appendonly.aof.3.incr.aof seq 3 type i',
      'file "my file.4.incr.aof" seq 4 type i',
      '',
    ].join('\n');
    const entries = parseAofManifest(text);
    expect(entries).toHaveLength(4);
    expect(aofLoadOrder(entries).map((e) => e.file)).toEqual([
      'appendonly.aof.2.base.rdb',
      'appendonly.aof.3.incr.aof',
      'my file.4.incr.aof',
    ]);
  });
  it('reports bad lines with their number', () => {
    let err: unknown;
    try {
      parseAofManifest('file a seq 1 type b\nfile b seq x type i\n', 'appendonly.aof.manifest');
    } catch (e) {
      err = e;
    }
    expect(BackupError.hasCode(err, 'ERR_AOF_MANIFEST')).toBe(true);
    expect(String(err)).toContain('appendonly.aof.manifest:2: missing or bad "seq"');
    expect(() => parseAofManifest('file ../x seq 1 type b')).toThrow(/must not contain a path/);
    expect(() => parseAofManifest('file a seq 1 type z')).toThrow(/unknown "type"/);
    expect(() => parseAofManifest('file a seq 1 type b\nfile b seq 2 type b')).toThrow(/more than one BASE/);
  });
});
