#!/usr/bin/env node
// Generates src/schema.generated.ts: the table of every directive the installed valkey-server
// accepts, built only from sources on this machine:
//   1. a running valkey-server's `CONFIG GET *` (names and defaults) and `CONFIG SET <name> <default>`
//      (runtime-settable, immutable or protected);
//   2. probes: `valkey-server --port 0 --<name> <value>` exits at once ("Configured to not listen
//      anywhere") when the value is accepted, or prints the loader's error, which names the type
//      ("must be 'yes' or 'no'", "one of the following: ...", "between A and B inclusive"...);
//   3. the documented valkey.conf Debian installs (/etc/valkey/valkey.conf): descriptions and which
//      name of an alias pair is the documented one;
//   4. redis-server 7.0 `CONFIG GET *` when installed (marks directives a Redis 7.0 file may use).
// Grammar the probes cannot see (multi-argument forms) comes from the small FACTS table below.
//
// Usage: node scripts/generate-schema.mjs [--server valkey-server] [--doc /etc/valkey/valkey.conf]
//                                         [--redis redis-server] [--out src/schema.generated.ts]

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const SERVER = opt('server', 'valkey-server');
const DOC = opt('doc', '/etc/valkey/valkey.conf');
const REDIS = opt('redis', 'redis-server');
const OUT = opt('out', join(here, '..', 'src', 'schema.generated.ts'));

/** Shapes the probes cannot infer: multi-argument grammar, repeatable lines, special directives. */
const FACTS = {
  save: { type: 'save', repeatable: true },
  'client-output-buffer-limit': { type: 'client-output-buffer-limit', repeatable: true },
  replicaof: { type: 'replicaof' },
  bind: { type: 'list' },
  'oom-score-adj-values': { type: 'list', itemType: 'integer', count: 3 },
  'latency-tracking-info-percentiles': { type: 'list', itemType: 'number' },
  unixsocketperm: { type: 'octal' },
  'notify-keyspace-events': { type: 'string' },
};
/** Directives the loader handles itself (never in CONFIG GET). */
const SPECIALS = {
  include: {
    type: 'include',
    repeatable: true,
    description: 'Include one or more other config files (glob patterns allowed); later lines win.',
  },
  'rename-command': {
    type: 'rename-command',
    repeatable: true,
    description: 'Rename a dangerous command, or disable it by renaming it to "".',
  },
  loadmodule: {
    type: 'loadmodule',
    repeatable: true,
    description: 'Load a module at startup: loadmodule <path> [arg ...].',
  },
  user: { type: 'user', repeatable: true, description: 'Define an ACL user: user <name> [rule ...].' },
};
/** Loader-accepted names that are ignored (kept so old files validate with a warning). */
const DEPRECATED_CANDIDATES = [
  'list-max-ziplist-entries',
  'list-max-ziplist-value',
  'lua-replicate-commands',
];
/** Where a directive first appeared, when known (valkey 8.0 release notes; Redis 7.2 ones). */
const SINCE = {
  'availability-zone': 'valkey 8.0',
  'cluster-blacklist-ttl': 'valkey 8.0',
  'cluster-slot-stats-enabled': 'valkey 8.0',
  'dual-channel-replication-enabled': 'valkey 8.0',
  'events-per-io-thread': 'valkey 8.0',
  'extended-redis-compatibility': 'valkey 8.0',
  'hide-user-data-from-log': 'valkey 8.0',
  'max-new-connections-per-cycle': 'valkey 8.0',
  'max-new-tls-connections-per-cycle': 'valkey 8.0',
  'prefetch-batch-max-size': 'valkey 8.0',
  'cluster-announce-client-ipv4': 'valkey 8.0',
  'cluster-announce-client-ipv6': 'valkey 8.0',
  primaryauth: 'valkey 8.0',
  primaryuser: 'valkey 8.0',
  'locale-collate': 'redis 7.2',
  'cluster-announce-human-nodename': 'redis 7.2',
  'cluster-preferred-endpoint-type': 'redis 7.0',
};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function encode(argv) {
  let out = `*${argv.length}\r\n`;
  for (const a of argv) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return out;
}

/** A tiny RESP2 client: one connection, commands in sequence. */
function client(port) {
  const sock = connect({ host: '127.0.0.1', port });
  let buf = '';
  const waiting = [];
  const tryParse = () => {
    while (waiting.length > 0) {
      let pos = 0;
      const read = () => {
        const eol = buf.indexOf('\r\n', pos);
        if (eol === -1) throw new RangeError('more');
        const type = buf[pos];
        const head = buf.slice(pos + 1, eol);
        pos = eol + 2;
        if (type === '+' || type === ':') return head;
        if (type === '-') return new Error(head);
        if (type === '$') {
          const n = Number(head);
          if (n < 0) return null;
          if (buf.length < pos + n + 2) throw new RangeError('more');
          const v = buf.slice(pos, pos + n);
          pos += n + 2;
          return v;
        }
        if (type === '*') {
          const n = Number(head);
          const items = [];
          for (let i = 0; i < n; i++) items.push(read());
          return items;
        }
        throw new Error(`bad reply ${JSON.stringify(buf.slice(0, 40))}`);
      };
      try {
        const value = read();
        buf = buf.slice(pos);
        waiting.shift()(value);
      } catch (err) {
        if (err instanceof RangeError) return;
        throw err;
      }
    }
  };
  sock.on('data', (d) => {
    buf += d.toString('latin1');
    tryParse();
  });
  return {
    ready: new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    }),
    call: (...argv) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        sock.write(encode(argv));
      }),
    close: () => sock.end(),
  };
}

async function startServer(bin, cwd, extra = []) {
  const port = await freePort();
  const child = spawn(bin, ['--port', String(port), ...extra], { cwd, stdio: 'ignore' });
  for (let i = 0; i < 400; i++) {
    try {
      const c = client(port);
      await c.ready;
      const pong = await c.call('PING');
      if (pong === 'PONG') return { child, c };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`${bin} did not start`);
}

async function configGetAll(c) {
  const list = await c.call('CONFIG', 'GET', '*');
  const map = new Map();
  for (let i = 0; i < list.length; i += 2) map.set(list[i], list[i + 1]);
  return map;
}

/** Starts `valkey-server --port 0 --<name> ...values`: accepted (exits at once) or the loader's error. */
function probe(cwd, name, values) {
  return new Promise((resolve) => {
    const child = spawn(SERVER, ['--port', '0', '--save', '', '--logfile', '', `--${name}`, ...values], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    // 'close', not 'exit': the output pipes may still hold the loader's message at exit
    child.on('close', () => {
      clearTimeout(timer);
      const fatal = /FATAL CONFIG FILE ERROR[\s\S]*?>>> [^\n]*\n([^\n]*)/.exec(out);
      if (fatal) resolve({ ok: false, error: fatal[1].trim() });
      else if (/Configured to not listen anywhere|Ready to accept/.test(out)) resolve({ ok: true });
      else resolve({ ok: false, error: out.trim().split('\n').pop() ?? 'unknown' });
    });
  });
}

async function pool(items, size, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i], i);
      }
    }),
  );
  return results;
}

function rangeFrom(error) {
  const m = /between (-?\d+) and (-?\d+) inclusive/.exec(error);
  return m ? { min: m[1], max: m[2] } : undefined;
}

async function classify(cwd, name, defaultValue) {
  const fact = FACTS[name];
  const bad = await probe(cwd, name, ['zz!bad']);
  const spec = {};
  if (fact) Object.assign(spec, fact);
  else if (bad.ok)
    spec.type =
      /(^|-)(dir|file|logfile|pidfile|dbfilename|appendfilename|appenddirname)$|^(dir|unixsocket|aclfile)$|-file$|-dir$/.test(
        name,
      )
        ? 'path'
        : 'string';
  else if (/must be 'yes' or 'no'/.test(bad.error)) spec.type = 'bool';
  else if (/must be one of the following: (.*)$/.test(bad.error)) {
    spec.values = /must be one of the following: (.*)$/.exec(bad.error)[1].split(/,\s*/);
    const two = spec.values.slice(-2);
    const flags = await probe(cwd, name, two);
    spec.type = flags.ok ? 'flags' : 'enum';
  } else if (/must be a memory or percent value/.test(bad.error)) spec.type = 'memory-or-percent';
  else if (/must be a memory value/.test(bad.error)) spec.type = 'memory';
  else if (/parsed into an integer/.test(bad.error)) spec.type = 'integer';
  else if (/octal/.test(bad.error)) spec.type = 'octal';
  else {
    spec.type = /(file|dir)$/.test(name) ? 'path' : 'string';
    spec.check = bad.error.replace(/^\d+:[A-Z] .*? [#*.-] /, ''); // the server validates the string itself (e.g. notify-keyspace-events)
  }
  if (spec.type === 'integer' || spec.type === 'memory' || spec.type === 'memory-or-percent') {
    for (const v of ['-9223372036854775808', '9223372036854775807', '18446744073709551615', '-1']) {
      const r = await probe(cwd, name, [v]);
      const range = !r.ok && rangeFrom(r.error);
      if (range) {
        spec.min = range.min;
        spec.max = range.max;
        break;
      }
    }
    if (spec.min === undefined && spec.type !== 'integer') {
      // no probe was out of range: an unsigned 64-bit memory value (memtoull saturates and wraps)
      spec.min = '0';
      spec.max = '18446744073709551615';
    }
  }
  if (spec.type === 'string' || spec.type === 'path') {
    // single-argument strings reject two arguments; list-valued ones accept them
    const two = await probe(cwd, name, ['a', 'b']);
    if (!two.ok && /wrong number of arguments/.test(two.error)) spec.multiArg = false;
    else if (!fact) spec.multiArg = true;
  }
  if (defaultValue === '' && spec.type === 'path') spec.emptyAllowed = (await probe(cwd, name, [''])).ok;
  return spec;
}

function readDoc() {
  if (!existsSync(DOC)) {
    process.stderr.write(`warning: ${DOC} not found; descriptions will be missing\n`);
    return [];
  }
  return readFileSync(DOC, 'utf8').split('\n');
}

const EXAMPLE = /^#?\s?([a-z][a-z0-9_-]+)( [^\s]+){0,4}\s*$/;

/**
 * The example line for `name` (`# maxmemory <bytes>` or an active `port 6379`; else its first
 * mention) and the first sentence of the comment block above it, stopping at another example.
 */
function describe(lines, name) {
  const re = new RegExp(`^#?\\s?${name.replace(/[-]/g, '\\-')}(\\s|$)`);
  let at = lines.findIndex((l) => re.test(l) && EXAMPLE.test(l));
  if (at === -1) at = lines.findIndex((l) => re.test(l));
  if (at === -1) return { documented: false };
  const block = [];
  for (let j = at - 1; j >= 0; j--) {
    const l = lines[j];
    if (!l.startsWith('#')) break;
    const text = l.replace(/^#\s?/, '');
    const other = EXAMPLE.exec(l);
    if (other && other[1] !== name && /^#\s?[a-z]/.test(l) && text.split(' ').length <= 5) break;
    block.unshift(text.trim());
  }
  const paragraphs = block
    .join('\n')
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length > 0 && !/^-+$/.test(p));
  const first = paragraphs.find((p) => p.length >= 20 && !/^#+/.test(p)) ?? '';
  const sentence = /^(.{20,400}?[.!?])(\s|$)/.exec(first);
  const description = sentence ? sentence[1] : first.slice(0, 300);
  return { documented: true, ...(description ? { description } : {}) };
}

function aliasKey(name) {
  return name
    .replace(/_/g, '-')
    .replace(/slaveof/, 'replicaof')
    .replace(/slave/g, 'replica')
    .replace(/masterauth/, 'primaryauth')
    .replace(/masteruser/, 'primaryuser')
    .replace(/master/g, 'primary')
    .replace(/ziplist/g, 'listpack');
}

async function main() {
  const cwd = mkdtempSync(join(tmpdir(), 'vt-schema-'));
  const version = /v=(\S+)/.exec(execFileSync(SERVER, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  process.stderr.write(`valkey-server ${version}: reading CONFIG GET *\n`);
  const { child, c } = await startServer(SERVER, cwd);
  const live = await configGetAll(c);
  // what rename-command and user lines may name
  const commands = (await c.call('COMMAND', 'LIST')).map((n) => n.toLowerCase()).sort();
  const categories = (await c.call('ACL', 'CAT')).map((n) => n.toLowerCase()).sort();
  const names = [...live.keys()].sort();

  // Mutability: CONFIG SET <name> <its own value> is a no-op unless the directive is immutable/protected.
  const mutability = new Map();
  for (const name of names) {
    const reply = await c.call('CONFIG', 'SET', name, live.get(name));
    const err = reply instanceof Error ? reply.message : '';
    mutability.set(
      name,
      /immutable/.test(err) ? 'immutable' : /protected/.test(err) ? 'protected' : 'mutable',
    );
  }
  // Aliases: names that normalize to the same key and share a value; confirmed by CONFIG SET when mutable.
  const groups = new Map();
  const aliasOverride = new Map();
  for (const name of names) {
    // only names with the same default can be one directive under two names
    const key = `${aliasKey(name)}=${live.get(name)}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(name);
  }
  // Confirm aliases the names do not reveal: changing one mutable directive changes its aliases too.
  const probed = await configGetAll(c);
  for (const name of names) {
    if (mutability.get(name) !== 'mutable') continue;
    const current = probed.get(name);
    const next =
      current === 'yes'
        ? 'no'
        : current === 'no'
          ? 'yes'
          : /^\d+$/.test(current)
            ? String(Number(current) + 1)
            : undefined;
    if (next === undefined) continue;
    if ((await c.call('CONFIG', 'SET', name, next)) instanceof Error) continue;
    const after = await configGetAll(c);
    const changed = names.filter((n) => n !== name && after.get(n) !== probed.get(n));
    await c.call('CONFIG', 'SET', name, current);
    if (changed.length === 0) continue;
    const key = `${aliasKey(name)}=${live.get(name)}`;
    for (const other of changed) {
      const otherKey = `${aliasKey(other)}=${live.get(other)}`;
      if (otherKey === key) continue;
      // merge the other name's group into this one
      const merged = [...new Set([...(groups.get(key) ?? []), ...(groups.get(otherKey) ?? [])])].sort();
      for (const n of merged) aliasOverride.set(n, key);
      groups.set(key, merged);
      groups.delete(otherKey);
    }
  }
  c.close();
  child.kill('SIGKILL');

  let redisNames = new Set();
  try {
    const r = await startServer(REDIS, cwd, ['--save', '']);
    redisNames = new Set((await configGetAll(r.c)).keys());
    r.c.close();
    r.child.kill('SIGKILL');
  } catch {
    process.stderr.write('warning: redis-server not available; redis70 flags will be false\n');
  }

  const doc = readDoc();
  process.stderr.write(`probing ${names.length} directives\n`);
  const specs = await pool(names, 6, (name) => classify(cwd, name, live.get(name)));
  const deprecated = [];
  for (const name of DEPRECATED_CANDIDATES) if ((await probe(cwd, name, ['1'])).ok) deprecated.push(name);

  const table = {};
  for (const [i, name] of names.entries()) {
    const group = groups.get(aliasOverride.get(name) ?? `${aliasKey(name)}=${live.get(name)}`);
    const docInfo = describe(doc, name);
    let canonical = name;
    if (group.length > 1) {
      const documented = group.filter((n) => describe(doc, n).documented);
      canonical = documented[0] ?? group.find((n) => n === aliasKey(n)) ?? group[0];
    }
    let defaultValue = live.get(name);
    if (name === 'port') defaultValue = '6379';
    if (name === 'dir') defaultValue = null; // the working directory the server was started in
    const entry = {
      name,
      ...specs[i],
      default: defaultValue,
      mutable: mutability.get(name) !== 'immutable',
      ...(mutability.get(name) === 'protected' ? { protected: true } : {}),
      repeatable: specs[i].repeatable ?? false,
      ...(canonical !== name ? { aliasOf: canonical } : {}),
      ...(group.length > 1 && canonical === name ? { aliases: group.filter((n) => n !== name) } : {}),
      documented: docInfo.documented || (canonical !== name && describe(doc, canonical).documented),
      ...(docInfo.description ? { description: docInfo.description } : {}),
      redis70: redisNames.has(name),
      ...(SINCE[name] ? { since: SINCE[name] } : {}),
    };
    if (entry.multiArg === undefined) delete entry.multiArg;
    table[name] = entry;
  }
  for (const [name, spec] of Object.entries(SPECIALS)) {
    table[name] = {
      name,
      ...spec,
      default: null,
      mutable: false,
      documented: describe(doc, name).documented,
      redis70: true,
    };
  }
  for (const name of deprecated) {
    table[name] = {
      name,
      type: 'deprecated',
      default: null,
      mutable: false,
      repeatable: false,
      documented: false,
      redis70: true,
      description: 'Accepted for compatibility and ignored by the server.',
    };
  }
  // An alias reads values exactly like its canonical directive.
  for (const entry of Object.values(table)) {
    const canonical = entry.aliasOf && table[entry.aliasOf];
    if (!canonical) continue;
    for (const key of [
      'type',
      'values',
      'min',
      'max',
      'itemType',
      'count',
      'multiArg',
      'repeatable',
      'check',
    ]) {
      if (canonical[key] === undefined) delete entry[key];
      else entry[key] = canonical[key];
    }
  }
  // Canonical entries inherit their alias's description when only the alias is documented.
  for (const entry of Object.values(table)) {
    if (entry.aliasOf && !entry.description && table[entry.aliasOf]?.description)
      entry.description = table[entry.aliasOf].description;
  }
  const sorted = Object.fromEntries(Object.entries(table).sort(([a], [b]) => a.localeCompare(b)));
  const unknownInDoc = [
    ...new Set(
      doc
        .map((l) => /^#?\s?([a-z][a-z0-9-]+) \S/.exec(l)?.[1])
        .filter(
          (n) =>
            n &&
            !sorted[n] &&
            /-/.test(n) &&
            doc.some((l) => l.startsWith(`# ${n} `) || l.startsWith(`${n} `)),
        ),
    ),
  ];
  if (unknownInDoc.length > 0)
    process.stderr.write(
      `note: names in the doc that the server does not know: ${unknownInDoc.join(', ')}\n`,
    );

  writeFileSync(OUT, render(sorted, version, commands, categories));
  try {
    execFileSync('npx', ['biome', 'format', '--write', OUT], { stdio: 'ignore' });
  } catch {
    process.stderr.write('note: biome not available, the output is not formatted\n');
  }
  rmSync(cwd, { recursive: true, force: true });
  process.stderr.write(`wrote ${Object.keys(sorted).length} directives to ${OUT}\n`);
}

function tsType(e) {
  switch (e.type) {
    case 'bool':
      return 'YesNo';
    case 'integer':
    case 'octal':
      return 'IntegerValue';
    case 'memory':
      return 'MemoryValue';
    case 'memory-or-percent':
      return 'MemoryValue | PercentValue';
    case 'enum':
      return e.values.map((v) => JSON.stringify(v)).join(' | ');
    case 'flags':
      return `ListValue<${e.values.map((v) => JSON.stringify(v)).join(' | ')}>`;
    case 'string':
    case 'path':
      return e.multiArg ? 'ListValue' : 'StringValue';
    case 'list':
      return e.itemType === 'integer' || e.itemType === 'number' ? 'ListValue<number | string>' : 'ListValue';
    case 'save':
      return 'SaveValue';
    case 'client-output-buffer-limit':
      return 'ClientOutputBufferLimitValue';
    case 'replicaof':
      return 'ReplicaOfValue';
    case 'rename-command':
      return 'RenameCommandValue';
    case 'include':
      return 'ListValue';
    case 'loadmodule':
      return 'ModuleSpec | readonly ModuleSpec[]';
    case 'user':
      return 'UserSpec | readonly UserSpec[]';
    default:
      return 'RawValue';
  }
}

function docComment(e) {
  const parts = [];
  if (e.description) parts.push(e.description.replace(/\*\//g, '* /'));
  const facts = [];
  if (e.default !== null && e.default !== undefined)
    facts.push(`Default: \`${e.default === '' ? '""' : e.default}\``);
  if (e.min !== undefined) facts.push(`Range: ${e.min}..${e.max}`);
  if (!e.mutable) facts.push('Not settable at runtime (restart needed)');
  if (e.protected) facts.push('Protected (CONFIG SET needs enable-protected-configs)');
  if (e.since) facts.push(`Since ${e.since}`);
  if (facts.length) parts.push(`${facts.join('. ')}.`);
  if (e.aliasOf) parts.push(`@deprecated Alias of \`${e.aliasOf}\`.`);
  if (e.type === 'deprecated') parts.push('@deprecated Ignored by the server.');
  return `  /** ${parts.join('\n   * ')} */\n`;
}

function render(table, version, commands, categories) {
  const entries = Object.values(table);
  let out = `// Generated by scripts/generate-schema.mjs from valkey-server ${version} (CONFIG GET *, CONFIG SET and
// startup probes) and the documented valkey.conf. Do not edit: run \`node scripts/generate-schema.mjs\`.
import type { DirectiveSpec } from './schema-types.js';
import type {
  ClientOutputBufferLimitValue,
  IntegerValue,
  ListValue,
  MemoryValue,
  ModuleSpec,
  PercentValue,
  RawValue,
  RenameCommandValue,
  ReplicaOfValue,
  SaveValue,
  StringValue,
  UserSpec,
  YesNo,
} from './values.js';

/** The valkey-server version the table was generated from. */
export const SCHEMA_SERVER_VERSION = ${JSON.stringify(version)};

/** Every command the server knows (lower-case; subcommands as \`container|sub\`), for rename-command and ACL rules. */
export const COMMAND_NAMES: readonly string[] = ${JSON.stringify(commands)};

/** ACL categories (\`+@read\`, \`-@dangerous\`, ...). */
export const ACL_CATEGORIES: readonly string[] = ${JSON.stringify(categories)};

/** Every directive, keyed by its lower-case name (aliases have their own entry with \`aliasOf\`). */
export const DIRECTIVES: Readonly<Record<string, DirectiveSpec>> = {\n`;
  for (const e of entries) out += `  ${JSON.stringify(e.name)}: ${JSON.stringify(e)},\n`;
  out += `};

/** Every directive typed by its value: the object form of a valkey.conf (\`undefined\` = not set). */
export interface ValkeyDirectives {\n`;
  for (const e of entries) out += `${docComment(e)}  ${JSON.stringify(e.name)}?: ${tsType(e)} | undefined;\n`;
  out += '}\n';
  return out;
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
