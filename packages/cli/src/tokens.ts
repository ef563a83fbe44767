import { CliError } from './errors.js';
import { readSmallInput } from './files.js';
import type { Io } from './output.js';

/** Reads a JSON array of token ids (unsigned 32-bit integers) from a file or stdin. */
export async function readTokens(source: string, io: Io): Promise<number[]> {
  const where = source === '-' ? 'stdin' : source;
  const text = (await readSmallInput(source, io, 'the tokens file')).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(
      'ERR_INVALID_INPUT',
      `tokens from ${where} are not valid JSON: ${(err as Error).message}`,
      {
        details: { file: where },
        hint: 'Give a JSON array of integers such as [1, 2, 3]',
      },
    );
  }
  if (!Array.isArray(value)) {
    throw new CliError(
      'ERR_INVALID_INPUT',
      `tokens from ${where} must be a JSON array, got ${value === null ? 'null' : typeof value}`,
      {
        details: { file: where },
        hint: 'Give a JSON array of integers such as [1, 2, 3]',
      },
    );
  }
  value.forEach((token, index) => {
    if (!Number.isInteger(token) || (token as number) < 0 || (token as number) > 0xffff_ffff) {
      throw new CliError(
        'ERR_INVALID_INPUT',
        `token ${index} from ${where} is ${JSON.stringify(token)}, not an unsigned 32-bit integer`,
        {
          details: { file: where, index },
        },
      );
    }
  });
  return value as number[];
}
