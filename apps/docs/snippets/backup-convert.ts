import { convert } from '@valkey-tools/backup';

// Streams from one format to another without a server; filters apply.
const result = await convert({ input: 'dump.rdb', output: 'users.jsonl', match: 'user:*' });
console.log(`${result.keys} keys, ${result.from} → ${result.to}, ${result.bytesWritten} bytes`);
