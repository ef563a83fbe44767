#!/usr/bin/env node
// Online migration benchmark (`migrate({ follow: true })`): on two real valkey-servers,
//  1. the snapshot phase (PSYNC, snapshot restored into the target, until the stream is followed)
//     against the peer way of taking the same snapshot: `valkey-cli --rdb` then our restore of it;
//  2. the applied command rate against the source's write rate: valkey-benchmark writes as fast
//     as it can (SET, LPUSH, HSET, pipelined) while we follow; we report both rates, the highest
//     lag seen and how long the target took to catch up once the writes stopped.
// Prints one JSON object on stdout.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { migrate, restore } from '@valkey-tools/backup';
import { startServer } from '@valkey-tools/binaries';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    writes: { type: 'string', default: '1000000' },
    port: { type: 'string', default: '17480' },
  },
});
const keys = Number(values.keys);
const writes = Number(values.writes);
const port = Number(values.port);
const work = mkdtempSync(join(tmpdir(), 'bench-follow-'));
const cli = (url, ...args) => execFileSync('valkey-cli', ['-u', url, ...args], { encoding: 'utf8' }).trim();
const offsetOf = (url) => Number(/master_repl_offset:(\d+)/.exec(cli(url, 'INFO', 'replication'))?.[1] ?? 0);

const start = (name, p) =>
  startServer({
    name: `bench-follow-${name}-${process.pid}`,
    port: p,
    removeDirOnStop: true,
    config: { save: '', 'repl-diskless-sync-delay': 0, 'enable-debug-command': 'local' },
  });

const [source, target, peerTarget] = await Promise.all([
  start('source', port),
  start('target', port + 1),
  start('peer', port + 2),
]);
const result = { keys, writes };
try {
  cli(source.url, 'DEBUG', 'POPULATE', String(keys), 'key', '100');

  // 1. the peer: valkey-cli --rdb, then our restore of that file
  const rdb = join(work, 'peer.rdb');
  let t = process.hrtime.bigint();
  execFileSync('valkey-cli', ['-u', source.url, '--rdb', rdb], { stdio: 'ignore' });
  const peerRdbMs = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  await restore({ input: rdb, url: peerTarget.url });
  const peerRestoreMs = Number(process.hrtime.bigint() - t) / 1e6;

  // 2. ours: follow; the write load starts once the snapshot is restored
  const started = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
  let snapshotMs;
  let loadStart;
  let loadEnd;
  let caughtUp;
  let maxLag = 0;
  let bench;
  const stop = new AbortController();
  const migration = migrate({
    from: source.url,
    to: target.url,
    follow: true,
    signal: stop.signal,
    statusIntervalMs: 100,
    onFollow: (p) => {
      if (p.phase !== 'following') return;
      if (snapshotMs === undefined) {
        snapshotMs = ms();
        loadStart = ms();
        bench = spawn(
          'valkey-benchmark',
          [
            '-p',
            String(port),
            '-t',
            'set,lpush,hset',
            '-n',
            String(Math.ceil(writes / 3)),
            '-r',
            '100000',
            '-P',
            '32',
            '-c',
            '4',
            '-q',
          ],
          { stdio: 'ignore' },
        );
        bench.on('exit', () => {
          loadEnd = ms();
        });
      }
      if (loadEnd === undefined) maxLag = Math.max(maxLag, p.lagBytes);
      else if (p.lagBytes === 0 && caughtUp === undefined) {
        caughtUp = ms();
        stop.abort();
      } else maxLag = Math.max(maxLag, p.lagBytes);
    },
  });
  const done = await migration;
  const loadMs = loadEnd - loadStart;
  const applied = done.follow.applied;
  result.snapshot = {
    oursMs: Math.round(snapshotMs),
    peerMs: Math.round(peerRdbMs + peerRestoreMs),
    peerRdbMs: Math.round(peerRdbMs),
    peerRestoreMs: Math.round(peerRestoreMs),
    ratio: Number((snapshotMs / (peerRdbMs + peerRestoreMs)).toFixed(2)),
  };
  result.stream = {
    commandsApplied: applied,
    sourceWritesPerSecond: Math.round(applied / (loadMs / 1000)),
    appliedPerSecond: Math.round(applied / ((caughtUp - loadStart) / 1000)),
    maxLagBytes: maxLag,
    catchUpMs: Math.round(caughtUp - loadEnd),
    ratio: Number((loadMs / (caughtUp - loadStart)).toFixed(2)),
  };
  result.digestEqual = cli(source.url, 'DEBUG', 'DIGEST') === cli(target.url, 'DEBUG', 'DIGEST');
  result.offsetEqual = offsetOf(source.url) === done.follow.offset;
} finally {
  await Promise.all([source.stop(), target.stop(), peerTarget.stop()]);
  rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
