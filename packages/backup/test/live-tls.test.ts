import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestCertificates,
  freePort,
  type TestServer,
  tlsServerConfig,
  buildDataset,
  serverState,
  serverGroup,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import { ConnectionError } from '@valkey-tools/core';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-tls-'));
const certs = createTestCertificates(work);
const servers = serverGroup();
let source: TestServer;
let target: TestServer;
let sourceTls: number;
let targetTls: number;
const pem = (name: string) => join(work, name);

async function tlsServer(): Promise<{ server: TestServer; tlsPort: number }> {
  const tlsPort = await freePort();
  const server = await servers.start({
    config: {
      ...tlsServerConfig(certs, tlsPort, { replication: true }),
      'repl-diskless-sync-delay': 0,
    },
  });
  return { server, tlsPort };
}

beforeAll(async () => {
  const [a, b] = await Promise.all([tlsServer(), tlsServer()]);
  ({ server: source, tlsPort: sourceTls } = a);
  ({ server: target, tlsPort: targetTls } = b);
  await buildDataset(source.url, { big: 300 });
});

afterAll(async () => {
  await servers.stop();
  rmSync(work, { recursive: true, force: true });
});

const tls = () => ({ ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') });

describe('TLS (rediss://) with a client certificate', () => {
  it('backs up through replication and scan over TLS and restores over TLS', async () => {
    const url = `rediss://127.0.0.1:${sourceTls}`;
    const rdb = join(work, 'tls.rdb');
    await backup({ url, output: rdb, tls: tls() });
    expect(readFileSync(rdb).subarray(0, 5).toString()).toBe('REDIS');
    const resp = join(work, 'tls.valkey');
    const r = await backup({
      url,
      output: resp,
      tls: { ...tls(), ca: readFileSync(pem('ca.crt')) },
      mode: 'scan',
    });
    expect(r.keys).toBe(100);
    const restored = await restore({ input: resp, url: `rediss://127.0.0.1:${targetTls}`, tls: tls() });
    expect(restored.errorCount).toBe(0);
    expect(await serverState(target.url)).toEqual(await serverState(source.url));
  });

  it('fails clearly without the client certificate or with an unknown CA', async () => {
    const url = `rediss://127.0.0.1:${sourceTls}`;
    const noCert = await backup({ url, output: join(work, 'x.rdb'), tls: { ca: pem('ca.crt') } }).catch(
      (e) => e,
    );
    expect(ConnectionError.hasCode(noCert, 'ERR_CONNECTION')).toBe(true);
    const noCa = await backup({ url, output: join(work, 'y.valkey'), mode: 'scan' }).catch((e) => e);
    expect(ConnectionError.hasCode(noCa, 'ERR_CONNECTION')).toBe(true);
    expect(String(noCa)).toMatch(/certificate/i);
  });
});
