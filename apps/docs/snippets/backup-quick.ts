import { backup, restore } from '@valkey-tools/backup';

// A consistent snapshot over the replication protocol, written as binary-safe RESP text.
const saved = await backup({ url: 'redis://127.0.0.1:6379', output: 'snapshot.valkey' });
console.log(`${saved.keys} keys, ${saved.bytesWritten} bytes in ${saved.elapsedMs} ms`);

// Stream it into another server with a bounded pipeline; existing keys are overwritten.
const loaded = await restore({ input: 'snapshot.valkey', url: 'redis://127.0.0.1:6380', replace: true });
console.log(`restored ${loaded.keys} keys`);
