import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@valkey-tools/core';
import {
  type SentinelTopology,
  type TestServer,
  buildDataset,
  rawCommandSync,
  serverGroup,
  serverState,
  startSentinelTopology,
  waitFor,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import { migrate } from '../src/migrate/migrate.js';
import { restore } from '../src/restore/restore.js';
import type { RestoreProgress } from '../src/restore/types.js';

const SERVER_PASSWORD = 'srv-secret-9';
const SENTINEL_PASSWORD = 'sen-secret-7';
const KEYS = 200_000;

const work = mkdtempSync(join(tmpdir(), 'vt-sentinel-'));
const servers = serverGroup();
let topo: SentinelTopology;
let source: TestServer;
let dataset: string;

const nodeUrl = (s: TestServer) => `redis://:${SERVER_PASSWORD}@127.0.0.1:${s.port}/0`;

/** Waits until every replica has what the primary has (WAIT for all of them). */
async function replicated(): Promise<void> {
  const primary = await topo.primary();
  const c = topo.client(primary);
  try {
    await waitFor('the replicas to catch up', async () => Number(await c.call('WAIT', '2', '1000')) === 2);
  } finally {
    c.disconnect();
  }
}

async function emptyTopology(): Promise<void> {
  await topo.settled();
  const c = topo.client(await topo.primary());
  try {
    await c.flushall();
  } finally {
    c.disconnect();
  }
  await replicated();
}

/**
 * Pauses writes on the primary once the work has sent some keys and fails over meanwhile, so the
 * failover lands in the middle of it. The paused writes then go on once the new primary is
 * promoted, and end on the old one (which the Sentinels demote some 10 s later); or, with
 * `untilDemoted`, stay paused until the old primary is demoted, which closes their connection.
 */
function failoverMidway(
  primary: TestServer,
  untilDemoted = false,
): {
  onProgress: (p: RestoreProgress) => void;
  done: () => Promise<void>;
} {
  let started: Promise<void> | undefined;
  let failure: unknown;
  return {
    onProgress: (p) => {
      if (started || p.keys < 20_000) return;
      // Paused right here, synchronously: the work cannot end before the failover, however
      // loaded the machine is. The pause holds the Sentinels' demotion of the old primary too:
      // with `untilDemoted` it runs out by itself (the demotion and our writes then go on together).
      const paused = rawCommandSync(
        primary.port,
        ['CLIENT', 'PAUSE', untilDemoted ? '12000' : '60000', 'WRITE'],
        '127.0.0.1',
        60_000,
        SERVER_PASSWORD,
      );
      started = (async () => {
        expect(paused).toBe('+OK\r\n');
        const c = topo.client(primary);
        try {
          await topo.failover();
          if (untilDemoted) {
            await waitFor('the old primary to be demoted', async () => {
              const o = topo.client(primary);
              try {
                return /role:slave/.test(String(await o.info('replication')));
              } catch {
                return false;
              } finally {
                o.disconnect();
              }
            });
          } else await c.call('CLIENT', 'UNPAUSE').catch(() => {});
        } finally {
          c.disconnect();
        }
      })().catch((err) => {
        failure = err;
      });
    },
    done: async () => {
      expect(started, 'the failover was started mid-way').toBeDefined();
      await started;
      if (failure) throw failure;
    },
  };
}

beforeAll(async () => {
  [topo, source] = await Promise.all([
    startSentinelTopology({ password: SERVER_PASSWORD, sentinelPassword: SENTINEL_PASSWORD }),
    servers.start({ config: { 'repl-diskless-sync-delay': 0 } }),
  ]);
  await buildDataset(source.url);
  await source.command('DEBUG', 'POPULATE', KEYS, 'pop', 64);
  dataset = join(work, 'source.rdb');
  await backup({ url: source.url, output: dataset });
});

afterAll(async () => {
  await Promise.all([topo?.stop(), servers.stop()]);
  rmSync(work, { recursive: true, force: true });
});

describe('Sentinel URLs', () => {
  it('connect() finds the primary, or a replica, and names it', async () => {
    const primary = await topo.primary();
    const conn = await connect(topo.url);
    try {
      expect(conn.sentinel).toMatchObject({ name: 'mymaster', role: 'primary', port: primary.port });
      expect(conn.where).toContain(`(primary 127.0.0.1:${primary.port})`);
      expect(conn.where).not.toContain(SERVER_PASSWORD);
      expect(conn.where).not.toContain(SENTINEL_PASSWORD);
    } finally {
      await conn.close();
    }
    const replica = await connect(topo.url, { role: 'replica' });
    try {
      expect(replica.sentinel?.role).toBe('replica');
      expect(replica.sentinel?.port).not.toBe(primary.port);
      expect(String(await replica.client.info('replication'))).toContain('role:slave');
    } finally {
      await replica.close();
    }
  });

  it('says which name is wrong, and which Sentinel refused the password, without printing it', async () => {
    await expect(connect(topo.url.replace('/mymaster', '/other'))).rejects.toThrow(
      /no primary named "other" is monitored by the Sentinels .*\(they know: mymaster\)/,
    );
    const wrong = topo.url.replace(SENTINEL_PASSWORD, 'not-the-password');
    const err = await connect(wrong).catch((e: Error) => e);
    expect(String(err)).toMatch(/WRONGPASS|invalid username-password/);
    expect(String(err)).toContain(`127.0.0.1:${topo.sentinels[0]!.port}`);
    expect(String(err)).not.toContain('not-the-password');
    expect(JSON.stringify(err)).not.toContain('not-the-password');
  });
});

describe('backup and restore through Sentinels', () => {
  it('backs up the primary and a replica; each loads digest-equal to the primary', async () => {
    await emptyTopology();
    const r = await restore({ input: dataset, url: topo.url });
    expect(r.failovers).toBeUndefined();
    await replicated();
    const primary = await topo.primary();
    const expected = await serverState(nodeUrl(primary));
    expect(expected).toEqual(await serverState(source.url));

    for (const role of ['primary', 'replica'] as const) {
      const out = join(work, `from-${role}.rdb`);
      const result = await backup({ url: topo.url, output: out, role });
      expect(result.sentinel?.role).toBe(role);
      const read = topo.servers.find((s) => s.port === result.sentinel?.port)!;
      expect(read === primary).toBe(role === 'primary');
      expect(result.nodes).toEqual([`127.0.0.1:${read.port}`]);
      const fresh = await servers.start();
      await restore({ input: out, url: fresh.url });
      expect(await serverState(fresh.url)).toEqual(expected);
      // The .valkey header and messages name the node read, never a password.
      const text = join(work, `from-${role}.valkey`);
      await backup({ url: topo.url, output: text, role, mode: 'scan', match: 'no-such-key-*' });
      const head = readFileSync(text).subarray(0, 400).toString('latin1');
      expect(head).toContain(`(${role} 127.0.0.1:${read.port})`);
      expect(head).not.toContain(SERVER_PASSWORD);
      expect(head).not.toContain(SENTINEL_PASSWORD);
    }
  });

  it(`restores ${KEYS} keys through a failover in the middle: the new primary ends digest-equal`, async () => {
    await emptyTopology();
    const before = await topo.primary();
    const midway = failoverMidway(before);
    const seen: string[] = [];
    const result = await restore({
      input: dataset,
      url: topo.url,
      progressIntervalMs: 0,
      onProgress: midway.onProgress,
      onFailover: (f) => seen.push(`${f.from}->${f.to}`),
    });
    await midway.done();
    const after = await topo.primary();
    expect(after).not.toBe(before);
    expect(result.failovers?.length).toBeGreaterThanOrEqual(1);
    expect(result.failovers![0]).toMatchObject({
      from: `127.0.0.1:${before.port}`,
      to: `127.0.0.1:${after.port}`,
    });
    expect(seen[0]).toBe(`127.0.0.1:${before.port}->127.0.0.1:${after.port}`);
    expect(await serverState(nodeUrl(after))).toEqual(await serverState(source.url));
  });

  it('migrates a live server through a failover of the target that cuts it off: the new primary ends digest-equal', async () => {
    await emptyTopology();
    const before = await topo.primary();
    const midway = failoverMidway(before, true);
    const result = await migrate({
      from: source.url,
      to: topo.url,
      progressIntervalMs: 0,
      onProgress: midway.onProgress,
    });
    await midway.done();
    const after = await topo.primary();
    expect(after).not.toBe(before);
    expect(result.failovers?.[0]).toMatchObject({
      from: `127.0.0.1:${before.port}`,
      to: `127.0.0.1:${after.port}`,
    });
    expect(await serverState(nodeUrl(after))).toEqual(await serverState(source.url));
  });
});
