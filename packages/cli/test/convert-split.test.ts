/**
 * `valkey-tools convert` of a big RDB (16 MiB and more) converts its second half on a worker thread
 * while the first is converted, then appends the worker's output. What a user must not notice:
 * the output is byte for byte what the one-thread record path writes (db switches at the seam,
 * expiries, every encoding), a file damaged in the second half or with a wrong checksum fails
 * exactly like it does through the record reader, and no temp file is left behind.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RdbRecord, Value } from '@valkey-tools/backup';
import { writeRdbFile } from '@valkey-tools/backup';
import { seededRandom, withoutValkeyHeader } from '@valkey-tools/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT_MS, buildCli, parseJson, runCli, tempDir } from './helpers.js';

const tmp = tempDir('convert-split');
const big = join(tmp.dir, 'big.rdb');

/** The file without the `.valkey` header command (it holds the creation time). */
const body = (path: string): Buffer => withoutValkeyHeader(readFileSync(path));

/** What is left in the folder besides the given files (temp files of a conversion). */
function leftovers(...expected: string[]): string[] {
  return readdirSync(tmp.dir).filter((n) => !expected.includes(n) && n.includes('.partial-'));
}

async function* dataset(): AsyncGenerator<RdbRecord> {
  const r = seededRandom(7);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const words = 'alpha beta gamma delta epsilon zeta eta theta'.split(' ');
  const text = (n: number) => {
    let s = '';
    while (s.length < n) s += `${words[Math.floor(r() * words.length)]} `;
    return Buffer.from(s.slice(0, n));
  };
  yield { kind: 'header', magic: 'REDIS', version: 11, flavor: 'valkey' };
  yield {
    kind: 'function',
    code: Buffer.from("#!lua name=lib\nserver.register_function('f', function() return 1 end)"),
  };
  // Four dbs, one after the other: the middle of the file falls inside db 1 or 2.
  for (let db = 0; db < 4; db++) {
    for (let i = 0; i < 24_000; i++) {
      const key = Buffer.from(`k:${db}:${i}`);
      const kind = i % 8;
      let value: Value;
      if (kind < 3) value = { type: 'string', value: bytes(150 + (i % 200)) };
      else if (kind === 3) value = { type: 'string', value: text(60 + (i % 500)) };
      else if (kind === 4)
        value = {
          type: 'hash',
          entries: Array.from({ length: 3 + (i % 40) }, (_, f) => ({
            field: Buffer.from(`f${f}`),
            value: text(12),
          })),
        };
      else if (kind === 5)
        value = { type: 'list', items: Array.from({ length: 2 + (i % 30) }, () => text(5 + (i % 25))) };
      else if (kind === 6)
        value = {
          type: 'zset',
          entries: Array.from({ length: 2 + (i % 20) }, (_, m) => ({
            member: Buffer.from(`m${m}`),
            score: m * 1.5 - 3,
          })),
        };
      else
        value = {
          type: 'set',
          members: Array.from({ length: 2 + (i % 15) }, (_, m) => Buffer.from(String(m * 7))),
        };
      yield {
        kind: 'key',
        db,
        key,
        encoding: '',
        value,
        ...(i % 10 === 0 ? { expiresAt: 4_102_444_800_000 + i } : {}),
      };
    }
    if (db === 2) {
      // A hash near the end the damage test breaks (incompressible field and value: stored as is).
      yield {
        kind: 'key',
        db,
        key: Buffer.from('zz-damaged'),
        encoding: '',
        value: {
          type: 'hash',
          entries: [{ field: Buffer.from('q7#Lw0'), value: Buffer.from('x9!Rv2$Kp4') }],
        },
      };
    }
  }
  yield { kind: 'end', checksum: null };
}

beforeAll(async () => {
  await Promise.all([buildCli(), writeRdbFile(big, dataset())]);
}, BUILD_TIMEOUT_MS + 30_000);

afterAll(() => tmp.cleanup());

describe('convert of a big RDB in two halves at once', () => {
  it('writes .valkey and JSONL byte for byte like the record path, on two threads, leaving no temp file', async () => {
    expect(readFileSync(big).length).toBeGreaterThan(16 << 20);
    for (const ext of ['valkey', 'jsonl']) {
      const split = await runCli(['convert', 'big.rdb', `split.${ext}`, '--json'], { cwd: tmp.dir });
      expect(split.code, split.stderr).toBe(0);
      const result = parseJson<{ keys: number; threads: number }>(split);
      expect(result.threads).toBe(2);
      expect(result.keys).toBe(96_001);
      // A filter that keeps everything takes the record path (one thread).
      const records = await runCli(['convert', 'big.rdb', `records.${ext}`, '--match', '*', '--json'], {
        cwd: tmp.dir,
      });
      expect(records.code, records.stderr).toBe(0);
      expect(parseJson<{ threads: number }>(records).threads).toBe(1);
      expect(body(join(tmp.dir, `split.${ext}`)).equals(body(join(tmp.dir, `records.${ext}`)))).toBe(true);
    }
    expect(leftovers()).toEqual([]);
  }, 120_000);

  it('fails on damage in the second half like the record reader does, writing nothing', async () => {
    const file = readFileSync(big);
    const at = file.indexOf('x9!Rv2$Kp4');
    expect(at).toBeGreaterThan(file.length / 2);
    // The listpack's end byte follows the value's back-length byte.
    expect(file[at + 11]).toBe(0xff);
    const damaged = Buffer.from(file);
    damaged[at + 11] = 0x01;
    writeFileSync(join(tmp.dir, 'damaged.rdb'), damaged);
    const split = await runCli(['convert', 'damaged.rdb', 'out.valkey'], { cwd: tmp.dir });
    const records = await runCli(['convert', 'damaged.rdb', 'out.valkey', '--match', '*'], { cwd: tmp.dir });
    expect(split.code).not.toBe(0);
    expect(split.stderr).toContain('zz-damaged');
    expect(split.stderr).toBe(records.stderr);
    expect(readdirSync(tmp.dir)).not.toContain('out.valkey');
    expect(leftovers()).toEqual([]);
  }, 120_000);

  it('fails on a wrong checksum like the record reader does, writing nothing', async () => {
    const damaged = Buffer.from(readFileSync(big));
    damaged[damaged.length - 3]! ^= 0x10;
    writeFileSync(join(tmp.dir, 'bad-crc.rdb'), damaged);
    const split = await runCli(['convert', 'bad-crc.rdb', 'out.jsonl'], { cwd: tmp.dir });
    const records = await runCli(['convert', 'bad-crc.rdb', 'out.jsonl', '--match', '*'], { cwd: tmp.dir });
    expect(split.code).not.toBe(0);
    expect(split.stderr).toMatch(/checksum/i);
    expect(split.stderr).toBe(records.stderr);
    expect(readdirSync(tmp.dir)).not.toContain('out.jsonl');
    expect(leftovers()).toEqual([]);
  }, 120_000);
});
