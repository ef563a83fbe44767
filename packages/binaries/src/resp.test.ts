import { describe, expect, it } from 'vitest';
import { parseReply, type Reply, ReplyError } from './resp.js';

const fixtures: Array<[string, string, Reply]> = [
  ['simple string', '+PONG\r\n', 'PONG'],
  ['error', '-MOVED 3999 127.0.0.1:7002\r\n', new ReplyError('MOVED 3999 127.0.0.1:7002')],
  ['integer', ':16384\r\n', 16384],
  ['bulk string', '$12\r\nhello\r\nworld\r\n', 'hello\r\nworld'],
  ['empty bulk', '$0\r\n\r\n', ''],
  ['null bulk', '$-1\r\n', null],
  ['null array', '*-1\r\n', null],
  ['nested array', '*3\r\n$9\r\nmaxmemory\r\n*2\r\n:1\r\n+x\r\n$-1\r\n', ['maxmemory', [1, 'x'], null]],
  ['utf-8 bulk', '$4\r\n\u00e9\u00e9\r\n', '\u00e9\u00e9'],
];

function normalize(r: Reply | undefined): unknown {
  if (r instanceof ReplyError) return { error: r.message };
  if (Array.isArray(r)) return r.map(normalize);
  return r;
}

describe('parseReply', () => {
  for (const [what, wire, expected] of fixtures) {
    const bytes = Buffer.from(wire, 'utf8');
    it(`parses ${what} in one chunk`, () => {
      const parsed = parseReply(bytes);
      expect(normalize(parsed?.value)).toEqual(normalize(expected));
      expect(parsed?.end).toBe(bytes.length);
    });
    it(`parses ${what} only once every byte has arrived`, () => {
      for (let n = 0; n < bytes.length; n++) expect(parseReply(bytes.subarray(0, n))).toBeUndefined();
      expect(normalize(parseReply(bytes)?.value)).toEqual(normalize(expected));
    });
  }
  it('parses the next reply from an offset', () => {
    const buf = Buffer.from('+OK\r\n:5\r\n');
    const first = parseReply(buf)!;
    expect(parseReply(buf, first.end)).toEqual({ value: 5, end: buf.length });
  });
});
