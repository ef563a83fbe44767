import { describe, expect, it, vi } from 'vitest';
import { KvCacheError } from './errors.js';
import { InMemoryIndex } from './in-memory-index.js';
import { KvCacheIndexer } from './indexer.js';
import { silentLogger } from './logger.js';
import { VllmEventPublisher } from './vllm-publisher.js';
import { type ZeromqModule, loadZeromq } from './zeromq.js';
import { KvEventSubscriber } from './zmq-subscriber.js';

// zeromq is an optional peer dependency: here it is "not installed".
vi.mock('zeromq', () => {
  throw Object.assign(new Error("Cannot find package 'zeromq' imported from kvcache-index"), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
});

const notFound = () =>
  Promise.reject(
    Object.assign(new Error("Cannot find package 'zeromq'"), { code: 'ERR_MODULE_NOT_FOUND' }),
  ) as Promise<ZeromqModule>;

describe('zeromq is optional: loaded only for vLLM KV events', () => {
  it('without it, loading says what to install (typed error with a hint)', async () => {
    const err = await loadZeromq(notFound).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KvCacheError);
    expect(err).toMatchObject({ code: 'ERR_MISSING_DEPENDENCY', details: { package: 'zeromq' } });
    expect((err as KvCacheError).message).toMatch(/"zeromq" is not installed/);
    expect((err as KvCacheError).hint).toMatch(/npm install zeromq/);
  });

  it('the index works without it; subscribing and publishing fail with ERR_MISSING_DEPENDENCY', async () => {
    const index = new InMemoryIndex();
    const indexer = new KvCacheIndexer({ index, logger: silentLogger });
    expect(await indexer.scoreTokens([1, 2, 3, 4], 'm')).toBeDefined();
    const subscriber = new KvEventSubscriber({
      endpoints: ['tcp://127.0.0.1:5557'],
      processor: indexer.createEventProcessor(),
      logger: silentLogger,
    });
    await expect(subscriber.start()).rejects.toMatchObject({ code: 'ERR_MISSING_DEPENDENCY' });
    await expect(
      VllmEventPublisher.bind({ endpoint: 'tcp://127.0.0.1:0', pod: 'p', model: 'm' }),
    ).rejects.toMatchObject({ code: 'ERR_MISSING_DEPENDENCY' });
  });

  it('a failed load is not cached: installing it later works without a restart', async () => {
    await expect(loadZeromq(notFound)).rejects.toThrow(KvCacheError);
    const fake = { Subscriber: class {} } as unknown as ZeromqModule;
    await expect(loadZeromq(async () => fake)).resolves.toBe(fake);
  });
});
