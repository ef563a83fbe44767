import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import {
  blockStored,
  decodeEventBatch,
  decodeSequence,
  encodeEventBatch,
  encodeSequence,
  parseTopic,
} from './events.js';

describe('KV event decoding (vector 4)', () => {
  it('decodes the llm-d adapter test payload (positional)', () => {
    expect(parseTopic('kv@pod-1@llama-2-7b')).toEqual({ pod: 'pod-1', model: 'llama-2-7b' });
    const payload = encode([
      1234567890.0,
      [['BlockStored', [100, 101], 99, [1, 2, 3], 16, null, 'gpu', null, null]],
      null,
    ]);
    const batch = decodeEventBatch(payload);
    expect(batch.events).toHaveLength(1);
    const e = batch.events[0]!;
    expect(e.type).toBe('BlockStored');
    if (e.type !== 'BlockStored') return;
    expect(e.blockHashes).toEqual([100n, 101n]);
    expect(e.parentBlockHash).toBe(99n);
    expect(e.tokenIds).toEqual([1, 2, 3]);
    expect(e.medium).toBe('gpu');
    expect(batch.dataParallelRank).toBeNull();
  });

  it('decodes tagged maps the same as positional arrays', () => {
    const events = [
      blockStored({
        blockHashes: [18446744073709551615n, 5n],
        parentBlockHash: 1n,
        tokenIds: [7, 8],
        medium: 'GPU',
        loraName: 'ad',
        groupIdx: 1,
      }),
      { type: 'BlockRemoved' as const, blockHashes: [5n], medium: 'CPU', groupIdx: null },
      { type: 'AllBlocksCleared' as const },
    ];
    const a = decodeEventBatch(encodeEventBatch(events, { encoding: 'array', ts: 1.5 }));
    const m = decodeEventBatch(encodeEventBatch(events, { encoding: 'map', ts: 1.5 }));
    expect(m.events).toEqual(a.events);
    expect(a.events).toEqual(events);
    expect(a.ts).toBe(1.5);
  });

  it('keeps uint64 hashes exact, wraps negative ints and takes the last 8 bytes of byte hashes', () => {
    const digest = new Uint8Array(32).map((_, i) => i);
    const batch = decodeEventBatch(
      encode([0, [['BlockRemoved', [-1, digest, 2n ** 63n + 5n]]], 2], { useBigInt64: true }),
    );
    const e = batch.events[0]!;
    expect(e.type === 'BlockRemoved' && e.blockHashes).toEqual([
      18446744073709551615n,
      0x18191a1b1c1d1e1fn,
      2n ** 63n + 5n,
    ]);
    expect(batch.dataParallelRank).toBe(2);
  });

  it('skips unknown event kinds and reports malformed fields precisely', () => {
    expect(decodeEventBatch(encode([0, [['FutureEvent', 1], ['AllBlocksCleared']], null])).skipped).toBe(1);
    expect(() => decodeEventBatch(new Uint8Array([0xc1]))).toThrow(/not msgpack/);
    expect(() => decodeEventBatch(encode([0, 'x', null]))).toThrow(/events is string/);
    expect(() => decodeEventBatch(encode([0, [['BlockStored', 'x']], null]))).toThrow(
      /events\[0\]\.block_hashes/,
    );
    expect(() => decodeEventBatch(encode([0, [['BlockStored', [1.5]]], null]))).toThrow(/block_hashes\[0\]/);
    expect(() => decodeEventBatch(encode([0, [['BlockStored', [1], null, [-1]]], null]))).toThrow(
      /token_ids\[0\]/,
    );
    expect(() => decodeEventBatch(encode([0, [42], null]))).toThrow(/events\[0\]/);
    expect(() => decodeEventBatch(encode('x'))).toThrow(/ERR|batch/);
  });

  it('round-trips sequence frames, including the replay end marker -1', () => {
    expect(decodeSequence(encodeSequence(42n))).toBe(42n);
    expect(decodeSequence(Buffer.alloc(8, 0xff))).toBe(-1n);
    expect(() => decodeSequence(new Uint8Array(4))).toThrow(/8/);
  });

  it('parses topics without the kv@pod@model shape as pod = topic', () => {
    expect(parseTopic('weird')).toEqual({ pod: 'weird', model: '' });
    expect(parseTopic('kv@10.0.0.1:8000@meta-llama/Llama-3.1-8B')).toEqual({
      pod: '10.0.0.1:8000',
      model: 'meta-llama/Llama-3.1-8B',
    });
  });
});
