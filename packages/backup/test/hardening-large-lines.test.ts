import { withinTime } from '@valkey-tools/test-utils';
import { describe, expect, it } from 'vitest';
import { jsonlToRecords } from '../src/jsonl/jsonl.js';
import { parseRespCommands } from '../src/resp/parser.js';
import { readableToCommands } from '../src/resp/readable.js';

/**
 * A value of tens of megabytes arriving in 64 KiB chunks (how files and sockets deliver it) is read
 * whole by every text reader, in linear time. A reader that re-joined the pending line on every
 * chunk took ~25 s for 64 MiB here (quadratic); the 10 s bound (~20x what the linear readers need)
 * is checked by `npm run fuzz` (a loaded machine could trip it inside `npm test`).
 */
const SIZE = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;

function* chunked(prefix: string, fill: number, suffix: string): Generator<Buffer> {
  yield Buffer.from(prefix);
  const chunk = Buffer.alloc(CHUNK, fill);
  for (let sent = 0; sent < SIZE; sent += CHUNK) yield chunk;
  yield Buffer.from(suffix);
}

const timed = <T>(what: string, run: () => Promise<T>) => withinTime(what, 10_000, run);

describe('large values in many chunks', () => {
  it('readable (.txt) view: a 64 MiB argument on one line', async () => {
    const commands = await timed('readable', async () => {
      const out = [];
      for await (const c of readableToCommands(chunked('SET big ', 0x61, '\nGET big\n'))) out.push(c);
      return out;
    });
    expect(commands).toHaveLength(2);
    const value = commands[0]![2] as Buffer;
    expect(Buffer.byteLength(value)).toBe(SIZE);
    expect(String(commands[1]![0])).toBe('GET');
  });

  it('JSONL: a 64 MiB value on one line', async () => {
    const records = await timed('jsonl', async () => {
      const out = [];
      for await (const r of jsonlToRecords(chunked('{"key":"big","type":"string","value":"', 0x61, '"}\n')))
        out.push(r);
      return out;
    });
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.kind === 'key' && r.value.type === 'string' && r.value.value.length).toBe(SIZE);
  });

  it('RESP: a 64 MiB bulk string', async () => {
    const commands = await timed('resp', async () => {
      const out = [];
      for await (const c of parseRespCommands(
        chunked(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${SIZE}\r\n`, 0x61, '\r\n'),
      )) {
        out.push(c);
      }
      return out;
    });
    expect(commands).toHaveLength(1);
    expect(commands[0]!.args[2]!.length).toBe(SIZE);
  });
});

describe('line caps', () => {
  it('the readable reader refuses a line over the cap with a typed error naming the line', async () => {
    async function* endless() {
      yield 'SET a b\n';
      for (let i = 0; i < 1000; i++) yield `SET big "${'x'.repeat(1000)}`;
    }
    const err = await (async () => {
      for await (const _ of readableToCommands(endless(), { source: 'dump.txt', maxLineBytes: 10_000 })) {
        // drain
      }
    })().catch((e) => e);
    expect(err).toMatchObject({ code: 'ERR_READABLE_SYNTAX' });
    expect(String(err.message)).toMatch(/^dump\.txt:2:1: line is longer than 10000 bytes/);
  });
});
