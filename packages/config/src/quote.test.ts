import fc from 'fast-check';

/** Any Unicode scalar value (fast-check's 'binary' unit is slow to generate). */
const codePoint = fc
  .oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0x10ffff }),
  )
  .map((c) => String.fromCodePoint(c));
import { describe, expect, it } from 'vitest';
import { formatLine, quoteArg, splitArgs } from './quote.js';

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
const utf8AsBinary = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

describe('splitArgs (sdssplitargs semantics)', () => {
  it('splits on blanks and reads quotes and escapes like the server', () => {
    expect(splitArgs('  set  "a b"  \'c d\'  e  ')).toEqual({ ok: true, args: ['set', 'a b', 'c d', 'e'] });
    expect(splitArgs('x "\\x41\\n\\r\\t\\b\\a\\"\\\\\\q"')).toEqual({
      ok: true,
      args: ['x', 'A\n\r\t\b\x07"\\q'],
    });
    expect(splitArgs("x 'it\\'s' 'a\\nb'")).toEqual({ ok: true, args: ['x', "it's", 'a\\nb'] });
    expect(splitArgs('x ab"cd"')).toEqual({ ok: true, args: ['x', 'abcd'] });
    expect(splitArgs('x ""')).toEqual({ ok: true, args: ['x', ''] });
    expect(splitArgs('x "\\x4"')).toEqual({ ok: true, args: ['x', 'x4'] });
  });

  it('rejects what the server rejects', () => {
    expect(splitArgs('x "abc')).toMatchObject({ ok: false, reason: 'unbalanced double quotes' });
    expect(splitArgs("x 'abc")).toMatchObject({ ok: false, reason: 'unbalanced single quotes' });
    expect(splitArgs('x "a"b')).toMatchObject({ ok: false, column: 6 });
  });
});

describe('quoteArg', () => {
  it('leaves plain tokens bare and quotes the rest', () => {
    expect(quoteArg('256mb')).toBe('256mb');
    expect(quoteArg('/var/lib/valkey')).toBe('/var/lib/valkey');
    expect(quoteArg('')).toBe('""');
    expect(quoteArg('a b')).toBe('"a b"');
    expect(quoteArg('x\ny')).toBe('"x\\ny"');
    expect(quoteArg(new Uint8Array([0, 0xff, 0x41]))).toBe('"\\x00\\xffA"');
  });

  it('round-trips any byte string through splitArgs and never emits a newline', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const quoted = quoteArg(bytes);
        expect(quoted).not.toMatch(/[\n\r]/);
        expect(splitArgs(`name ${quoted}`)).toEqual({ ok: true, args: ['name', latin1(bytes)] });
      }),
      { seed: 4, numRuns: 2000 },
    );
  });

  it('round-trips any text (as UTF-8 bytes)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: codePoint }), { maxLength: 4 }), (values) => {
        const line = formatLine('name', values);
        expect(line).not.toMatch(/[\n\r]/);
        expect(splitArgs(utf8AsBinary(line))).toEqual({
          ok: true,
          args: ['name', ...values.map(utf8AsBinary)],
        });
      }),
      { seed: 5, numRuns: 2000 },
    );
  });
});
