import { type TestServer, freePort, startTestServer, waitFor } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import { blockStored, encodeEventBatch, encodeSequence } from '../src/events.js';
import { silentLogger } from '../src/logger.js';
import { type KvCacheService, createKvCacheService, scoreTokensAtAddress } from '../src/service.js';

const tokens = (n: number, start = 1) => Array.from({ length: n }, (_, i) => start + i);

describe('createKvCacheService on a Valkey-backed index', () => {
  let valkey: TestServer;
  let service: KvCacheService;
  const pub = new Publisher({ linger: 0 });

  beforeAll(async () => {
    valkey = await startTestServer();
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    await pub.bind(endpoint);
    service = await createKvCacheService({
      backend: `valkey://127.0.0.1:${valkey.port}`,
      zmqEndpoints: [endpoint],
      port: 0,
      tokenProcessor: { blockSize: 4 },
      logger: silentLogger,
    });
    let seq = 0n;
    await waitFor('the service to hear a warm-up message', async () => {
      if ((service.subscriber?.received ?? 0) > 0) return true;
      await pub.send([Buffer.from('kv@warmup@m'), encodeSequence(seq++), encodeEventBatch([])]);
      return false;
    });
    const base = service.subscriber!.received;
    await pub.send([
      Buffer.from('kv@10.0.0.1:8000@llama'),
      encodeSequence(0n),
      encodeEventBatch([blockStored({ blockHashes: [1n, 2n, 3n], tokenIds: tokens(12), blockSize: 4 })], {
        encoding: 'map',
      }),
    ]);
    await pub.send([
      Buffer.from('kv@10.0.0.2:8000@llama'),
      encodeSequence(0n),
      encodeEventBatch([
        blockStored({ blockHashes: [1n], tokenIds: tokens(4), blockSize: 4, medium: 'CPU' }),
      ]),
    ]);
    await waitFor('the two events', () => service.subscriber!.received >= base + 2);
    await service.subscriber!.idle();
  });
  afterAll(async () => {
    await service?.close();
    pub.close();
    await valkey?.stop();
  });

  const post = (body: unknown) =>
    fetch(`${service.url}/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('answers POST /score with per-pod scores', async () => {
    const res = await post({ tokens: tokens(14), model: 'llama' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model: 'llama',
      blocks: 3,
      matchedBlocks: 3,
      scores: { '10.0.0.1:8000': 3, '10.0.0.2:8000': 0.8 },
    });
    const filtered = await post({ tokens: tokens(12), model: 'llama', pods: ['10.0.0.2:8000'] });
    expect(await filtered.json()).toMatchObject({ matchedBlocks: 1, scores: { '10.0.0.2:8000': 0.8 } });
    expect(await (await post({ tokens: tokens(12), model: 'other' })).json()).toMatchObject({ scores: {} });
  });

  it('gives the same answer through scoreTokensAtAddress (kvcache score)', async () => {
    const result = await scoreTokensAtAddress({
      address: `127.0.0.1:${valkey.port}`,
      tokens: tokens(12),
      model: 'llama',
      tokenProcessor: { blockSize: 4 },
    });
    expect(result.scores).toEqual({ '10.0.0.1:8000': 3, '10.0.0.2:8000': 0.8 });
  });

  it('rejects bad requests with a JSON error that names the problem', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      ['{not json', 400, /not valid JSON/],
      [{ model: 'llama' }, 400, /"tokens"/],
      [{ tokens: [1, -2], model: 'llama' }, 400, /tokens\[1\]/],
      [{ tokens: [1], model: '' }, 400, /"model"/],
      [{ tokens: [1], model: 'm', pods: 'a' }, 400, /"pods"/],
      [{ tokens: [1, 2, 3, 4], model: 'm', extraFeatures: [{ mmHashes: [1] }] }, 400, /"extraFeatures"/],
      [
        { tokens: [1, 2, 3, 4], model: 'm', extraFeatures: [null, null] },
        400,
        /one item \(or null\) per full block/,
      ],
    ];
    for (const [body, status, message] of cases) {
      const res = await post(body);
      expect(res.status).toBe(status);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json.error.message).toMatch(message);
    }
    expect((await fetch(`${service.url}/score`)).status).toBe(405);
    expect((await fetch(`${service.url}/nope`)).status).toBe(404);
  });

  it('serves Prometheus metrics and health', async () => {
    const res = await fetch(`${service.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^kvcache_index_lookup_requests_total [1-9]\d*$/m);
    expect(text).toMatch(/^kvcache_index_admissions_total 4$/m);
    expect(text).toMatch(/^kvcache_events_pool_queue_depth 0$/m);
    expect(await (await fetch(`${service.url}/healthz`)).json()).toMatchObject({
      status: 'ok',
      zmqEndpoints: 1,
    });
  });
});

describe('createKvCacheService lifecycle', () => {
  it('serves from memory by default, limits bodies and shuts down gracefully', async () => {
    const service = await createKvCacheService({ port: 0, maxBodyBytes: 1000, logger: silentLogger });
    const res = await fetch(`${service.url}/score`, {
      method: 'POST',
      body: JSON.stringify({ tokens: tokens(1000), model: 'm' }),
    });
    expect(res.status).toBe(413);
    const ok = await fetch(`${service.url}/score`, {
      method: 'POST',
      body: JSON.stringify({ tokens: tokens(32), model: 'm' }),
    });
    expect(await ok.json()).toEqual({ model: 'm', blocks: 2, matchedBlocks: 0, scores: {} });
    await service.close();
    await service.close();
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
  });

  it('fails /healthz and /score with 503 while the Valkey backend is down', async () => {
    const server = await startTestServer();
    const service = await createKvCacheService({ port: 0, backend: server.url, logger: silentLogger });
    try {
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      await server.stop();
      const health = await fetch(`${service.url}/healthz`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { error: { code: string } }).error.code).toBe('ERR_BACKEND');
      const score = await fetch(`${service.url}/score`, {
        method: 'POST',
        body: JSON.stringify({ tokens: tokens(16), model: 'm' }),
      });
      expect(score.status).toBe(503);
    } finally {
      await service.close();
      await server.stop();
    }
  });

  it('reports a busy port and an unreachable backend as typed errors', async () => {
    const first = await createKvCacheService({ port: 0, logger: silentLogger });
    try {
      await expect(createKvCacheService({ port: first.port, logger: silentLogger })).rejects.toMatchObject({
        code: 'ERR_CONNECTION',
      });
    } finally {
      await first.close();
    }
    await expect(
      createKvCacheService({ port: 0, backend: 'valkey://127.0.0.1:1', logger: silentLogger }),
    ).rejects.toMatchObject({ code: 'ERR_CONNECTION' });
  });
});
