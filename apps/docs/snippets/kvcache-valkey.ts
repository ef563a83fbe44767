import { defaultValkeyIndexConfig, KvCacheIndexer, newValkeyIndex } from '@valkey-tools/kvcache-index';

// The index on Valkey: valkey://, valkeys:// (TLS), redis://, rediss://, unix:// or host:port.
const index = await newValkeyIndex({
  ...defaultValkeyIndexConfig(),
  address: 'valkey://10.0.0.20:6379',
  keyPrefix: 'kv-prod', // several indexes can share one server
  ttlSeconds: 3600, // entries not refreshed by an event within an hour disappear
});
const indexer = new KvCacheIndexer({ index, tokenProcessor: { blockSize: 16, hashSeed: '' } });

const prompt = [128000, 791, 4062, 374, 6437, 13]; // token ids from your tokenizer
const scores = await indexer.scoreTokens(prompt, 'meta-llama/Llama-3.1-8B-Instruct', ['pod-a', 'pod-b']);
console.log(Object.fromEntries(scores));
await indexer.close();
