import { freePort, startTestServer, type TestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError } from '@valkey-tools/core';
import { diffWithServer, parseConfig } from '../src/index.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ config: { maxmemory: '100mb', 'maxmemory-policy': 'allkeys-lru' } });
});
afterAll(async () => {
  await server?.stop();
});

describe('diffWithServer against a live valkey-server', () => {
  it('lists exactly the directives whose live value differs, by canonical name', async () => {
    const diff = await diffWithServer(
      {
        maxmemory: '100MB',
        'maxmemory-policy': 'allkeys-lfu',
        hz: 20,
        'hash-max-ziplist-entries': 512,
        'slave-read-only': false,
        daemonize: 'no',
      },
      server.url,
    );
    expect(diff.sort((a, b) => a.directive.localeCompare(b.directive))).toEqual([
      { directive: 'hz', expected: '20', actual: '10', settable: true, kind: 'config' },
      {
        directive: 'maxmemory-policy',
        expected: 'allkeys-lfu',
        actual: 'allkeys-lru',
        settable: true,
        kind: 'config',
      },
      { directive: 'replica-read-only', expected: 'no', actual: 'yes', settable: true, kind: 'config' },
    ]);
  });

  it('points at the file and line, and finds runtime drift from defaults when asked', async () => {
    await server.command('CONFIG', 'SET', 'slowlog-max-len', '999');
    const parsed = parseConfig('# tuned\nmaxmemory 100mb\nmaxmemory-samples 7\n', { file: 'prod.conf' });
    const diff = await diffWithServer(parsed, server.url, { drift: true });
    expect(diff).toContainEqual({
      directive: 'maxmemory-samples',
      expected: '7',
      actual: '5',
      file: 'prod.conf',
      line: 3,
      settable: true,
      kind: 'config',
    });
    expect(diff).toContainEqual({
      directive: 'slowlog-max-len',
      expected: '128',
      actual: '999',
      settable: true,
      kind: 'drift',
    });
    expect(diff).toContainEqual(
      expect.objectContaining({ directive: 'maxmemory-policy', kind: 'drift', actual: 'allkeys-lru' }),
    );
    expect(diff.find((d) => d.directive === 'maxmemory')).toBeUndefined();
  });

  it('fails with a ConnectionError that names the address and hides the password when the server cannot be reached', async () => {
    const port = await freePort();
    const err = await diffWithServer({ hz: 10 }, `redis://user:hunter2@127.0.0.1:${port}`).catch(
      (e: unknown) => e,
    );
    expect(ConnectionError.hasCode(err, 'ERR_CONNECTION')).toBe(true);
    expect(String((err as Error).message)).toContain(`127.0.0.1:${port}`);
    expect(String((err as Error).message)).not.toContain('hunter2');
  });
});
