import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, parseJson, runCli, tempDir } from './helpers.js';

const tmp = tempDir('kvcache');
beforeAll(() => buildCli(), BUILD_TIMEOUT_MS + 5000);
afterAll(() => tmp.cleanup());

// Vectors from llm-d and vLLM (../shared/docs/kvcache-index.md).
const graniteTokens = [8197, 438, 322, 18926, 432, 45600, 49];
const vllmTokens = [
  2082, 1113, 2142, 374, 264, 4948, 19128, 323, 7203, 429, 374, 66351, 938, 315, 11198, 323, 59415, 678,
  90505, 11, 54263, 533, 7586, 315, 28922, 13, 1527, 1113, 2142, 6738, 369, 279, 75345, 315, 279, 1584, 11,
  892, 432, 9982, 311, 387, 25165, 11, 76244, 11, 323, 27756,
];

describe.concurrent('kvcache keys', () => {
  it('computes llm-d request keys from stdin, one per line', async () => {
    const r = await runCli(
      ['kvcache', 'keys', '--model', 'ibm-granite/granite-3.1-8b-instruct', '--block-size', '4'],
      {
        input: JSON.stringify(graniteTokens),
      },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1334984470577408192\n');
  });

  it('computes vLLM engine keys from a file, with --json', async () => {
    const file = join(tmp.dir, 'prompt.json');
    writeFileSync(file, JSON.stringify(vllmTokens));
    const r = await runCli([
      'kvcache',
      'keys',
      '--model',
      'm',
      '--algo',
      'vllm',
      '--seed',
      '42',
      '--tokens',
      file,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const body = parseJson<{
      keys: string[];
      algo: string;
      blockSize: number;
      tokenCount: number;
      model: string;
    }>(r);
    expect(body).toMatchObject({ model: 'm', algo: 'vllm', blockSize: 16, tokenCount: 48 });
    expect(body.keys).toHaveLength(3);
    expect(body.keys[0]).toBe('17705339885301241772');
    const lora = await runCli([
      'kvcache',
      'keys',
      '--model',
      'm',
      '--algo',
      'vllm',
      '--seed',
      '42',
      '--lora',
      'Alice',
      '--tokens',
      file,
      '--json',
    ]);
    expect(parseJson<{ keys: string[] }>(lora).keys[0]).toBe('9643097150530800701');
  });

  it('rejects bad token input with exit 1 and a clear message', async () => {
    const [notJson, notArray, badToken, missing] = await Promise.all([
      runCli(['kvcache', 'keys', '--model', 'm'], { input: '[1, 2,' }),
      runCli(['kvcache', 'keys', '--model', 'm'], { input: '{"a":1}' }),
      runCli(['kvcache', 'keys', '--model', 'm', '--json'], { input: '[1, -5]' }),
      runCli(['kvcache', 'keys', '--model', 'm', '--tokens', join(tmp.dir, 'nope.json')]),
    ]);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/tokens from stdin are not valid JSON/);
    expect(notArray.code).toBe(1);
    expect(notArray.stderr).toContain('must be a JSON array, got object');
    expect(badToken.code).toBe(1);
    expect(parseJson<{ error: { code: string; message: string } }>(badToken).error).toMatchObject({
      code: 'ERR_INVALID_INPUT',
      message: expect.stringContaining('token 1 from stdin is -5'),
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the tokens file .*nope\.json: no such file/);
  });

  it('vLLM keys without a seed fail saying why', async () => {
    const r = await runCli(['kvcache', 'keys', '--model', 'm', '--algo', 'vllm'], { input: '[1,2]' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('need --seed: the PYTHONHASHSEED');
  });
});
