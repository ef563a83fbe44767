/**
 * `fetchLiveConfig` and `diffWithServer` through a Sentinel URL, on a real deployment (a primary,
 * two replicas, three Sentinels on loopback, server and Sentinel passwords): they read the
 * server the Sentinels name as the primary now, before and after a failover.
 */
import { type SentinelTopology, type TestServer, startSentinelTopology } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffWithServer, fetchLiveConfig } from '../src/index.js';

const SERVER_PASSWORD = 'cfg-srv-secret-4';
const SENTINEL_PASSWORD = 'cfg-sen-secret-6';

let topo: SentinelTopology;

beforeAll(async () => {
  topo = await startSentinelTopology({ password: SERVER_PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
});
afterAll(async () => {
  await topo?.stop();
});

/** Gives `server` its own `hz` (the others keep theirs), so a read tells which node answered. */
async function setHz(server: TestServer, hz: number): Promise<void> {
  const c = topo.client(server);
  try {
    await c.call('CONFIG', 'SET', 'hz', String(hz));
  } finally {
    c.disconnect();
  }
}

describe('config through Sentinels', () => {
  it("reads the primary's config, and another primary's after a failover", async () => {
    const primary = await topo.primary();
    for (const s of topo.servers) await setHz(s, s === primary ? 17 : 10);
    const live = await fetchLiveConfig(topo.url);
    expect(live.get('port')).toBe(String(primary.port));
    expect(live.get('hz')).toBe('17');
    expect(await diffWithServer({ hz: 17, 'maxmemory-policy': 'noeviction' }, topo.url)).toEqual([]);
    expect(await diffWithServer({ hz: 10 }, topo.url)).toEqual([
      { directive: 'hz', expected: '10', actual: '17', settable: true, kind: 'config' },
    ]);

    const { to } = await topo.failover();
    await setHz(to, 23);
    expect((await fetchLiveConfig(topo.url)).get('port')).toBe(String(to.port));
    expect(await diffWithServer({ hz: 17 }, topo.url)).toEqual([
      { directive: 'hz', expected: '17', actual: '23', settable: true, kind: 'config' },
    ]);
  });

  it('fails naming the Sentinel, not the password, when the Sentinel password is wrong', async () => {
    const wrong = topo.url.replace(SENTINEL_PASSWORD, 'cfg-not-the-password');
    const err = (await fetchLiveConfig(wrong).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`127.0.0.1:${topo.sentinels[0]!.port}`);
    expect(err.message).toMatch(/WRONGPASS|invalid username-password/);
    expect(`${err.message} ${JSON.stringify(err)}`).not.toContain('cfg-not-the-password');
  });
});
