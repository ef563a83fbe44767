import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCertificates, freePort, type TestServer, startTestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, parseJson, runCli, tempDir } from './helpers.js';

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
      'port=7777',
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

  it('checks --set like start and config check: a misspelled directive or a bad value exits 2 and writes nothing', async () => {
    const out = join(tmp.dir, 'never.conf');
    const r = await runCli(['config', 'init', '-o', out, '--set', 'maxmemroy=1gb', '--set', 'hz=abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('maxmemroy: unknown directive. Did you mean maxmemory?');
    expect(r.stderr).toContain('hz: "abc" is not an integer');
    expect(existsSync(out)).toBe(false);
  });

  it('takes a one-string value (a password) literally, quotes and spaces included, and never echoes it', async () => {
    const secret = 'pa ss"w\'rd';
    const r = await runCli(['config', 'init', '--set', `masterauth=${secret}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    // The server reads it back as exactly that string.
    const conf = join(tmp.dir, 'secret.conf');
    writeFileSync(conf, r.stdout);
    const server = await startTestServer({ configFile: conf });
    try {
      const reply = await server.command('CONFIG', 'GET', 'masterauth');
      expect(reply).toBe(`*2\r\n$10\r\nmasterauth\r\n$${Buffer.byteLength(secret)}\r\n${secret}\r\n`);
    } finally {
      await server.stop();
    }
    const unbalanced = await runCli(['config', 'init', '--set', `bind=127.0.0.1 "${secret}`]);
    expect(unbalanced.code).toBe(2);
    expect(unbalanced.stderr).toContain('unbalanced quotes');
    expect(unbalanced.stderr).not.toContain("w'rd");
  });

  it('--json: the config inside JSON on stdout, or what was written with -o', async () => {
    const r = await runCli(['config', 'init', '--preset', 'cache', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = parseJson<{ preset: string; output: null; config: string }>(r);
    expect(j.preset).toBe('cache');
    expect(j.config).toMatch(/^maxmemory-policy allkeys-lru$/m);
    const out = join(tmp.dir, 'json.conf');
    const w = await runCli(['config', 'init', '-o', out, '--json']);
    expect(w.code, w.stderr).toBe(0);
    expect(parseJson(w)).toMatchObject({ preset: 'spindb-default', output: out });
    expect(parseJson<{ bytes: number }>(w).bytes).toBe(readFileSync(out).length);
  });

  it('the tls preset takes its files from --tls-cert/--tls-key/--tls-ca, and the server runs with them', async () => {
    const certs = createTestCertificates();
    const tlsPort = await freePort();
    const out = join(tmp.dir, 'tls.conf');
    const r = await runCli([
      'config',
      'init',
      '--preset',
      'tls',
      '--tls-cert',
      certs.serverCert,
      '--tls-key',
      certs.serverKey,
      '--tls-ca',
      certs.caCert,
      '--tls-port',
      String(tlsPort),
      '-o',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const server = await startTestServer({ configFile: out });
    try {
      expect(await server.command('CONFIG', 'GET', 'tls-port')).toContain(`\r\n${tlsPort}\r\n`);
      expect(await server.command('CONFIG', 'GET', 'tls-auth-clients')).toContain('yes');
    } finally {
      await server.stop();
    }
    const missing = await runCli(['config', 'init', '--preset', 'tls']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--preset tls needs --tls-cert FILE and --tls-key FILE');
  });

  it('cannot be used to inject a second directive', async () => {
    const r = await runCli(['config', 'init', '--set', 'masterauth=x\nport 1', '--set', 'port=7777']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^port 7777$/m);
    expect(r.stdout).not.toMatch(/^port 1$/m);
  });
});

describe.concurrent('config check', () => {
  it('passes a valid file with exit 0 and reports every problem with file:line and exit 1', async () => {
    const good = join(tmp.dir, 'good.conf');
    writeFileSync(good, 'port 6379\nmaxmemory 100mb\nsave 900 1\n');
    const bad = join(tmp.dir, 'bad.conf');
    writeFileSync(bad, 'port 6379\nmaxmemroy 100mb\nappendonly maybe\nport 6380\n');
    const [ok, okJson, broken, brokenJson, missing] = await Promise.all([
      runCli(['config', 'check', good]),
      runCli(['config', 'check', good, '--json']),
      runCli(['config', 'check', bad]),
      runCli(['config', 'check', bad, '--json']),
      runCli(['config', 'check', join(tmp.dir, 'nope.conf')]),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('0 errors');
    expect(parseJson(okJson)).toMatchObject({ valid: true, errors: 0, directives: 3 });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/bad\.conf:2.*maxmemroy.*maxmemory/);
    expect(broken.stdout).toMatch(/bad\.conf:3.*appendonly/);
    expect(broken.stdout).toMatch(/bad\.conf:4.*port/);
    const body = parseJson<{
      valid: boolean;
      errors: number;
      issues: Array<{ line: number; directive: string; severity: string }>;
    }>(brokenJson);
    expect(brokenJson.code).toBe(1);
    expect(body.valid).toBe(false);
    expect(body.issues.map((i) => i.line)).toEqual(expect.arrayContaining([2, 3, 4]));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Cannot read config file');
  });
});

describe('config diff', () => {
  it('exits 0 when the server matches, 1 listing each difference', async () => {
    const live = await startTestServer({ config: { maxmemory: '10mb' } });
    try {
      const same = join(tmp.dir, 'same.conf');
      writeFileSync(same, 'maxmemory 10mb\n');
      const differs = join(tmp.dir, 'differs.conf');
      writeFileSync(differs, 'maxmemory 20mb\nhz 10\nmaxmemory-policy allkeys-lru\n');
      const [ok, diff, json, down] = await Promise.all([
        runCli(['config', 'diff', same, '--url', live.url]),
        runCli(['config', 'diff', differs, '--url', live.url]),
        runCli(['config', 'diff', differs, '--url', live.url, '--json']),
        runCli(['config', 'diff', same, '--url', 'redis://:pw@127.0.0.1:1']),
      ]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('matches the server');
      expect(diff.code).toBe(1);
      expect(diff.stdout).toMatch(/differs\.conf:1: maxmemory: file "20971520", server "10485760"/);
      expect(diff.stdout).toMatch(/differs\.conf:3: maxmemory-policy/);
      expect(diff.stdout).not.toMatch(/: hz:/);
      const body = parseJson<{ same: boolean; differences: Array<{ directive: string; line: number }> }>(
        json,
      );
      expect(body.same).toBe(false);
      expect(body.differences.map((d) => d.directive).sort()).toEqual(['maxmemory', 'maxmemory-policy']);
      expect(down.code).toBe(1);
      expect(down.stderr).not.toContain(':pw@');
      expect(down.stderr).toMatch(/127\.0\.0\.1:1 failed: connect ECONNREFUSED/);
      expect(down.stderr).not.toContain('Connection is closed');
      const usage = await runCli(['config', 'diff', same]);
      expect(usage.code).toBe(2);
      // A server value the file is silent about (a restart with the file would lose it).
      const silent = join(tmp.dir, 'silent.conf');
      writeFileSync(silent, 'hz 10\n');
      const [drift, driftJson, fileOnly] = await Promise.all([
        runCli(['config', 'diff', silent, '--url', live.url]),
        runCli(['config', 'diff', silent, '--url', live.url, '--json']),
        runCli(['config', 'diff', silent, '--url', live.url, '--file-only']),
      ]);
      expect(drift.code).toBe(1);
      expect(drift.stdout).toMatch(/maxmemory: not in the file \(default "0"\), server "10485760"/);
      expect(parseJson<{ differences: unknown[] }>(driftJson).differences).toEqual([
        expect.objectContaining({ directive: 'maxmemory', kind: 'drift', actual: '10485760' }),
      ]);
      expect(fileOnly.code, fileOnly.stdout).toBe(0);
    } finally {
      await live.stop();
    }
  });
});
