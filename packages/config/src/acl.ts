import { createHash } from 'node:crypto';
import { ACL_CATEGORIES, COMMAND_NAMES } from './schema.generated.js';

const KEYWORDS = new Set([
  'on',
  'off',
  'nopass',
  'resetpass',
  'reset',
  'resetkeys',
  'resetchannels',
  'allkeys',
  'allchannels',
  'allcommands',
  'nocommands',
  'clearselectors',
  'sanitize-payload',
  'skip-sanitize-payload',
]);
/** Rules a selector `( ... )` may hold: keys, channels and commands only. */
const SELECTOR_KEYWORDS = new Set([
  'allkeys',
  'allchannels',
  'allcommands',
  'nocommands',
  'resetkeys',
  'resetchannels',
]);

const commands = new Set(COMMAND_NAMES);
// `+@all` is `allcommands`: not listed by ACL CAT
const categories = new Set([...ACL_CATEGORIES, 'all']);

/** Per-selector state: once all keys (channels) are allowed, adding a pattern is an error. */
interface PatternState {
  allKeys: boolean;
  allChannels: boolean;
}

function checkPatterns(rule: string, state: PatternState): string | undefined {
  const lower = rule.toLowerCase();
  if (lower === 'reset' || lower === 'resetkeys') state.allKeys = false;
  if (lower === 'reset' || lower === 'resetchannels') state.allChannels = false;
  const isKey = rule.startsWith('~') || /^%(r|w|rw|wr)~/i.test(rule);
  if (isKey || lower === 'allkeys') {
    if (state.allKeys && isKey)
      return `"${rule}": adding a key pattern after ~* or allkeys has no effect and the server rejects it (use resetkeys first)`;
    if (lower === 'allkeys' || rule === '~*') state.allKeys = true;
  }
  if (rule.startsWith('&') || lower === 'allchannels') {
    if (state.allChannels && rule.startsWith('&'))
      return `"${rule}": adding a channel pattern after &* or allchannels has no effect and the server rejects it (use resetchannels first)`;
    if (lower === 'allchannels' || rule === '&*') state.allChannels = true;
  }
  return undefined;
}

function checkRule(rule: string, inSelector: boolean): string | undefined {
  const lower = rule.toLowerCase();
  if (inSelector ? SELECTOR_KEYWORDS.has(lower) : KEYWORDS.has(lower)) return undefined;
  const first = rule[0];
  if (!inSelector && (first === '>' || first === '<')) return undefined;
  if (!inSelector && (first === '#' || first === '!')) {
    return /^[0-9a-f]{64}$/.test(rule.slice(1))
      ? undefined
      : `"${rule}": a password hash must be exactly 64 lower-case hex characters`;
  }
  if (first === '~' || first === '&') return undefined;
  if (first === '%')
    return /^%(r|w|rw|wr)~/i.test(rule) ? undefined : `"${rule}": use %R~, %W~ or %RW~ before a key pattern`;
  if (first === '+' || first === '-') {
    const body = lower.slice(1);
    if (body.startsWith('@'))
      return categories.has(body.slice(1))
        ? undefined
        : `"${rule}": no ACL category "${body.slice(1)}" (see ACL CAT)`;
    const base = body.split('|', 1)[0]!;
    return commands.has(base) || commands.has(body) ? undefined : `"${rule}": no such command "${base}"`;
  }
  return `"${rule}" is not an ACL rule`;
}

/**
 * Checks a `user <name> [rules...]` line like the server's ACL loader: the name, and every rule
 * (`on`/`off`, `>password`, `#<sha256>`, `~keys`, `%R~keys`, `&channels`, `+command`, `-@category`,
 * `(selector rules)`). Returns the problem, or `undefined` when the line is fine.
 */
export function checkUserRules(args: readonly string[]): string | undefined {
  const [name, ...rules] = args;
  if (name === undefined) return 'a user needs a name';
  if (/[ \0]/.test(name)) return `user name ${JSON.stringify(name)} contains a space or NUL byte`;
  // password hashes the user has so far: `<pw` and `!hash` may only remove one that exists
  const hashes = new Set<string>();
  const root: PatternState = { allKeys: false, allChannels: false };
  for (let i = 0; i < rules.length; i++) {
    let rule = rules[i]!;
    const lower = rule.toLowerCase();
    if (lower === 'reset' || lower === 'resetpass' || lower === 'nopass') hashes.clear();
    else if (rule.startsWith('>')) hashes.add(sha256(rule.slice(1)));
    else if (rule.startsWith('#')) hashes.add(rule.slice(1));
    else if (rule.startsWith('<') || rule.startsWith('!')) {
      const hash = rule.startsWith('<') ? sha256(rule.slice(1)) : rule.slice(1);
      if (!hashes.delete(hash)) return `"${rule}" removes a password the user does not have at that point`;
      continue;
    }
    if (rule.startsWith('(')) {
      // a selector may span several arguments: (~key* +get)
      while (!rule.endsWith(')') && i + 1 < rules.length) rule += ` ${rules[++i]!}`;
      if (!rule.endsWith(')')) return `selector "${rule}" is not closed with ")"`;
      const selector: PatternState = { allKeys: false, allChannels: false };
      for (const inner of rule.slice(1, -1).split(' ').filter(Boolean)) {
        const problem = checkRule(inner, true) ?? checkPatterns(inner, selector);
        if (problem) return `in selector ${rule}: ${problem}`;
      }
      continue;
    }
    const problem = checkRule(rule, false) ?? checkPatterns(rule, root);
    if (problem) return problem;
  }
  return undefined;
}

function sha256(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'latin1')).digest('hex');
}

/** Top-level commands, the names `rename-command` can take. */
export function renamableCommands(): Set<string> {
  return new Set(COMMAND_NAMES.filter((c) => !c.includes('|')));
}
