import { Redis } from 'iovalkey';

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
