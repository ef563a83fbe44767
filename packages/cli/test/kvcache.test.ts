import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { blockStored, computeBlockKeys, encodeEventBatch, encodeSequence } from '@valkey-tools/kvcache-index';
import {
  type TestServer,
  freePort,
  listenOnFreePort,
  startTestServer,
  waitFor,
} from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { BUILD_TIMEOUT_MS, binPath, buildCli, packageDir, parseJson, runCli, tempDir } from './helpers.js';

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

describe('kvcache serve and kvcache score on a Valkey-backed index', () => {
  let valkey: TestServer;
  const pub = new Publisher({ linger: 0 });
  beforeAll(async () => {
    valkey = await startTestServer();
  });
  afterAll(async () => {
    pub.close();
    await valkey?.stop();
  });

  it('indexes vLLM events from ZMQ, answers /score and /metrics, stops on SIGTERM; score reads the same index', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    await pub.bind(endpoint);
    const valkeyUrl = `valkey://127.0.0.1:${valkey.port}`;
    const child = spawn(
      process.execPath,
      [
        binPath,
        'kvcache',
        'serve',
        '--backend',
        valkeyUrl,
        '--zmq',
        endpoint,
        '--port',
        '0',
        '--block-size',
        '4',
      ],
      { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const line = out.split('\n')[0];
          if (out.includes('\n') && line) resolve(line.trim());
        });
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const metrics = async () => (await fetch(`${url}/metrics`)).text();
      const received = async () =>
        Number(/^kvcache_events_messages_received_total (\d+)/m.exec(await metrics())?.[1] ?? 0);
      // ZMQ subscriptions join asynchronously: publish warm-ups until the service hears one.
      let seq = 0n;
      await waitFor(
        'the service to hear a warm-up message',
        async () => {
          if ((await received()) > 0) return true;
          await pub.send([Buffer.from('kv@warmup@m'), encodeSequence(seq++), encodeEventBatch([])]);
          return false;
        },
        { intervalMs: 50, detail: () => stderr },
      );
      const prompt = Array.from({ length: 12 }, (_, i) => i + 1);
      await pub.send([
        Buffer.from('kv@10.0.0.1:8000@llama'),
        encodeSequence(0n),
        encodeEventBatch([blockStored({ blockHashes: [11n, 12n, 13n], tokenIds: prompt, blockSize: 4 })]),
      ]);
      const score = async () =>
        (
          await fetch(`${url}/score`, {
            method: 'POST',
            body: JSON.stringify({ tokens: prompt, model: 'llama' }),
          })
        ).json() as Promise<{
          scores: Record<string, number>;
        }>;
      await waitFor(
        'the service to index the stored blocks',
        async () => Object.keys((await score()).scores).length > 0,
      );
      expect(await score()).toEqual({
        model: 'llama',
        blocks: 3,
        matchedBlocks: 3,
        scores: { '10.0.0.1:8000': 3 },
      });

      // The same index, read by `kvcache score` from another process.
      const tokensFile = join(tmp.dir, 'prompt12.json');
      writeFileSync(tokensFile, JSON.stringify(prompt));
      const [cli, human, other, filtered] = await Promise.all([
        runCli([
          'kvcache',
          'score',
          '--url',
          valkeyUrl,
          '--model',
          'llama',
          '--block-size',
          '4',
          '--tokens',
          tokensFile,
          '--json',
        ]),
        runCli(['kvcache', 'score', '--url', valkeyUrl, '--model', 'llama', '--block-size', '4'], {
          input: JSON.stringify(prompt),
        }),
        runCli(['kvcache', 'score', '--url', valkeyUrl, '--model', 'other', '--block-size', '4', '--json'], {
          input: JSON.stringify(prompt),
        }),
        runCli(
          [
            'kvcache',
            'score',
            '--url',
            valkeyUrl,
            '--model',
            'llama',
            '--block-size',
            '4',
            '--pod',
            'nobody',
            '--json',
          ],
          { input: JSON.stringify(prompt) },
        ),
      ]);
      expect(cli.code, cli.stderr).toBe(0);
      expect(parseJson(cli)).toEqual({
        model: 'llama',
        blocks: 3,
        matchedBlocks: 3,
        scores: { '10.0.0.1:8000': 3 },
      });
      expect(human.stdout).toMatch(/^10\.0\.0\.1:8000\s+3$/m);
      expect(parseJson(other)).toMatchObject({ matchedBlocks: 0, scores: {} });
      expect(parseJson(filtered)).toMatchObject({ matchedBlocks: 0, scores: {} });
      expect(computeBlockKeys({ tokens: prompt, model: 'llama', blockSize: 4 })).toHaveLength(3);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('kvcache service stopped');
  });

  it('score and serve fail clearly: unreachable index, bad backend, port in use', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    const busy = await listenOnFreePort(blocker);
    try {
      const [down, badBackend, inUse, noModel] = await Promise.all([
        runCli(['kvcache', 'score', '--url', 'redis://:pw@127.0.0.1:1', '--model', 'm'], {
          input: '[1,2,3]',
        }),
        runCli(['kvcache', 'serve', '--backend', 'ftp://x', '--port', '0']),
        runCli(['kvcache', 'serve', '--port', String(busy)]),
        runCli(['kvcache', 'score', '--url', 'redis://127.0.0.1:1']),
      ]);
      expect(down.code).toBe(1);
      expect(down.stderr).not.toContain(':pw@');
      expect(badBackend.code).toBe(1);
      expect(inUse.code).toBe(1);
      expect(inUse.stderr.trim().split('\n').at(-1)).toMatch(/valkey-tools: error: .*(EADDRINUSE|in use)/i);
      expect(noModel.code).toBe(2);
    } finally {
      blocker.close();
    }
  });
});
