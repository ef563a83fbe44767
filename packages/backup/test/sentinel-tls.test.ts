import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@valkey-tools/core';
import {
  type SentinelTopology,
  buildDataset,
  createTestCertificates,
  serverGroup,
  serverState,
  startSentinelTopology,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-sentinel-tls-'));
const certs = createTestCertificates(work);
const tls = { ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey };
const servers = serverGroup();
let topo: SentinelTopology;

beforeAll(async () => {
  topo = await startSentinelTopology({ tls: certs, password: 'tls-srv-pw', sentinelPassword: 'tls-sen-pw' });
});

afterAll(async () => {
  await Promise.all([topo?.stop(), servers.stop()]);
  rmSync(work, { recursive: true, force: true });
});

it('reaches Sentinels and servers over TLS (valkeys+sentinel://): restore in, back up a replica out', async () => {
  expect(topo.url).toMatch(/^valkeys\+sentinel:\/\//);
  const source = await servers.start();
  await buildDataset(source.url);
  const file = join(work, 'source.rdb');
  await backup({ url: source.url, output: file });

  const r = await restore({ input: file, url: topo.url, tls });
  expect(r.errorCount).toBe(0);
  const primary = await topo.primary();
  const c = topo.client(primary);
  try {
    expect(Number(await c.call('WAIT', '2', '0'))).toBe(2);
  } finally {
    c.disconnect();
  }
  const expected = await serverState(`redis://:tls-srv-pw@127.0.0.1:${primary.port}/0`);
  expect(expected).toEqual(await serverState(source.url));

  const out = join(work, 'replica.rdb');
  const b = await backup({ url: topo.url, output: out, role: 'replica', tls });
  expect(b.sentinel?.role).toBe('replica');
  expect(b.sentinel?.port).not.toBe(topo.tlsPorts.get(primary.port));
  const fresh = await servers.start();
  await restore({ input: out, url: fresh.url });
  expect(await serverState(fresh.url)).toEqual(expected);
});

it('without the CA, the TLS failure names the Sentinel and says to check the TLS options', async () => {
  const err = await connect(topo.url).catch((e: Error) => e);
  expect(String(err)).toMatch(/certificate|self.signed/i);
  expect(String(err)).toContain(`127.0.0.1:${topo.sentinels[0]!.tlsPort}`);
  expect(String(err)).not.toContain('tls-sen-pw');
  expect(String(err)).not.toContain('tls-srv-pw');
});
