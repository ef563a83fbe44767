// Measures heap bytes per indexed block of the in-memory index.
// Run: node --expose-gc --import tsx scripts/measure-memory.ts [blocks=1000000] [pods=64]
import { InMemoryIndex } from '../src/index.ts';

const blocks = Number(process.argv[2] ?? 1_000_000);
const pods = Number(process.argv[3] ?? 64);
const chain = 256;

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  // typed arrays (the LRU's links) live outside the JS heap: count them too
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function measure(
  label: string,
  { engine, podsPerBlock, model }: { engine: boolean; podsPerBlock: number; model?: string },
) {
  const index = new InMemoryIndex({ maxKeys: blocks * 2, maxBytes: 2 ** 52 });
  const before = heap();
  let next = 1n;
  for (let done = 0; done < blocks; done += chain) {
    const n = Math.min(chain, blocks - done);
    const requestKeys = Array.from({ length: n }, () => (next++ * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn);
    const engineKeys = engine ? requestKeys.map((k) => k ^ 0x5555555555555555n) : null;
    const entries = Array.from({ length: podsPerBlock }, (_, i) => ({
      pod: `10.0.${(done / chain + i) % pods}.1:8000`,
      tier: 'gpu',
    }));
    await index.add(engineKeys, requestKeys, entries, model === undefined ? {} : { model });
  }
  const after = heap();
  const perBlock = (after - before) / blocks;
  const stats = index.stats();
  console.log(
    `${label}: ${perBlock.toFixed(1)} bytes/block measured, ${(stats.estimatedBytes / blocks).toFixed(1)} estimated (keys=${stats.keys}, entries=${stats.entries}, engineKeys=${stats.engineKeys})`,
  );
  await index.close();
}

await measure('request keys only, 1 pod/block', { engine: false, podsPerBlock: 1 });
await measure('request + engine keys, 1 pod/block', { engine: true, podsPerBlock: 1 });
await measure('request + engine keys, 4 pods/block', { engine: true, podsPerBlock: 4 });
await measure('request + engine keys, 1 pod/block, model scope', {
  engine: true,
  podsPerBlock: 1,
  model: 'llama',
});
