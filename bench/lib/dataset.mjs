// Generates a realistic mixed dataset as a RESP command stream (seeded, reproducible):
// strings (short, long, integers), hashes, lists, sets (int and text), sorted sets, streams
// with consumer groups, expiring keys, several DBs and a few big collections.
// `scale` = number of top-level keys (the RDB is about 110 bytes per key at the default mix,
// so 1,000,000 keys gives a ~110 MB file).

import { seededRandom } from '../../packages/test-utils/src/random.js';

const WORDS =
  'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau'.split(
    ' ',
  );

/** Elements in each big collection of a dataset of `scale` keys (unless given). */
export function defaultBig(scale) {
  return Math.max(1000, Math.floor(scale / 10));
}

/** Yields RESP commands in chunks (~64 KB); `big` = elements per big collection. */
export async function* datasetCommands({ scale = 100_000, seed = 42, big = defaultBig(scale) } = {}) {
  // The packages' own encoder, built (the runner builds the packages before it makes a dataset).
  const { encodeCommand } = await import('@valkey-tools/backup/codec');
  const r = seededRandom(seed);
  const word = () => WORDS[Math.floor(r() * WORDS.length)];
  const text = (n) => {
    let s = '';
    while (s.length < n) s += `${word()} `;
    return s.slice(0, n);
  };
  const now = Date.now();
  let pending = [];
  let size = 0;
  const push = (args) => {
    const encoded = encodeCommand(args.map(String));
    pending.push(encoded);
    size += encoded.length;
    if (size > 65536) {
      const out = Buffer.concat(pending);
      pending = [];
      size = 0;
      return out;
    }
    return null;
  };
  for (let db = 0; db < 3; db++) {
    const keys = db === 0 ? Math.floor(scale * 0.9) : Math.floor(scale * 0.05);
    const c = push(['SELECT', db]);
    if (c) yield c;
    for (let i = 0; i < keys; i++) {
      const kind = r();
      let chunk = null;
      const key = `${['user', 'session', 'cache', 'queue', 'idx'][i % 5]}:${db}:${i}`;
      if (kind < 0.45) chunk = push(['SET', key, text(20 + Math.floor(r() * 100))]);
      else if (kind < 0.55) chunk = push(['SET', key, String(Math.floor(r() * 1e9))]);
      else if (kind < 0.6) chunk = push(['SET', key, text(300 + Math.floor(r() * 2000))]);
      else if (kind < 0.72) {
        const args = ['HSET', key];
        const n = 2 + Math.floor(r() * 10);
        for (let f = 0; f < n; f++) args.push(`f${f}`, text(8 + Math.floor(r() * 30)));
        chunk = push(args);
      } else if (kind < 0.8) {
        const args = ['RPUSH', key];
        const n = 2 + Math.floor(r() * 20);
        for (let f = 0; f < n; f++) args.push(text(5 + Math.floor(r() * 40)));
        chunk = push(args);
      } else if (kind < 0.86) {
        const args = ['SADD', key];
        const n = 2 + Math.floor(r() * 15);
        const ints = r() < 0.5;
        for (let f = 0; f < n; f++)
          args.push(ints ? String(Math.floor(r() * 1e6)) : text(6 + Math.floor(r() * 20)));
        chunk = push(args);
      } else if (kind < 0.93) {
        const args = ['ZADD', key];
        const n = 2 + Math.floor(r() * 15);
        for (let f = 0; f < n; f++) args.push((r() * 1000 - 500).toFixed(3), `m${f}:${word()}`);
        chunk = push(args);
      } else if (kind < 0.95) {
        const n = 3 + Math.floor(r() * 10);
        for (let f = 0; f < n; f++) {
          const c2 = push(['XADD', key, '*', 'event', word(), 'n', String(f)]);
          if (c2) yield c2;
        }
        if (r() < 0.3) chunk = push(['XGROUP', 'CREATE', key, 'workers', '0']);
      } else {
        chunk = push(['SET', key, text(40)]);
      }
      if (chunk) yield chunk;
      if (r() < 0.1) {
        const e = push(['PEXPIREAT', key, String(now + 3_600_000 + Math.floor(r() * 86_400_000))]);
        if (e) yield e;
      }
    }
  }
  // a few big collections
  const bigN = big;
  const sel = push(['SELECT', 0]);
  if (sel) yield sel;
  for (const [type, key] of [
    ['SADD', 'big:set'],
    ['RPUSH', 'big:list'],
    ['HSET', 'big:hash'],
    ['ZADD', 'big:zset'],
  ]) {
    for (let i = 0; i < bigN; i += 500) {
      const args = [type, key];
      for (let j = i; j < Math.min(bigN, i + 500); j++) {
        if (type === 'HSET') args.push(`field:${j}`, text(16));
        else if (type === 'ZADD') args.push(String(j * 0.5), `member:${j}`);
        else args.push(`element:${j}:${word()}`);
      }
      const c4 = push(args);
      if (c4) yield c4;
    }
  }
  if (size) yield Buffer.concat(pending);
}

/** How many top-level keys `datasetCommands({ scale })` creates (none expire before the RDB is saved). */
export function datasetKeyCount(scale) {
  return Math.floor(scale * 0.9) + 2 * Math.floor(scale * 0.05) + 4;
}
