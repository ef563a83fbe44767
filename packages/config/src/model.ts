import { listItems } from './check.js';
import type { ValkeyConfigInput } from './input.js';
import type { ParsedConfig, ParsedDirective } from './parse.js';
import { formatLine } from './quote.js';
import { getDirective } from './schema.js';
import { assertDirectiveName, directiveLines, type SerializeOptions } from './serialize.js';

/**
 * The lines an object config produces, as directives (no file or line: `line` is 0). Throws a
 * ConfigError for a value that cannot be written.
 */
export function inputToDirectives(config: ValkeyConfigInput): ParsedDirective[] {
  const out: ParsedDirective[] = [];
  for (const [name, value] of Object.entries(config)) {
    if (value === undefined || value === null) continue;
    assertDirectiveName(name);
    const lower = name.toLowerCase();
    const canonical = getDirective(lower)?.aliasOf ?? lower;
    for (const args of directiveLines(name, value))
      out.push({ name: lower, canonical, args, file: '', line: 0 });
  }
  return out;
}

function isRepeatable(name: string): boolean {
  return getDirective(name)?.repeatable === true;
}

/**
 * The object form of a parsed file (top-level file only when `includes` is `'keep'`, the default;
 * `'flatten'` merges included directives in and drops the include lines). Single-value directives
 * keep their last value, as the server does; repeatable ones keep every line.
 */
export function toConfigInput(
  parsed: ParsedConfig,
  options: { includes?: 'keep' | 'flatten' } = {},
): ValkeyConfigInput {
  const flatten = options.includes === 'flatten';
  const out: Record<string, unknown> = {};
  for (const d of parsed.directives) {
    if (flatten ? d.name === 'include' : d.file !== parsed.file) continue;
    if (d.name === 'save') {
      const pairs: Array<[number, number]> = [];
      const previous = out.save;
      if (!(d.args.length === 1 && d.args[0] === '') && Array.isArray(previous))
        pairs.push(...(previous as Array<[number, number]>));
      if (d.args.length === 1 && d.args[0] === '') {
        out.save = '';
        continue;
      }
      const items = listItems(d.args);
      for (let i = 0; i + 1 < items.length; i += 2) pairs.push([Number(items[i]), Number(items[i + 1])]);
      delete out.save;
      out.save = pairs;
      continue;
    }
    if (isRepeatable(d.name)) {
      const previous = (out[d.name] as unknown[] | undefined) ?? [];
      delete out[d.name];
      out[d.name] = [...previous, d.args];
      continue;
    }
    delete out[d.name]; // last one wins, and moves to where it was last written
    out[d.name] = d.args.length === 1 ? d.args[0] : d.args.length === 0 ? [] : d.args;
  }
  // A file's names are whatever it wrote (module configs, newer directives): untyped by nature.
  return out as ValkeyConfigInput;
}

/**
 * Writes parsed directives back as valkey.conf text, line for line (parse → serialize → parse gives
 * the same directives). By default only the top-level file's lines are written, `include` lines kept.
 */
export function serializeParsed(
  parsed: ParsedConfig,
  options: SerializeOptions & { includes?: 'keep' | 'flatten' } = {},
): string {
  const flatten = options.includes === 'flatten';
  const out: string[] = [];
  const header = options.header ?? false;
  if (header !== false && header !== '') {
    for (const line of header.split(/\r?\n/)) out.push(`# ${line}`.trimEnd());
    out.push('');
  }
  for (const d of parsed.directives) {
    if (flatten ? d.name === 'include' : d.file !== parsed.file) continue;
    assertDirectiveName(d.name);
    out.push(formatLine(d.name, d.args));
  }
  return `${out.join('\n')}\n`;
}
