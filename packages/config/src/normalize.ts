import {
  asText,
  type ConfigValue,
  listItems,
  parseInteger,
  parseMemory,
  parsePercent,
  wrappedPercent,
} from './check.js';
import type { ParsedDirective } from './parse.js';
import type { DirectiveSpec } from './schema-types.js';
import { getDirective } from './schema.js';

/** Text as its UTF-8 bytes, one char per byte (how raw `CONFIG GET` replies are compared). */
export function toBinaryText(value: ConfigValue): string {
  return typeof value === 'string'
    ? Buffer.from(value, 'utf8').toString('latin1')
    : Buffer.from(value).toString('latin1');
}

function lowerEnum(spec: DirectiveSpec, value: string): string {
  return spec.values?.find((v) => v.toLowerCase() === value.toLowerCase()) ?? value;
}

/** What `CONFIG GET` reports for a single line of `spec` with `args` (undefined when not knowable). */
export function liveValueOf(spec: DirectiveSpec, args: readonly ConfigValue[]): string | undefined {
  const texts = args.map(asText);
  const one = texts[0] ?? '';
  switch (spec.type) {
    case 'bool':
      return one.toLowerCase();
    case 'integer': {
      const n = parseInteger(one);
      const clamp = RUNTIME_CLAMPS[spec.aliasOf ?? spec.name];
      if (n === undefined || !clamp) return n?.toString();
      if (n < clamp[0]) return clamp[0].toString();
      if (n > clamp[1]) return clamp[1].toString();
      return n.toString();
    }
    case 'octal':
      return (one === '' ? 0 : Number.parseInt(one, 8)).toString(8);
    case 'memory':
      return parseMemory(one)?.toString();
    case 'memory-or-percent': {
      const percent = parsePercent(one);
      // stored as a negative number: 0% is just 0
      if (percent !== undefined) return percent === 0n ? '0' : `${percent}%`;
      const bytes = parseMemory(one);
      const wrapped = wrappedPercent(bytes);
      return wrapped !== undefined ? `${wrapped}%` : bytes?.toString();
    }
    case 'enum':
      return lowerEnum(spec, one);
    case 'flags': {
      // the first value is the empty set ("default"): it only shows when nothing else is set
      const set = new Set(listItems(args).map((v) => lowerEnum(spec, v)));
      const [none, ...rest] = spec.values ?? [];
      const shown = rest.filter((v) => set.has(v));
      return shown.length > 0 ? shown.join(' ') : (none ?? '');
    }
    case 'list':
      return listItems(args)
        .map((v) => (spec.itemType ? String(Number(v)) : v))
        .join(' ');
    case 'replicaof': {
      const [host = '', port = ''] = listItems(args);
      return host.toLowerCase() === 'no' && port.toLowerCase() === 'one' ? '' : `${host} ${Number(port)}`;
    }
    case 'string':
    case 'path': {
      if (spec.name === 'notify-keyspace-events') return keyspaceEvents(asText(args[0] ?? ''));
      const binary = args.map(toBinaryText);
      return spec.multiArg ? binary.join(' ') : (binary[0] ?? '');
    }
    default:
      return undefined;
  }
}

const EVENT_CLASSES = 'g$lshzxetd';

/** `notify-keyspace-events` as the server prints it: classes in its order, `A` for all of them. */
function keyspaceEvents(value: string): string {
  const set = new Set(value);
  if (set.has('A')) for (const c of EVENT_CLASSES) set.add(c);
  const all = [...EVENT_CLASSES].every((c) => set.has(c));
  let out = all ? 'A' : [...EVENT_CLASSES].filter((c) => set.has(c)).join('');
  if (!all && set.has('n')) out += 'n';
  for (const c of 'KEm') if (set.has(c)) out += c;
  return out;
}

/** Directives the server silently clamps after reading them (`hz` runs at 1..500 Hz). */
export const RUNTIME_CLAMPS: Readonly<Record<string, readonly [bigint, bigint]>> = { hz: [1n, 500n] };

const CLASS_ORDER = ['normal', 'slave', 'pubsub'];

/**
 * The value `CONFIG GET <name>` should report after the server reads `directives`, for every
 * directive they set (canonical names, raw bytes as latin1 strings). Directives whose live form
 * cannot be known from the file alone (`dir` when relative, specials like `include`) are left out.
 */
export function expectedLiveValues(
  directives: readonly ParsedDirective[],
): Map<string, { value: string; from: ParsedDirective }> {
  const out = new Map<string, { value: string; from: ParsedDirective }>();
  let save: string[] | undefined;
  let obuf: Map<string, string[]> | undefined;
  for (const d of directives) {
    const spec = getDirective(d.canonical);
    if (!spec) continue;
    if (spec.type === 'save') {
      const items = listItems(d.args);
      if (d.args.length === 1 && asText(d.args[0]!) === '') save = [];
      else save = [...(save ?? []), ...items.map((v) => String(Number(v)))];
      out.set('save', { value: save.join(' '), from: d });
      continue;
    }
    if (spec.type === 'client-output-buffer-limit') {
      if (!obuf) {
        obuf = new Map();
        const def = (spec.default ?? '').split(' ');
        for (let i = 0; i + 3 < def.length; i += 4) obuf.set(def[i]!, def.slice(i + 1, i + 4));
      }
      const items = listItems(d.args);
      for (let i = 0; i + 3 < items.length; i += 4) {
        let cls = items[i]!.toLowerCase();
        if (cls === 'replica') cls = 'slave';
        obuf.set(cls, [
          String(parseMemory(items[i + 1]!) ?? items[i + 1]),
          String(parseMemory(items[i + 2]!) ?? items[i + 2]),
          String(Number(items[i + 3])),
        ]);
      }
      const value = CLASS_ORDER.filter((c) => obuf!.has(c))
        .map((c) => `${c} ${obuf!.get(c)!.join(' ')}`)
        .join(' ');
      out.set('client-output-buffer-limit', { value, from: d });
      continue;
    }
    if (spec.name === 'dir') {
      const dir = toBinaryText(d.args[0] ?? '');
      if (dir.startsWith('/')) out.set('dir', { value: dir.replace(/(.)\/+$/, '$1'), from: d });
      continue;
    }
    const value = liveValueOf(spec, d.args);
    if (value !== undefined) out.set(spec.aliasOf ?? spec.name, { value, from: d });
  }
  return out;
}
