#!/usr/bin/env node
// The README's quick-start job: start a throwaway valkey-server, write sample data, read it back,
// and stop it, printing what it did. Grows with the packages (backup + restore once they land).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Valkey from 'iovalkey';

const log = (msg) => console.log(`[quickstart] ${msg}`);
const bin = execFileSync('sh', ['-c', 'command -v valkey-server'], { encoding: 'utf8' }).trim();
log(`using ${bin} (${execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()})`);

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'valkey-quickstart-'));
const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''], {
  stdio: 'ignore',
});
const client = new Valkey({ port, host: '127.0.0.1', retryStrategy: (n) => (n > 50 ? null : 50) });
let stopping = false;
client.on('error', (err) => {
  if (!stopping) console.error(`[quickstart] ${err.message}`);
});
try {
  await client.ping();
  log(`started valkey-server on redis://127.0.0.1:${port} (pid ${child.pid})`);
  await client.set('greeting', 'hello from @valkey-tools');
  await client.hset('user:1', { name: 'Ada', lang: 'en' });
  await client.rpush('queue', 'a', 'b', 'c');
  await client.zadd('scores', 1.5, 'x', -0, 'y');
  log(`wrote 4 keys: ${(await client.keys('*')).sort().join(', ')}`);
  log(`read back greeting = ${JSON.stringify(await client.get('greeting'))}`);
} finally {
  stopping = true;
  await client.quit().catch(() => client.disconnect());
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  log('stopped the server and removed its data dir');
}
