import { scoreTokensAtAddress, silentLogger } from '@valkey-tools/kvcache-index';
import { connectionUrl } from '../credentials.js';
import type { CommandContext } from '../main.js';
import { readTokens } from '../tokens.js';

export async function run({ flags, io, out }: CommandContext<'kvcache score'>): Promise<number | undefined> {
  const tokens = await readTokens(flags.tokens, io);
  const options: Parameters<typeof scoreTokensAtAddress>[0] = {
    address: await connectionUrl(flags.url, flags, io, out, 'kvcache score'),
    model: flags.model,
    tokens,
    tokenProcessor: {
      blockSize: flags['block-size'],
      ...(flags.seed !== undefined ? { hashSeed: flags.seed } : {}),
    },
    logger: silentLogger,
  };
  if (flags.pod.length > 0) options.pods = flags.pod;
  if (flags.lora !== undefined) options.lora = flags.lora;
  if (flags['key-prefix'] !== undefined) options.keyPrefix = flags['key-prefix'];
  const response = await scoreTokensAtAddress(options);
  const ranked = Object.entries(response.scores).sort((a, b) => b[1] - a[1]);
  out.result(response, () => {
    out.info(`${response.matchedBlocks} of ${response.blocks} blocks held by some pod`);
    if (ranked.length === 0) out.info('no pod holds a prefix of this prompt');
    else
      out.table(
        ['POD', 'SCORE'],
        ranked.map(([pod, score]) => [pod, String(score)]),
      );
  });
  return undefined;
}
