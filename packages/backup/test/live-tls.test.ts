import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startTestServer, type TestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import { BackupError } from '../src/resp/errors.js';
import { restore } from '../src/restore/restore.js';
import { serverState } from './helpers/compare.js';
import { buildDataset } from './helpers/dataset.js';

const work = mkdtempSync(join(tmpdir(), 'vt-tls-'));
const servers: TestServer[] = [];
let source: TestServer;
let target: TestServer;
let sourceTls: number;
let targetTls: number;
const pem = (name: string) => join(work, name);

function openssl(...args: string[]) {
  execFileSync('openssl', args, { cwd: work, stdio: 'pipe' });
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate (EC keys: quick). */
function makeCertificates() {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=vt-test-ca',
  );
  writeFileSync(pem('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${who}.key`,
      '-out',
      `${who}.csr`,
      '-subj',
      `/CN=${who}`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${who}.crt`,
      '-days',
      '1',
      '-extfile',
      'san.ext',
    );
  }
}

async function tlsServer(): Promise<{ server: TestServer; tlsPort: number }> {
  const tlsPort = await freePort();
  const server = await startTestServer({
    config: {
      'tls-port': tlsPort,
      'tls-cert-file': pem('server.crt'),
      'tls-key-file': pem('server.key'),
      'tls-ca-cert-file': pem('ca.crt'),
      'tls-auth-clients': 'yes',
      'tls-replication': 'yes',
      'repl-diskless-sync-delay': 0,
    },
  });
  servers.push(server);
  return { server, tlsPort };
}

beforeAll(async () => {
  makeCertificates();
  const [a, b] = await Promise.all([tlsServer(), tlsServer()]);
  ({ server: source, tlsPort: sourceTls } = a);
  ({ server: target, tlsPort: targetTls } = b);
  await buildDataset(source.url, { big: 300 });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
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
    expect(BackupError.isInstance(noCert)).toBe(true);
    const noCa = await backup({ url, output: join(work, 'y.valkey'), mode: 'scan' }).catch((e) => e);
    expect(BackupError.hasCode(noCa, 'ERR_CONNECTION')).toBe(true);
    expect(String(noCa)).toMatch(/certificate/i);
  });
});
