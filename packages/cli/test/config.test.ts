import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestServer, startTestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, runCli, tempDir } from './helpers.js';

const tmp = tempDir('config');
let server: TestServer | undefined;
afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});
beforeAll(() => buildCli(), BUILD_TIMEOUT_MS + 5000);

describe.concurrent('config init', () => {
  it('writes a preset with overrides to a file that valkey-server runs with', async () => {
    const file = join(tmp.dir, 'cache.conf');
    const r = await runCli([
      'config',
      'init',
      '--preset',
      'cache',
      '--set',
      'maxmemory=64mb',
      '--set',
      'save=900 1',
      '--set',
      'save=60 100',
      '--set',
      'port=0',
      '-o',
      file,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^maxmemory 64mb$/m);
    expect(text).toMatch(/^maxmemory-policy allkeys-lru$/m);
    expect(text).toMatch(/^save 900 1 60 100$/m);
    server = await startTestServer({ configFile: file });
    const reply = await server.command('CONFIG', 'GET', 'maxmemory');
    expect(reply).toContain(String(64 * 1024 * 1024));
    expect(await server.command('CONFIG', 'GET', 'maxmemory-policy')).toContain('allkeys-lru');
  });

  it('prints to stdout by default and never overwrites without --force', async () => {
    const r = await runCli(['config', 'init']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^daemonize yes$/m);
    const file = join(tmp.dir, 'exists.conf');
    writeFileSync(file, 'port 1\n');
    const refused = await runCli(['config', 'init', '-o', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('already exists. Pass --force');
    expect(readFileSync(file, 'utf8')).toBe('port 1\n');
    const forced = await runCli(['config', 'init', '-o', file, '--force', '--set', 'port=7777']);
    expect(forced.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^port 7777$/m);
  });

  it('rejects an unknown preset and a malformed --set with exit 2', async () => {
    const [preset, set] = await Promise.all([
      runCli(['config', 'init', '--preset', 'cahce']),
      runCli(['config', 'init', '--set', 'maxmemory']),
    ]);
    expect(preset.code).toBe(2);
    expect(preset.stderr).toContain('did you mean "cache"?');
    expect(set.code).toBe(2);
    expect(set.stderr).toContain('--set needs name=value, got "maxmemory"');
  });

  it('cannot be used to inject a second directive', async () => {
    const r = await runCli(['config', 'init', '--set', 'masterauth=x\nport 1', '--set', 'port=0']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/^port 1$/m);
  });
});
