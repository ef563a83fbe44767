import { Cluster, Redis } from 'iovalkey';

/** A server as tests name it: a URL, a test server (its `url`), or an open iovalkey client. */
export type ServerTarget = string | { url: string } | Redis;

/**
 * Runs `fn` with a client of `target`: the given client (left on db 0 afterwards), or a new
 * connection that is closed afterwards.
 */
export async function withClient<T>(target: ServerTarget, fn: (client: Redis) => Promise<T>): Promise<T> {
  if (target instanceof Redis) {
    try {
      return await fn(target);
    } finally {
      await target.select(0);
    }
  }
  const client = new Redis(typeof target === 'string' ? target : target.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** Runs `fn` with a cluster client of `nodes` (once it is ready), closed afterwards. */
export async function withCluster<T>(
  nodes: Array<{ host: string; port: number }>,
  fn: (cluster: Cluster) => Promise<T>,
): Promise<T> {
  const cluster = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 0 } });
  try {
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', () => resolve());
      cluster.once('error', reject);
    });
    return await fn(cluster);
  } finally {
    cluster.disconnect();
  }
}
