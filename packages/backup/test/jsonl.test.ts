import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestServer, buildEncodingsDataset, serverState, serverGroup } from '@valkey-tools/test-utils';
import { Valkey } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonlToRecords, recordsToJsonl } from '../src/jsonl/jsonl.js';
import type { KeyRecord, RdbRecord } from '../src/model.js';
import { readRdbFile } from '../src/rdb/reader.js';
import { writeRdbFile } from '../src/rdb/writer.js';
import { collect, norm } from './fixtures/rdb/helpers.js';

const servers = serverGroup();
let src: TestServer;
let c: Valkey;
let records: RdbRecord[];
let dir: string;

async function* chunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const keyView = (rs: Array<RdbRecord>) =>
  rs
    .filter((r): r is KeyRecord => r.kind === 'key')
    .map(({ db, key, value, expiresAt }) => norm({ db, key, value, expiresAt }))
    .sort();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vt-jsonl-'));
  src = await servers.start();
  c = new Valkey({ port: src.port, host: src.host, maxRetriesPerRequest: 1 });
  await buildEncodingsDataset(c);
  await c.call('SAVE');
  records = await collect(readRdbFile(join(src.dir, 'dump.rdb')));
});

afterAll(async () => {
  c?.disconnect();
  await servers.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('JSONL', () => {
  it('one line per key, binary-safe, and back to the same records (split into 7-byte chunks)', async () => {
    const lines = await collect(recordsToJsonl(records));
    const keyCount = records.filter((r) => r.kind === 'key').length;
    expect(lines).toHaveLength(keyCount + 1); // + the function library
    for (const l of lines) expect(l.endsWith('\n') && !l.slice(0, -1).includes('\n')).toBe(true);
    const binKey = lines.find((l) => l.includes('"$b64":"/wD+"'));
    expect(JSON.parse(binKey!)).toMatchObject({ key: { $b64: '/wD+' }, type: 'string', value: 'binary key' });
    expect(JSON.parse(lines.find((l) => l.includes('"zset:lp"'))!).value).toContainEqual(['top', 'inf']);
    const back = await collect(jsonlToRecords(chunks(lines.join(''), 7)));
    expect(keyView(back)).toEqual(keyView(records));
    expect(back.filter((r) => r.kind === 'function')).toHaveLength(1);
  });

  it('JSONL -> RDB loads into valkey-server with the same DEBUG DIGEST and streams', async () => {
    const text = (await collect(recordsToJsonl(records))).join('');
    const out = join(dir, 'from-jsonl.rdb');
    await writeRdbFile(out, jsonlToRecords([text]));
    const fresh = await servers.start({ config: { dir, dbfilename: 'from-jsonl.rdb' } });
    const f = new Valkey({ port: fresh.port, host: fresh.host, maxRetriesPerRequest: 1 });
    try {
      const view = { ignoreLayout: true };
      expect(await serverState(f, view)).toEqual(await serverState(c, view));
    } finally {
      f.disconnect();
    }
  });

  it('keys read in parts become "append" lines that parse back to whole keys', async () => {
    const parts = await collect(
      readRdbFile(join(src.dir, 'dump.rdb'), { chunked: { elements: 50, bytes: 10_000, pieceBytes: 4096 } }),
    );
    expect(parts.some((r) => r.kind === 'key-part')).toBe(true);
    const lines = await collect(recordsToJsonl(parts));
    expect(lines.some((l) => l.includes('"append":true'))).toBe(true);
    const back = await collect(jsonlToRecords(lines));
    expect(keyView(back)).toEqual(keyView(records));
  });

  it('reports bad lines with their line number', async () => {
    const bad =
      '{"db":0,"key":"a","type":"string","value":"x"}\n{"db":0,"key":"b","type":"set","value":"nope"}\n';
    await expect(collect(jsonlToRecords([bad]))).rejects.toMatchObject({
      code: 'ERR_JSONL_PARSE',
      details: { line: 2 },
    });
    await expect(collect(jsonlToRecords(['{not json}\n']))).rejects.toMatchObject({
      code: 'ERR_JSONL_PARSE',
      details: { line: 1 },
    });
  });
});

describe('jsonlToRecords line cap', () => {
  it('refuses a line longer than the cap with a typed error naming the line, without waiting for a newline', async () => {
    async function* endless() {
      yield '{"key":"ok","type":"string","value":"v"}\n';
      for (let i = 0; i < 1000; i++) yield `{"key":"big","type":"string","value":"${'x'.repeat(1000)}`;
    }
    const err = await (async () => {
      for await (const _ of jsonlToRecords(endless(), { maxLineChars: 10_000 })) {
        // drain
      }
    })().catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_JSONL_PARSE', details: { line: 2 } });
    expect(String(err.message)).toMatch(/line 2 is longer than 10000 characters/);
  });
});
