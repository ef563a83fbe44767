import { seededRandom, startTestServer, type TestServer } from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpPayload } from '../src/rdb/dump.js';
import { type Command, command, encodeCommand } from '../src/resp/encode.js';
import { CollectionPayload } from '../src/restore/collection-payload.js';

// The payloads a .valkey restore builds from single collection commands are checked by the
// server itself: it loads them with sanitize-dump-payload yes (a deep check of every listpack and
// intset), and each must hold what the plain command makes (DEBUG DIGEST-VALUE, OBJECT ENCODING).

let server: TestServer;
let client: Redis;

beforeAll(async () => {
  server = await startTestServer({
    config: { 'sanitize-dump-payload': 'yes', 'enable-debug-command': 'local' },
  });
  client = new Redis(server.url);
});

afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

/** Elements of every kind the listpack has an encoding for. */
function element(r: () => number): string {
  const k = Math.floor(r() * 12);
  switch (k) {
    case 0:
      return String(Math.floor(r() * 128));
    case 1:
      return String(Math.floor(r() * 8192) - 4096);
    case 2:
      return String(Math.floor(r() * 65536) - 32768);
    case 3:
      return String(Math.floor(r() * 2 ** 24) - 2 ** 23);
    case 4:
      return String(Math.floor(r() * 2 ** 32) - 2 ** 31);
    case 5:
      return String(Math.floor(r() * 2 ** 50) - 2 ** 49);
    case 6:
      return ['007', '-0', '+5', '1.5', '12345678901234567890', '-9223372036854775808', ' 1'][
        Math.floor(r() * 7)
      ]!;
    case 7:
      return 'x'.repeat(Math.floor(r() * 70));
    case 8:
      return 'y'.repeat(60 + Math.floor(r() * 10));
    default:
      return `e${Math.floor(r() * 1e6)}`;
  }
}

function score(r: () => number): string {
  const k = Math.floor(r() * 9);
  return [
    String(Math.floor(r() * 2000) - 1000),
    (r() * 1000 - 500).toFixed(3),
    String(r() * 1e6 - 5e5),
    '-0',
    '0.1',
    r() < 0.5 ? 'inf' : '-inf',
    '1e3',
    '1.5e-3',
    '123456789012.5',
  ][k]!;
}

function commands(seed: number, n: number): Command[] {
  const r = seededRandom(seed);
  const out: Command[] = [];
  for (let i = 0; i < n; i++) {
    const size = 1 + Math.floor(r() * (r() < 0.1 ? 140 : 12));
    const key = `k${i}`;
    const t = i % 5;
    if (t === 0) out.push(command('RPUSH', key, ...Array.from({ length: size }, () => element(r))));
    else if (t === 1) {
      // Sets of integers only (intset) half of the time.
      const ints = r() < 0.5;
      const m = new Set<string>();
      while (m.size < size)
        m.add(ints ? String(Math.floor(r() * 2 ** (4 + Math.floor(r() * 40)))) : element(r));
      out.push(command('SADD', key, ...m));
    } else if (t === 2) {
      const args: string[] = [];
      for (let f = 0; f < size; f++) args.push(`f${f}`, element(r));
      out.push(command(r() < 0.5 ? 'HSET' : 'HMSET', key, ...args));
    } else if (t === 3) {
      const args: string[] = [];
      for (let f = 0; f < size; f++) args.push(score(r), `m${Math.floor(r() * 1e9)}`);
      out.push(command('ZADD', key, ...args));
    } else {
      // Duplicates: the server de-duplicates, a payload must not carry them (so: not encoded).
      out.push(
        command(['SADD', 'HSET', 'ZADD'][i % 3]!, key, ...(i % 3 === 0 ? ['a', 'a'] : ['1', 'a', '1', 'a'])),
      );
    }
  }
  return out;
}

describe('CollectionPayload', () => {
  it('encodes single collection commands as payloads the server takes with deep sanitization, same value and encoding', async () => {
    const enc = new CollectionPayload();
    let encoded = 0;
    let declined = 0;
    // `npm run fuzz` runs this with many more commands and a fresh seed (VT_FUZZ_RUNS, VT_FUZZ_SEED).
    const n = Number(process.env.VT_FUZZ_RUNS ?? 1500);
    const seed = Number(process.env.VT_FUZZ_SEED ?? 7);
    for (const c of commands(seed, n)) {
      const wire = encodeCommand(c);
      const name = c[0]!.toString().toUpperCase();
      const key = c[1]!;
      const end = enc.encode(wire, 0, wire.length, name);
      const plainKey = Buffer.concat([Buffer.from('plain:'), key]);
      await client.call(name, plainKey, ...c.slice(2));
      if (end < 0) {
        declined++;
        continue;
      }
      encoded++;
      const payload = dumpPayload(enc.type, enc.body.subarray(enc.start, end), 11);
      await client.callBuffer('RESTORE', key, 0, payload);
      const [got, want] = await Promise.all([
        client.call('DEBUG', 'DIGEST-VALUE', key),
        client.call('DEBUG', 'DIGEST-VALUE', plainKey),
      ]);
      expect(got, `${name} ${key}`).toEqual(want);
      if (name !== 'RPUSH') {
        // (A list's one quicklist node may load as a plain listpack or stay a quicklist.)
        expect(await client.object('ENCODING', key), `${name} ${key}`).toBe(
          await client.object('ENCODING', plainKey),
        );
      }
    }
    // Every command with duplicates (a fifth) and the ones over the compact limits were declined.
    expect(declined).toBeGreaterThanOrEqual(n / 5);
    expect(encoded).toBeGreaterThan(n / 2);
  });

  it('declines what it does not take exactly: flags, bad scores, malformed commands, other commands', () => {
    const enc = new CollectionPayload();
    const tryIt = (...args: string[]) => {
      const wire = encodeCommand(command(...args));
      return enc.encode(wire, 0, wire.length, args[0]!.toUpperCase());
    };
    expect(tryIt('ZADD', 'k', 'NX', '1', 'a')).toBe(-1);
    expect(tryIt('ZADD', 'k', ' 1', 'a')).toBe(-1);
    expect(tryIt('ZADD', 'k', '0x10', 'a')).toBe(-1);
    expect(tryIt('ZADD', 'k', 'nan', 'a')).toBe(-1);
    expect(tryIt('HSET', 'k', 'f')).toBe(-1);
    expect(tryIt('SET', 'k', 'v')).toBe(-1);
    expect(tryIt('RPUSH', 'k', 'x'.repeat(9000))).toBe(-1);
    expect(tryIt('HSET', 'k', 'f', 'x'.repeat(65))).toBe(-1);
    const wire = encodeCommand(command('RPUSH', 'k', 'a'));
    expect(enc.encode(wire, 0, wire.length - 1, 'RPUSH')).toBe(-1);
    expect(tryIt('RPUSH', 'k', 'a', '1')).toBeGreaterThan(0);
  });
});
