import { computeBlockKeys } from '@valkey-tools/kvcache-index';
import { usageError } from '../errors.js';
import { readTokens } from '../tokens.js';
import type { CommandContext } from '../main.js';

export async function run({ flags, io, out }: CommandContext<'kvcache keys'>): Promise<number | undefined> {
  if (flags.algo === 'vllm' && flags.seed === undefined) {
    throw usageError(
      'ERR_MISSING_ARGUMENT',
      'vLLM engine keys need --seed: the PYTHONHASHSEED the engine runs with. Run "valkey-tools kvcache keys --help"',
      'kvcache keys',
    );
  }
  const tokens = await readTokens(flags.tokens, io);
  const options: Parameters<typeof computeBlockKeys>[0] = {
    tokens,
    algo: flags.algo,
    model: flags.model,
    blockSize: flags['block-size'],
  };
  if (flags.seed !== undefined) options.seed = flags.seed;
  if (flags.lora !== undefined) options.lora = flags.lora;
  const keys = computeBlockKeys(options);
  out.result(
    {
      model: flags.model,
      algo: flags.algo,
      blockSize: flags['block-size'],
      tokenCount: tokens.length,
      keys: keys.map(String),
    },
    () => {
      for (const key of keys) out.line(String(key));
      if (keys.length === 0)
        out.info(`no full block of ${flags['block-size']} tokens in ${tokens.length} tokens`);
    },
  );
  return undefined;
}
