/**
 * Score a prompt with the KV-cache index, fed by vLLM KV events over ZMQ.
 *
 *   npx tsx examples/kvcache-score.ts                          (index in memory)
 *   npx tsx examples/kvcache-score.ts valkey://127.0.0.1:6379  (index on a Valkey server)
 *
 * A ZMQ publisher stands in for two vLLM pods: it sends `BlockStored` events exactly as vLLM does
 * (topic `kv@<pod>@<model>`, 8-byte sequence, msgpack batch). The subscriber feeds them into the
 * index; then a new request that shares the cached prefix is scored per pod.
 */
import {
  blockStored,
  createIndex,
  encodeEventBatch,
  encodeSequence,
  formatTopic,
  KvCacheIndexer,
  KvEventSubscriber,
  silentLogger,
} from '@valkey-tools/kvcache-index';
import { Publisher } from 'zeromq';

const url = process.argv[2];
const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const BLOCK_SIZE = 16;

// 1. The index (in memory, or on Valkey: one round trip per lookup) and the router-side facade.
const index = await createIndex(
  url ? { valkeyConfig: { address: url, keyPrefix: 'example' } } : { inMemoryConfig: {} },
);
const indexer = new KvCacheIndexer({ index, tokenProcessor: { blockSize: BLOCK_SIZE } });
// A server may hold entries of these pods from an earlier run.
for (const pod of ['pod-a', 'pod-b']) await index.clear(pod);

// 2. A stand-in for vLLM's KV-event publisher (`--kv-events-config '{"publisher":"zmq",...}'`).
const publisher = new Publisher({ linger: 0 });
await publisher.bind('tcp://127.0.0.1:*');
const endpoint = publisher.lastEndpoint!;

// 3. The subscriber: ordered per pod, sequence gaps detected, malformed messages skipped.
const subscriber = new KvEventSubscriber({
  endpoints: [endpoint],
  processor: indexer.createEventProcessor(),
  logger: silentLogger,
});
await subscriber.start();

// ZMQ drops what is published before a subscription is live ("slow joiner"): warm up first.
for (let seq = 0n; subscriber.received === 0; seq++) {
  await publisher.send([formatTopic('warmup', MODEL), encodeSequence(seq), encodeEventBatch([])]);
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const before = subscriber.received;

// 4. pod-a holds the whole 64-token prompt (4 blocks) on GPU; pod-b its first 2 blocks, on CPU.
const prompt = Array.from({ length: 64 }, (_, i) => 1000 + i);
await publisher.send([
  formatTopic('pod-a', MODEL),
  encodeSequence(0),
  encodeEventBatch([
    blockStored({ blockHashes: [101n, 102n, 103n, 104n], tokenIds: prompt, blockSize: BLOCK_SIZE }),
  ]),
]);
await publisher.send([
  formatTopic('pod-b', MODEL),
  encodeSequence(0),
  encodeEventBatch([
    blockStored({
      blockHashes: [201n, 202n],
      tokenIds: prompt.slice(0, 32),
      blockSize: BLOCK_SIZE,
      medium: 'CPU',
    }),
  ]),
]);
while (subscriber.received < before + 2) await new Promise((resolve) => setTimeout(resolve, 10));
await subscriber.idle();

// 5. A new request: the same prompt plus a follow-up. Score = sum of tier weights over the
//    longest cached prefix (gpu 1.0, cpu 0.8 by default).
const request = [...prompt, 7, 8, 9];
const scores = await indexer.scoreTokens(request, MODEL);
const ranked = [...scores].sort((a, b) => b[1] - a[1]);
for (const [pod, score] of ranked) console.log(`${pod}\t${score}`);
console.log(`route to ${ranked[0]?.[0] ?? 'any pod (no cached prefix)'}`);

await subscriber.close();
publisher.close();
await indexer.close();
