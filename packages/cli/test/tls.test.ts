/**
 * TLS through the CLI (issue #23): backup, restore and connect against TLS-only valkey-servers that
 * ask for a client certificate (tls-auth-clients yes; the plain port closed), with --tls-ca,
 * --tls-cert and --tls-key; --tls-insecure against a certificate the client cannot verify, and the
 * same command failing clearly without it.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTestCertificates,
  freePort,
  keyspaceState,
  startTestServer,
  type TestCertificates,
  type TestServer,
  tlsServerConfig,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, parseJson, runCli, tempDir } from './helpers.js';

interface TlsOnly {
  server: TestServer;
  url: string;
}

const tmp = tempDir('tls');
let certs: TestCertificates;
let source: TlsOnly;
let target: TlsOnly;

/** A valkey-server that speaks only TLS: started on a plain port (for its readiness check), then closed. */
async function tlsOnlyServer(): Promise<TlsOnly> {
  const tlsPort = await freePort();
  const server = await startTestServer({
    config: { ...tlsServerConfig(certs, tlsPort, { replication: true }), 'repl-diskless-sync-delay': 0 },
  });
  expect(await server.command('CONFIG', 'SET', 'port', '0')).toBe('+OK\r\n');
  await expect(server.command('PING')).rejects.toThrow(/ECONNREFUSED/);
  return { server, url: `rediss://127.0.0.1:${tlsPort}` };
}

/** How the test itself talks to a TLS-only server: node:tls options with the client certificate. */
const clientTls = () => ({
  ca: readFileSync(certs.caCert),
  cert: readFileSync(certs.clientCert),
  key: readFileSync(certs.clientKey),
});
const stateOf = (s: TlsOnly) => keyspaceState(s.url, { tls: clientTls() });

async function call(s: TlsOnly, ...args: string[]): Promise<unknown> {
  const c = new Redis(s.url, { tls: clientTls(), maxRetriesPerRequest: 0 });
  try {
    return await c.call(args[0]!, ...args.slice(1));
  } finally {
    c.disconnect();
  }
}

/** Every type, an expiry, a stream with a group and a pending entry, in dbs 0 and 2. */
async function fill(s: TlsOnly): Promise<void> {
  const c = new Redis(s.url, { tls: clientTls(), maxRetriesPerRequest: 0 });
  try {
    for (const db of [0, 2]) {
      await c.select(db);
      await c.set('str', `v${db}`, 'PXAT', 4102444800000);
      await c.rpush('list', 'a', 'b');
      await c.sadd('set', 'x', 'y');
      await c.zadd('zset', 2, 'm');
      await c.hset('hash', 'f', 'v');
      await c.call('XADD', 'stream', '1-1', 'k', 'v');
      await c.call('XGROUP', 'CREATE', 'stream', 'g', '0');
      await c.call('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 'stream', '>');
    }
  } finally {
    c.disconnect();
  }
}

const tlsFiles = () => [
  '--tls-ca',
  certs.caCert,
  '--tls-cert',
  certs.clientCert,
  '--tls-key',
  certs.clientKey,
];

beforeAll(async () => {
  const certDir = join(tmp.dir, 'certs');
  mkdirSync(certDir);
  certs = createTestCertificates(certDir);
  [source, target] = await Promise.all([tlsOnlyServer(), tlsOnlyServer(), buildCli()]).then(
    ([a, b]) => [a, b] as [TlsOnly, TlsOnly],
  );
  await fill(source);
}, BUILD_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await Promise.all([source?.server.stop(), target?.server.stop()]);
  tmp.cleanup();
});

describe('backup and restore over TLS with a client certificate', () => {
  for (const [mode, file] of [
    ['replication', 'tls.rdb'],
    ['scan', 'tls.valkey'],
  ] as const) {
    it(`backup --mode ${mode} from a TLS-only server, restore into another: the same data, key by key`, async () => {
      const out = join(tmp.dir, file);
      const b = await runCli([
        'backup',
        '--url',
        source.url,
        '--mode',
        mode,
        '-o',
        out,
        ...tlsFiles(),
        '--json',
      ]);
      expect(b.code, b.stderr).toBe(0);
      expect(parseJson(b)).toMatchObject({ mode, keys: 12 });
      await call(target, 'FLUSHALL');
      const r = await runCli(['restore', out, '--url', target.url, ...tlsFiles(), '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(parseJson(r)).toMatchObject({ keys: 12, errorCount: 0 });
      const want = await stateOf(source);
      expect(Object.keys(want)).toHaveLength(12);
      expect(await stateOf(target)).toEqual(want);
      expect(await call(target, 'DEBUG', 'DIGEST')).toBe(await call(source, 'DEBUG', 'DIGEST'));
    });
  }

  it('fails clearly without the client certificate or the CA, writing nothing', async () => {
    const dir = join(tmp.dir, 'refused');
    mkdirSync(dir);
    const noCert = await runCli([
      'backup',
      '--url',
      source.url,
      '-o',
      join(dir, 'a.rdb'),
      '--tls-ca',
      certs.caCert,
    ]);
    expect(noCert.code).toBe(1);
    expect(noCert.stderr).toContain(source.url.replace('rediss://', ''));
    const noCa = await runCli([
      'backup',
      '--url',
      source.url,
      '--mode',
      'scan',
      '-o',
      join(dir, 'b.valkey'),
      '--tls-cert',
      certs.clientCert,
      '--tls-key',
      certs.clientKey,
    ]);
    expect(noCa.code).toBe(1);
    expect(noCa.stderr).toMatch(/certificate/i);
    expect(noCa.stderr).toMatch(/--tls-ca/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('connect over TLS', () => {
  it('runs valkey-cli with the CA and client certificate: PING answers PONG, the db in the URL is used', async () => {
    const ping = await runCli(['connect', '--url', source.url, ...tlsFiles(), '--', 'PING']);
    expect(ping.code, ping.stderr).toBe(0);
    expect(ping.stdout.trim()).toBe('PONG');
    const get = await runCli(['connect', '--url', `${source.url}/2`, ...tlsFiles(), '--', 'GET', 'str']);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout.trim()).toBe('v2');
  });
});

describe('config diff over TLS', () => {
  it('reads the live config with the CA and client certificate; without them it fails and says why', async () => {
    const file = join(tmp.dir, 'diff.conf');
    writeFileSync(file, 'maxmemory-policy noeviction\nhz 10\n');
    const diff = () =>
      runCli(['config', 'diff', file, '--url', source.url, ...tlsFiles(), '--file-only', '--json']);
    const same = await diff();
    expect(same.code, same.stderr).toBe(0);
    expect(parseJson(same)).toMatchObject({ same: true, differences: [] });
    await call(source, 'CONFIG', 'SET', 'hz', '25');
    try {
      const differs = await diff();
      expect(differs.code, differs.stderr).toBe(1);
      expect(parseJson(differs)).toMatchObject({
        same: false,
        differences: [{ directive: 'hz', expected: '10', actual: '25' }],
      });
    } finally {
      await call(source, 'CONFIG', 'SET', 'hz', '10');
    }
    const untrusted = await runCli(['config', 'diff', file, '--url', source.url, '--file-only']);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/certificate|TLS|SSL/i);
  });
});

describe('--tls-insecure', () => {
  // The client certificate is still given (the servers ask for one); the CA is not, so the client
  // cannot verify the server's certificate.
  const clientOnly = () => ['--tls-cert', certs.clientCert, '--tls-key', certs.clientKey];

  it('backup, restore and connect succeed with it, and fail clearly without it', async () => {
    const out = join(tmp.dir, 'insecure.valkey');
    const scanBackup = (...extra: string[]) =>
      runCli(['backup', '--url', source.url, '--mode', 'scan', '-o', out, ...clientOnly(), ...extra]);
    const refused = await scanBackup();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/self[- ]signed certificate|unable to verify|certificate/i);
    const b = await scanBackup('--tls-insecure');
    expect(b.code, b.stderr).toBe(0);

    await call(target, 'FLUSHALL');
    const notRestored = await runCli(['restore', out, '--url', target.url, ...clientOnly()]);
    expect(notRestored.code).toBe(1);
    expect(notRestored.stderr).toMatch(/certificate/i);
    expect(await call(target, 'DBSIZE')).toBe(0);
    const r = await runCli(['restore', out, '--url', target.url, ...clientOnly(), '--tls-insecure']);
    expect(r.code, r.stderr).toBe(0);
    expect(await stateOf(target)).toEqual(await stateOf(source));

    const noPing = await runCli(['connect', '--url', source.url, ...clientOnly(), '--', 'PING']);
    expect(noPing.code).not.toBe(0);
    expect(noPing.stdout + noPing.stderr).toMatch(/certificate verify failed/i);
    const ping = await runCli([
      'connect',
      '--url',
      source.url,
      ...clientOnly(),
      '--tls-insecure',
      '--',
      'PING',
    ]);
    expect(ping.code, ping.stderr).toBe(0);
    expect(ping.stdout.trim()).toBe('PONG');
  });
});
