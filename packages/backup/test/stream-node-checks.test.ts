import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ListpackBuilder } from '../src/rdb/containers.js';
import { RdbType } from '../src/rdb/constants.js';
import { walkRdbRecords } from '../src/rdb/direct.js';
import { checkValueBytes } from '../src/rdb/walk.js';
import { decodeValue, readRdbFile } from '../src/rdb/reader.js';
import { keyRecord, rdbFile, rdbLen, rdbStr } from './helpers/craft.js';

// The structure walk checks a stream node's listpack element by element (no element objects);
// the record reader checks the elements it made. Every verdict must be the same.

type El = number | bigint | string | Buffer;

/** A one-node stream value (RDB stream v1) whose node listpack holds `elements`. */
function streamBody(elements: El[], raw?: (lp: Buffer) => Buffer): Buffer {
  const lp = new ListpackBuilder();
  for (const e of elements) {
    if (typeof e === 'number' || typeof e === 'bigint') lp.appendInt(e);
    else if (typeof e === 'string') lp.appendString(Buffer.from(e));
    else lp.appendString(e);
  }
  let listpack = lp.finish();
  if (raw) listpack = raw(listpack);
  const nodeKey = Buffer.alloc(16);
  nodeKey.writeBigUInt64BE(1_700_000_000_000n, 0);
  return Buffer.concat([
    rdbLen(1),
    rdbStr(nodeKey),
    rdbStr(listpack),
    rdbLen(1), // length
    rdbLen(5), // last id ms
    rdbLen(0), // last id seq
    rdbLen(0), // groups
  ]);
}

async function verdicts(body: Buffer): Promise<{ walk: string; reader: string }> {
  const failure = checkValueBytes(body, RdbType.STREAM_LISTPACKS, 0, body.length, 9);
  let reader = 'ok';
  try {
    await decodeValue(body, RdbType.STREAM_LISTPACKS, 9);
  } catch (err) {
    reader = `refused (${(err as { code?: string }).code})`;
  }
  return { walk: failure ? `refused (${failure.reason})` : 'ok', reader };
}

// master entry: count, deleted, field count, names..., 0; entries: flags, ms, seq, ..., lp-count
const cases: Array<[string, El[], ((lp: Buffer) => Buffer)?]> = [
  ['same fields', [1, 0, 1, 'f', 0, 2, 0, 0, 'v', 4]],
  ['own fields', [1, 0, 1, 'f', 0, 0, 1, 0, 2, 'a', 'x', 'b', 'y', 8]],
  ['a deleted entry', [1, 1, 1, 'f', 0, 2, 0, 0, 'v', 4, 3, 1, 1, 'w', 4]],
  ['numbers written as digits', ['1', '0', '1', 'f', '0', '2', '0', '0', 'v', '4']],
  ['a huge id delta (beyond 2^53)', [1, 0, 1, 'f', 0, 2, 2n ** 60n, 1, 'v', 4]],
  ['a huge id delta as digits', [1, 0, 1, 'f', 0, 2, '1152921504606846976', 1, 'v', 4]],
  ['flags beyond 32 bits', [1, 0, 1, 'f', 0, 2 ** 40 + 2, 0, 0, 'v', 4]],
  ['a negative field count', [1, 0, 1, 'f', 0, 0, 0, 0, -1, 2]],
  ['no elements', []],
  ['the master terminator is not 0', [1, 0, 1, 'f', 1, 2, 0, 0, 'v', 4]],
  ['a wrong lp-count', [1, 0, 1, 'f', 0, 2, 0, 0, 'v', 5]],
  ['an element after the last entry', [1, 0, 1, 'f', 0, 2, 0, 0, 'v', 4, 9]],
  ['an entry cut short', [2, 0, 1, 'f', 0, 2, 0, 0, 'v', 4, 2, 0, 1]],
  ['a count that is not a number', ['one', 0, 1, 'f', 0, 2, 0, 0, 'v', 4]],
  ['digits with a leading zero', ['01', 0, 1, 'f', 0, 2, 0, 0, 'v', 4]],
  ['a count beyond int64', ['99999999999999999999', 0, 1, 'f', 0]],
  ['counts adding up below zero', [-5, 2, 1, 'f', 0]],
  ['a huge count', [2n ** 62n, 0, 1, 'f', 0, 2, 0, 0, 'v', 4]],
  ['a huge field count', [1, 0, 2n ** 62n, 'f', 0]],
  ['flags as text', [1, 0, 1, 'f', 0, 'x', 0, 0, 'v', 4]],
  // the end byte early: the rest of the listpack is not read (as the server does for streams)
  [
    'an early end byte',
    [1, 0, 1, 'f', 0, 2, 0, 0, 'v', 4, 7],
    (lp) => {
      const b = Buffer.from(lp);
      b[b.length - 3] = 0xff; // the last element (7) becomes an end byte
      return b;
    },
  ],
];

describe('stream node checks: the structure walk and the record reader agree', () => {
  for (const [name, elements, raw] of cases) {
    it(name, async () => {
      const v = await verdicts(streamBody(elements, raw));
      expect(v.walk === 'ok', JSON.stringify(v)).toBe(v.reader === 'ok');
    });
  }

  it('reads every valid one from the window as the record reader reads it', async () => {
    const work = mkdtempSync(join(tmpdir(), 'vt-stream-nodes-'));
    try {
      let compared = 0;
      for (const [name, elements, raw] of cases) {
        const body = streamBody(elements, raw);
        if ((await verdicts(body)).walk !== 'ok') continue;
        const file = join(work, 'stream.rdb');
        writeFileSync(file, rdbFile([keyRecord(RdbType.STREAM_LISTPACKS, 's', body)]));
        let read: unknown;
        for await (const r of readRdbFile(file)) if (r.kind === 'key') read = r.value;
        let same = false;
        const walked = await walkRdbRecords(file, (r) => {
          if (r.kind === 'key') same = isDeepStrictEqual(r.value, read);
        });
        expect(walked, name).toBe(true);
        expect(same, name).toBe(true);
        compared++;
      }
      expect(compared).toBe(9);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('takes the valid ones and refuses the damaged ones', async () => {
    const ok = [];
    for (const [name, elements, raw] of cases)
      if ((await verdicts(streamBody(elements, raw))).walk === 'ok') ok.push(name);
    expect(ok).toEqual([
      'same fields',
      'own fields',
      'a deleted entry',
      'numbers written as digits',
      'a huge id delta (beyond 2^53)',
      'a huge id delta as digits',
      'flags beyond 32 bits',
      'a negative field count',
      'an early end byte',
    ]);
  });
});
