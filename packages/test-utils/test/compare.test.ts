import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countTypes,
  keyspaceName,
  keyspaceState,
  pickKeys,
  startTestServer,
  type TestServer,
} from '../src/index.js';

let a: TestServer;
let b: TestServer;

async function fill(s: TestServer): Promise<void> {
  await s.command('FLUSHALL');
  await s.command('SET', 'str', 'v', 'PXAT', '4102444800000');
  await s.command('RPUSH', Buffer.from([0xff, 0x00, 0x0a]), 'x', 'y');
  await s.command('XADD', 'st', '1-1', 'f', 'v');
  await s.command('XGROUP', 'CREATE', 'st', 'g', '0');
  // Each command has its own connection: db 3 is reached from inside a script.
  await s.command('EVAL', "redis.call('SELECT', 3) redis.call('HSET', 'h', 'f', 'v') return 1", '0');
}

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(), startTestServer()]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('keyspaceState', () => {
  it('reads every key of every db: type, digest, absolute expiry, and streams in full', async () => {
    await fill(a);
    const state = await keyspaceState(a);
    expect(Object.keys(state)).toEqual([
      keyspaceName(0, 'st'),
      keyspaceName(0, 'str'),
      keyspaceName(0, Buffer.from([0xff, 0x00, 0x0a])),
      keyspaceName(3, 'h'),
    ]);
    expect(state[keyspaceName(0, 'str')]).toMatchObject({ type: 'string', expiresAt: 4102444800000 });
    expect(state[keyspaceName(3, 'h')]).toMatchObject({ db: 3, type: 'hash', expiresAt: -1 });
    expect(state[keyspaceName(0, 'st')]!.stream).toMatchObject({ length: 1, groups: [{ name: 'g' }] });
    expect(countTypes(state)).toEqual({ string: 1, list: 1, stream: 1, hash: 1 });
    expect(Object.keys(pickKeys(state, (k) => k.db === 3))).toEqual([keyspaceName(3, 'h')]);
    expect(Object.keys(await keyspaceState(`redis://127.0.0.1:${a.port}`, { dbs: [3] }))).toEqual([
      keyspaceName(3, 'h'),
    ]);
  });

  it('tells apart servers that differ only in a value, an expiry, a stream group or a db', async () => {
    await fill(a);
    const want = await keyspaceState(a);
    const differs = async (change: string[]) => {
      await fill(b);
      expect(await keyspaceState(b)).toEqual(want);
      await b.command(...change);
      expect(await keyspaceState(b)).not.toEqual(want);
    };
    await differs(['SET', 'str', 'w', 'KEEPTTL']);
    await differs(['PEXPIREAT', 'str', '4102444800001']);
    await differs(['XGROUP', 'SETID', 'st', 'g', '1-1']);
    await differs(['MOVE', 'str', '4']);
  });
});
