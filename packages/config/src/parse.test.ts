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
import { parseMemory } from './check.js';
import { inputToDirectives, serializeParsed, toConfigInput } from './model.js';
import { parseConfig } from './parse.js';
import { formatLine } from './quote.js';
import { serializeConfig } from './serialize.js';

const strip = (parsed: ReturnType<typeof parseConfig>) => parsed.directives.map((d) => [d.name, d.args]);

describe('parseConfig', () => {
  it('reads comments, quoting, escapes and case-insensitive names like the server', () => {
    const parsed = parseConfig(
      [
        '# a comment',
        '   # an indented comment',
        '',
        'PORT 6380',
        '  Bind 127.0.0.1 ::1   ',
        'masterauth "s3cr\\"et\\x41\\n"',
        "logfile '/var/log/valkey server.log'",
        'save 900 1',
        'save 300 10\r',
        'requirepass "\\xff\\xfe"',
        'user bob on ">pass word" ~* +@all',
      ].join('\n'),
      { file: 'valkey.conf' },
    );
    expect(parsed.issues).toEqual([]);
    expect(parsed.directives.map((d) => [d.line, d.name, d.canonical, d.args])).toEqual([
      [4, 'port', 'port', ['6380']],
      [5, 'bind', 'bind', ['127.0.0.1', '::1']],
      [6, 'masterauth', 'primaryauth', ['s3cr"etA\n']],
      [7, 'logfile', 'logfile', ['/var/log/valkey server.log']],
      [8, 'save', 'save', ['900', '1']],
      [9, 'save', 'save', ['300', '10']],
      [10, 'requirepass', 'requirepass', [new Uint8Array([0xff, 0xfe])]],
      [11, 'user', 'user', ['bob', 'on', '>pass word', '~*', '+@all']],
    ]);
    expect(parsed.directives.every((d) => d.file === 'valkey.conf')).toBe(true);
  });

  it('keeps UTF-8 text as text', () => {
    expect(parseConfig('masterauth "pässwörd ✓"').directives[0]!.args).toEqual(['pässwörd ✓']);
    expect(parseConfig(Buffer.from('masterauth p\xe4ss', 'latin1')).directives[0]!.args).toEqual([
      new Uint8Array([0x70, 0xe4, 0x73, 0x73]),
    ]);
  });

  it('turns a file into object config data and back', () => {
    const parsed = parseConfig(
      'save ""\nsave 900 1 300 10\nmaxmemory 1gb\nmaxmemory 2gb\nrename-command FLUSHALL ""\n',
    );
    expect(toConfigInput(parsed)).toEqual({
      save: [
        [900, 1],
        [300, 10],
      ],
      maxmemory: '2gb',
      'rename-command': [['FLUSHALL', '']],
    });
  });
});

describe('memory units', () => {
  it('k is 1000 and kb is 1024, case-insensitive, like memtoull', () => {
    expect(parseMemory('1k')).toBe(1000n);
    expect(parseMemory('1K')).toBe(1000n);
    expect(parseMemory('1kb')).toBe(1024n);
    expect(parseMemory('1Kb')).toBe(1024n);
    expect(parseMemory('2m')).toBe(2000000n);
    expect(parseMemory('2MB')).toBe(2097152n);
    expect(parseMemory('3g')).toBe(3000000000n);
    expect(parseMemory('3gb')).toBe(3221225472n);
    expect(parseMemory('7b')).toBe(7n);
    expect(parseMemory('1t')).toBeUndefined();
    expect(parseMemory('-1')).toBeUndefined();
    expect(parseMemory('1.5mb')).toBeUndefined();
  });
});

// Lines built from pieces that exercise the reader: odd names' case, quotes of both kinds,
// escapes, blanks, comments, CR line ends.
const arg = fc.oneof(
  fc.stringMatching(/^[a-z0-9._-]{1,8}$/),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.uint8Array({ maxLength: 12 }),
);
const directive = fc.tuple(
  fc.constantFrom('maxmemory', 'SAVE', 'masterauth', 'bind', 'user', 'x-unknown', 'Include'),
  fc.array(arg, { maxLength: 4 }),
);

describe('parse → serialize → parse is the identity on the model', () => {
  it('for files written by serializeParsed', () => {
    fc.assert(
      fc.property(
        fc.array(directive, { maxLength: 12 }),
        fc.array(fc.constantFrom('', '# note', '  ', '\r'), { maxLength: 3 }),
        (lines, noise) => {
          const text = [...noise, ...lines.map(([n, args]) => formatLine(n, args))].join('\n');
          const first = parseConfig(text);
          expect(first.issues).toEqual([]);
          const second = parseConfig(serializeParsed(first));
          expect(strip(second)).toEqual(strip(first));
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });

  it('for object configs: serialize → parse → toConfigInput → serialize gives the same text', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            maxmemory: fc.constantFrom('1gb' as const, 1024, '10MB' as const),
            save: fc.oneof(
              fc.constant(''),
              fc.array(fc.tuple(fc.nat(99999), fc.nat(99999)), { minLength: 1, maxLength: 3 }),
            ),
            masterauth: fc.string({ unit: codePoint, maxLength: 16 }),
            'maxmemory-policy': fc.constantFrom('allkeys-lru', 'noeviction'),
            bind: fc.array(fc.constantFrom('127.0.0.1', '::1', '10.0.0.1'), { minLength: 1, maxLength: 3 }),
            'rename-command': fc.dictionary(
              fc.constantFrom('FLUSHALL', 'CONFIG', 'DEBUG'),
              fc.stringMatching(/^[A-Z_]{0,8}$/),
            ),
          },
          { requiredKeys: [] },
        ),
        (config) => {
          const text = serializeConfig(config);
          const back = serializeConfig(toConfigInput(parseConfig(text)));
          expect(back).toBe(text.replace(/\n*$/, '\n'));
          expect(inputToDirectives(toConfigInput(parseConfig(text))).length).toBe(
            inputToDirectives(config).length,
          );
        },
      ),
      { seed: 12, numRuns: 300 },
    );
  });
});
