import {
  type CommandDefinition,
  type FlagDefinition,
  commandGroups,
  commands,
  exitCodes,
  findCommand,
  globalFlags,
} from './definitions.js';

type Paint = (style: 'bold' | 'dim' | 'cyan', text: string) => string;
const plain: Paint = (_style, text) => text;

const all = commands as readonly CommandDefinition[];

function flagSignature(flag: FlagDefinition): string {
  const long = `--${flag.name}${flag.type === 'boolean' ? '' : ` ${flag.valueName ?? 'VALUE'}`}`;
  return flag.short ? `-${flag.short}, ${long}` : `    ${long}`;
}

function flagDescription(flag: FlagDefinition): string {
  const notes: string[] = [];
  if (flag.required) notes.push('required');
  if (flag.default !== undefined) notes.push(`default: ${String(flag.default)}`);
  if (flag.choices) notes.push(`one of: ${flag.choices.join(', ')}`);
  if (flag.multiple) notes.push('repeatable');
  return notes.length > 0 ? `${flag.description} (${notes.join('; ')})` : flag.description;
}

function columns(
  rows: ReadonlyArray<[string, string]>,
  paintLeft: (text: string) => string = (text) => text,
  indent = 2,
): string[] {
  const width = Math.min(34, Math.max(...rows.map(([left]) => left.length)));
  return rows.map(([left, right]) =>
    left.length > width
      ? `${' '.repeat(indent)}${paintLeft(left)}\n${' '.repeat(indent + width + 2)}${right}`
      : `${' '.repeat(indent)}${paintLeft(left.padEnd(width))}  ${right}`,
  );
}

/** `valkey-tools --help`: every command by group. */
export function renderGeneralHelp(version: string, paint: Paint = plain): string {
  const lines: string[] = [
    `${paint('bold', 'valkey-tools')} ${version}: install and run Valkey, write valkey.conf, back up and restore data, index KV caches`,
    '',
    `${paint('bold', 'Usage:')} valkey-tools <command> [options]`,
  ];
  for (const group of commandGroups) {
    const members = all.filter((c) => c.group === group.name);
    if (members.length === 0) continue;
    lines.push('', paint('bold', `${group.title}:`));
    lines.push(
      ...columns(
        members.map((c) => [c.name.padEnd(16), c.summary] as [string, string]),
        (text) => paint('cyan', text),
      ),
    );
  }
  lines.push(
    '',
    paint('bold', 'Options for every command:'),
    ...columns([
      ...globalFlags.map((f) => [flagSignature(f), f.description] as [string, string]),
      ['    --version', 'Print the version of valkey-tools and exit'] as [string, string],
    ]),
    '',
    `Run ${paint('cyan', 'valkey-tools <command> --help')} for the options and examples of a command.`,
    `Exit codes: ${exitCodes.map((e) => `${e.code} ${e.meaning.split(' (')[0]!.toLowerCase()}`).join('; ')}.`,
    'Environment: VALKEY_TOOLS_HOME (cache), VALKEY_TOOLS_MIRROR, VALKEY_TOOLS_OFFLINE, NO_COLOR, FORCE_COLOR.',
  );
  return `${lines.join('\n')}\n`;
}

/** Help of a group of subcommands (`valkey-tools cluster --help`). */
export function renderGroupHelp(prefix: string, paint: Paint = plain): string {
  const members = all.filter((c) => c.name.startsWith(`${prefix} `));
  const lines = [
    `${paint('bold', 'Usage:')} valkey-tools ${prefix} <${members.map((c) => c.name.slice(prefix.length + 1)).join('|')}> [options]`,
    '',
    ...columns(
      members.map((c) => [c.name, c.summary] as [string, string]),
      (text) => paint('cyan', text),
    ),
    '',
    `Run ${paint('cyan', `valkey-tools ${prefix} <subcommand> --help`)} for details.`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Help of one command, rendered from its definition. */
export function renderCommandHelp(definition: CommandDefinition, paint: Paint = plain): string {
  const lines: string[] = [
    `${paint('bold', 'Usage:')} valkey-tools ${definition.usage}`,
    '',
    definition.summary,
  ];
  if (definition.description) lines.push('', ...wrap(definition.description, 96));
  if (definition.args.length > 0) {
    lines.push('', paint('bold', 'Arguments:'));
    lines.push(
      ...columns(
        definition.args.map(
          (a) =>
            [a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`, a.description] as [
              string,
              string,
            ],
        ),
      ),
    );
  }
  const flags = [...definition.flags, ...globalFlags];
  lines.push('', paint('bold', 'Options:'));
  lines.push(...columns(flags.map((f) => [flagSignature(f), flagDescription(f)] as [string, string])));
  if (definition.examples.length > 0) {
    lines.push('', paint('bold', 'Examples:'));
    for (const example of definition.examples) {
      lines.push(`  ${paint('cyan', `$ ${example.command}`)}`);
      if (example.description) lines.push(`    ${paint('dim', example.description)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Help for `topic`: a command, a group prefix, or everything. */
export function renderHelp(topic: string | undefined, version: string, paint: Paint = plain): string {
  if (topic === undefined) return renderGeneralHelp(version, paint);
  const command = findCommand(topic);
  if (command) return renderCommandHelp(command, paint);
  return renderGroupHelp(topic, paint);
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
}
