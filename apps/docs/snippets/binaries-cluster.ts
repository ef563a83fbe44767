import { startCluster } from '@valkey-tools/binaries';
import { Cluster } from 'iovalkey';

// 3 primaries with 1 replica each, all 16384 slots assigned, cluster_state:ok on every node.
const cluster = await startCluster({
  name: 'it-cluster',
  primaries: 3,
  replicasPerPrimary: 1,
  basePort: 30000,
  onStatus: (step) => console.error(step),
});
try {
  const client = new Cluster(
    cluster.seeds.map((url) => new URL(url)).map((u) => ({ host: u.hostname, port: Number(u.port) })),
  );
  await client.set('{user:1}:name', 'Ada');
  console.log(await client.get('{user:1}:name'));
  client.disconnect();
} finally {
  await cluster.stop();
}
