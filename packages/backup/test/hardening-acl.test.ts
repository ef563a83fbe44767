import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValkeyToolsError } from '@valkey-tools/core';
import {
  createTestCertificates,
  freePort,
  startTestServer,
  type TestCertificates,
  type TestServer,
  tlsServerConfig,
  buildDataset,
  serverState,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import { restore } from '../src/restore/restore.js';

/**
 * The minimal ACL rules documented in docs/security.md, proven on a real server: each backup and
 * restore mode works with exactly its rules, fails with a typed error when one needed command is
 * taken away, and the limited users cannot do anything else. Passwords never show in errors.
 */
export const ACL_RULES = {
  replication: 'resetkeys resetchannels -@all +ping +info +replconf +sync +psync',
  scan: 'resetchannels %R~* -@all +ping +info +select +scan +type +pttl +pexpiretime +dump +function|list',
  restore:
    'resetchannels ~* -@all +ping +info +select +exists +restore +set +mset +pexpireat +del +multi +exec +function|list +function|load',
} as const;

const PASSWORDS = { replication: 'Repl-pw.9f3Qz', scan: 'Scan-pw.7c1Kx', restore: 'Rest-pw.2b8Lm' };
const work = mkdtempSync(join(tmpdir(), 'vt-acl-'));
let source: TestServer;
let target: TestServer;
let certs: TestCertificates;
let sourceTls: number;
let targetTls: number;

async function setUser(server: TestServer, name: string, password: string, rules: string): Promise<void> {
  const reply = await server.command(
    'ACL',
    'SETUSER',
    name,
    'reset',
    'on',
    `>${password}`,
    ...rules.split(' '),
  );
  expect(reply).toBe('+OK\r\n');
}

const userUrl = (server: TestServer, user: string, password: string) =>
  `redis://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${server.host}:${server.port}`;

async function setAllUsers(): Promise<void> {
  await setUser(source, 'vt-repl', PASSWORDS.replication, ACL_RULES.replication);
  await setUser(source, 'vt-scan', PASSWORDS.scan, ACL_RULES.scan);
  await setUser(target, 'vt-restore', PASSWORDS.restore, ACL_RULES.restore);
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!err) throw new Error('expected a failure');
  expect(ValkeyToolsError.isInstance(err), String(err)).toBe(true);
  const text = `${String(err)} ${JSON.stringify((err as ValkeyToolsError).details ?? {})} ${(err as ValkeyToolsError).hint ?? ''} ${(err as Error).stack}`;
  for (const pw of Object.values(PASSWORDS)) expect(text).not.toContain(pw);
  return err as Error;
}

beforeAll(async () => {
  certs = createTestCertificates();
  [sourceTls, targetTls] = await Promise.all([freePort(), freePort()]);
  [source, target] = await Promise.all([
    startTestServer({ config: { 'repl-diskless-sync-delay': 0, ...tlsServerConfig(certs, sourceTls) } }),
    startTestServer({ config: tlsServerConfig(certs, targetTls) }),
  ]);
  await buildDataset(source.url, { big: 200 });
  await setAllUsers();
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  rmSync(work, { recursive: true, force: true });
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

describe('minimal ACL users (docs/security.md)', () => {
  it('replication and scan backups, and a restore, work with exactly the documented rules', async () => {
    const want = await serverState(source.url);
    for (const [mode, user, file] of [
      ['replication', 'vt-repl', 'repl.rdb'],
      ['scan', 'vt-scan', 'scan.valkey'],
    ] as const) {
      const output = join(work, file);
      const result = await backup({ url: userUrl(source, user, PASSWORDS[mode]), output, mode });
      // An RDB from replication is streamed through as is (keys are counted for the other formats).
      if (mode === 'scan') expect(result.keys).toBeGreaterThan(50);
      expect(result.bytesWritten).toBeGreaterThan(1000);
      await target.command('FLUSHALL');
      await target.command('FUNCTION', 'FLUSH');
      const restored = await restore({
        input: output,
        url: userUrl(target, 'vt-restore', PASSWORDS.restore),
      });
      expect(restored.errorCount).toBe(0);
      expect(await serverState(target.url), mode).toEqual(want);
    }
  });

  it('the same limited users back up and restore over TLS (rediss://, client certificate)', async () => {
    const want = await serverState(source.url);
    const tls = { ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey };
    const tlsUrl = (port: number, user: string, password: string) =>
      `rediss://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    for (const [mode, user, file] of [
      ['replication', 'vt-repl', 'tls-repl.rdb'],
      ['scan', 'vt-scan', 'tls-scan.jsonl'],
    ] as const) {
      const output = join(work, file);
      await backup({ url: tlsUrl(sourceTls, user, PASSWORDS[mode]), output, mode, tls });
      await target.command('FLUSHALL');
      await target.command('FUNCTION', 'FLUSH');
      const restored = await restore({
        input: output,
        url: tlsUrl(targetTls, 'vt-restore', PASSWORDS.restore),
        tls,
      });
      expect(restored.errorCount).toBe(0);
      expect(await serverState(target.url), `${mode} over TLS`).toEqual(want);
    }
  });

  it('the limited users can do nothing else (ACL DRYRUN on the server)', async () => {
    const denied = async (user: string, ...cmd: string[]) => {
      const reply = await (user === 'vt-restore' ? target : source).command('ACL', 'DRYRUN', user, ...cmd);
      // A real refusal names the user's missing permission (not "user not found" or a typo).
      expect(reply, `${user} ${cmd.join(' ')}`).toMatch(
        /^\$\d+\r\nUser \S+ has no permissions to (run|access)/,
      );
    };
    await denied('vt-repl', 'GET', 'k');
    await denied('vt-repl', 'FLUSHALL');
    await denied('vt-repl', 'CONFIG', 'SET', 'dir', '/tmp');
    await denied('vt-scan', 'SET', 'k', 'v');
    await denied('vt-scan', 'DEL', 'k');
    await denied('vt-scan', 'FLUSHALL');
    await denied('vt-scan', 'SYNC');
    await denied('vt-scan', 'KEYS', '*');
    await denied('vt-restore', 'FLUSHALL');
    await denied('vt-restore', 'GET', 'k');
    await denied('vt-restore', 'DUMP', 'k');
    await denied('vt-restore', 'CONFIG', 'GET', '*');
    await denied('vt-restore', 'SYNC');
  });

  it('taking away one needed command makes each mode fail with a typed error that names no password', async () => {
    try {
      await setUser(source, 'vt-repl', PASSWORDS.replication, `${ACL_RULES.replication} -sync -psync`);
      await failure(
        backup({
          url: userUrl(source, 'vt-repl', PASSWORDS.replication),
          output: join(work, 'denied.rdb'),
          idleTimeoutMs: 5000,
        }),
      );
      await setUser(source, 'vt-scan', PASSWORDS.scan, `${ACL_RULES.scan} -dump`);
      const scanErr = await failure(
        backup({
          url: userUrl(source, 'vt-scan', PASSWORDS.scan),
          output: join(work, 'denied.valkey'),
          mode: 'scan',
        }),
      );
      expect(String(scanErr)).toMatch(/NOPERM|permission|dump/i);
      await setUser(target, 'vt-restore', PASSWORDS.restore, `${ACL_RULES.restore} -restore -set -mset`);
      await target.command('FLUSHALL');
      const restoreErr = await restore({
        input: join(work, 'scan.valkey'),
        url: userUrl(target, 'vt-restore', PASSWORDS.restore),
      }).then(
        (r) => r,
        (e: unknown) => e,
      );
      const restoreText =
        JSON.stringify(restoreErr, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) + String(restoreErr);
      for (const pw of Object.values(PASSWORDS)) expect(restoreText).not.toContain(pw);
      if (ValkeyToolsError.isInstance(restoreErr)) expect(String(restoreErr)).toMatch(/NOPERM|permission/i);
      else expect((restoreErr as { errorCount: number }).errorCount).toBeGreaterThan(0);
      // No output file is left behind by the failed backups.
      expect(readdirSync(work).filter((f) => f.startsWith('denied'))).toEqual([]);
    } finally {
      await setAllUsers();
    }
  });

  it('wrong passwords fail as authentication errors and never echo the password', async () => {
    const wrong = 'Wr0ng-pw.zz41';
    for (const mode of ['replication', 'scan'] as const) {
      const err = await failure(
        backup({ url: userUrl(source, 'vt-scan', wrong), output: join(work, `wrong-${mode}.rdb`), mode }),
      );
      expect(`${String(err)}`).not.toContain(wrong);
      expect(String(err)).toMatch(/auth|password|WRONGPASS/i);
    }
    const err = await failure(
      restore({ input: join(work, 'scan.valkey'), url: userUrl(target, 'vt-restore', wrong) }),
    );
    expect(String(err)).not.toContain(wrong);
  });
});
