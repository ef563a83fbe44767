// Hashing throughput (tokens/second) of request keys (llm-d) and engine keys (vLLM sha256_cbor).
// Run: node --import tsx scripts/measure-hashing.ts [tokens=4000000]
import { EngineKeyHasher, RequestKeyHasher } from '../src/index.ts';

const total = Number(process.argv[2] ?? 4_000_000);
const prompt = Array.from({ length: 4096 }, (_, i) => (i * 7919) % 128_000);

function run(label: string, fn: () => void): void {
  fn(); // warm up
  const rounds = Math.ceil(total / prompt.length);
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${label}: ${((rounds * prompt.length) / seconds / 1e6).toFixed(2)} M tokens/s`);
}

const llmd = new RequestKeyHasher({ blockSize: 16 });
const vllm = new EngineKeyHasher({ seed: '42', blockSize: 16 });
run('llm-d request keys (FNV-64a over CBOR), block 16', () =>
  llmd.tokensToKeys(prompt, 'meta-llama/Llama-3.1-8B'),
);
run('vLLM engine keys (sha256_cbor), block 16', () => vllm.tokensToKeys(prompt));
