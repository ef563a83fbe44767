import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@valkey-tools/test-utils';

/**
 * Starts `count` plain servers at once (startup in parallel keeps suites quick on a busy
 * machine); `take()` hands them out one by one.
 */
export async function serverPool(count: number, config: Record<string, string | number> = {}) {
  const servers = await Promise.all(Array.from({ length: count }, () => startTestServer({ config })));
  let next = 0;
  return {
    servers,
    take(): TestServer {
      const s = servers[next++];
      if (!s) throw new Error(`the server pool of ${count} is used up: raise its size`);
      return s;
    },
    stop: () => Promise.all(servers.map((s) => s.stop())),
  };
}

/** Makes a running server load an RDB file the way it loads at startup (`DEBUG RELOAD NOSAVE`). */
export async function loadRdb(server: TestServer, rdbPath: string): Promise<void> {
  copyFileSync(rdbPath, join(server.dir, 'dump.rdb'));
  const reply = await server.command('DEBUG', 'RELOAD', 'NOSAVE');
  if (!reply.startsWith('+OK')) throw new Error(`DEBUG RELOAD failed: ${reply}`);
}
