import type { DirectiveSpec } from './schema-types.js';

/** A value as the server's reader sees it: text, or raw bytes when it is not valid UTF-8. */
export type ConfigValue = string | Uint8Array;

export type ValueProblemCode = 'wrong-arity' | 'wrong-type' | 'out-of-range' | 'bad-enum';

export type ValueCheck = { ok: true } | { ok: false; code: ValueProblemCode; message: string; hint: string };

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;
const ULLONG_MAX = 18446744073709551615n;

const MEMORY_UNITS: Record<string, bigint> = {
  '': 1n,
  b: 1n,
  k: 1000n,
  kb: 1024n,
  m: 1000n * 1000n,
  mb: 1024n * 1024n,
  g: 1000n * 1000n * 1000n,
  gb: 1024n * 1024n * 1024n,
};

export function asText(value: ConfigValue): string {
  return typeof value === 'string' ? value : Buffer.from(value).toString('latin1');
}

/** The server's `string2ll`: optional `-`, no leading zeros, no `+`, no spaces, fits 64 bits. */
export function parseInteger(text: string): bigint | undefined {
  if (text.length === 0 || text.length >= 21) return undefined;
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) return undefined;
  const n = BigInt(text);
  return n > LLONG_MAX || n < LLONG_MIN ? undefined : n;
}

/**
 * The server's `memtoull`: digits then an optional unit (`b k kb m mb g gb`, any case; `k` = 1000,
 * `kb` = 1024), saturating and wrapping like the C code. Returns bytes, or `undefined` if invalid.
 */
export function parseMemory(text: string): bigint | undefined {
  const m = /^([0-9]*)(.*)$/s.exec(text)!;
  const digits = m[1]!;
  const unit = m[2]!.toLowerCase();
  const mul = Object.hasOwn(MEMORY_UNITS, unit) ? MEMORY_UNITS[unit] : undefined;
  if (mul === undefined || digits.length >= 128) return undefined;
  let value = digits === '' ? 0n : BigInt(digits);
  if (value > ULLONG_MAX) value = ULLONG_MAX; // strtoull saturates
  return (value * mul) % (ULLONG_MAX + 1n); // and the multiplication wraps, as in C
}

/** A memory value past 2^63-1 is read back as a negative number, i.e. a percentage: which one. */
export function wrappedPercent(bytes: bigint | undefined): bigint | undefined {
  return bytes !== undefined && bytes > LLONG_MAX ? ULLONG_MAX + 1n - bytes : undefined;
}

/** `N%` as accepted by "memory or percent" directives. */
export function parsePercent(text: string): bigint | undefined {
  if (text.length < 2 || !text.endsWith('%')) return undefined;
  const n = parseInteger(text.slice(0, -1));
  return n !== undefined && n >= 0n ? n : undefined;
}

/** Splits arguments the way multi-argument directives do: each argument on spaces too. */
export function listItems(args: readonly ConfigValue[]): string[] {
  return args.flatMap((a) =>
    asText(a)
      .split(' ')
      .filter((s) => s !== ''),
  );
}

function fail(code: ValueProblemCode, message: string, hint: string): ValueCheck {
  return { ok: false, code, message, hint };
}

const OK: ValueCheck = { ok: true };

function rangeOf(spec: DirectiveSpec): string {
  return `${spec.min ?? '-9223372036854775808'}..${spec.max ?? '9223372036854775807'}`;
}

function inRange(spec: DirectiveSpec, n: bigint): boolean {
  if (spec.min !== undefined && n < BigInt(spec.min)) return false;
  if (spec.max !== undefined && n > BigInt(spec.max)) return false;
  return true;
}

function quoteForMessage(v: string): string {
  return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
}

function checkMemory(spec: DirectiveSpec, text: string, label: string): ValueCheck {
  const bytes = parseMemory(text);
  if (bytes === undefined)
    return fail(
      'wrong-type',
      `${quoteForMessage(text)} is not a memory size`,
      `Use bytes or a number with a unit: 1k (1000), 1kb (1024), 1m, 1mb, 1g, 1gb (${label})`,
    );
  if (!inRange(spec, bytes))
    return fail(
      'out-of-range',
      `${text} (${bytes} bytes) is out of range`,
      `Allowed: ${rangeOf(spec)} bytes`,
    );
  return OK;
}

/**
 * String directives (canonical names; `masterauth` is `primaryauth`) the server stores length-prefixed (any byte, NUL included, survives); every
 * other string directive is a C string that ends at the first NUL byte. Verified by test/bytes.test.ts.
 */
export const BINARY_SAFE_STRINGS: readonly string[] = ['primaryauth', 'availability-zone'];

const CLIENT_CLASSES = ['normal', 'replica', 'slave', 'pubsub'];
const KEYSPACE_EVENT_CHARS = /^[Ag$lshzxeKEtmdn]*$/;

/** Checks one line's arguments against the directive's type (what the server's loader would reject). */
export function checkArgs(spec: DirectiveSpec, args: readonly ConfigValue[]): ValueCheck {
  const texts = args.map(asText);
  const single = (): string | undefined => (texts.length === 1 ? texts[0] : undefined);
  const arity = (what: string) =>
    fail(
      'wrong-arity',
      `takes ${what}, got ${texts.length} argument${texts.length === 1 ? '' : 's'}`,
      `Write: ${spec.name} ${exampleOf(spec)}`,
    );
  switch (spec.type) {
    case 'bool': {
      const v = single();
      if (v === undefined) return arity('one argument');
      return /^(yes|no)$/i.test(v)
        ? OK
        : fail('wrong-type', `${quoteForMessage(v)} is not yes or no`, 'Use yes or no');
    }
    case 'integer': {
      const v = single();
      if (v === undefined) return arity('one argument');
      const n = parseInteger(v);
      if (n === undefined)
        return fail(
          'wrong-type',
          `${quoteForMessage(v)} is not an integer`,
          `Use a whole number in ${rangeOf(spec)}`,
        );
      return inRange(spec, n)
        ? OK
        : fail('out-of-range', `${v} is out of range`, `Allowed: ${rangeOf(spec)}`);
    }
    case 'octal': {
      const v = single();
      if (v === undefined) return arity('one argument');
      if (!/^[0-7]*$/.test(v))
        return fail(
          'wrong-type',
          `${quoteForMessage(v)} is not an octal number`,
          'Use octal permissions such as 700 or 770',
        );
      return (v === '' ? 0 : Number.parseInt(v, 8)) <= 0o777
        ? OK
        : fail('out-of-range', `${v} is out of range`, 'Allowed: 0..777 (octal)');
    }
    case 'memory': {
      const v = single();
      return v === undefined ? arity('one argument') : checkMemory(spec, v, 'case-insensitive');
    }
    case 'memory-or-percent': {
      const v = single();
      if (v === undefined) return arity('one argument');
      if (v.endsWith('%') && v.length > 1) {
        const percent = parsePercent(v);
        if (percent === undefined)
          return fail(
            'wrong-type',
            `${quoteForMessage(v)} is not a percentage`,
            'Use a whole number followed by %, e.g. 10%',
          );
        return percent <= 100n ? OK : fail('out-of-range', `${v} is out of range`, 'Allowed: 0%..100%');
      }
      const bytes = parseMemory(v);
      // stored signed, and negative means percent: a size beyond 2^63-1 wraps to -N, i.e. N%
      const wrapped = wrappedPercent(bytes);
      if (wrapped !== undefined && wrapped > 100n)
        return fail(
          'out-of-range',
          `${v} (${bytes} bytes) is out of range`,
          `Allowed: 0..${LLONG_MAX} bytes, or 0%..100%`,
        );
      return checkMemory(spec, v, 'or a percentage such as 10%');
    }
    case 'enum': {
      const v = single();
      if (v === undefined) return arity('one argument');
      const values = spec.values ?? [];
      return values.some((x) => x.toLowerCase() === v.toLowerCase())
        ? OK
        : fail(
            'bad-enum',
            `${quoteForMessage(v)} is not one of ${values.join(', ')}`,
            `Use one of: ${values.join(', ')}`,
          );
    }
    case 'flags': {
      const items = listItems(args);
      const values = spec.values ?? [];
      if (items.length === 0) return arity('at least one value');
      const bad = items.find((v) => !values.some((x) => x.toLowerCase() === v.toLowerCase()));
      return bad === undefined
        ? OK
        : fail(
            'bad-enum',
            `${quoteForMessage(bad)} is not one of ${values.join(', ')}`,
            `Use one or more of: ${values.join(', ')}`,
          );
    }
    case 'string':
    case 'path': {
      if (spec.multiArg) return texts.length >= 1 ? OK : arity('at least one argument');
      const v = single();
      if (v === undefined) return arity('one argument (quote values that contain spaces)');
      if (v.includes('\0') && !BINARY_SAFE_STRINGS.includes(spec.aliasOf ?? spec.name))
        return fail(
          'wrong-type',
          'contains a NUL byte; the server would cut the value there',
          'Remove the \\x00 byte',
        );
      return checkStringContent(spec, v);
    }
    case 'list':
      return checkList(spec, args);
    case 'save': {
      // multi-argument directives also split a single argument on spaces
      const items = listItems(args);
      if (texts.length === 1 && texts[0] === '') return OK;
      if (items.length === 0 || items.length % 2 !== 0) return arity('pairs of <seconds> <changes>, or ""');
      const bad = items.find((t) => !/^\+?[0-9]+$/.test(t) || BigInt(t) > LLONG_MAX);
      return bad === undefined
        ? OK
        : fail(
            'wrong-type',
            `${quoteForMessage(bad)} is not a number of seconds or changes`,
            'Write: save 900 1 300 10',
          );
    }
    case 'client-output-buffer-limit': {
      const items = listItems(args);
      if (items.length === 0 || items.length % 4 !== 0)
        return arity('<class> <hard limit> <soft limit> <soft seconds>');
      for (let i = 0; i < items.length; i += 4) {
        const [cls, hard, soft, secs] = items.slice(i, i + 4) as [string, string, string, string];
        if (!CLIENT_CLASSES.includes(cls.toLowerCase()))
          return fail(
            'bad-enum',
            `${quoteForMessage(cls)} is not a client class`,
            `Use one of: ${CLIENT_CLASSES.join(', ')}`,
          );
        for (const limit of [hard, soft]) {
          if (parseMemory(limit) === undefined)
            return fail(
              'wrong-type',
              `${quoteForMessage(limit)} is not a memory size`,
              'Use bytes or 1k, 1kb, 1m, 1mb, 1g, 1gb',
            );
        }
        if (!/^[+-]?[0-9]+$/.test(secs) || BigInt(secs) < 0n || BigInt(secs) > LLONG_MAX)
          return fail(
            'wrong-type',
            `${quoteForMessage(secs)} is not a number of seconds`,
            'Use a whole number of seconds',
          );
      }
      return OK;
    }
    case 'replicaof': {
      const items = listItems(args);
      if (items.length !== 2) return arity('<host> <port> (or "no one")');
      const [host, port] = items as [string, string];
      if (host.toLowerCase() === 'no' && port.toLowerCase() === 'one') return OK;
      if (!/^[0-9]+$/.test(port) || Number(port) > 65535)
        return fail('out-of-range', `${quoteForMessage(port)} is not a port`, 'Use a port in 0..65535');
      return OK;
    }
    case 'rename-command':
      return texts.length === 2 ? OK : arity('<command> <new-name>');
    case 'include':
      return texts.length === 1 ? OK : arity('one path (quote paths that contain spaces)');
    case 'loadmodule':
    case 'user':
      return texts.length >= 1 ? OK : arity('at least one argument');
    case 'deprecated':
      return OK;
    default:
      return OK;
  }
}

function checkStringContent(spec: DirectiveSpec, v: string): ValueCheck {
  switch (spec.name) {
    case 'notify-keyspace-events':
      return KEYSPACE_EVENT_CHARS.test(v)
        ? OK
        : fail(
            'wrong-type',
            `${quoteForMessage(v)} has an invalid event class character`,
            "Use the characters 'Ag$lshzxeKEtmdn'",
          );
    case 'dir':
    case 'cluster-config-file':
      return v === '' ? fail('wrong-type', 'an empty value is not allowed', 'Give a path') : OK;
    case 'dbfilename':
    case 'appendfilename':
    case 'appenddirname':
      if (v === '') return fail('wrong-type', 'an empty value is not allowed', 'Give a file name');
      return /[/\\]/.test(v) || v === '.' || v === '..'
        ? fail(
            'wrong-type',
            `${quoteForMessage(v)} is a path`,
            `${spec.name} takes a file name only; put the directory in "dir"`,
          )
        : OK;
    default:
      return OK;
  }
}

function checkList(spec: DirectiveSpec, args: readonly ConfigValue[]): ValueCheck {
  const items = listItems(args);
  if (args.length === 0)
    return fail('wrong-arity', 'needs a value', `Write: ${spec.name} ${exampleOf(spec)}`);
  if (items.length === 0 && spec.name === 'bind')
    return fail('wrong-arity', 'needs at least one address', 'Write: bind 127.0.0.1 ::1');
  if (spec.count !== undefined && items.length !== spec.count)
    return fail(
      'wrong-arity',
      `takes ${spec.count} values, got ${items.length}`,
      `Write: ${spec.name} ${exampleOf(spec)}`,
    );
  if (spec.name === 'bind' && items.length > 16)
    return fail('wrong-arity', 'takes at most 16 addresses', 'Bind fewer addresses');
  if (spec.itemType === 'integer') {
    for (const item of items) {
      const n = parseInteger(item);
      if (n === undefined)
        return fail(
          'wrong-type',
          `${quoteForMessage(item)} is not an integer`,
          `Write: ${spec.name} ${exampleOf(spec)}`,
        );
      if (spec.name === 'oom-score-adj-values' && (n < -2000n || n > 2000n))
        return fail('out-of-range', `${item} is out of range`, 'Allowed: -2000..2000');
    }
  }
  if (spec.itemType === 'number') {
    for (const item of items) {
      const n = Number(item);
      if (!/^[0-9]+(\.[0-9]+)?$/.test(item) || n < 0 || n > 100)
        return fail(
          'out-of-range',
          `${quoteForMessage(item)} is not a percentile`,
          'Use numbers between 0 and 100, e.g. 50 99 99.9',
        );
    }
  }
  return OK;
}

/** A short example of a directive's arguments, for hints. */
export function exampleOf(spec: DirectiveSpec): string {
  switch (spec.type) {
    case 'bool':
      return 'yes|no';
    case 'integer':
      return spec.default && spec.default !== '' ? spec.default : '<integer>';
    case 'octal':
      return '700';
    case 'memory':
      return '256mb';
    case 'memory-or-percent':
      return '256mb|10%';
    case 'enum':
    case 'flags':
      return (spec.values ?? []).join('|');
    case 'save':
      return '900 1 300 10';
    case 'client-output-buffer-limit':
      return 'pubsub 32mb 8mb 60';
    case 'replicaof':
      return '<host> <port>';
    case 'rename-command':
      return 'FLUSHALL ""';
    case 'include':
      return '/path/to/other.conf';
    case 'loadmodule':
      return '/path/to/module.so [args...]';
    case 'user':
      return 'alice on >password ~* +@all';
    case 'list':
      return spec.default ?? '<values...>';
    default:
      return spec.default ? JSON.stringify(spec.default) : '<value>';
  }
}
