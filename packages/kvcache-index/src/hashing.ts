import { createHash } from 'node:crypto';
import { type CborValue, CborWriter } from './cbor.js';
import { invalidArgument } from './errors.js';
import { fnv64a } from './fnv.js';
import { type BlockHash, EMPTY_BLOCK_HASH, assertBlockHash } from './types.js';

/** Default block size in tokens (vLLM's default). */
export const DEFAULT_BLOCK_SIZE = 16;

export type TokenIds = readonly number[] | Uint32Array;

/** Per-block multimodal identifiers that taint a block's hash (llm-d `BlockExtraFeatures`). */
export interface BlockExtraFeatures {
  mmHashes: readonly string[];
}

export interface TokenProcessorConfig {
  /** Tokens per block (default 16). */
  blockSize?: number;
  /** Hash seed string (llm-d `hashSeed`, default ""). */
  hashSeed?: string;
}

function checkBlockSize(blockSize: number): number {
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0)
    throw invalidArgument(
      `Invalid block size ${blockSize}`,
      { blockSize },
      'Use a positive integer number of tokens, e.g. 16',
    );
  return blockSize;
}

function checkTokens(tokens: TokenIds): void {
  if (tokens instanceof Uint32Array) return;
  if (!Array.isArray(tokens))
    throw invalidArgument('Tokens must be an array of token ids', { tokens: typeof tokens });
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!Number.isInteger(t) || t < 0 || t > 0xffff_ffff)
      throw invalidArgument(`Token at index ${i} is ${JSON.stringify(t)}, not an unsigned 32-bit integer`, {
        index: i,
      });
  }
}

/**
 * llm-d's request-key hashing ("cbor-fnv"): `h_i = FNV-64a(CBOR([h_{i-1}, tokens_i, extra_i]))`,
 * chained from `FNV-64a(CBOR([FNV-64a(seed), null, model]))`, partial trailing block dropped.
 */
export class RequestKeyHasher {
  readonly blockSize: number;
  readonly hashSeed: string;
  private readonly initHash: BlockHash;
  private readonly writer = new CborWriter(1024);
  private readonly modelInit = new Map<string, BlockHash>();

  constructor(config: TokenProcessorConfig = {}) {
    this.blockSize = checkBlockSize(config.blockSize ?? DEFAULT_BLOCK_SIZE);
    this.hashSeed = config.hashSeed ?? '';
    this.initHash = fnv64a(new TextEncoder().encode(this.hashSeed));
  }

  /** The chain root for a model (LoRA adapters use the adapter name as the model). */
  modelRoot(model: string): BlockHash {
    let root = this.modelInit.get(model);
    if (root === undefined) {
      const w = this.writer.reset();
      w.arrayHead(3);
      w.integer(this.initHash);
      w.nil();
      w.text(model);
      root = fnv64a(w.bytes());
      if (this.modelInit.size > 4096) this.modelInit.clear();
      this.modelInit.set(model, root);
    }
    return root;
  }

  /** One chaining step over `tokens[start, end)`. */
  hashBlock(
    parent: BlockHash,
    tokens: TokenIds,
    start: number,
    end: number,
    extra: CborValue = null,
  ): BlockHash {
    const w = this.writer.reset();
    w.arrayHead(3);
    w.integer(parent);
    w.uintArray(tokens, start, end);
    w.value(extra);
    return fnv64a(w.bytes());
  }

  /**
   * Request keys for `tokens` (llm-d `TokensToKVBlockKeys`). `parent` continues an existing chain
   * (`0n` = start from the model root); `extraFeatures`, when given, has one item per full block.
   */
  tokensToKeys(
    tokens: TokenIds,
    model: string,
    options: { parent?: BlockHash; extraFeatures?: ReadonlyArray<BlockExtraFeatures | null> } = {},
  ): BlockHash[] {
    checkTokens(tokens);
    const blocks = Math.floor(tokens.length / this.blockSize);
    const extra = options.extraFeatures;
    if (extra !== undefined && extra.length !== blocks)
      throw invalidArgument(
        `extraFeatures has ${extra.length} items but the tokens make ${blocks} full blocks`,
        { extraFeatures: extra.length, blocks, blockSize: this.blockSize },
        'Pass one item (or null) per full block',
      );
    const parent = options.parent ?? EMPTY_BLOCK_HASH;
    let prefix = parent !== EMPTY_BLOCK_HASH ? assertBlockHash(parent, 'parent key') : this.modelRoot(model);
    const keys: BlockHash[] = new Array(blocks);
    for (let i = 0; i < blocks; i++) {
      const features = extra?.[i];
      const extraValue: CborValue =
        features && features.mmHashes.length > 0 ? features.mmHashes.map((hash) => ({ Hash: hash })) : null;
      prefix = this.hashBlock(prefix, tokens, i * this.blockSize, (i + 1) * this.blockSize, extraValue);
      keys[i] = prefix;
    }
    return keys;
  }
}

export interface EngineKeyConfig {
  /** Tokens per block (vLLM `--block-size`, default 16). */
  blockSize?: number;
  /** vLLM's `PYTHONHASHSEED` (a string). vLLM uses random bytes when it is unset: then keys cannot be predicted. */
  seed: string;
}

/**
 * vLLM's `sha256_cbor` block hashes: `NONE_HASH = sha256(cbor(seed))`,
 * `h_i = sha256(cbor([h_{i-1} (32 bytes), tokens_i, extra_i | null]))`. Events carry the last 8 bytes
 * big-endian, which is what `tokensToKeys` returns; `tokensToDigests` returns the full 32-byte hashes.
 */
export class EngineKeyHasher {
  readonly blockSize: number;
  readonly seed: string;
  readonly noneHash: Uint8Array;
  private readonly writer = new CborWriter(1024);

  constructor(config: EngineKeyConfig) {
    if (typeof config?.seed !== 'string')
      throw invalidArgument(
        'vLLM engine keys need the PYTHONHASHSEED string',
        { seed: config?.seed },
        'Pass { seed: "42" }',
      );
    this.blockSize = checkBlockSize(config.blockSize ?? DEFAULT_BLOCK_SIZE);
    this.seed = config.seed;
    const w = new CborWriter();
    w.text(config.seed);
    this.noneHash = new Uint8Array(createHash('sha256').update(w.bytes()).digest());
  }

  /**
   * Full digests per full block. `extraKeys` (vLLM's per-block extra keys, e.g. `['Alice']` for a
   * LoRA adapter) is either one array used for every block or a function of the block index.
   */
  tokensToDigests(
    tokens: TokenIds,
    options: {
      parent?: Uint8Array;
      extraKeys?: readonly CborValue[] | ((blockIndex: number) => readonly CborValue[] | null) | null;
    } = {},
  ): Uint8Array[] {
    checkTokens(tokens);
    const blocks = Math.floor(tokens.length / this.blockSize);
    let parent = options.parent ?? this.noneHash;
    if (parent.length !== 32)
      throw invalidArgument('A vLLM parent hash is 32 bytes', { length: parent.length });
    const out: Uint8Array[] = [];
    const extraKeys = options.extraKeys;
    for (let i = 0; i < blocks; i++) {
      const extra = typeof extraKeys === 'function' ? extraKeys(i) : (extraKeys ?? null);
      const w = this.writer.reset();
      w.arrayHead(3);
      w.byteString(parent);
      w.uintArray(tokens, i * this.blockSize, (i + 1) * this.blockSize);
      if (extra === null || extra.length === 0) w.nil();
      else w.value(extra);
      parent = new Uint8Array(createHash('sha256').update(w.bytes()).digest());
      out.push(parent);
    }
    return out;
  }

  /** Event values (last 8 bytes of each digest, big-endian). `lora` adds `[lora]` as extra keys. */
  tokensToKeys(tokens: TokenIds, options: { lora?: string | null; parent?: Uint8Array } = {}): BlockHash[] {
    const digestOptions: Parameters<EngineKeyHasher['tokensToDigests']>[1] = {};
    if (options.parent) digestOptions.parent = options.parent;
    if (options.lora) digestOptions.extraKeys = [options.lora];
    return this.tokensToDigests(tokens, digestOptions).map(digestToBlockHash);
  }
}

/** The last 8 bytes of a byte hash, big-endian (vLLM `maybe_convert_block_hash`, llm-d `getHashAsUint64`). */
export function digestToBlockHash(digest: Uint8Array): BlockHash {
  if (digest.length === 0) throw invalidArgument('Empty byte hash', {});
  let value = 0n;
  for (let i = Math.max(0, digest.length - 8); i < digest.length; i++)
    value = (value << 8n) | BigInt(digest[i]!);
  return value;
}

export type KeyAlgorithm = 'llm-d' | 'vllm';

export interface ComputeBlockKeysOptions {
  tokens: TokenIds;
  /** `llm-d` request keys (FNV-64a/CBOR, default) or `vllm` engine keys (sha256_cbor). */
  algo?: KeyAlgorithm;
  /** Model name (llm-d only; required there). */
  model?: string;
  blockSize?: number;
  /** llm-d: hash seed (default ""); vLLM: PYTHONHASHSEED (required). */
  seed?: string;
  /** LoRA adapter name: llm-d uses it as the model name, vLLM adds it to every block's extra keys. */
  lora?: string;
}

/** What `valkey-tools kvcache keys` prints: the block keys of a token sequence. */
export function computeBlockKeys(options: ComputeBlockKeysOptions): BlockHash[] {
  const algo = options.algo ?? 'llm-d';
  if (algo === 'llm-d') {
    const model = options.lora ?? options.model;
    if (model === undefined)
      throw invalidArgument(
        'llm-d request keys need a model name',
        {},
        'Pass model (or lora, which replaces it)',
      );
    const cfg: TokenProcessorConfig = {};
    if (options.blockSize !== undefined) cfg.blockSize = options.blockSize;
    if (options.seed !== undefined) cfg.hashSeed = options.seed;
    return new RequestKeyHasher(cfg).tokensToKeys(options.tokens, model);
  }
  if (algo === 'vllm') {
    if (options.seed === undefined)
      throw invalidArgument(
        'vLLM engine keys need the PYTHONHASHSEED the engine runs with',
        {},
        'Pass seed (vLLM hashes are random per process when PYTHONHASHSEED is unset)',
      );
    const hasher = new EngineKeyHasher(
      options.blockSize === undefined
        ? { seed: options.seed }
        : { seed: options.seed, blockSize: options.blockSize },
    );
    return hasher.tokensToKeys(options.tokens, options.lora ? { lora: options.lora } : {});
  }
  throw invalidArgument(`Unknown key algorithm "${String(algo)}"`, { algo }, 'Use "llm-d" or "vllm"');
}
