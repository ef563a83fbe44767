#!/usr/bin/env node
// kvcache-index benchmark: lookups per second and p50/p99 latency for 256-block prompts over
// N indexed blocks spread across 64 pods, in memory and on a real valkey-server; heap bytes per
// indexed block; hashing throughput (tokens/s) for llm-d request keys and vLLM engine keys.
// Prints one JSON object on stdout.
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startServer } from '@valkey-tools/binaries';
import { computeBlockKeys, InMemoryIndex, newValkeyIndex } from '@valkey-tools/kvcache-index';

const { values } = parseArgs({
  options: { blocks: { type: 'string', default: '1000000' }, lookups: { type: 'string', default: '2000' } },
});
const totalBlocks = Number(values.blocks);
const lookups = Number(values.lookups);
const PODS = 64;
const PROMPT_BLOCKS = 256;
const chains = Math.ceil(totalBlocks / PROMPT_BLOCKS);

// Deterministic 64-bit keys: chain c, block b.
const key = (c, b) => (BigInt(c) << 20n) | BigInt(b + 1);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function fill(index, batch = 256) {
  for (let c = 0; c < chains; c++) {
    const keys = [];
    for (let b = 0; b < PROMPT_BLOCKS; b++) keys.push(key(c, b));
    const pod = { pod: `pod-${c % PODS}`, tier: 'gpu' };
    await index.add(null, keys.slice(0, batch), [pod]);
  }
}

async function measureLookups(index) {
  const times = [];
  let hits = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < lookups; i++) {
    const c = (i * 7919) % chains;
    const keys = [];
    for (let b = 0; b < PROMPT_BLOCKS; b++) keys.push(key(c, b));
    const t0 = process.hrtime.bigint();
    const found = await index.lookup(keys);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    hits += found.size;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  times.sort((a, b) => a - b);
  return {
    lookupsPerSecond: Math.round(lookups / seconds),
    p50Ms: Number(pct(times, 50).toFixed(3)),
    p99Ms: Number(pct(times, 99).toFixed(3)),
    blocksFoundPerLookup: hits / lookups,
  };
}

const result = { indexedBlocks: chains * PROMPT_BLOCKS, pods: PODS, promptBlocks: PROMPT_BLOCKS };

// hashing throughput
const tokens = Array.from({ length: 4096 }, (_, i) => (i * 2654435761) % 50000);
for (const algo of ['llm-d', 'vllm']) {
  const rounds = 200;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) computeBlockKeys({ tokens, algo, model: 'bench-model', seed: '42' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  result[`hashTokensPerSecond_${algo}`] = Math.round((rounds * tokens.length) / s);
}

// in memory
global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const mem = new InMemoryIndex({ maxKeys: totalBlocks * 2, maxBytes: 8 * 2 ** 30 });
await fill(mem, PROMPT_BLOCKS);
global.gc?.();
result.inMemoryBytesPerBlock = Math.round(
  (process.memoryUsage().heapUsed - heapBefore) / (chains * PROMPT_BLOCKS),
);
result.inMemory = await measureLookups(mem);
await mem.close();

// on a real valkey-server
const server = await startServer({
  name: `bench-kvcache-${process.pid}`,
  port: 17379,
  removeDirOnStop: true,
  config: { save: '' },
});
try {
  const idx = await newValkeyIndex({ address: server.url });
  await fill(idx, PROMPT_BLOCKS);
  const info = execFileSync('valkey-cli', ['-u', server.url, 'INFO', 'memory'], { encoding: 'utf8' });
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  result.valkeyServerBytesPerBlock = Math.round(used / (chains * PROMPT_BLOCKS));
  result.valkey = await measureLookups(idx);
  await idx.close();
} finally {
  await server.stop();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
