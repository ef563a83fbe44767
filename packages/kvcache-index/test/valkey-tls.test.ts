import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestServer, freePort, startTestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newValkeyIndex } from '../src/valkey-index.js';

describe('ValkeyIndex over TLS (valkeys://)', () => {
  let dir: string;
  let server: TestServer;
  let tlsPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kv-tls-'));
    const f = (name: string) => join(dir, name);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=test-ca',
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.crt'),
    );
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      f('server.key'),
      '-out',
      f('server.csr'),
    );
    writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    ssl(
      'x509',
      '-req',
      '-in',
      f('server.csr'),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f('ext.cnf'),
      '-out',
      f('server.crt'),
    );
    tlsPort = await freePort();
    server = await startTestServer({
      config: {
        'tls-port': tlsPort,
        'tls-cert-file': f('server.crt'),
        'tls-key-file': f('server.key'),
        'tls-ca-cert-file': f('ca.crt'),
        'tls-auth-clients': 'no',
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects with a private CA and works', async () => {
    const index = await newValkeyIndex({
      address: `valkeys://127.0.0.1:${tlsPort}`,
      tls: { ca: readFileSync(join(dir, 'ca.crt')) },
      keyPrefix: 'tls',
    });
    try {
      await index.add([1n], [2n], [{ pod: 'p', tier: 'gpu' }], { model: 'm' });
      expect([...(await index.lookup([2n], undefined, { model: 'm' })).keys()]).toEqual([2n]);
    } finally {
      await index.close();
    }
  });

  it('refuses a server certificate it cannot verify, and TLS options on a plain address', async () => {
    await expect(
      newValkeyIndex({ address: `valkeys://127.0.0.1:${tlsPort}`, connectTimeoutMs: 3000 }),
    ).rejects.toMatchObject({ code: 'ERR_CONNECTION', message: expect.stringMatching(/certificate/) });
    await expect(newValkeyIndex({ address: server.url, tls: { rejectUnauthorized: false } })).rejects.toThrow(
      /not a TLS address/,
    );
  });
});
