import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { writeConfigFile } from './write.js';

const dir = mkdtempSync(join(tmpdir(), 'vt-config-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeConfigFile', () => {
  it('replaces the file atomically with mode 0600 and leaves no temporary file', () => {
    const file = join(dir, 'valkey.conf');
    writeFileSync(file, 'port 1\n', { mode: 0o644 });
    writeConfigFile(file, { port: 7000, requirepass: 's3cret' }, { header: false });
    expect(readFileSync(file, 'utf8')).toBe('port 7000\nrequirepass s3cret\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['valkey.conf']);
  });

  it('fails with a ConfigError naming the file', () => {
    const file = join(dir, 'missing-dir', 'valkey.conf');
    expect(() => writeConfigFile(file, 'port 1\n')).toThrow(ConfigError);
    expect(() => writeConfigFile(file, 'port 1\n')).toThrow(/missing-dir/);
  });
});
