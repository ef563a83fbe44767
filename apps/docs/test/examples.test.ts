/**
 * Runs every program in examples/ against real servers, as a user would, and checks what it did
 * on the server (not only that it exited 0).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, runExample } from './run-example.ts';

let work: string;
const servers: TestServer[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'docs-examples-'));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(work, { recursive: true, force: true });
});

describe.concurrent('examples/', () => {
  it('generate-config.ts writes a valkey.conf that a real valkey-server runs as intended', async () => {
    const out = join(work, 'cache.conf');
    const run = await runExample('generate-config.ts', [out]);
    expect(run.code, describeRun(run)).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('maxmemory-policy allkeys-lfu');

    // The file as written must start a server with exactly those settings.
    const server = await startTestServer({ configFile: out });
    servers.push(server);
    expect(await server.command('CONFIG', 'GET', 'maxmemory-policy')).toContain('allkeys-lfu');
    expect(await server.command('CONFIG', 'GET', 'maxmemory')).toContain(String(512 * 1024 * 1024));
    expect(await server.command('CONFIG', 'GET', 'lazyfree-lazy-eviction')).toContain('yes');
    expect(await server.command('CONFIG', 'GET', 'client-output-buffer-limit')).toContain(
      `pubsub ${64 * 1024 * 1024} ${16 * 1024 * 1024} 60`,
    );
  });
});
