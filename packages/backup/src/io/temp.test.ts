import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { snapshotDir } from './temp.js';

const base = mkdtempSync(join(tmpdir(), 'vt-snapshot-dirs-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

it('makes a private dir and removes the ones a killed run left (never a live process’s)', async () => {
  // A pid that surely ended: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const left = join(base, `valkey-tools-snapshot-${dead}-abc123`);
  const live = join(base, `valkey-tools-snapshot-${process.ppid}-def456`);
  const other = join(base, 'something-else');
  for (const d of [left, live, other]) mkdirSync(d);
  const dir = await snapshotDir(base);
  expect(existsSync(left)).toBe(false);
  expect(existsSync(live)).toBe(true);
  expect(existsSync(other)).toBe(true);
  expect(dir.startsWith(join(base, `valkey-tools-snapshot-${process.pid}-`))).toBe(true);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect(readdirSync(base).sort()).toEqual([other, live, dir].map((d) => d.slice(base.length + 1)).sort());
});
