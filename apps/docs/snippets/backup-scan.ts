import { backup } from '@valkey-tools/backup';

// Managed services often refuse SYNC/PSYNC: read them with SCAN + DUMP instead. Filters apply.
const result = await backup({
  url: 'rediss://default:secret@cache.example.com:6380',
  output: 'sessions.valkey',
  mode: 'scan',
  match: 'session:*',
  db: 0,
  values: 'commands', // plain SET/RPUSH/HSET... commands, portable to any server version
  onProgress: (p) => console.error(`${p.keys}/${p.totalKeys ?? '?'} keys`),
});
console.log(`${result.keys} keys in ${result.elapsedMs} ms`);
