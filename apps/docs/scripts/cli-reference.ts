/**
 * The CLI reference page, generated from the CLI's own command table (packages/cli/src/definitions.ts)
 * so the documented commands and flags are exactly those the parser accepts.
 */
import type {
  CommandDefinition,
  CommandGroupDefinition,
  FlagDefinition,
} from '../../../packages/cli/src/definitions.ts';
import { code, fence, generatedNotice, prose, table } from './markdown.ts';

export interface CliReferenceInput {
  commands: readonly CommandDefinition[];
  groups: readonly CommandGroupDefinition[];
  globalFlags: readonly FlagDefinition[];
  exitCodes: readonly { code: number; meaning: string }[];
}

/** The anchor of a command's section: `cluster create` → `cluster-create`. */
export function commandAnchor(name: string): string {
  return name.trim().replace(/\s+/g, '-');
}

function flagName(flag: FlagDefinition): string {
  const long = `--${flag.name}${flag.type === 'boolean' ? '' : ` ${flag.valueName ?? flag.name.toUpperCase()}`}`;
  return flag.short ? `-${flag.short}, ${long}` : long;
}

function flagNotes(flag: FlagDefinition): string {
  const notes: string[] = [];
  if (flag.required) notes.push('**required**');
  if (flag.multiple) notes.push('repeatable');
  if (flag.choices) notes.push(`one of ${flag.choices.map((c) => code(c)).join(', ')}`);
  if (flag.min !== undefined && flag.max !== undefined) notes.push(`${flag.min}–${flag.max}`);
  else if (flag.min !== undefined) notes.push(`≥ ${flag.min}`);
  else if (flag.max !== undefined) notes.push(`≤ ${flag.max}`);
  if (flag.default !== undefined) notes.push(`default ${code(String(flag.default))}`);
  return notes.join('; ');
}

function flagTable(flags: readonly FlagDefinition[]): string {
  return table(
    ['Flag', 'Type', 'Description', 'Notes'],
    flags.map((flag) => [
      code(flagName(flag)),
      flag.type,
      prose(flag.description, { table: true }),
      flagNotes(flag),
    ]),
  );
}

function commandSection(command: CommandDefinition): string {
  const out: string[] = [];
  out.push(`### valkey-tools ${command.name} {#${commandAnchor(command.name)}}`);
  out.push(prose(command.summary) + '.');
  if (command.description) out.push(prose(command.description));
  out.push(fence('sh', `valkey-tools ${command.usage}`));
  if (command.args.length > 0) {
    out.push(
      table(
        ['Argument', 'Required', 'Description'],
        command.args.map((arg) => [
          code(arg.name.toUpperCase()),
          arg.required ? 'yes' : 'no',
          prose(arg.description, { table: true }),
        ]),
      ),
    );
  }
  if (command.flags.length > 0) out.push(flagTable(command.flags));
  if (command.examples.length > 0) {
    const lines = command.examples.map((ex) =>
      ex.description ? `# ${ex.description}\n${ex.command}` : ex.command,
    );
    out.push('**Examples**');
    out.push(fence('sh', lines.join('\n\n')));
  }
  return out.join('\n\n');
}

export function renderCliReference(input: CliReferenceInput): string {
  const out: string[] = [];
  out.push('---\noutline: [2, 3]\n---');
  out.push(generatedNotice('packages/cli/src/definitions.ts'));
  out.push('# CLI reference');
  out.push(
    'Every command of `valkey-tools` (`npx @valkey-tools/cli <command>`), its arguments and flags. ' +
      'This page is generated from the same table the command-line parser and `--help` use, so it always ' +
      'matches the installed version. See the [CLI guide](/guide/cli) for a walk-through.',
  );
  out.push('## Commands');
  for (const group of input.groups) {
    const inGroup = input.commands.filter((c) => c.group === group.name);
    if (inGroup.length === 0) continue;
    out.push(`**${prose(group.title)}**`);
    out.push(
      table(
        ['Command', 'Summary'],
        inGroup.map((c) => [
          `[${code(`valkey-tools ${c.name}`)}](#${commandAnchor(c.name)})`,
          prose(c.summary, { table: true }),
        ]),
      ),
    );
  }
  out.push('## Global flags');
  out.push('Every command accepts these.');
  out.push(flagTable(input.globalFlags));
  out.push('## Exit codes');
  out.push(
    table(
      ['Code', 'Meaning'],
      input.exitCodes.map((e) => [String(e.code), prose(e.meaning, { table: true })]),
    ),
  );
  for (const group of input.groups) {
    const inGroup = input.commands.filter((c) => c.group === group.name);
    if (inGroup.length === 0) continue;
    out.push(`## ${prose(group.title)}`);
    for (const command of inGroup) out.push(commandSection(command));
  }
  return out.join('\n\n') + '\n';
}
