/**
 * Aborting a scan backup while the server does not answer (CLIENT PAUSE): the abort must not wait
 * for the server. Before the fix the backup sat on its pending SCAN/DUMP until the pause ended.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import { BackupError } from '../src/errors.js';

const work = mkdtempSync(join(tmpdir(), 'vt-live-abort-'));
let source: TestServer;

beforeAll(async () => {
  source = await startTestServer();
  expect(await source.command('DEBUG', 'POPULATE', '100000', 'key', '50')).toBe('+OK\r\n');
});

afterAll(async () => {
  // A paused server still stops on SIGTERM (CLIENT UNPAUSE would itself wait for the pause).
  await source?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('abort of a scan backup from a server that stopped answering', () => {
  it('rejects with ERR_ABORTED without waiting for the server, and writes nothing', async () => {
    const out = join(work, 'paused.valkey');
    const controller = new AbortController();
    let first: () => void;
    const flowing = new Promise<void>((r) => {
      first = r;
    });
    const running = backup({
      url: source.url,
      output: out,
      mode: 'scan',
      count: 100,
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (p.keys > 0) first();
      },
    }).catch((e: unknown) => e);
    await flowing;
    // Longer than the test's timeout: a backup that waits for the server fails this test by timing out.
    expect(await source.command('CLIENT', 'PAUSE', '600000', 'ALL')).toBe('+OK\r\n');
    controller.abort();
    const err = await running;
    expect(BackupError.hasCode(err, 'ERR_ABORTED'), String(err)).toBe(true);
    expect(String(err)).toContain(`backup of redis://127.0.0.1:${source.port}/0 was aborted`);
    expect(readdirSync(work)).toEqual([]);
  });
});
