/**
 * Live backups into the readable (.txt) and JSONL formats, and db/match/type filters, judged on the
 * server key by key (type, DEBUG DIGEST-VALUE, PEXPIRETIME, XINFO STREAM FULL): a filtered backup
 * restores exactly the keys the filter selects, each one exactly as the source holds it, and
 * nothing else.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  countTypes,
  type KeyspaceKey,
  type KeyspaceState,
  keyspaceState,
  pickKeys,
  type TestServer,
  buildDataset,
  serverPool,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupOptions, backup } from '../src/live/backup.js';
import { restore } from '../src/restore/restore.js';

const work = mkdtempSync(join(tmpdir(), 'vt-live-per-key-'));
const ALL_TYPES = ['hash', 'list', 'set', 'stream', 'string', 'zset'];
let pool: Awaited<ReturnType<typeof serverPool>>;
let source: TestServer;
let sourceState: KeyspaceState;

beforeAll(async () => {
  pool = await serverPool(4, { 'repl-diskless-sync-delay': 0 });
  source = pool.take();
  await buildDataset(source.url, { big: 300 });
  sourceState = await keyspaceState(source);
});

afterAll(async () => {
  await pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A target emptied before each use (the pool is small: servers are reused). */
const targets = () => {
  const list = [pool.take(), pool.take(), pool.take()];
  let next = 0;
  return async () => {
    const t = list[next++ % list.length]!;
    await t.command('FLUSHALL');
    await t.command('FUNCTION', 'FLUSH');
    return t;
  };
};
let emptyTarget: () => Promise<TestServer>;
beforeAll(() => {
  emptyTarget = targets();
});

async function backupAndRestore(name: string, options: Omit<BackupOptions, 'url' | 'output'>) {
  const output = join(work, name);
  const made = await backup({ url: source.url, output, ...options });
  const target = await emptyTarget();
  const restored = await restore({ input: output, url: target.url });
  expect(restored.errorCount).toBe(0);
  return { made, restored, output, target, state: await keyspaceState(target) };
}

describe('readable text and JSONL live backups, judged per key', () => {
  for (const mode of ['scan', 'replication'] as const) {
    for (const ext of ['txt', 'jsonl'] as const) {
      it(`${mode} into .${ext}: every key of every db comes back with its digest, expiry and stream state`, async () => {
        // Replication into text writes plain commands (XCLAIM, XGROUP CREATECONSUMER), which set a
        // consumer's seen/active time to the time of the restore: the one thing they cannot carry.
        const view = mode === 'replication' && ext === 'txt' ? { ignoreConsumerTimes: true } : {};
        const { made, restored, output, target } = await backupAndRestore(`all-${mode}.${ext}`, { mode });
        expect(made.format).toBe(ext === 'txt' ? 'readable' : 'jsonl');
        // The file really is the format asked for (not an RDB or RESP stream under another name).
        const head = readFileSync(output).subarray(0, 200).toString('latin1');
        if (ext === 'jsonl') expect(() => JSON.parse(head.split('\n')[0]!)).not.toThrow();
        else expect(head).toMatch(/^ECHO "valkey-tools resp 1 /);
        expect(restored.keys).toBe(Object.keys(sourceState).length);
        expect(await keyspaceState(target, view)).toEqual(await keyspaceState(source, view));
        expect(await target.command('DEBUG', 'DIGEST')).toBe(await source.command('DEBUG', 'DIGEST'));
      });
    }
  }
});

interface FilterCase {
  name: string;
  filter: Pick<BackupOptions, 'db' | 'match' | 'type'>;
  /** The same selection, written out in the test (not by the code under test). */
  selects: (k: KeyspaceKey) => boolean;
  /** Types the selection must contain, so the case cannot pass on an empty or one-type set. */
  types: string[];
}

const cases: FilterCase[] = [
  { name: 'db 5', filter: { db: 5 }, selects: (k) => k.db === 5, types: ALL_TYPES },
  {
    name: 'match *i* (every type, some keys of each db left out)',
    filter: { match: '*i*' },
    selects: (k) => k.key.includes('i'),
    types: ALL_TYPES,
  },
  { name: 'type stream', filter: { type: 'stream' }, selects: (k) => k.type === 'stream', types: ['stream'] },
  {
    name: 'db 1, match *:expiring:*, type hash',
    filter: { db: 1, match: '*:expiring:*', type: 'hash' },
    selects: (k) => k.db === 1 && k.key.includes(':expiring:') && k.type === 'hash',
    types: ['hash'],
  },
];

describe('db, match and type filters, judged per key', () => {
  for (const c of cases) {
    for (const [mode, ext] of [
      ['scan', 'txt'],
      ['replication', 'jsonl'],
    ] as const) {
      it(`backup ${mode} --${c.name}: exactly the selected keys, each as on the source`, async () => {
        const want = pickKeys(sourceState, c.selects);
        expect(Object.keys(want).length).toBeGreaterThan(0);
        expect(Object.keys(countTypes(want)).sort()).toEqual(c.types);
        // Some keys are left out, so "exactly" means something.
        expect(Object.keys(want).length).toBeLessThan(Object.keys(sourceState).length);
        const { made, state } = await backupAndRestore(`filtered-${mode}-${cases.indexOf(c)}.${ext}`, {
          mode,
          ...c.filter,
        });
        expect(made.keys).toBe(Object.keys(want).length);
        expect(state).toEqual(want);
      });
    }

    it(`restore --${c.name} from a full backup: exactly the selected keys, each as on the source`, async () => {
      const want = pickKeys(sourceState, c.selects);
      const full = join(work, 'full-for-restore-filters.valkey');
      await backup({ url: source.url, output: full, mode: 'scan' });
      const target = await emptyTarget();
      const r = await restore({ input: full, url: target.url, ...c.filter });
      expect(r).toMatchObject({ keys: Object.keys(want).length, errorCount: 0 });
      expect(await keyspaceState(target)).toEqual(want);
    });
  }
});
