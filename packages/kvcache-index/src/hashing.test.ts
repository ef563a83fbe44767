import { describe, expect, it } from 'vitest';
import { encodeCanonicalCbor } from './cbor.js';
import { KvCacheError } from './errors.js';
import { FNV64_OFFSET_BASIS, fnv32a, fnv64a } from './fnv.js';
import { EngineKeyHasher, RequestKeyHasher, computeBlockKeys, digestToBlockHash } from './hashing.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const MODEL = 'ibm-granite/granite-3.1-8b-instruct';
const VLLM_TOKENS = [
  2082, 1113, 2142, 374, 264, 4948, 19128, 323, 7203, 429, 374, 66351, 938, 315, 11198, 323, 59415, 678,
  90505, 11, 54263, 533, 7586, 315, 28922, 13, 1527, 1113, 2142, 6738, 369, 279, 75345, 315, 279, 1584, 11,
  892, 432, 9982, 311, 387, 25165, 11, 76244, 11, 323, 27756,
];

describe('canonical CBOR', () => {
  it('encodes the llm-d block-0 vector byte for byte', () => {
    expect(hex(encodeCanonicalCbor([2648472209273074206n, [8197, 438, 322, 18926], null]))).toBe(
      '831b24c143712f37321e841920051901b61901421949eef6',
    );
  });
  it('uses the shortest head for every integer width and RFC 8949 examples', () => {
    expect(hex(encodeCanonicalCbor(0))).toBe('00');
    expect(hex(encodeCanonicalCbor(23))).toBe('17');
    expect(hex(encodeCanonicalCbor(24))).toBe('1818');
    expect(hex(encodeCanonicalCbor(255))).toBe('18ff');
    expect(hex(encodeCanonicalCbor(256))).toBe('190100');
    expect(hex(encodeCanonicalCbor(65536))).toBe('1a00010000');
    expect(hex(encodeCanonicalCbor(1000000000000))).toBe('1b000000e8d4a51000');
    expect(hex(encodeCanonicalCbor(18446744073709551615n))).toBe('1bffffffffffffffff');
    expect(hex(encodeCanonicalCbor(-1))).toBe('20');
    expect(hex(encodeCanonicalCbor(-1000))).toBe('3903e7');
    expect(hex(encodeCanonicalCbor('IETF'))).toBe('6449455446');
    expect(hex(encodeCanonicalCbor('\u00fc'))).toBe('62c3bc');
    expect(hex(encodeCanonicalCbor(new Uint8Array([1, 2, 3, 4])))).toBe('4401020304');
    expect(hex(encodeCanonicalCbor([]))).toBe('80');
    expect(hex(encodeCanonicalCbor({ b: 1, a: 2, aa: 3 }))).toBe('a3616102616201626161' + '03');
  });
  it('rejects values it cannot encode exactly', () => {
    expect(() => encodeCanonicalCbor(1.5)).toThrow(RangeError);
    expect(() => encodeCanonicalCbor(2n ** 64n)).toThrow(RangeError);
  });
});

describe('FNV', () => {
  it('matches the published FNV-1a 64 values', () => {
    expect(fnv64a(new Uint8Array())).toBe(FNV64_OFFSET_BASIS);
    expect(FNV64_OFFSET_BASIS).toBe(14695981039346656037n);
    expect(fnv64a(new TextEncoder().encode('a'))).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv64a(new TextEncoder().encode('foobar'))).toBe(0x85944171f73967e8n);
  });
  it('matches a BigInt reference on random input', () => {
    const bytes = new Uint8Array(1000).map((_, i) => (i * 131 + 7) & 0xff);
    let h = FNV64_OFFSET_BASIS;
    for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
    expect(fnv64a(bytes)).toBe(h);
  });
  it('FNV-1a 32', () => {
    expect(fnv32a('')).toBe(0x811c9dc5);
    expect(fnv32a('a')).toBe(0xe40c292c);
    expect(fnv32a('foobar')).toBe(0xbf9cf968);
  });
});

describe('llm-d request keys (vector 1)', () => {
  const hasher = new RequestKeyHasher({ blockSize: 4, hashSeed: '' });
  it('computes the model root from the seed', () => {
    expect(hasher.modelRoot(MODEL)).toBe(2648472209273074206n);
  });
  it('drops the partial trailing block', () => {
    expect(hasher.tokensToKeys([8197, 438, 322, 18926, 432, 45600, 49], MODEL)).toEqual([
      1334984470577408192n,
    ]);
    expect(hasher.tokensToKeys([8197, 438, 322], MODEL)).toEqual([]);
  });
  it('chains from a parent and from the model root identically', () => {
    const all = hasher.tokensToKeys([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], MODEL);
    expect(all).toHaveLength(3);
    expect(hasher.tokensToKeys([5, 6, 7, 8, 9, 10, 11, 12], MODEL, { parent: all[0]! })).toEqual(
      all.slice(1),
    );
    expect(new Set(all).size).toBe(3);
  });
  it('separates models, seeds and multimodal extras', () => {
    const tokens = [1, 2, 3, 4];
    const a = hasher.tokensToKeys(tokens, MODEL)[0];
    expect(hasher.tokensToKeys(tokens, 'other-model')[0]).not.toBe(a);
    expect(new RequestKeyHasher({ blockSize: 4, hashSeed: 's' }).tokensToKeys(tokens, MODEL)[0]).not.toBe(a);
    const mm = hasher.tokensToKeys(tokens, MODEL, { extraFeatures: [{ mmHashes: ['img-1'] }] })[0];
    expect(mm).not.toBe(a);
    expect(hasher.tokensToKeys(tokens, MODEL, { extraFeatures: [null] })[0]).toBe(a);
    expect(() => hasher.tokensToKeys(tokens, MODEL, { extraFeatures: [] })).toThrow(KvCacheError);
  });
  it('defaults to 16-token blocks and validates input', () => {
    expect(new RequestKeyHasher().tokensToKeys(new Array(33).fill(1), MODEL)).toHaveLength(2);
    expect(() => new RequestKeyHasher({ blockSize: 0 })).toThrow(/block size/);
    expect(() => hasher.tokensToKeys([1, 2, -3, 4], MODEL)).toThrow(/index 2/);
    expect(() => hasher.tokensToKeys([1, 2, 3.5, 4], MODEL)).toThrow(KvCacheError);
  });
  it('accepts Uint32Array tokens', () => {
    expect(hasher.tokensToKeys(Uint32Array.from([8197, 438, 322, 18926]), MODEL)).toEqual([
      1334984470577408192n,
    ]);
  });
});

describe('vLLM engine keys (vector 2)', () => {
  it('matches sha256_cbor with PYTHONHASHSEED=42', () => {
    const hasher = new EngineKeyHasher({ seed: '42', blockSize: 16 });
    const keys = hasher.tokensToKeys(VLLM_TOKENS);
    expect(keys).toHaveLength(3);
    expect(keys[0]).toBe(17705339885301241772n);
  });
  it('matches the LoRA vector (extra keys ["Alice"])', () => {
    const hasher = new EngineKeyHasher({ seed: '42' });
    expect(hasher.tokensToKeys(VLLM_TOKENS, { lora: 'Alice' })[0]).toBe(9643097150530800701n);
  });
  it('chains with full 32-byte digests', () => {
    const hasher = new EngineKeyHasher({ seed: '42' });
    const digests = hasher.tokensToDigests(VLLM_TOKENS);
    expect(hasher.tokensToKeys(VLLM_TOKENS.slice(16), { parent: digests[0]! })).toEqual(
      hasher.tokensToKeys(VLLM_TOKENS).slice(1),
    );
    expect(digestToBlockHash(digests[0]!)).toBe(17705339885301241772n);
  });
  it('needs a seed', () => {
    expect(() => computeBlockKeys({ tokens: VLLM_TOKENS, algo: 'vllm' })).toThrow(/PYTHONHASHSEED/);
  });
});

describe('computeBlockKeys', () => {
  it('dispatches on algo', () => {
    expect(
      computeBlockKeys({ tokens: [8197, 438, 322, 18926, 432, 45600, 49], model: MODEL, blockSize: 4 }),
    ).toEqual([1334984470577408192n]);
    expect(computeBlockKeys({ tokens: VLLM_TOKENS, algo: 'vllm', seed: '42', lora: 'Alice' })[0]).toBe(
      9643097150530800701n,
    );
    // llm-d: a LoRA adapter's name replaces the model name
    expect(computeBlockKeys({ tokens: [1, 2, 3, 4], model: 'base', lora: 'ad', blockSize: 4 })).toEqual(
      computeBlockKeys({ tokens: [1, 2, 3, 4], model: 'ad', blockSize: 4 }),
    );
    expect(() => computeBlockKeys({ tokens: [1], algo: 'x' as 'vllm' })).toThrow(/Unknown key algorithm/);
    expect(() => computeBlockKeys({ tokens: [1] })).toThrow(/model/);
  });
});
