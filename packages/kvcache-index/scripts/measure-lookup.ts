// Lookup latency of a 256-block prompt (in memory and on a real valkey-server), with `blocks` indexed
// over `pods` pods. Quick numbers only; the comparative benchmarks live in bench/.
// Run: node --import tsx scripts/measure-lookup.ts [blocks=200000] [pods=64] [lookups=2000]
import { startTestServer } from '@valkey-tools/test-utils';
import { type BlockHash, InMemoryIndex, type KvBlockIndex, newValkeyIndex } from '../src/index.ts';

const blocks = Number(process.argv[2] ?? 200_000);
const pods = Number(process.argv[3] ?? 64);
const lookups = Number(process.argv[4] ?? 2000);
const chain = 256;
const scope = { model: 'meta-llama/Llama-3.1-8B' };

async function fill(index: KvBlockIndex): Promise<BlockHash[][]> {
  const chains: BlockHash[][] = [];
  let next = 1n;
  for (let done = 0; done < blocks; done += chain) {
    const keys = Array.from({ length: chain }, () => (next++ * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn);
    const c = chains.length;
    await index.add(null, keys, [{ pod: `10.0.${c % pods}.1:8000`, tier: 'gpu' }], scope);
    await index.add(null, keys.slice(0, 128), [{ pod: `10.0.${(c + 1) % pods}.1:8000`, tier: 'cpu' }], scope);
    chains.push(keys);
  }
  return chains;
}

async function run(label: string, index: KvBlockIndex): Promise<void> {
  const chains = await fill(index);
  const times: number[] = [];
  for (let i = 0; i < lookups; i++) {
    const keys = chains[(i * 7919) % chains.length]!;
    const start = process.hrtime.bigint();
    const hits = await index.lookup(keys, undefined, scope);
    times.push(Number(process.hrtime.bigint() - start) / 1e3);
    if (hits.size !== chain) throw new Error(`expected ${chain} hits, got ${hits.size}`);
  }
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(0);
  const total = times.reduce((a, b) => a + b, 0);
  console.log(
    `${label}: ${blocks} blocks, ${pods} pods, 256-block lookups: p50 ${p(0.5)} µs, p99 ${p(0.99)} µs, ${((lookups / total) * 1e6).toFixed(0)} lookups/s (sequential)`,
  );
  await index.close();
}

await run('in-memory', new InMemoryIndex());
const server = await startTestServer();
try {
  await run('valkey-server 8.0.1 (loopback)', await newValkeyIndex({ address: server.url }));
} finally {
  await server.stop();
}
