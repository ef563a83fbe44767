// Bytes per indexed block on a real valkey-server (INFO memory delta), for the Valkey backend's layout.
// Run: node --import tsx scripts/measure-valkey-memory.ts [blocks=200000] [pods=64]
import { startTestServer } from '@valkey-tools/test-utils';
import { newValkeyIndex } from '../src/index.ts';

const blocks = Number(process.argv[2] ?? 200_000);
const pods = Number(process.argv[3] ?? 64);
const chain = 256;
for (const engine of [false, true]) {
  const server = await startTestServer();
  const used = async () => Number(/used_memory:(\d+)/.exec(await server.command('INFO', 'memory'))![1]);
  try {
    const index = await newValkeyIndex({ address: server.url, keyPrefix: 'm' });
    const before = await used();
    let next = 1n;
    for (let done = 0; done < blocks; done += chain) {
      const n = Math.min(chain, blocks - done);
      const requestKeys = Array.from(
        { length: n },
        () => (next++ * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn,
      );
      const engineKeys = engine ? requestKeys.map((k) => k ^ 0x5555555555555555n) : null;
      const pod = `10.0.${(done / chain) % pods}.1:8000`;
      await index.add(engineKeys, requestKeys, [{ pod, tier: 'gpu' }], { model: 'meta-llama/Llama-3.1-8B' });
    }
    const after = await used();
    console.log(
      `${engine ? 'request + engine keys' : 'request keys only'}, 1 pod/block: ${((after - before) / blocks).toFixed(1)} bytes/block (used_memory delta, ${blocks} blocks)`,
    );
    await index.close();
  } finally {
    await server.stop();
  }
}
