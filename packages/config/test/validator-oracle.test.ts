import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkArgs,
  DIRECTIVES,
  type DirectiveSpec,
  formatLine,
  parseConfig,
  splitArgs,
  validateConfig,
} from '../src/index.js';
import { makeDir, pool, removeDir, serverAccepts } from './helpers.js';

// Directives whose acceptance depends on the machine (files, users, sockets, TLS, forking) rather
// than on the value's type are left out: the server is the judge only where the type decides.
const SIDE_EFFECTS = new Set([
  'dir',
  'logfile',
  'pidfile',
  'unixsocket',
  'unixsocketgroup',
  'aclfile',
  'daemonize',
  'supervised',
  'syslog-enabled',
  'include',
  'loadmodule',
  'user',
  'rename-command',
  'port',
  'tls-port',
  'cluster-port',
  'cluster-enabled',
  'oom-score-adj',
  'socket-mark-id',
  'bind',
  'bind-source-addr',
  'locale-collate',
  'proc-title-template',
  'cluster-config-file',
  'dbfilename',
  'appendfilename',
  'appenddirname',
  // resources and build options, not types: a huge `databases` aborts on allocation, this build has
  // no active defrag, and `loglevel nothing` hides the very message the probe reads
  'databases',
  'activedefrag',
  'loglevel',
]);

const dir = makeDir();
afterAll(() => removeDir(dir));

function candidates(spec: DirectiveSpec): string[][] {
  const min = spec.min ? BigInt(spec.min) : undefined;
  const max = spec.max ? BigInt(spec.max) : undefined;
  switch (spec.type) {
    case 'bool':
      return [['yes'], ['NO'], ['Yes'], ['y'], ['1'], ['true'], [''], ['yes', 'no']];
    case 'integer':
      return [
        ...(min !== undefined ? [[String(min)], [String(min - 1n)]] : []),
        ...(max !== undefined ? [[String(max)], [String(max + 1n)]] : []),
        ['0'],
        ['-1'],
        ['01'],
        ['+1'],
        ['1k'],
        [' 1'],
        ['1.5'],
        [''],
        ['-0'],
        ['99999999999999999999'],
        ['1', '2'],
      ];
    case 'memory':
    case 'memory-or-percent':
      return [
        ['1k'],
        ['1K'],
        ['2kb'],
        ['2KB'],
        ['3Kb'],
        ['1m'],
        ['1mb'],
        ['1g'],
        ['2gb'],
        ['7b'],
        ['7B'],
        ['1t'],
        ['-1'],
        [''],
        ['kb'],
        ['1 kb'],
        ['9223372036854775807'],
        ['9223372036854775808'],
        ['18446744073709551616'],
        ['9999999999gb'],
        ['8589934591gb'],
        ['8589934592gb'],
        ['1.5mb'],
        ['10%'],
        ['0%'],
        ['%'],
        ['-1%'],
        ['100%'],
        ['1000%'],
        ...(min !== undefined && min > 0n ? [[String(min - 1n)], [String(min)]] : []),
      ];
    case 'enum':
      return [
        ...(spec.values ?? []).map((v) => [v]),
        [(spec.values?.[0] ?? '').toUpperCase()],
        ['bogus'],
        [''],
      ];
    case 'flags':
      return [...(spec.values ?? []).map((v) => [v]), (spec.values ?? []).slice(-2), ['bogus'], ['']];
    case 'octal':
      return [['700'], ['777'], ['1000'], ['8'], ['0'], ['-1'], ['']];
    case 'list':
      return [
        ['0', '200', '800'],
        ['0 200 800'],
        ['0', '200'],
        ['-2001', '0', '0'],
        ['a', 'b', 'c'],
        ['50', '99'],
        ['101'],
        ['-1'],
        ['99.9'],
        ['abc'],
        [''],
      ];
    case 'save':
      return [
        [''],
        ['900', '1'],
        ['900'],
        ['a', 'b'],
        ['900', '1', '300', '10'],
        ['900 1'],
        ['-1', '1'],
        ['+5', '1'],
      ];
    case 'client-output-buffer-limit':
      return [
        ['normal', '0', '0', '0'],
        ['master', '0', '0', '0'],
        ['replica', '1mb', '1kb', '60'],
        ['pubsub', '1x', '0', '0'],
        ['normal', '0', '0'],
        ['normal', '0', '0', '-1'],
        ['NORMAL', '1', '1', '1'],
        ['normal 1 1 1'],
      ];
    case 'replicaof':
      return [
        ['127.0.0.1', '6379'],
        ['no', 'one'],
        ['NO', 'ONE'],
        ['host'],
        ['h', '99999'],
        ['h', 'abc'],
        ['h', '0'],
      ];
    default:
      return [];
  }
}

describe('validator agrees with the real server on what it accepts', () => {
  const cases: Array<{ spec: DirectiveSpec; args: string[] }> = [];
  for (const spec of Object.values(DIRECTIVES)) {
    if (SIDE_EFFECTS.has(spec.aliasOf ?? spec.name) || spec.name.startsWith('tls-')) continue;
    for (const args of candidates(spec)) cases.push({ spec, args });
  }
  // a seeded sample keeps the run short while every kind of value is covered over the table
  const size = process.env.CONFIG_ORACLE_ALL ? cases.length : 120;
  const sample = fc.sample(fc.shuffledSubarray(cases, { minLength: size, maxLength: size }), {
    seed: 42,
    numRuns: 1,
  })[0]!;

  it(`agrees on ${sample.length} single-line files`, {
    timeout: process.env.CONFIG_ORACLE_ALL ? 900_000 : 120_000,
  }, async () => {
    const results = await pool(sample, 4, async ({ spec, args }, i) => {
      const line = formatLine(spec.name, args);
      const server = await serverAccepts(`${line}\n`, dir, `p${i}.conf`);
      const parsed = splitArgs(line);
      const ours = parsed.ok ? checkArgs(spec, parsed.args.slice(1)) : { ok: false };
      return { line, server, ours: ours.ok };
    });
    const disagreements = results
      .filter((r) => r.server.ok !== r.ours)
      .map(
        (r) =>
          `${r.line} => server ${r.server.ok ? 'accepts' : `rejects (${r.server.error})`}, we ${r.ours ? 'accept' : 'reject'}`,
      );
    expect(disagreements).toEqual([]);
    // both verdicts occur, so the comparison means something
    expect(results.some((r) => r.server.ok)).toBe(true);
    expect(results.some((r) => !r.server.ok)).toBe(true);
  });
});

describe('memory sizes at the 64-bit edges', () => {
  // memtoull saturates and wraps; "memory or percent" values past 2^63-1 read back as percentages
  const edges = [
    '9223372036854775807',
    '9223372036854775808',
    '18446744073709551515',
    '18446744073709551516',
    '18446744073709551615',
    '18446744073709551616',
    '17179869184gb',
    '8589934592gb',
  ];
  const cases = ['maxmemory', 'maxmemory-clients', 'client-query-buffer-limit'].flatMap((name) =>
    edges.map((v) => ({ name, v })),
  );

  it(`agree with the server on ${cases.length} edge values`, async () => {
    const results = await pool(cases, 4, async ({ name, v }, i) => {
      const server = await serverAccepts(`${name} ${v}\n`, dir, `edge${i}.conf`);
      return { line: `${name} ${v}`, server: server.ok, ours: checkArgs(DIRECTIVES[name]!, [v]).ok };
    });
    expect(
      results.filter((r) => r.server !== r.ours).map((r) => `${r.line}: server ${r.server}, ours ${r.ours}`),
    ).toEqual([]);
  });
});

describe('user and rename-command lines: validator and server agree', () => {
  const ruleTokens = [
    'on',
    'off',
    'ON',
    'nopass',
    'resetpass',
    'reset',
    'allkeys',
    'allcommands',
    'nocommands',
    'bogus',
    '>pw',
    '<pw',
    '#abc',
    `#${'a'.repeat(64)}`,
    `#${'A'.repeat(64)}`,
    '~*',
    '~app:*',
    '%R~r:*',
    '%W~w:*',
    '%X~x',
    '&*',
    '+get',
    '+GET',
    '-@dangerous',
    '+@nosuchcat',
    '!e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    '<',
    '+nosuchcmd',
    '+client|kill',
    '-config|set',
    '(~foo',
    '+get)',
    '(~a* +set)',
    'clearselectors',
  ];
  const userLine = fc
    .tuple(
      fc.constantFrom('alice', 'default', 'a b', 'bob'),
      fc.array(fc.constantFrom(...ruleTokens), { maxLength: 4 }),
    )
    .map(([name, rules]) => formatLine('user', [name, ...rules]));
  const cmd = fc.constantFrom('GET', 'flushall', 'config', 'nope', 'client|kill', 'SET', 'x_renamed', '');
  const renameLines = fc
    .array(fc.tuple(cmd, cmd), { minLength: 1, maxLength: 3 })
    .map((pairs) => pairs.map(([a, b]) => formatLine('rename-command', [a, b])).join('\n'));
  const userLines = fc.array(userLine, { minLength: 1, maxLength: 2 }).map((lines) => lines.join('\n'));
  const files = fc.sample(fc.oneof(userLines, renameLines), {
    seed: 99,
    numRuns: Number(process.env.CONFIG_ACL_RUNS ?? 40),
  });

  it(`agrees on ${files.length} files`, async () => {
    const results = await pool(files, 4, async (text, i) => {
      const server = await serverAccepts(`${text}\n`, dir, `acl${i}.conf`);
      const ours = validateConfig(parseConfig(text)).filter((issue) => issue.severity === 'error');
      return { text, server, ours };
    });
    const disagreements = results
      .filter((r) => r.server.ok !== (r.ours.length === 0))
      .map(
        (r) =>
          `${r.text} => server ${r.server.ok ? 'accepts' : `rejects (${r.server.error})`}, we ${r.ours.length === 0 ? 'accept' : `reject (${r.ours[0]!.message})`}`,
      );
    expect(disagreements).toEqual([]);
    expect(results.some((r) => r.server.ok)).toBe(true);
    expect(results.some((r) => !r.server.ok)).toBe(true);
  });
});
