import { readFileSync, rmSync } from 'node:fs';
import {
  createTestCertificates,
  freePort,
  startTestServer,
  type TestCertificates,
  type TestServer,
  tlsServerConfig,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newValkeyIndex } from '../src/valkey-index.js';

describe('ValkeyIndex over TLS (valkeys://)', () => {
  let certs: TestCertificates;
  let server: TestServer;
  let tlsPort: number;

  beforeAll(async () => {
    certs = createTestCertificates();
    tlsPort = await freePort();
    server = await startTestServer({
      config: tlsServerConfig(certs, tlsPort, { authClients: false }),
    });
  });
  afterAll(async () => {
    await server?.stop();
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  it('connects with a private CA and works', async () => {
    const index = await newValkeyIndex({
      address: `valkeys://127.0.0.1:${tlsPort}`,
      tls: { ca: readFileSync(certs.caCert) },
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
