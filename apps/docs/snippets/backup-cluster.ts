import { backup, restore } from '@valkey-tools/backup';

// Any node of a cluster is enough: every primary is read, into one file.
const saved = await backup({ url: 'redis://10.0.0.5:7000', output: 'cluster.rdb' });
console.log(`read ${saved.nodes.join(', ')}`);

// Into a cluster of another shape: each key is routed to the primary owning its slot.
await restore({ input: 'cluster.rdb', url: 'redis://10.0.1.9:7000', replace: true });

// Or into a single server (a cluster only has db 0; a standalone target keeps it in db 0 too).
await restore({ input: 'cluster.rdb', url: 'redis://127.0.0.1:6379', flush: true });
