import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/index.js';

describe('startTestServer', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('starts a real valkey-server that answers, and stops it', async () => {
    const s = await startTestServer();
    servers.push(s);
    expect(await s.command('SET', 'k', 'v')).toBe('+OK\r\n');
    expect(await s.command('GET', 'k')).toBe('$1\r\nv\r\n');
    expect(await s.command('INFO', 'server')).toMatch(/valkey_version:8\./);
    await s.stop();
    expect(s.process.exitCode !== null || s.process.signalCode !== null).toBe(true);
    await expect(s.command('PING')).rejects.toThrow();
  });

  it('starts a real redis-server for migration tests', async () => {
    const s = await startTestServer({ flavor: 'redis' });
    servers.push(s);
    expect(await s.command('INFO', 'server')).toMatch(/redis_version:7\./);
    expect(await s.command('DEBUG', 'DIGEST')).toMatch(/^\+0{40}\r\n/);
  });

  it('runs servers side by side on distinct ports', async () => {
    const [a, b] = await Promise.all([startTestServer(), startTestServer()]);
    servers.push(a!, b!);
    expect(a!.port).not.toBe(b!.port);
  });
});
