import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestServer, encodeCommand, startTestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, runCli, tempDir } from './helpers.js';

/**
 * Passwords never appear in anything the built CLI prints: stdout, stderr, --json, --verbose
 * stack traces, with the right password and with a wrong one, for every command taking a URL.
 */
const PASSWORD = 'Sup3r-S3cret.pw%x';
const WRONG = 'Wr0ng-S3cret.pw';
const tmp = tempDir('secrets');
let server: TestServer;
let dumpFile: string;

/** Every spelling of a secret that would give it away. */
const spellings = (s: string) => [
  s,
  encodeURIComponent(s),
  Buffer.from(s).toString('base64'),
  s.slice(0, 10),
];

const urlWith = (user: string, password: string) =>
  `redis://${user}:${encodeURIComponent(password)}@127.0.0.1:${server.port}`;

beforeAll(async () => {
  // No diskless-sync delay: each replication backup would wait 5 s for others to join.
  [server] = await Promise.all([startTestServer({ config: { 'repl-diskless-sync-delay': 0 } }), buildCli()]);
  await server.command('SET', 'k1', 'v1');
  await server.command('HSET', 'h', 'f', 'v');
  await server.command('ACL', 'SETUSER', 'alice', 'on', `>${PASSWORD}`, '~*', '+@all');
  await server.command('CONFIG', 'SET', 'requirepass', PASSWORD);
  dumpFile = join(tmp.dir, 'seed.valkey');
  writeFileSync(dumpFile, encodeCommand(['SET', 'k2', 'v2']));
}, BUILD_TIMEOUT_MS + 5000);

afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

describe('no password in CLI output', () => {
  it('backup, restore and connect with right and wrong passwords, plain, --json and --verbose', {
    timeout: 600_000,
  }, async () => {
    const runs: Array<{ args: string[]; ok: boolean }> = [];
    for (const [user, password, ok] of [
      ['default', PASSWORD, true],
      ['alice', PASSWORD, true],
      ['default', WRONG, false],
      ['alice', WRONG, false],
    ] as const) {
      const url = urlWith(user, password);
      for (const extra of [[], ['--json'], ['--verbose']]) {
        const n = runs.length;
        runs.push(
          { args: ['backup', '--url', url, '-o', join(tmp.dir, `b${n}.rdb`), ...extra], ok },
          {
            args: ['backup', '--url', url, '--mode', 'scan', '-o', join(tmp.dir, `b${n}.valkey`), ...extra],
            ok,
          },
          { args: ['restore', dumpFile, '--url', url, '--replace', ...extra], ok },
        );
      }
      runs.push({ args: ['connect', '--url', url, '--', 'GET', 'k1'], ok });
    }
    // A few at a time: 40 CLI processes at once on a loaded 2-core machine race their timeouts.
    const results: Awaited<ReturnType<typeof runCli>>[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < runs.length) {
          const i = next++;
          results[i] = await runCli(runs[i]!.args);
        }
      }),
    );
    for (const [i, result] of results.entries()) {
      const { args, ok } = runs[i]!;
      const label = args.map((a) => a.replace(/\/\/[^@]*@/, '//…@')).join(' ');
      const output = result.stdout + result.stderr;
      if (ok) expect(result.code, `${label}\n${output}`).toBe(0);
      else {
        // `connect` hands over to valkey-cli, which exits 0 after printing the refused AUTH.
        if (args[0] !== 'connect') expect(result.code, `${label}\n${output}`).not.toBe(0);
        // The user learns what went wrong: authentication, not a generic failure.
        expect(output, label).toMatch(/auth|password|WRONGPASS/i);
        // ...and where a CLI user gives the password (not the library's option names).
        if (args[0] !== 'connect') expect(output, label).toContain('--password-file FILE / --user NAME');
      }
      for (const secret of [...spellings(PASSWORD), ...spellings(WRONG)]) {
        expect(output.includes(secret), `${label} printed the password:\n${output}`).toBe(false);
      }
      if (args.includes('--json')) expect(() => JSON.parse(result.stdout), label).not.toThrow();
    }
  });
});
