#!/usr/bin/env node
// The README's quick-start job, on the real packages (built dist):
// start a throwaway valkey-server, write sample data of every type, back it up live over the
// replication protocol to a .valkey file, restore it into a second server, and prove both hold the
// same data with DEBUG DIGEST. Prints what it did; exits non-zero when anything differs.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup, restore } from '@valkey-tools/backup';
import { resolveBinary, startServer } from '@valkey-tools/binaries';
import Valkey from 'iovalkey';

const log = (msg) => console.log(`[quickstart] ${msg}`);
const home = mkdtempSync(join(tmpdir(), 'valkey-quickstart-'));
const opts = { home, port: 16379, removeDirOnStop: true, config: { 'enable-debug-command': 'local' } };

const bin = await resolveBinary({ name: 'valkey-server', home });
log(`valkey-server: ${bin.path} (v${bin.version}, found by the ${bin.provider} provider)`);
const source = await startServer({ ...opts, name: 'quickstart-source' });
const target = await startServer({ ...opts, name: 'quickstart-target' });
log(`started source ${source.url} and target ${target.url}`);
const src = new Valkey(source.url);
const dst = new Valkey(target.url);
try {
  await src.set('greeting', 'hello from @valkey-tools');
  await src.set(Buffer.from([0, 255, 13, 10]), Buffer.from([1, 2, 3, 0]));
  await src.hset('user:1', { name: 'Ada', lang: 'en' });
  await src.rpush('queue', 'a', 'b', 'c');
  await src.sadd('tags', 'x', 'y', '42');
  await src.zadd('scores', '1.5', 'x', '-0', 'y', 'inf', 'z');
  await src.xadd('events', '1-1', 'type', 'signup');
  await src.xgroup('CREATE', 'events', 'workers', '0');
  await src.set('session', 'expiring', 'PX', 3_600_000);
  await src.select(2);
  await src.set('in-db-2', 'yes');
  log('wrote 9 keys of every type (binary key, stream with a group, an expiry, a second db)');

  const file = join(home, 'backup.valkey');
  const b = await backup({ url: source.url, output: file, mode: 'replication' });
  log(
    `backed up ${b.keys} keys over replication to ${file} (${statSync(file).size} bytes, ${b.elapsedMs} ms)`,
  );
  const r = await restore({ input: file, url: target.url });
  log(`restored ${r.keys} keys into ${target.url} (${r.commands} commands, ${r.elapsedMs} ms)`);

  const [a, c] = await Promise.all([src.call('DEBUG', 'DIGEST'), dst.call('DEBUG', 'DIGEST')]);
  if (a !== c) throw new Error(`DEBUG DIGEST differs: source ${a}, restored ${c}`);
  log(`DEBUG DIGEST equal on both servers: ${a}`);
} finally {
  src.disconnect();
  dst.disconnect();
  await Promise.allSettled([source.stop(), target.stop()]);
  rmSync(home, { recursive: true, force: true });
  log('stopped both servers and removed their data');
}
