import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { editDistance, escapeControl, parseInfo, replyFields } from './text.js';

describe('escapeControl', () => {
  it('shows escape sequences instead of letting a terminal obey them', () => {
    expect(escapeControl('ERR \x1b]0;owned\x07 and \x1b[2J')).toBe('ERR \\x1b]0;owned\\x07 and \\x1b[2J');
    expect(escapeControl('a\x9b31mb\x7fc\x00')).toBe('a\\x9b31mb\\x7fc\\x00');
    expect(escapeControl('evil\u202etxt.exe')).toBe('evil\\u202etxt.exe');
  });
  it('keeps tabs, line feeds and printable text (any script) unless asked for one line', () => {
    expect(escapeControl('a\tb\nc é 日本 🎉')).toBe('a\tb\nc é 日本 🎉');
    expect(escapeControl('a\tb\nc\r', { oneLine: true })).toBe('a\\x09b\\x0ac\\x0d');
  });
  it('never leaves a control character (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = escapeControl(s, { oneLine: true });
        expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
        // Nothing printable is lost: undoing the escapes gives the input back.
        if (!s.includes('\\'))
          expect(
            out.replace(/\\(x[0-9a-f]{2}|u20[26][0-9a-f])/g, (_m, e: string) =>
              String.fromCharCode(Number.parseInt(e.slice(1), 16)),
            ),
          ).toBe(s);
      }),
      { numRuns: 300 },
    );
  });
});

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and neighbour swaps as one each', () => {
    expect(editDistance('maxmemory', 'maxmemory')).toBe(0);
    expect(editDistance('maxmemroy', 'maxmemory')).toBe(1); // swap
    expect(editDistance('maxmemor', 'maxmemory')).toBe(1); // deletion
    expect(editDistance('maxmemoryy', 'maxmemory')).toBe(1); // insertion
    expect(editDistance('maxmemorx', 'maxmemory')).toBe(1); // substitution
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('ca', 'abc')).toBe(3); // swaps do not overlap edits (optimal string alignment)
  });
});

describe('parseInfo', () => {
  it('reads name:value lines, skipping section headers, with CRLF or LF', () => {
    const text =
      '# Server\r\nvalkey_version:8.0.1\r\nexecutable:/usr/bin/valkey-server\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n';
    expect(parseInfo(text)).toEqual({
      valkey_version: '8.0.1',
      executable: '/usr/bin/valkey-server',
      db0: 'keys=3,expires=1,avg_ttl=0',
    });
    expect(parseInfo('a:1\nb:x:y\n')).toEqual({ a: '1', b: 'x:y' });
  });
});

describe('replyFields', () => {
  it('reads a flat field/value reply (a SENTINEL REPLICAS entry), dropping an odd last item', () => {
    expect(replyFields(['name', '127.0.0.1:7001', 'flags', 'slave', 'port', 7001, 'extra'])).toEqual({
      name: '127.0.0.1:7001',
      flags: 'slave',
      port: '7001',
    });
    expect(replyFields(null)).toEqual({});
    expect(replyFields('ERR')).toEqual({});
  });
});
