import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValkeyToolsError } from '@valkey-tools/core';
import { rawCommandSync, startTestServer, type TestServer, waitFor } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';

/**
 * Faults during live backups, with real processes: a backup killed with SIGKILL leaves no file
 * under the output name (only a hidden `.name.partial-*` temp file), and a connection the server
 * drops mid-backup (CLIENT KILL) is reported as a typed error naming the server, with no output.
 */
const work = mkdtempSync(join(tmpdir(), 'vt-faults-backup-'));
const KEYS = 150_000;
let server: TestServer;
const backupSource = fileURLToPath(new URL('../src/live/backup.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

beforeAll(async () => {
  server = await startTestServer({ config: { 'repl-diskless-sync-delay': 0 } });
  // DEBUG POPULATE makes the keys server-side: enough data that a backup takes a while.
  expect(await server.command('DEBUG', 'POPULATE', String(KEYS), 'key', '200')).toBe('+OK\r\n');
});

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('backup under faults', () => {
  it('kill -9 of a backup process in progress leaves nothing under the output name', async () => {
    for (const [mode, name] of [
      ['scan', 'killed.valkey'],
      ['replication', 'killed.jsonl'],
    ] as const) {
      const dir = join(work, mode);
      rmSync(dir, { recursive: true, force: true });
      const output = join(dir, name);
      const script = join(work, `run-${mode}.mts`);
      writeFileSync(
        script,
        `import { mkdirSync } from 'node:fs';\nimport { backup } from ${JSON.stringify(backupSource)};\n` +
          `mkdirSync(${JSON.stringify(dir)}, { recursive: true });\n` +
          `await backup({ url: ${JSON.stringify(server.url)}, output: ${JSON.stringify(output)}, mode: '${mode}' });\n`,
      );
      const child = spawn(
        process.execPath,
        ['--conditions=@valkey-tools/source', '--import', 'tsx', script],
        {
          cwd: repoRoot,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        stderr += c;
      });
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, sig) => r(sig)));
      // Kill it once the partial file has real data in it.
      await waitFor(
        `the ${mode} backup to write 64 KiB to its partial file`,
        () => {
          expect(child.exitCode, `the ${mode} backup ended before it could be killed: ${stderr}`).toBeNull();
          return (
            existsSync(dir) &&
            readdirSync(dir).some((f) => f.includes('.partial-') && statSync(join(dir, f)).size > 64 * 1024)
          );
        },
        { detail: () => stderr },
      );
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const left = readdirSync(dir);
      expect(left, mode).not.toContain(name);
      // Only hidden temp files (a replication backup into .jsonl also stages the snapshot as one:
      // `.NAME.partial-…`, whose own temp is `..NAME.partial-….partial-…`).
      expect(
        left.every((f) => f.startsWith('.') && f.includes(`${name}.partial-`)),
        left.join(' '),
      ).toBe(true);
      // The next backup there removes them (their process is gone) and leaves only its output.
      await backup({ url: server.url, output, mode });
      expect(readdirSync(dir), mode).toEqual([name]);
    }
  });

  it('a connection the server drops mid-backup is reported as a typed error naming the server', async () => {
    for (const [mode, type] of [
      ['scan', 'normal'],
      ['replication', 'replica'],
    ] as const) {
      const output = join(work, `dropped-${mode}.jsonl`);
      let killed: string | undefined;
      const outcome = await backup({
        url: server.url,
        output,
        mode,
        progressIntervalMs: 10,
        onProgress: (p) => {
          // Mid-backup: once data flows (not while the server is still making its snapshot, when
          // the connection is not a replica yet). Synchronously: the connection is gone before
          // the backup reads on.
          if (p.phase === 'waiting') return;
          killed ??= rawCommandSync(server.port, ['CLIENT', 'KILL', 'TYPE', type]);
        },
      }).then(
        (r) => r,
        (e: unknown) => e,
      );
      expect(killed, `${mode}: progress was reported before the end`).toBeDefined();
      expect(killed).toMatch(/^:[1-9]/);
      expect(ValkeyToolsError.isInstance(outcome), `${mode}: ${String(outcome)}`).toBe(true);
      expect((outcome as Error).message).toContain(`127.0.0.1:${server.port}`);
      expect((outcome as Error).message).toMatch(/clos|lost|reset|end|drop|disconnect/i);
      expect(existsSync(output)).toBe(false);
      expect(readdirSync(work).filter((f) => f.includes(`dropped-${mode}`))).toEqual([]);
    }
  });
});
