import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValkeyToolsError } from '@valkey-tools/core';
import { HANG_TIMEOUT_MS, LIMITS_CHECKED } from '@valkey-tools/test-utils';
import fc from 'fast-check';

/** Shared by the fuzz tests: seed and run count (VT_FUZZ_SEED / VT_FUZZ_RUNS; `npm run fuzz` raises them). */
export const FUZZ_SEED = Number(process.env.VT_FUZZ_SEED ?? 20261122);
export const FUZZ_RUNS = Number(process.env.VT_FUZZ_RUNS ?? 1500);
/**
 * Per-input deadline. Under `npm run fuzz` (VT_LIMITS=1) an input slower than VT_FUZZ_DEADLINE_MS
 * (default 5 s) is a finding, saved as a regression fixture. Inside `npm test` it only bounds a
 * hang (a minute, which a loaded machine does not reach) and never saves a fixture.
 */
export const INPUT_DEADLINE_MS = LIMITS_CHECKED
  ? Number(process.env.VT_FUZZ_DEADLINE_MS ?? 5000)
  : HANG_TIMEOUT_MS;

/** Set by scripts/fuzz.mjs: where the input being read is written before each read (see expectTypedOrOk). */
const INFLIGHT_DIR = process.env.VT_FUZZ_INFLIGHT_DIR;

export const REGRESSIONS = fileURLToPath(new URL('./fixtures/regressions/', import.meta.url));

/** Length prefixes that claim far more data than there is (RDB 64/32-bit lengths, RESP/decimal, LE u32). */
const INFLATED: Buffer[] = [
  Buffer.from([0x81, 0, 0, 1, 0, 0, 0, 0, 0]), // RDB 64-bit length 2^40
  Buffer.from([0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
  Buffer.from([0x80, 0x7f, 0xff, 0xff, 0xff]), // RDB 32-bit length 2^31-1
  Buffer.from([0x80, 0xff, 0xff, 0xff, 0xff]),
  Buffer.from([0x7f, 0xff]), // 14-bit length
  Buffer.from([0xff, 0xff, 0xff, 0x7f]), // little-endian u32 (listpack/ziplist headers)
  Buffer.from('1099511627776'),
  Buffer.from('99999999999999999999999'),
  Buffer.from('-1'),
];

export type Mutation =
  | { op: 'flip'; pos: number; bit: number }
  | { op: 'set'; pos: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'inflate'; pos: number; which: number; insert: boolean }
  | { op: 'swap'; a: number; b: number }
  | { op: 'garbage'; pos: number; bytes: Uint8Array }
  | { op: 'delete'; pos: number; length: number }
  | { op: 'duplicate'; pos: number; length: number };

const mutationOp: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), pos: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), pos: fc.nat(), value: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('inflate' as const),
    pos: fc.nat(),
    which: fc.nat({ max: INFLATED.length - 1 }),
    insert: fc.boolean(),
  }),
  fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ op: fc.constant('garbage' as const), pos: fc.nat(), bytes: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ op: fc.constant('delete' as const), pos: fc.nat(), length: fc.nat({ max: 64 }) }),
  fc.record({ op: fc.constant('duplicate' as const), pos: fc.nat(), length: fc.nat({ max: 64 }) }),
);

/** One to four mutations applied in order. */
export function mutation(): fc.Arbitrary<Mutation[]> {
  return fc.array(mutationOp, { minLength: 1, maxLength: 4 });
}

export function applyMutation(base: Buffer, ops: Mutation[]): Buffer {
  let b = Buffer.from(base);
  for (const m of ops) {
    const at = (p: number) => (b.length === 0 ? 0 : p % b.length);
    switch (m.op) {
      case 'flip':
        if (b.length) b[at(m.pos)]! ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length) b[at(m.pos)] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, m.at % (b.length + 1));
        break;
      case 'inflate': {
        const p = at(m.pos);
        const len = INFLATED[m.which]!;
        b = m.insert
          ? Buffer.concat([b.subarray(0, p), len, b.subarray(p)])
          : Buffer.concat([b.subarray(0, p), len, b.subarray(Math.min(b.length, p + len.length))]);
        break;
      }
      case 'swap': {
        if (!b.length) break;
        const [x, y] = [at(m.a), at(m.b)];
        [b[x], b[y]] = [b[y]!, b[x]!];
        break;
      }
      case 'garbage': {
        const p = at(m.pos);
        b = Buffer.concat([b.subarray(0, p), Buffer.from(m.bytes), b.subarray(p)]);
        break;
      }
      case 'delete': {
        const p = at(m.pos);
        b = Buffer.concat([b.subarray(0, p), b.subarray(p + m.length)]);
        break;
      }
      case 'duplicate': {
        const p = at(m.pos);
        b = Buffer.concat([b.subarray(0, p + m.length), b.subarray(p)]);
        break;
      }
    }
  }
  return b;
}

/** Saves an input that broke a reader as a regression fixture (kept by name = sha256 prefix). */
export function saveRegression(kind: string, input: Buffer, why: string): string {
  const dir = join(REGRESSIONS, kind);
  mkdirSync(dir, { recursive: true });
  const name = createHash('sha256').update(input).digest('hex').slice(0, 16);
  writeFileSync(join(dir, `${name}.bin`), input);
  writeFileSync(join(dir, `${name}.txt`), `${why}\n`);
  return join(dir, `${name}.bin`);
}

/** The stored regression inputs of one kind (each must keep parsing or failing typed). */
export function regressionInputs(kind: string): { name: string; bytes: Buffer }[] {
  const dir = join(REGRESSIONS, kind);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .map((f) => ({ name: f, bytes: readFileSync(join(dir, f)) }));
}

class Deadline extends Error {}

/**
 * Runs one reader over one input: it must finish (value or `ValkeyToolsError`) before the deadline.
 * A TypeError, RangeError or plain Error saves the input as a regression fixture and fails with its
 * path; so does a run over the deadline under `npm run fuzz`. Inside `npm test` a run that does not
 * end within the (hang-bounding) deadline fails without writing anything.
 */
export async function expectTypedOrOk(
  run: () => Promise<unknown>,
  input: Buffer,
  kind: string,
): Promise<void> {
  // Under `npm run fuzz` the input is written down first: a reader stuck in a synchronous loop
  // cannot be interrupted from inside, so the script's watchdog kills the run and keeps this file.
  if (INFLIGHT_DIR) writeFileSync(join(INFLIGHT_DIR, `${kind.split(' ')[0]}.bin`), input);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Deadline()), INPUT_DEADLINE_MS);
  });
  const started = performance.now();
  try {
    await Promise.race([run(), deadline]);
  } catch (err) {
    if (ValkeyToolsError.isInstance(err)) {
      if (!err.message || !err.code) throw new Error(`${kind}: typed error without code/message`);
      return;
    }
    if (err instanceof Deadline && !LIMITS_CHECKED) {
      throw new Error(
        `${kind}: no result within ${INPUT_DEADLINE_MS / 1000} s (a hang: \`npm run fuzz\` keeps such an input as a fixture)`,
      );
    }
    const why =
      err instanceof Deadline
        ? `hang: no result within ${INPUT_DEADLINE_MS} ms`
        : `untyped error: ${(err as Error)?.stack ?? String(err)}`;
    const file = saveRegression(kind.split(' ')[0]!, input, why);
    throw new Error(`${kind}: ${why.split('\n')[0]} (input saved to ${file})`);
  } finally {
    clearTimeout(timer);
  }
  const elapsed = performance.now() - started;
  if (LIMITS_CHECKED && elapsed > INPUT_DEADLINE_MS) {
    const file = saveRegression(kind.split(' ')[0]!, input, `slow: ${elapsed.toFixed(0)} ms`);
    throw new Error(`${kind}: took ${elapsed.toFixed(0)} ms (input saved to ${file})`);
  }
}
