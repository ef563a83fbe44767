/**
 * Back up a running server and restore the backup into another one.
 *
 *   npx tsx examples/backup-restore.ts SOURCE_URL TARGET_URL [FILE]
 *   npx tsx examples/backup-restore.ts redis://127.0.0.1:6379 redis://127.0.0.1:6380 backup.valkey
 *
 * The backup is a consistent snapshot taken over the replication protocol (like
 * `valkey-cli --rdb`, no access to the server's disk needed), written as binary-safe RESP text
 * (`.valkey`; use `.rdb` or `.jsonl` for those formats). The restore streams it into the target
 * with a bounded pipeline. Every db, expiry, stream group and function comes along.
 */
import { backup, inspectRdb, restore } from '@valkey-tools/backup';
import { redactUrl } from '@valkey-tools/core';

const [source, target, file = 'backup.valkey'] = process.argv.slice(2);
if (!source || !target) {
  console.error('usage: backup-restore.ts SOURCE_URL TARGET_URL [FILE]');
  process.exit(2);
}

// 1. Back up. The file is written under a temporary name and renamed when complete, so an
//    interrupted backup never leaves a file that looks finished.
const saved = await backup({
  url: source,
  output: file,
  onProgress: (p) => process.stderr.write(`\rbackup: ${p.keys} keys, ${p.bytesReceived} bytes received`),
});
process.stderr.write('\n');
console.log(
  `backed up ${redactUrl(source)} to ${saved.output} (${saved.format}, ${saved.bytesWritten} bytes)`,
);

// An RDB backup can be looked into without a server.
if (saved.format === 'rdb') {
  const report = await inspectRdb(saved.output);
  console.log(`  ${report.keys} keys in RDB version ${report.version}`);
}

// 2. Restore. `replace` overwrites keys that already exist in the target (the default refuses);
//    re-running an interrupted restore with `replace` converges to the same data.
const loaded = await restore({
  input: saved.output,
  url: target,
  replace: true,
  onProgress: (p) => process.stderr.write(`\rrestore: ${p.keys} keys`),
});
process.stderr.write('\n');
console.log(
  `restored ${loaded.keys} keys and ${loaded.functions} function libraries into ${redactUrl(target)}`,
);
if (loaded.errorCount > 0) {
  for (const failure of loaded.errors) console.error(failure);
  process.exit(1);
}
