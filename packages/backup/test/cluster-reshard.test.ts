import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildDataset,
  FAR_EXPIRY_MS,
  keyState,
  startTestCluster,
  startTestServer,
  type TestCluster,
  type TestClusterNode,
  type TestServer,
} from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySlot } from '../src/cluster/slot.js';
import { backup } from '../src/live/backup.js';
import { restore } from '../src/restore/restore.js';

// A restore into a cluster while slots move between its primaries (CLUSTER SETSLOT MIGRATING /
// IMPORTING, MIGRATE, SETSLOT NODE, by hand as `valkey-cli --cluster reshard` does): every key
// ends up once, on the node that owns its slot, equal to the source (DEBUG DIGEST-VALUE, expiry).
const work = mkdtempSync(join(tmpdir(), 'vt-reshard-'));
let source: TestServer;
let target: TestCluster;
const FILLER = 12_000;

beforeAll(async () => {
  [source, target] = await Promise.all([
    startTestServer(),
    startTestCluster({ primaries: 3, replicasPerPrimary: 0 }),
  ]);
  await buildDataset(source.url, { big: 300, dbs: [0], functions: false, prefix: 'rich:' });
  const c = new Redis(source.url);
  const pipe = c.pipeline();
  for (let i = 0; i < FILLER; i++) {
    const key = i % 7 === 0 ? `{tag${i % 50}}:k${i}` : `k:${i}`;
    if (i % 10 === 0) pipe.hset(`h:${i}`, 'a', String(i), 'b', 'x'.repeat(i % 40));
    else if (i % 13 === 0) pipe.set(key, `v${i}`, 'PXAT', FAR_EXPIRY_MS + i);
    else pipe.set(key, `value-${i}`);
  }
  await pipe.exec();
  c.disconnect();
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const client = (n: TestClusterNode) => new Redis({ host: n.host, port: n.port, maxRetriesPerRequest: 0 });

/** Slots of keys the source holds that `owner` serves (at most `n`). */
async function slotsOfKeys(owner: TestClusterNode, n: number): Promise<number[]> {
  const [first, last] = owner.slots!;
  const c = new Redis(source.url);
  const keys = (await c.keysBuffer('*')).sort(Buffer.compare);
  c.disconnect();
  const slots = new Set<number>();
  for (const k of keys) {
    const s = keySlot(k);
    if (s >= first && s <= last) slots.add(s);
    if (slots.size >= n) break;
  }
  return [...slots];
}

/**
 * Moves `slots` from `from` to `to` like a reshard: all are set MIGRATING/IMPORTING first (then
 * `ready` resolves), then one by one their keys are MIGRATEd and the slot given to `to`.
 */
function moveSlots(from: TestClusterNode, to: TestClusterNode, slots: number[]) {
  const src = client(from);
  const dst = client(to);
  const others = target.primaries.filter((p) => p !== from && p !== to).map(client);
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  const done = (async () => {
    try {
      for (const s of slots) {
        await dst.call('CLUSTER', 'SETSLOT', s, 'IMPORTING', from.nodeId);
        await src.call('CLUSTER', 'SETSLOT', s, 'MIGRATING', to.nodeId);
      }
      ready();
      let migrated = 0;
      for (const s of slots) {
        for (;;) {
          const keys = (await src.callBuffer('CLUSTER', 'GETKEYSINSLOT', s, 100)) as Buffer[];
          if (keys.length === 0) break;
          // No REPLACE: a key on both nodes (restored twice) would fail here.
          await src.callBuffer('MIGRATE', to.host, to.port, '', 0, 5000, 'KEYS', ...keys);
          migrated += keys.length;
        }
        await dst.call('CLUSTER', 'SETSLOT', s, 'NODE', to.nodeId);
        await src.call('CLUSTER', 'SETSLOT', s, 'NODE', to.nodeId);
        for (const o of others) await o.call('CLUSTER', 'SETSLOT', s, 'NODE', to.nodeId);
        // Let the restore run in between (its commands for moved slots are then refused: MOVED).
        await new Promise((r) => setTimeout(r, 2));
      }
      return migrated;
    } finally {
      for (const c of [src, dst, ...others]) c.disconnect();
    }
  })();
  return { ready: isReady, done };
}

async function restoreWhileMoving(input: string, from: number, to: number) {
  await Promise.all(target.primaries.map((n) => n.command('FLUSHALL')));
  const slots = await slotsOfKeys(target.primaries[from]!, 60);
  const move = moveSlots(target.primaries[from]!, target.primaries[to]!, slots);
  await Promise.race([move.ready, move.done]);
  const result = await restore({ input, url: target.seeds[2]!, maxInFlight: 256 });
  await move.done;
  return result;
}

describe('restore into a cluster while slots move', () => {
  it('an RDB (RESTORE of the values as the file has them): ASK and MOVED followed, every key once', async () => {
    const rdb = join(work, 'source.rdb');
    await backup({ url: source.url, output: rdb });
    const want = await keyState(source.url);
    const r = await restoreWhileMoving(rdb, 0, 1);
    const total = Object.keys(want.keys).length;
    expect(r).toMatchObject({ keys: total, errorCount: 0 });
    // Keys of the slots set MIGRATING before the restore started were refused by their old owner.
    expect(r.nodes.reduce((n, x) => n + x.redirected, 0)).toBeGreaterThan(0);
    expect(r.nodes.length).toBeGreaterThanOrEqual(3);
    expect(r.nodes.reduce((n, x) => n + x.keysHeld, 0)).toBe(total);
    expect(await keyState(target.primaries)).toEqual(want);
  }, 180_000);

  it('a command file (plain commands, a key spread over several): order kept across redirections', async () => {
    const file = join(work, 'source.valkey');
    await backup({ url: source.url, output: file, mode: 'scan', values: 'commands', batchSize: 16 });
    const want = await keyState(source.url, { ignoreConsumerTimes: true, ignoreLayout: true });
    const r = await restoreWhileMoving(file, 1, 2);
    expect(r).toMatchObject({ keys: Object.keys(want.keys).length, errorCount: 0 });
    expect(r.nodes.reduce((n, x) => n + x.redirected, 0)).toBeGreaterThan(0);
    expect(await keyState(target.primaries, { ignoreConsumerTimes: true, ignoreLayout: true })).toEqual(want);
  }, 180_000);
});
