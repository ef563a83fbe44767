import { writeFile } from 'node:fs/promises';
import { analyzeRdbFile, analyzeServerMemory, memoryReportToHtml } from '@valkey-tools/backup';

// Where does the memory go? Per key, type, encoding, key prefix and expiry, estimated the way
// valkey-server 8.0 accounts it (MEMORY USAGE), in bounded memory whatever the file size.
const report = await analyzeRdbFile('dump.rdb', { top: 20 });
for (const row of report.topKeys) console.log(row);
await writeFile('memory.html', memoryReportToHtml(report, { title: 'dump.rdb' }));

// The same for a live server, from a replication snapshot streamed through the analyzer.
const live = await analyzeServerMemory('redis://127.0.0.1:6379');
console.log(live.totals);
