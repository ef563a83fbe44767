import { ValkeyToolsError } from '@valkey-tools/core';
import { checkLimit } from '@valkey-tools/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PRESET_NAMES,
  parseConfig,
  preset,
  serializeConfig,
  serializeParsed,
  validateConfig,
} from '../src/index.js';

/**
 * Fuzzing of the config parser with mutated real configs (every preset, serialized): the parser
 * either returns a ParsedConfig (problems as issues) or throws ConfigError; it never throws
 * anything else, and whatever it read serializes back to text that reads the same directives
 * (so a value can never turn into a second directive on the way out). Seed and run count come
 * from VT_FUZZ_SEED / VT_FUZZ_RUNS (`npm run fuzz` runs many more).
 */
const SEED = Number(process.env.VT_FUZZ_SEED ?? 20261122);
const RUNS = Number(process.env.VT_FUZZ_RUNS ?? 400);

const TLS = {
  tls: {
    certFile: '/etc/valkey/server.crt',
    keyFile: '/etc/valkey/server.key',
    caCertFile: '/etc/valkey/ca.crt',
  },
};
const corpus = PRESET_NAMES.map((name) => Buffer.from(serializeConfig(preset(name, TLS)), 'utf8'));
corpus.push(
  Buffer.from(
    'port 6380\nsave 900 1 300 10\nrequirepass "pa ss\\"word\\n"\nuser alice on >secret ~* +@all\n' +
      "rename-command CONFIG ''\nclient-output-buffer-limit replica 256mb 64mb 60\nmaxmemory 2gb\n" +
      'include /etc/valkey/extra.conf\nloadmodule /x.so a b\nbind 127.0.0.1 -::1\n',
  ),
);

const SPECIALS = ['\n', '\r', '\0', '"', "'", '\\', '\\x', '\\x4', ' ', '\t', '#', '\\n', '\ufffd', '\xff'];

const mutate = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('flip' as const), pos: fc.nat(), bit: fc.nat({ max: 7 }) }),
    fc.record({ op: fc.constant('truncate' as const), pos: fc.nat() }),
    fc.record({ op: fc.constant('insert' as const), pos: fc.nat(), text: fc.constantFrom(...SPECIALS) }),
    fc.record({
      op: fc.constant('garbage' as const),
      pos: fc.nat(),
      bytes: fc.uint8Array({ maxLength: 24 }),
    }),
    fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  ),
  { minLength: 1, maxLength: 5 },
);

function apply(base: Buffer, ops: Array<Record<string, unknown>>): Buffer {
  let b = Buffer.from(base);
  for (const m of ops) {
    const at = (p: unknown) => (b.length === 0 ? 0 : (p as number) % b.length);
    if (m.op === 'flip' && b.length) b[at(m.pos)]! ^= 1 << (m.bit as number);
    else if (m.op === 'truncate') b = b.subarray(0, at(m.pos));
    else if (m.op === 'insert' || m.op === 'garbage') {
      const p = at(m.pos);
      const add =
        m.op === 'insert' ? Buffer.from(m.text as string, 'latin1') : Buffer.from(m.bytes as Uint8Array);
      b = Buffer.concat([b.subarray(0, p), add, b.subarray(p)]);
    } else if (m.op === 'swap' && b.length) {
      const [x, y] = [at(m.a), at(m.b)];
      [b[x], b[y]] = [b[y]!, b[x]!];
    }
  }
  return b;
}

const names = (text: string | Uint8Array) =>
  parseConfig(text).directives.map((d) => [
    d.name,
    d.args.map((a) => (typeof a === 'string' ? Buffer.from(a) : Buffer.from(a)).toString('hex')),
  ]);

describe('fuzz: config parser', () => {
  it('mutated presets parse (issues, not crashes) or throw ConfigError; parsed configs re-serialize to the same directives', () => {
    let parsedOk = 0;
    let withIssues = 0;
    fc.assert(
      fc.property(fc.nat({ max: corpus.length - 1 }), mutate, fc.boolean(), (which, ops, asText) => {
        const bytes = apply(corpus[which]!, ops);
        const input = asText ? bytes.toString('latin1') : bytes;
        let parsed: ReturnType<typeof parseConfig>;
        const started = performance.now();
        try {
          parsed = parseConfig(input);
        } catch (err) {
          expect(ValkeyToolsError.isInstance(err), String((err as Error)?.stack ?? err)).toBe(true);
          return;
        }
        checkLimit('parsing one mutated config', performance.now() - started, 5000, 'ms');
        parsedOk++;
        if (parsed.issues.length) withIssues++;
        // Validation reports, never throws.
        try {
          validateConfig(parsed);
        } catch (err) {
          expect(ValkeyToolsError.isInstance(err), String((err as Error)?.stack ?? err)).toBe(true);
        }
        if (parsed.issues.some((i) => i.severity === 'error')) return;
        // Whatever was read writes back as text that reads as exactly the same directives: no value
        // (newline, quote, NUL inside) can become a second directive.
        let text: string;
        try {
          text = serializeParsed(parsed, { header: false });
        } catch (err) {
          expect(ValkeyToolsError.isInstance(err), String((err as Error)?.stack ?? err)).toBe(true);
          return;
        }
        expect(names(text)).toEqual(names(input));
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect(parsedOk).toBeGreaterThan(RUNS / 2);
    expect(withIssues).toBeGreaterThan(0);
  });
});
