import {
  formatIssue,
  getDirective,
  splitArgs,
  untypedDirectives,
  type ValkeyConfigInput,
  validateConfig,
} from '@valkey-tools/config';
import { usageError } from './errors.js';

/** Directives whose serializer splits a single string into words itself. */
const SELF_SPLITTING = new Set(['save', 'client-output-buffer-limit', 'replicaof', 'slaveof', 'user']);

function words(directive: string, raw: string, command: string): string[] {
  if (!/[\s"']/.test(raw)) return [raw];
  // Split like valkey's own config reader (sdssplitargs), which works on bytes.
  const split = splitArgs(Buffer.from(raw, 'utf8').toString('latin1'));
  if (!split.ok) {
    // The value is not echoed: it may be a password.
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      `--set ${directive}=…: unbalanced quotes (quote a value with spaces as "a b"). Run "valkey-tools ${command} --help"`,
      command,
    );
  }
  return split.args.map((arg) => Buffer.from(arg, 'latin1').toString('utf8'));
}

/**
 * Turns `--set name=value` flags into config data: `maxmemory=256mb` → `{ maxmemory: '256mb' }`,
 * `save=900 1 --set save=60 10000` → `{ save: [['900', '1'], ['60', '10000']] }`.
 */
export function parseSetFlags(sets: readonly string[], command: string): ValkeyConfigInput {
  const entries = new Map<string, string[]>();
  for (const set of sets) {
    const eq = set.indexOf('=');
    const name = (eq === -1 ? set : set.slice(0, eq)).trim().toLowerCase();
    if (eq === -1 || name === '') {
      throw usageError(
        'ERR_INVALID_ARGUMENT',
        `--set needs name=value, got "${set}" (e.g. --set maxmemory=256mb). Run "valkey-tools ${command} --help"`,
        command,
      );
    }
    entries.set(name, [...(entries.get(name) ?? []), set.slice(eq + 1)]);
  }
  const config: Record<string, string | string[] | string[][]> = {};
  for (const [name, values] of entries) {
    if (SELF_SPLITTING.has(name)) {
      // The serializer splits these itself: `save "900 1 60 100"`, one `user` line per entry.
      const cleaned = values.map((raw) => (raw.trim() === '""' ? '' : raw));
      config[name] = name === 'user' ? cleaned : cleaned.join(' ').trim();
    } else if (values.length === 1) {
      const raw = values[0]!;
      if (takesOneString(name)) {
        // One string argument (a password, a path): taken literally, quotes and spaces included.
        config[name] = raw;
      } else {
        const args = words(name, raw, command);
        config[name] = args.length === 1 ? args[0]! : args;
      }
    } else {
      config[name] = values.map((raw) => words(name, raw, command));
    }
  }
  // Names typed on a command line: checked against the schema at run time (validatedSetFlags).
  return untypedDirectives(config);
}

/** A directive whose value is one string (`masterauth`, `requirepass`, `dir`, ...), not words. */
function takesOneString(name: string): boolean {
  const spec = getDirective(name);
  return spec !== undefined && (spec.type === 'string' || spec.type === 'path') && spec.multiArg !== true;
}

/**
 * `parseSetFlags`, then checked against the schema like `config check`: a misspelled directive
 * (with a did-you-mean) or a bad value is a command-line error (exit 2), before anything is
 * written or started.
 */
export function validatedSetFlags(sets: readonly string[], command: string): ValkeyConfigInput {
  const config = parseSetFlags(sets, command);
  const errors = validateConfig(config).filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    const list = errors.map((i) => `  ${formatIssue(i).replace(/^error: /, '')}`).join('\n');
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      `invalid --set:\n${list}\nRun "valkey-tools ${command} --help"`,
      command,
    );
  }
  return config;
}
