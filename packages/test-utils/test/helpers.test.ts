import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeCommand,
  ephemeralPortRange,
  freeClusterPorts,
  freePort,
  isCompleteReply,
  listenOnFreePort,
  parseReply,
  rawCommandSync,
  startTestServer,
  type TestServer,
  waitFor,
  withDeadline,
} from '../src/index.js';

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe('ports', () => {
  it('are reserved below the ephemeral range, with room for cluster bus ports', async () => {
    const [low] = ephemeralPortRange();
    const base = await freeClusterPorts(6);
    expect(base + 6 + 10_000).toBeLessThanOrEqual(low);
    const others = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const p of others) {
      expect(p).toBeLessThan(low);
      expect(p < base || p >= base + 6).toBe(true);
    }
    expect(new Set(others).size).toBe(others.length);
  });

  it('listenOnFreePort listens before it returns the port', async () => {
    const server = createServer((s) => s.end('hi'));
    const port = await listenOnFreePort(server);
    expect(server.listening).toBe(true);
    expect(server.address()).toMatchObject({ port });
    server.close();
  });
});

describe('waits', () => {
  it('waitFor resolves with the value, or fails saying what it waited for', async () => {
    let n = 0;
    expect(await waitFor('n to reach 3', () => ++n >= 3 && n)).toBe(3);
    await expect(
      waitFor('nothing', () => false, { timeoutMs: 50, detail: () => 'still false' }),
    ).rejects.toThrow(/^timed out after 50 ms waiting for nothing: still false$/);
  });

  it('withDeadline bounds a promise that never settles', async () => {
    let killed = false;
    await expect(
      withDeadline('a hang', new Promise(() => {}), { timeoutMs: 30, onTimeout: () => (killed = true) }),
    ).rejects.toThrow('timed out after 30 ms waiting for a hang');
    expect(killed).toBe(true);
    expect(await withDeadline('a value', Promise.resolve(7))).toBe(7);
  });
});

describe('RESP', () => {
  it('encodes commands and parses replies, complete or not', () => {
    expect(encodeCommand(['SET', 'k', 1, Buffer.from([0])]).toString('latin1')).toBe(
      '*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n$1\r\n\0\r\n',
    );
    const reply = '*3\r\n$1\r\na\r\n:5\r\n*-1\r\n';
    expect(parseReply(reply)).toEqual(['a', 5, null]);
    expect(isCompleteReply(reply)).toBe(true);
    for (let i = 0; i < reply.length; i++) expect(isCompleteReply(reply.slice(0, i)), `${i}`).toBe(false);
    expect(parseReply('-ERR no\r\n')).toEqual(new Error('ERR no'));
  });

  it('rawCommandSync has its effect before it returns', async () => {
    const s = await startTestServer();
    servers.push(s);
    expect(rawCommandSync(s.port, ['SET', 'k', 'v'])).toBe('+OK\r\n');
    expect(await s.command('GET', 'k')).toBe('$1\r\nv\r\n');
    expect(rawCommandSync(s.port, ['NOSUCHCOMMAND'])).toMatch(/^-ERR unknown command/);
  });
});
