import { bytesToText, inspectRdb, readRdbFile, verifyRdb } from '@valkey-tools/backup';

// #region verify
const check = await verifyRdb('dump.rdb');
if (!check.ok) throw new Error(`dump.rdb is damaged: ${check.error?.message}`);
// #endregion verify

// #region inspect
const report = await inspectRdb('dump.rdb', { top: 5 });
console.log(`${report.magic}${report.version}: ${report.keys} keys, ${report.expires} with an expiry`);
console.log(report.encodings); // { listpack: 812, quicklist2: 40, hashtable: 3, ... }
// #endregion inspect

// #region stream
// Records stream by one at a time with bounded memory; stop whenever you like.
for await (const record of readRdbFile('dump.rdb')) {
  if (record.kind !== 'key') continue;
  const name = bytesToText(record.key) ?? record.key.toString('hex');
  console.log(record.db, name, record.value.type, record.encoding, record.expiresAt ?? '');
}
// #endregion stream
