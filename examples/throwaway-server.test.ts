/**
 * Start a throwaway valkey-server for a test suite, and always stop it.
 *
 *   npx vitest run examples/throwaway-server.test.ts
 *
 * `startServer` finds a valkey-server (an explicit path, an installed build, the system, or a
 * verified download), writes its valkey.conf, picks the first free port from the one asked for, and
 * waits until the server answers PING. `stop()` shuts it down and `removeDirOnStop` deletes its
 * data; should this process die without stop(), the server is ended with it.
 */
import { type ServerHandle, startServer } from '@valkey-tools/binaries';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: ServerHandle;

beforeAll(async () => {
  server = await startServer({
    name: `example-${process.pid}`,
    port: 16379,
    preset: 'cache',
    config: { maxmemory: '64mb' },
    removeDirOnStop: true,
  });
});

afterAll(async () => {
  await server?.stop();
});

describe('a throwaway server', () => {
  it('answers on the URL it reports', async () => {
    expect(server.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+/);
    expect(await server.command('PING')).toBe('PONG');
  });

  it('runs with the config it was given', async () => {
    expect(await server.command('CONFIG', 'GET', 'maxmemory-policy')).toEqual([
      'maxmemory-policy',
      'allkeys-lru',
    ]);
    expect(await server.command('CONFIG', 'GET', 'maxmemory')).toEqual([
      'maxmemory',
      String(64 * 1024 * 1024),
    ]);
  });

  it('stores data', async () => {
    await server.command('SET', 'greeting', 'hello');
    expect(String(await server.command('GET', 'greeting'))).toBe('hello');
  });
});
