import fc from 'fast-check';
import { DIRECTIVES, type DirectiveSpec, parseMemory, type ValkeyConfigInput } from '../src/index.js';

/** Directives a random config leaves alone: the harness sets them, or they depend on the machine. */
export const NOT_RANDOMIZED = new Set([
  'dir',
  'port',
  'bind',
  'logfile',
  'pidfile',
  'daemonize',
  'supervised',
  'unixsocket',
  'unixsocketgroup',
  'aclfile',
  'syslog-enabled',
  'syslog-facility',
  'include',
  'loadmodule',
  'user',
  'rename-command',
  'tls-port',
  'cluster-port',
  'cluster-enabled',
  'cluster-config-file',
  'oom-score-adj',
  'socket-mark-id',
  'bind-source-addr',
  'locale-collate',
  'proc-title-template',
  'ignore-warnings',
  'maxclients',
  'requirepass',
  'activedefrag',
  'enable-debug-command',
  'cluster-announce-hostname',
  'cluster-announce-ip',
  'cluster-announce-client-ipv4',
  'cluster-announce-client-ipv6',
]);

/** Free-form strings (anything goes); other string directives are validated by the server. */
const FREE_STRINGS = new Set([
  'masterauth',
  'masteruser',
  'availability-zone',
  'replica-announce-ip',
  'syslog-ident',
]);
const FILE_NAMES = new Set(['dbfilename', 'appendfilename', 'appenddirname']);
/** Upper bounds that keep a random server small (the type allows more, the machine does not). */
const CAPS: Record<string, bigint> = { databases: 64n, 'io-threads': 4n, 'tcp-backlog': 4096n };
const UNITS = ['', 'b', 'k', 'kb', 'm', 'mb', 'g', 'gb'];
const MEMORY_CAP = 8n * 1024n * 1024n * 1024n;

function randomCase(s: string): fc.Arbitrary<string> {
  return fc.constantFrom(s, s.toUpperCase(), s.charAt(0).toUpperCase() + s.slice(1));
}

function integerArb(spec: DirectiveSpec): fc.Arbitrary<unknown> {
  const min = spec.min !== undefined ? BigInt(spec.min) : -1000n;
  let max = spec.max !== undefined ? BigInt(spec.max) : 1000000n;
  const cap = CAPS[spec.aliasOf ?? spec.name];
  if (cap !== undefined && cap < max) max = cap;
  const small = min + 100000n < max ? min + 100000n : max;
  return fc
    .oneof(fc.bigInt({ min, max: small }), fc.constantFrom(min, max), fc.bigInt({ min, max }))
    .map((n) => (n >= -(2n ** 53n) && n <= 2n ** 53n && n % 2n === 0n ? Number(n) : n.toString()));
}

function memoryArb(spec: DirectiveSpec): fc.Arbitrary<string | number> {
  const min = BigInt(spec.min ?? '0');
  return fc
    .tuple(fc.integer({ min: 0, max: 4096 }), fc.constantFrom(...UNITS), fc.boolean())
    .map(([n, unit, upper]) => `${n}${upper ? unit.toUpperCase() : unit}`)
    .filter((v) => {
      const bytes = parseMemory(v)!;
      return bytes >= min && bytes <= MEMORY_CAP;
    })
    .chain((v) => fc.constantFrom<string | number>(v, Number(parseMemory(v))));
}

/** A valid value for `spec`, in one of the forms a user may write; undefined when not randomized. */
export function valueArb(spec: DirectiveSpec): fc.Arbitrary<unknown> | undefined {
  const name = spec.aliasOf ?? spec.name;
  if (NOT_RANDOMIZED.has(name) || name.startsWith('tls-') || name.endsWith('cpulist')) return undefined;
  switch (spec.type) {
    case 'bool':
      return fc.oneof(fc.boolean(), randomCase('yes'), randomCase('no'));
    case 'integer':
      return integerArb(spec);
    case 'octal':
      return fc.integer({ min: 0, max: 0o777 }).map((n) => n.toString(8));
    case 'memory':
      // a tiny maxmemory makes the server evict its own clients; keep it off or roomy
      if (name === 'maxmemory') return fc.constantFrom(0, '16mb', '64MB', '1gb', 100_000_000);
      return memoryArb(spec);
    case 'memory-or-percent':
      if (name === 'maxmemory-clients') return fc.constantFrom('0', '0%', '50%', '100%', '64mb', '1GB');
      return fc.oneof(
        memoryArb(spec),
        fc.integer({ min: 0, max: 100 }).map((n) => `${n}%`),
      );
    case 'enum':
      return fc.constantFrom(...(spec.values ?? [])).chain(randomCase);
    case 'flags':
      return fc
        .subarray([...(spec.values ?? [])], { minLength: 1, maxLength: 2 })
        .filter((v) => !(v.includes('save') && v.includes('nosave')));
    case 'list':
      if (name === 'oom-score-adj-values')
        return fc.array(fc.integer({ min: -2000, max: 2000 }), { minLength: 3, maxLength: 3 });
      if (name === 'latency-tracking-info-percentiles')
        return fc.array(
          fc.integer({ min: 0, max: 1000 }).map((n) => n / 10),
          { maxLength: 4 },
        );
      return undefined;
    case 'save':
      return fc.oneof(
        fc.constant(''),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 100000 }), fc.integer({ min: 0, max: 100000 })), {
          minLength: 1,
          maxLength: 4,
        }),
      );
    case 'client-output-buffer-limit':
      // tiny limits on normal clients would disconnect the test's own CONFIG GET
      return fc.array(
        fc.oneof(
          fc.record({
            class: fc.constantFrom('replica', 'slave', 'pubsub'),
            hardLimit: memoryArb(spec),
            softLimit: memoryArb(spec),
            softSeconds: fc.integer({ min: 0, max: 3600 }),
          }),
          fc.record({
            class: fc.constant('normal'),
            hardLimit: fc.constantFrom(0, '1mb', '64MB', 1_000_000_000),
            softLimit: fc.constantFrom(0, '1mb', '2gb'),
            softSeconds: fc.integer({ min: 0, max: 3600 }),
          }),
        ),
        { minLength: 1, maxLength: 3 },
      );
    case 'replicaof':
      // a privileged port nothing listens on: a replica must never sync from another test's server
      return fc.record({
        host: fc.constant('127.0.0.1'),
        port: fc.integer({ min: 1, max: 1023 }).filter((p) => ![22, 80, 443].includes(p)),
      });
    case 'string':
      if (name === 'notify-keyspace-events')
        return fc
          .subarray([...'g$lshzxetdnAKEm'])
          .chain((chars) => fc.shuffledSubarray(chars, { minLength: chars.length }).map((c) => c.join('')));
      if (FREE_STRINGS.has(name)) return fc.string({ unit: 'grapheme', maxLength: 24 });
      return undefined;
    case 'path':
      if (FILE_NAMES.has(name)) return fc.stringMatching(/^[a-z0-9_-]{1,12}(\.[a-z]{1,4})?$/);
      return undefined;
    default:
      return undefined;
  }
}

/** Random valid configs: a random subset of directives (an alias or its canonical name, never both). */
export function configArb(): fc.Arbitrary<ValkeyConfigInput> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const spec of Object.values(DIRECTIVES)) {
    const arb = valueArb(spec);
    if (arb) fields[spec.name] = arb;
  }
  return fc.record(fields, { requiredKeys: [] }).map((config) => {
    const out: Record<string, unknown> = {};
    const taken = new Set<string>();
    for (const [name, value] of Object.entries(config)) {
      const key = DIRECTIVES[name]?.aliasOf ?? name;
      if (taken.has(key)) continue;
      taken.add(key);
      out[name] = value;
    }
    return out as ValkeyConfigInput;
  });
}
