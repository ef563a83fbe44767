import { ConfigError } from './errors.js';
import type { ValkeyConfigInput } from './input.js';
import { formatLine } from './quote.js';

type Arg = string | Uint8Array;

export interface SerializeOptions {
  /** A comment written at the top (each line prefixed with `# `); `false` for none. */
  header?: string | false;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function invalid(directive: string, message: string, hint: string): never {
  throw new ConfigError('ERR_CONFIG_INVALID_VALUE', `Cannot write "${directive}": ${message}`, {
    details: { directive, reason: message },
    hint,
  });
}

function scalarArg(directive: string, value: unknown): Arg {
  if (typeof value === 'string' || value instanceof Uint8Array) return value;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      invalid(directive, `${value} is not a finite number`, 'Pass a finite number');
    return String(value);
  }
  return invalid(
    directive,
    `a value of type ${value === null ? 'null' : typeof value} cannot be written`,
    'Use a string, number, boolean, Uint8Array or an array of those',
  );
}

function words(directive: string, value: string): string[] {
  const parts = value.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) invalid(directive, 'the value is empty', 'Give at least one argument');
  return parts;
}

function saveLines(value: unknown): Arg[][] {
  if (value === '' || (Array.isArray(value) && value.length === 0)) return [['']];
  if (typeof value === 'string') {
    const parts = words('save', value);
    if (parts.length % 2 !== 0 || !parts.every((p) => /^\d+$/.test(p)))
      invalid(
        'save',
        `"${value}" is not a list of <seconds> <changes> pairs`,
        'Use e.g. "900 1 300 10" or ""',
      );
    return [parts];
  }
  if (!Array.isArray(value)) return invalid('save', 'expected pairs', 'Use [[900, 1], [300, 10]] or ""');
  return value.map((pair: unknown) => {
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((n) => Number.isInteger(n) && n >= 0))
      invalid(
        'save',
        `${JSON.stringify(pair)} is not a [seconds, changes] pair`,
        'Use [[900, 1], [300, 10]]',
      );
    return pair.map(String);
  });
}

function clientOutputBufferLines(value: unknown): Arg[][] {
  const entries: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [value];
  const lines: Arg[][] = [];
  for (const entry of entries) {
    if (typeof entry === 'string') {
      const parts = words('client-output-buffer-limit', entry);
      if (parts.length % 4 !== 0)
        invalid(
          'client-output-buffer-limit',
          `"${entry}" is not <class> <hard> <soft> <seconds>`,
          'Use e.g. "pubsub 32mb 8mb 60"',
        );
      for (let i = 0; i < parts.length; i += 4) lines.push(parts.slice(i, i + 4));
    } else if (Array.isArray(entry) && entry.length === 4) {
      lines.push(entry.map((v) => scalarArg('client-output-buffer-limit', v)));
    } else if (typeof entry === 'object' && entry !== null && 'class' in entry) {
      const e = entry as Record<string, unknown>;
      lines.push(
        [e.class, e.hardLimit, e.softLimit, e.softSeconds].map((v) =>
          scalarArg('client-output-buffer-limit', v),
        ),
      );
    } else {
      invalid(
        'client-output-buffer-limit',
        `${JSON.stringify(entry)} is not a limit`,
        'Use { class, hardLimit, softLimit, softSeconds } or [class, hard, soft, seconds]',
      );
    }
  }
  return lines;
}

function replicaOfArgs(directive: string, value: unknown): Arg[] {
  if (typeof value === 'string') {
    const parts = words(directive, value);
    if (parts.length !== 2) invalid(directive, `"${value}" is not "<host> <port>"`, 'Use { host, port }');
    return parts;
  }
  if (Array.isArray(value) && value.length === 2) return value.map((v) => scalarArg(directive, v));
  if (typeof value === 'object' && value !== null && 'host' in value && 'port' in value) {
    const v = value as { host: unknown; port: unknown };
    return [scalarArg(directive, v.host), scalarArg(directive, v.port)];
  }
  return invalid(directive, `${JSON.stringify(value)} is not a primary address`, 'Use { host, port }');
}

function renameLines(value: unknown): Arg[][] {
  const pairs: unknown[] = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null
      ? Object.entries(value)
      : [];
  if (pairs.length === 0 && !(Array.isArray(value) || (typeof value === 'object' && value !== null)))
    invalid('rename-command', 'expected a map or pairs', 'Use { FLUSHALL: "" } or [["CONFIG", "CONFIG_x"]]');
  return pairs.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2)
      invalid(
        'rename-command',
        `${JSON.stringify(pair)} is not a [command, newName] pair`,
        'Use [["CONFIG", ""]]',
      );
    return pair.map((v) => scalarArg('rename-command', v));
  });
}

/** Lines for `include`, `loadmodule`, `user` and other repeatables: one line per entry. */
function repeatedLines(directive: string, value: unknown, splitStrings: boolean): Arg[][] {
  const entries: unknown[] = Array.isArray(value) ? value : [value];
  return entries.map((entry) => {
    if (Array.isArray(entry)) return entry.map((v) => scalarArg(directive, v));
    if (splitStrings && typeof entry === 'string') return words(directive, entry);
    return [scalarArg(directive, entry)];
  });
}

/** The lines (as argument lists, name excluded) that one directive/value pair produces. */
export function directiveLines(name: string, value: unknown): Arg[][] {
  const lower = name.toLowerCase();
  switch (lower) {
    case 'save':
      return saveLines(value);
    case 'client-output-buffer-limit':
      return clientOutputBufferLines(value);
    case 'replicaof':
    case 'slaveof':
      return [replicaOfArgs(lower, value)];
    case 'rename-command':
      return renameLines(value);
    case 'include':
      return repeatedLines(lower, value, false);
    case 'loadmodule':
      return repeatedLines(lower, value, false);
    case 'user':
      return repeatedLines(lower, value, true);
    default:
      break;
  }
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((v) => Array.isArray(v)))
      return value.map((line: unknown[]) => line.map((v) => scalarArg(name, v)));
    if (value.length === 0) return [['']];
    return [value.map((v) => scalarArg(name, v))];
  }
  return [[scalarArg(name, value)]];
}

/** Checks a directive name is safe to write (no whitespace, quotes or control characters). */
export function assertDirectiveName(name: string): void {
  if (!NAME.test(name)) {
    throw new ConfigError('ERR_CONFIG_INVALID_NAME', `"${name}" is not a valid directive name`, {
      details: { directive: name },
      hint: 'Directive names are letters, digits, "-", "_" and "." (module configs), starting with a letter or digit',
    });
  }
}

/**
 * Writes a complete valkey.conf. Keys are written in insertion order; `undefined`/`null` values are
 * skipped. Every value is quoted so the server's reader gets back exactly the same bytes, and no
 * value can inject a second directive.
 */
export function serializeConfig(config: ValkeyConfigInput, options: SerializeOptions = {}): string {
  const out: string[] = [];
  const header = options.header ?? 'Generated by @valkey-tools/config';
  if (header !== false && header !== '') {
    for (const line of header.split(/\r?\n/)) out.push(`# ${line}`.trimEnd());
    out.push('');
  }
  for (const [name, value] of Object.entries(config)) {
    if (value === undefined || value === null) continue;
    assertDirectiveName(name);
    for (const args of directiveLines(name, value)) out.push(formatLine(name.toLowerCase(), args));
  }
  return `${out.join('\n')}\n`;
}
