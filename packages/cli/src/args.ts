import { parseArgs } from 'node:util';
import {
  type CommandDefinition,
  type CommandName,
  type FlagDefinition,
  commandPrefixes,
  commands,
  findCommand,
  globalFlags,
} from './definitions.js';
import { usageError } from './errors.js';
import { closest } from './suggest.js';

type Definition<N extends CommandName> = Extract<(typeof commands)[number], { name: N }>;

type ScalarOf<F> = F extends { type: 'boolean' }
  ? boolean
  : F extends { type: 'integer' }
    ? number
    : F extends { choices: readonly (infer C)[] }
      ? C
      : string;

type ValueOf<F> = F extends { multiple: true } ? Array<ScalarOf<F>> : ScalarOf<F>;

/** Flags that always have a value: booleans, repeatable flags, flags with a default or required ones. */
type AlwaysSet<F> = F extends { type: 'boolean' }
  ? true
  : F extends { multiple: true }
    ? true
    : F extends { default: unknown }
      ? true
      : F extends { required: true }
        ? true
        : false;

type FlagsFrom<Flags extends readonly FlagDefinition[]> = {
  [F in Flags[number] as F['name']]: AlwaysSet<F> extends true ? ValueOf<F> : ValueOf<F> | undefined;
};

/** The parsed flags of command N, typed from its definition (`--block-size` is `flags['block-size']`). */
export type FlagsOf<N extends CommandName> = FlagsFrom<Definition<N>['flags']> &
  FlagsFrom<typeof globalFlags>;

export interface ParsedCommand<N extends CommandName = CommandName> {
  definition: CommandDefinition & { name: N };
  /** Positional arguments in order. */
  args: string[];
  flags: FlagsOf<N>;
  /** Everything after a `--` (passed through, e.g. to valkey-cli by `connect`). */
  passthrough: string[];
}

export type Invocation =
  | { kind: 'help'; topic?: string }
  | { kind: 'version' }
  | { kind: 'command'; parsed: ParsedCommand; verbose: boolean; noColor: boolean; help: boolean };

const commandNames = (commands as readonly CommandDefinition[]).map((c) => c.name);
const topLevelWords = [...new Set(commandNames.map((n) => n.split(' ')[0]!))];

function subcommandsOf(prefix: string): string[] {
  return commandNames.filter((n) => n.startsWith(`${prefix} `)).map((n) => n.slice(prefix.length + 1));
}

function flagLabel(flag: FlagDefinition): string {
  return `--${flag.name}`;
}

/**
 * Turns argv (without `node bin.js`) into what to do. Throws a usage error (exit code 2) for an
 * unknown command or flag, a missing or extra argument, or a bad flag value.
 */
export function parseInvocation(argv: readonly string[]): Invocation {
  const leading: string[] = [];
  let i = 0;
  // Global flags may come before the command: `valkey-tools --verbose backup ...`.
  while (i < argv.length && (argv[i] === '--verbose' || argv[i] === '--no-color')) leading.push(argv[i++]!);
  const first = argv[i];
  if (first === undefined) return { kind: 'help' };
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (first === 'help') {
    const topic = argv.slice(i + 1).join(' ');
    if (topic === '') return { kind: 'help' };
    if (!findCommand(topic) && !commandPrefixes.includes(topic)) throw unknownCommand(topic);
    return { kind: 'help', topic };
  }
  if (first === '--version' || first === '-V') return { kind: 'version' };
  if (first.startsWith('-')) {
    throw usageError(
      'ERR_UNKNOWN_FLAG',
      `unknown option "${first}" before the command. Run "valkey-tools --help" for the list of commands`,
    );
  }
  let name = first;
  let rest = argv.slice(i + 1);
  if (commandPrefixes.includes(first)) {
    const sub = rest[0];
    const subs = subcommandsOf(first);
    if (sub === undefined || sub.startsWith('-')) {
      if (sub === '--help' || sub === '-h') return { kind: 'help', topic: first };
      throw usageError(
        'ERR_MISSING_ARGUMENT',
        `"${first}" needs a subcommand: ${subs.join(', ')}. Run "valkey-tools ${first} --help"`,
        first,
      );
    }
    name = `${first} ${sub}`;
    rest = rest.slice(1);
    if (!findCommand(name)) {
      const guess = closest(sub, subs);
      throw usageError(
        'ERR_UNKNOWN_COMMAND',
        `unknown command "${name}"${guess ? ` (did you mean "${first} ${guess}"?)` : ''}. ` +
          `Run "valkey-tools ${first} --help" for its subcommands: ${subs.join(', ')}`,
        first,
      );
    }
  }
  const definition = findCommand(name);
  if (!definition) throw unknownCommand(name);
  const parsed = parseCommandArgs(definition, [...leading, ...rest]);
  const flags = parsed.flags as unknown as Record<string, unknown>;
  return {
    kind: 'command',
    parsed,
    verbose: flags.verbose === true,
    noColor: flags['no-color'] === true,
    help: flags.help === true,
  };
}

function unknownCommand(name: string) {
  const guess = closest(name, [...topLevelWords, ...commandNames]);
  return usageError(
    'ERR_UNKNOWN_COMMAND',
    `unknown command "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}. Run "valkey-tools --help" for the list of commands`,
  );
}

/** Parses the words after the command name against the command's flag definitions. */
export function parseCommandArgs(definition: CommandDefinition, argv: readonly string[]): ParsedCommand {
  const dashDash = argv.indexOf('--');
  const own = dashDash === -1 ? argv : argv.slice(0, dashDash);
  const passthrough = dashDash === -1 ? [] : argv.slice(dashDash + 1);
  const allFlags: FlagDefinition[] = [...definition.flags, ...globalFlags];
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const flag of allFlags) {
    options[flag.name] = {
      type: flag.type === 'boolean' ? 'boolean' : 'string',
      ...(flag.short ? { short: flag.short } : {}),
      ...(flag.multiple ? { multiple: true } : {}),
    };
  }
  const helpOf = `Run "valkey-tools ${definition.name} --help"`;
  let values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...own],
      options,
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    throw translateParseError(err, definition, allFlags, helpOf);
  }
  // Without --help, check the command line fully; with it, print help whatever else is wrong.
  const help = values.help === true;
  const flags: Record<string, unknown> = {};
  for (const flag of allFlags) {
    const raw = values[flag.name];
    if (raw === undefined) {
      if (flag.default !== undefined) flags[flag.name] = flag.default;
      else if (flag.type === 'boolean') flags[flag.name] = false;
      else if (flag.multiple) flags[flag.name] = [];
      else if (flag.required && !help) {
        throw usageError(
          'ERR_MISSING_ARGUMENT',
          `missing ${flagLabel(flag)} ${flag.valueName ?? ''}`.trimEnd() + `. ${helpOf}`,
          definition.name,
        );
      }
      continue;
    }
    if (flag.type === 'boolean') {
      flags[flag.name] = raw;
      continue;
    }
    const list = (Array.isArray(raw) ? raw : [raw]) as string[];
    const converted = list.map((value) => convertValue(flag, value, definition, helpOf));
    flags[flag.name] = flag.multiple ? converted : converted[converted.length - 1];
  }
  if (!help) {
    const maxArgs = definition.args.length;
    // `connect NAME -- ARGS` passes ARGS through; elsewhere `--` only ends the flags.
    const args = definition.name === 'connect' ? positionals : [...positionals, ...passthrough];
    if (args.length > maxArgs) {
      throw usageError(
        'ERR_INVALID_ARGUMENT',
        `unexpected argument "${args[maxArgs]}" (${definition.name} takes ${maxArgs === 0 ? 'no arguments' : definition.args.map((a) => a.name.toUpperCase()).join(' ')}). ${helpOf}`,
        definition.name,
      );
    }
    for (const [index, arg] of definition.args.entries()) {
      if (arg.required && args[index] === undefined) {
        throw usageError(
          'ERR_MISSING_ARGUMENT',
          `missing ${arg.name.toUpperCase()}: ${arg.description}. ${helpOf}`,
          definition.name,
        );
      }
    }
    return {
      definition,
      args,
      flags: flags as FlagsOf<CommandName>,
      passthrough: definition.name === 'connect' ? passthrough : [],
    } as ParsedCommand;
  }
  return {
    definition,
    args: positionals,
    flags: flags as FlagsOf<CommandName>,
    passthrough,
  } as ParsedCommand;
}

function convertValue(
  flag: FlagDefinition,
  value: string,
  definition: CommandDefinition,
  helpOf: string,
): string | number {
  if (flag.type === 'integer') {
    if (!/^-?\d+$/.test(value.trim())) {
      throw usageError(
        'ERR_INVALID_ARGUMENT',
        `${flagLabel(flag)} must be an integer, got "${value}". ${helpOf}`,
        definition.name,
      );
    }
    const n = Number(value);
    if ((flag.min !== undefined && n < flag.min) || (flag.max !== undefined && n > flag.max)) {
      const range =
        flag.max === undefined
          ? `at least ${flag.min}`
          : flag.min === undefined
            ? `at most ${flag.max}`
            : `${flag.min}..${flag.max}`;
      throw usageError(
        'ERR_INVALID_ARGUMENT',
        `${flagLabel(flag)} must be ${range}, got ${n}. ${helpOf}`,
        definition.name,
      );
    }
    return n;
  }
  if (flag.choices && !flag.choices.includes(value)) {
    const guess = closest(value, flag.choices);
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      `${flagLabel(flag)} must be one of ${flag.choices.join(', ')}, got "${value}"${guess ? ` (did you mean "${guess}"?)` : ''}. ${helpOf}`,
      definition.name,
    );
  }
  return value;
}

function translateParseError(
  err: unknown,
  definition: CommandDefinition,
  flags: readonly FlagDefinition[],
  helpOf: string,
): Error {
  const code = (err as { code?: string }).code;
  const message = (err as Error).message ?? String(err);
  const option = /'(-{1,2}[^' ,]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const bare = option.replace(/^-+/, '');
    const guess = closest(
      bare,
      flags.map((f) => f.name),
    );
    return usageError(
      'ERR_UNKNOWN_FLAG',
      `unknown option "${option}" for "${definition.name}"${guess ? ` (did you mean "--${guess}"?)` : ''}. ${helpOf}`,
      definition.name,
    );
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = flags.find((f) => `--${f.name}` === option || `-${f.short}` === option);
    if (flag?.type === 'boolean' || /does not take an argument/.test(message)) {
      return usageError(
        'ERR_INVALID_ARGUMENT',
        `${option} does not take a value. ${helpOf}`,
        definition.name,
      );
    }
    const label = flag ? `--${flag.name}` : option;
    return usageError(
      'ERR_MISSING_ARGUMENT',
      `${label} needs a value${flag?.valueName ? ` (${flag.valueName})` : ''}; write ${label}=VALUE when the value starts with "-". ${helpOf}`,
      definition.name,
    );
  }
  return usageError('ERR_INVALID_ARGUMENT', `${message}. ${helpOf}`, definition.name);
}
