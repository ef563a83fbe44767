import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValkeyToolsError } from '@valkey-tools/core';
import { checkLimit, memoryGuard, withinMemory, writeDataset, serverGroup } from '@valkey-tools/test-utils';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRecord, RdbRecord } from '../src/model.js';
import { readAof } from '../src/aof/read-aof.js';
import { decodeDumpPayload, encodeDumpPayload } from '../src/rdb/dump.js';
import { verifyRdb } from '../src/rdb/inspect.js';
import { readRdb } from '../src/rdb/reader.js';
import { jsonlToRecords, recordsToJsonl } from '../src/jsonl/jsonl.js';
import { commandsToReadable, readableToCommands } from '../src/resp/readable.js';
import { parseRespCommands } from '../src/resp/parser.js';
import { recordsToCommands } from '../src/resp/records-to-commands.js';
import { commandsToResp } from '../src/resp/writer.js';
import { writeRdb } from '../src/rdb/writer.js';
import { SHARED_RDB } from './fixtures/rdb/helpers.js';
import {
  FUZZ_RUNS,
  FUZZ_SEED,
  mutation,
  applyMutation,
  expectTypedOrOk,
  regressionInputs,
} from './fuzz-harness.js';

/**
 * Property-based fuzzing of every reader that takes bytes from a user: mutated real files (bit
 * flips, truncations, inflated length prefixes, swapped bytes, garbage) either parse or fail with
 * the package's typed error, within a deadline, without unbounded allocation. Seed and run count
 * come from VT_FUZZ_SEED / VT_FUZZ_RUNS (`npm run fuzz` runs many more).
 */

const servers = serverGroup();
const rdbCorpus: { name: string; bytes: Buffer }[] = [];

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function listRdbFixtures(): { name: string; bytes: Buffer }[] {
  const out: { name: string; bytes: Buffer }[] = [];
  for (const dir of ['valkey', 'rdbtools']) {
    for (const f of readdirSync(join(SHARED_RDB, dir))) {
      if (!f.endsWith('.rdb')) continue;
      const bytes = readFileSync(join(SHARED_RDB, dir, f));
      if (bytes.length <= 64 * 1024) out.push({ name: `${dir}/${f}`, bytes });
    }
  }
  return out;
}

/** Reads an RDB completely (checksum off lets damage reach the structure decoders; chunked takes the part-by-part paths). */
async function readAll(bytes: Buffer, checksum: boolean, chunked = false): Promise<void> {
  const options = {
    checksum,
    onWarning: () => {},
    ...(chunked ? { chunked: { elements: 3, bytes: 48, pieceBytes: 16 } } : {}),
  };
  for await (const _ of readRdb(bytes, options)) {
    // drain
  }
}

beforeAll(async () => {
  // A file saved by a real server, with every type and encoding our dataset covers.
  const server = await servers.start();
  await writeDataset(server, [
    ['SET', 'str', 'hello'],
    ['SET', 'int', '12345'],
    ['SET', 'big', 'x'.repeat(300)],
    ['RPUSH', 'list', 'a', 'b', '1', '-7', 'x'.repeat(70)],
    ['SADD', 'iset', '1', '2', '70000', '5000000000'],
    ['SADD', 'set', 'a', 'b', 'c'],
    ['ZADD', 'zset', '1.5', 'a', '-2', 'b', 'inf', 'c'],
    ['HSET', 'hash', 'f1', 'v1', 'f2', '22'],
    ['XADD', 'stream', '1-1', 'a', '1'],
    ['XADD', 'stream', '2-1', 'b', '2'],
    ['XGROUP', 'CREATE', 'stream', 'g', '0'],
    ['SET', 'ttl', 'v', 'PX', '99999999'],
  ]);
  await server.command('SAVE');
  rdbCorpus.push({ name: 'server/dump.rdb', bytes: readFileSync(join(server.dir, 'dump.rdb')) });
  rdbCorpus.push(...listRdbFixtures());
  expect(rdbCorpus.length).toBeGreaterThan(20);
});

afterAll(async () => {
  await servers.stop();
});

describe('fuzz: RDB reader', () => {
  it('mutated real RDB files parse or raise RdbError, in time, with bounded memory', async () => {
    const guard = memoryGuard('fuzzing');
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: rdbCorpus.length - 1 }),
        mutation(),
        fc.boolean(),
        fc.boolean(),
        async (which, m, checksum, chunked) => {
          const base = rdbCorpus[which]!.bytes;
          const input = applyMutation(base, m);
          await expectTypedOrOk(() => readAll(input, checksum, chunked), input, 'rdb');
          guard.check();
        },
      ),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true },
    );
  });

  it('verifyRdb agrees with the reader on mutated files (ok exactly when the file reads cleanly)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: rdbCorpus.length - 1 }), mutation(), async (which, m) => {
        const input = applyMutation(rdbCorpus[which]!.bytes, m);
        let reads = true;
        try {
          await readAll(input, true);
        } catch (err) {
          if (!ValkeyToolsError.isInstance(err)) throw err;
          reads = false;
        }
        let verified: boolean | undefined;
        await expectTypedOrOk(
          async () => {
            verified = (await verifyRdb(input)).ok;
          },
          input,
          'verify',
        );
        expect(verified, 'verifyRdb result').toBe(reads);
      }),
      { seed: FUZZ_SEED, numRuns: Math.ceil(FUZZ_RUNS / 3), endOnFailure: true },
    );
  });

  it('every stored regression input (fixtures/regressions/rdb) parses or fails typed, also streamed, in bounded memory', async () => {
    const stored = regressionInputs('rdb');
    expect(stored.length).toBeGreaterThan(0);
    for (const { name, bytes } of stored) {
      await withinMemory(`rdb regression ${name}`, 64 * 2 ** 20, async () => {
        await expectTypedOrOk(() => readAll(bytes, false), bytes, `rdb regression ${name}`);
        // Streamed, the reader does not know the total size: claimed lengths must still not be allocated up front.
        await expectTypedOrOk(
          async () => {
            for await (const _ of readRdb(
              (async function* () {
                yield bytes;
              })(),
              { checksum: false, onWarning: () => {} },
            )) {
              // drain
            }
          },
          bytes,
          `rdb regression ${name} (streamed)`,
        );
      });
    }
  });

  it('a 2^40-byte string or 2^40-element list length is refused without allocating it', async () => {
    const header = Buffer.from('REDIS0011', 'latin1');
    const huge = Buffer.alloc(9);
    huge[0] = 0x81; // 64-bit length follows, big-endian
    huge.writeBigUInt64BE(2n ** 40n, 1);
    const cases: Buffer[] = [
      // string key, value length 2^40
      Buffer.concat([header, Buffer.from([0xfe, 0x00, 0x00, 0x01, 0x6b]), huge]),
      // list (quicklist2) key with 2^40 nodes
      Buffer.concat([header, Buffer.from([0xfe, 0x00, 18, 0x01, 0x6b]), huge]),
      // set with 2^40 members
      Buffer.concat([header, Buffer.from([0xfe, 0x00, 2, 0x01, 0x6b]), huge]),
      // key name length 2^40
      Buffer.concat([header, Buffer.from([0xfe, 0x00, 0x00]), huge]),
      // hash with 2^31 - 1 fields (32-bit length form)
      Buffer.concat([header, Buffer.from([0xfe, 0x00, 4, 0x01, 0x6b, 0x80, 0x7f, 0xff, 0xff, 0xff])]),
    ];
    for (const input of cases) {
      const before = process.memoryUsage();
      // Streamed (no known total size) and whole, with and without checksum.
      for (const source of [
        input,
        (async function* () {
          yield input;
        })(),
      ]) {
        let err: unknown;
        try {
          for await (const _ of readRdb(source, { checksum: false, onWarning: () => {} })) {
            // drain
          }
        } catch (e) {
          err = e;
        }
        expect(ValkeyToolsError.isInstance(err), String(err)).toBe(true);
      }
      const after = process.memoryUsage();
      checkLimit(
        'a refused 2^40 length, arrayBuffers growth',
        after.arrayBuffers - before.arrayBuffers,
        64 * 2 ** 20,
        'bytes',
      );
      checkLimit('a refused 2^40 length, rss growth', after.rss - before.rss, 256 * 2 ** 20, 'bytes');
    }
  });
});

describe('fuzz: AOF reader (RDB preamble + RESP tail)', () => {
  it('mutated AOF files from a real server read or raise a typed error', async () => {
    const base = readFileSync(join(SHARED_RDB, 'valkey', 'rdb-preamble.aof'));
    const dir = mkdtempSync(join(tmpdir(), 'vt-fuzz-aof-'));
    const file = join(dir, 'appendonly.aof');
    const guard = memoryGuard('fuzzing');
    try {
      await fc.assert(
        fc.asyncProperty(mutation(), async (m) => {
          const input = applyMutation(base, m);
          writeFileSync(file, input);
          await expectTypedOrOk(
            async () => {
              for await (const segment of readAof(file)) {
                if (segment.kind === 'records') for await (const _ of segment.records);
                else for await (const _ of segment.batches);
              }
            },
            input,
            'aof',
          );
          guard.check();
        }),
        { seed: FUZZ_SEED, numRuns: Math.ceil(FUZZ_RUNS / 3), endOnFailure: true },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fuzz: DUMP payloads', () => {
  let payloads: Buffer[] = [];
  beforeAll(async () => {
    const records = (await collect(readRdb(rdbCorpus[0]!.bytes))) as RdbRecord[];
    const keys = records.filter((r): r is KeyRecord => r.kind === 'key');
    payloads = keys.map((k) => encodeDumpPayload(k.value));
    expect(payloads.length).toBeGreaterThan(8);
    // Round trip first: unmutated payloads decode.
    for (const p of payloads) await decodeDumpPayload(p);
  });

  it('mutated payloads decode or raise RdbError', async () => {
    const guard = memoryGuard('fuzzing');
    await fc.assert(
      fc.asyncProperty(fc.nat(), mutation(), fc.boolean(), async (which, m, checksum) => {
        const input = applyMutation(payloads[which % payloads.length]!, m);
        await expectTypedOrOk(() => decodeDumpPayload(input, { checksum }), input, 'dump');
        guard.check();
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true },
    );
  });
});

describe('fuzz: RESP, readable and JSONL readers', () => {
  let resp: Buffer;
  let readable: Buffer;
  let jsonl: Buffer;
  beforeAll(async () => {
    const records = (await collect(readRdb(rdbCorpus[0]!.bytes))) as RdbRecord[];
    const commands = await collect(recordsToCommands(records));
    resp = Buffer.concat(await collect(commandsToResp(commands)));
    readable = Buffer.concat(await collect(commandsToReadable(commands)));
    jsonl = Buffer.from((await collect(recordsToJsonl(records))).join(''));
    // A written-then-read RDB with binary keys: the JSONL/RESP corpora see every byte value.
    const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const rdb = Buffer.concat(
      await collect(
        writeRdb([{ kind: 'key', db: 0, key: bin, encoding: '', value: { type: 'string', value: bin } }]),
      ),
    );
    const extra = (await collect(readRdb(rdb))) as RdbRecord[];
    resp = Buffer.concat([resp, ...(await collect(commandsToResp(await collect(recordsToCommands(extra)))))]);
    jsonl = Buffer.concat([jsonl, Buffer.from((await collect(recordsToJsonl(extra))).join(''))]);
  });

  /** Splits a buffer into a few chunks at arbitrary points (the readers are incremental). */
  function chunks(input: Buffer, cuts: number[]): Buffer[] {
    const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
    const out: Buffer[] = [];
    let at = 0;
    for (const p of points) {
      out.push(input.subarray(at, p));
      at = p;
    }
    out.push(input.subarray(at));
    return out;
  }

  it('stored regression inputs of the other readers (fixtures/regressions/<kind>) still parse or fail typed', async () => {
    // Each reader and the folder its stored inputs live in (verify reads the rdb ones too).
    const readers: Array<[string, string, (b: Buffer) => Promise<unknown>]> = [
      ['dump', 'dump', (b) => decodeDumpPayload(b, { checksum: false })],
      ['dump checked', 'dump', (b) => decodeDumpPayload(b)],
      ['resp', 'resp', (b) => collect(parseRespCommands([b]))],
      ['readable', 'readable', (b) => collect(readableToCommands([b]))],
      ['jsonl', 'jsonl', (b) => collect(jsonlToRecords([b]))],
      ['verify', 'rdb', (b) => verifyRdb(b)],
    ];
    for (const [kind, folder, read] of readers) {
      const inputs = regressionInputs(folder);
      // An empty or missing folder would make this loop test nothing.
      expect(inputs.length, `fixtures/regressions/${folder} holds inputs`).toBeGreaterThan(0);
      for (const { name, bytes } of inputs) {
        await expectTypedOrOk(() => read(bytes), bytes, `${kind} regression ${name}`);
      }
    }
  });

  it('RESP command stream: mutated input parses or raises BackupError', async () => {
    const guard = memoryGuard('fuzzing');
    await fc.assert(
      fc.asyncProperty(mutation(), fc.array(fc.nat(), { maxLength: 4 }), async (m, cuts) => {
        const input = applyMutation(resp, m);
        await expectTypedOrOk(
          () => collect(parseRespCommands(chunks(input, cuts), { maxBulkLength: 1 << 20 })),
          input,
          'resp',
        );
        guard.check();
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true },
    );
  });

  it('RESP: a $2^40 bulk or *2^40 array header is refused without allocating', async () => {
    for (const text of ['*1\r\n$1099511627776\r\nabc', '*1099511627776\r\n$1\r\na\r\n', '*2\r\n$-5\r\n']) {
      const err = await withinMemory(JSON.stringify(text), 16 * 2 ** 20, () =>
        collect(parseRespCommands([Buffer.from(text)])).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      expect(ValkeyToolsError.isInstance(err), `${JSON.stringify(text)}: ${String(err)}`).toBe(true);
    }
  });

  it('readable (.valkey text view): mutated input parses or raises BackupError', async () => {
    const guard = memoryGuard('fuzzing');
    await fc.assert(
      fc.asyncProperty(mutation(), fc.array(fc.nat(), { maxLength: 4 }), async (m, cuts) => {
        const input = applyMutation(readable, m);
        await expectTypedOrOk(() => collect(readableToCommands(chunks(input, cuts))), input, 'readable');
        guard.check();
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true },
    );
  });

  it('JSONL: mutated input parses or raises RdbError ERR_JSONL_PARSE', async () => {
    const guard = memoryGuard('fuzzing');
    await fc.assert(
      fc.asyncProperty(mutation(), fc.array(fc.nat(), { maxLength: 4 }), async (m, cuts) => {
        const input = applyMutation(jsonl, m);
        await expectTypedOrOk(() => collect(jsonlToRecords(chunks(input, cuts))), input, 'jsonl');
        guard.check();
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true },
    );
  });
});
