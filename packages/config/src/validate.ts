import { existsSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { checkUserRules, renamableCommands } from './acl.js';
import { asText, checkArgs, exampleOf, listItems, parseInteger } from './check.js';
import { ConfigError } from './errors.js';
import type { ValkeyConfigInput } from './input.js';
import { type ConfigIssue, formatIssue } from './issues.js';
import { inputToDirectives } from './model.js';
import { RUNTIME_CLAMPS } from './normalize.js';
import { isParsedConfig, type ParsedConfig, type ParsedDirective } from './parse.js';
import { getDirective, suggestDirectives } from './schema.js';

export interface ValidateOptions {
  /** Directive names to accept without complaint (module configs such as `search.timeout`). */
  allow?: readonly string[];
  /**
   * Also check that the files and directories the server opens at startup exist (`dir`, `aclfile`,
   * TLS certificates and keys when TLS is on, the directories of `logfile`/`pidfile`). `dir` is
   * resolved against `cwd` (the server's working directory; default: the process cwd), and, as the
   * server changes into `dir` while reading the file, every other relative path against `dir`.
   */
  checkFiles?: boolean | { cwd?: string };
}

function fileIssues(directives: readonly ParsedDirective[], options: { cwd?: string }): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const cwd = options.cwd ?? process.cwd();
  const dirD = lastValue(directives, 'dir');
  const dataDir = dirD ? resolvePath(cwd, asText(dirD.args[0] ?? '')) : cwd;
  const missing = (d: ParsedDirective, path: string, what: string, hint: string) =>
    issues.push({
      severity: 'error',
      code: 'missing-file',
      directive: d.name,
      ...where(d),
      message: `${what} ${path} does not exist: the server refuses to start`,
      hint,
    });
  if (dirD && !isDirectory(dataDir))
    missing(dirD, dataDir, 'directory', 'Create it (mkdir -p) or point dir at an existing directory');
  const tlsOn = [...['tls-port', 'tls-replication', 'tls-cluster']].some((n) => {
    const d = lastValue(directives, n);
    const v = d ? asText(d.args[0] ?? '') : '';
    return v !== '' && v !== '0' && v.toLowerCase() !== 'no';
  });
  const files = [
    'aclfile',
    ...(tlsOn
      ? [
          'tls-cert-file',
          'tls-key-file',
          'tls-ca-cert-file',
          'tls-dh-params-file',
          'tls-client-cert-file',
          'tls-client-key-file',
        ]
      : []),
  ];
  for (const name of files) {
    const d = lastValue(directives, name);
    const value = d ? asText(d.args[0] ?? '') : '';
    // relative file names are opened after the server has changed into `dir`
    if (d && value !== '' && !existsSync(resolvePath(dataDir, value)))
      missing(
        d,
        resolvePath(dataDir, value),
        'file',
        `Create it or fix the path (relative paths are resolved in ${dataDir})`,
      );
  }
  for (const name of ['logfile', 'pidfile']) {
    const d = lastValue(directives, name);
    const value = d ? asText(d.args[0] ?? '') : '';
    if (d && value !== '' && !isDirectory(dirname(resolvePath(dataDir, value))))
      missing(d, dirname(resolvePath(dataDir, value)), 'directory', 'Create the directory that holds it');
  }
  return issues;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function where(d: ParsedDirective): Pick<ConfigIssue, 'file' | 'line'> {
  return d.file ? { file: d.file, line: d.line } : {};
}

function lastValue(directives: readonly ParsedDirective[], name: string): ParsedDirective | undefined {
  for (let i = directives.length - 1; i >= 0; i--)
    if (directives[i]!.canonical === name) return directives[i];
  return undefined;
}

function isYes(d: ParsedDirective | undefined): boolean {
  return d !== undefined && d.args.length === 1 && asText(d.args[0]!).toLowerCase() === 'yes';
}

function intOf(d: ParsedDirective | undefined, fallback: bigint): bigint {
  const arg = d?.args.length === 1 ? d.args[0] : undefined;
  return arg === undefined ? fallback : (parseInteger(asText(arg)) ?? fallback);
}

function conflicts(directives: readonly ParsedDirective[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const cluster = lastValue(directives, 'cluster-enabled');
  const replicaof = lastValue(directives, 'replicaof');
  if (isYes(cluster) && replicaof && !(asText(replicaof.args[0] ?? '').toLowerCase() === 'no')) {
    issues.push({
      severity: 'error',
      code: 'conflict',
      directive: replicaof.name,
      ...where(replicaof),
      message: `cannot be used with cluster-enabled yes${cluster?.file ? ` (${cluster.file}:${cluster.line})` : ''}: the server refuses to start`,
      hint: 'In a cluster, make a node a replica with CLUSTER REPLICATE; remove replicaof or set cluster-enabled no',
    });
  }
  const port = lastValue(directives, 'port');
  const tlsPortD = lastValue(directives, 'tls-port');
  const portN = intOf(port, 6379n);
  const tlsPort = intOf(tlsPortD, 0n);
  const unixsocket = lastValue(directives, 'unixsocket');
  if (portN === 0n && tlsPort === 0n && (!unixsocket || asText(unixsocket.args[0] ?? '') === '')) {
    issues.push({
      severity: 'error',
      code: 'conflict',
      directive: 'port',
      ...(port ? where(port) : {}),
      message: 'port 0 with no tls-port and no unixsocket: the server has nowhere to listen and exits',
      hint: 'Set a port, a tls-port or a unixsocket',
    });
  }
  if (tlsPort !== 0n && tlsPort === portN && tlsPortD) {
    issues.push({
      severity: 'error',
      code: 'conflict',
      directive: 'tls-port',
      ...where(tlsPortD),
      message: `tls-port ${tlsPort} is the same as port`,
      hint: 'Use two different ports, or set port 0 for TLS only',
    });
  }
  if (tlsPort !== 0n && tlsPortD) {
    for (const needed of ['tls-cert-file', 'tls-key-file']) {
      const d = lastValue(directives, needed);
      if (!d || asText(d.args[0] ?? '') === '') {
        issues.push({
          severity: 'error',
          code: 'conflict',
          directive: 'tls-port',
          ...where(tlsPortD),
          message: `TLS is enabled but ${needed} is not set: the server fails to configure TLS`,
          hint: `Set ${needed}`,
        });
      }
    }
  }
  for (const signal of ['shutdown-on-sigint', 'shutdown-on-sigterm']) {
    const d = lastValue(directives, signal);
    const flags = d ? listItems(d.args).map((f) => f.toLowerCase()) : [];
    if (d && flags.includes('save') && flags.includes('nosave')) {
      issues.push({
        severity: 'error',
        code: 'conflict',
        directive: d.name,
        ...where(d),
        message: 'save and nosave cannot be used together: the server refuses to start',
        hint: 'Keep one of save or nosave',
      });
    }
  }
  const policy = lastValue(directives, 'maxmemory-policy');
  const maxmemory = lastValue(directives, 'maxmemory');
  if (
    policy &&
    asText(policy.args[0] ?? '').toLowerCase() !== 'noeviction' &&
    (!maxmemory || asText(maxmemory.args[0] ?? '0').replace(/[a-z]+$/i, '') === '0')
  ) {
    issues.push({
      severity: 'warning',
      code: 'conflict',
      directive: policy.name,
      ...where(policy),
      message: 'an eviction policy without maxmemory never evicts anything',
      hint: 'Set maxmemory (e.g. maxmemory 256mb)',
    });
  }
  const daemonize = lastValue(directives, 'daemonize');
  const logfile = lastValue(directives, 'logfile');
  if (isYes(daemonize) && (!logfile || asText(logfile.args[0] ?? '') === '')) {
    issues.push({
      severity: 'warning',
      code: 'conflict',
      directive: daemonize!.name,
      ...where(daemonize!),
      message: 'a daemonized server logging to standard output sends its log to /dev/null',
      hint: 'Set logfile to a file (or syslog-enabled yes)',
    });
  }
  const socketPerm = lastValue(directives, 'unixsocketperm');
  if (socketPerm && (!unixsocket || asText(unixsocket.args[0] ?? '') === '')) {
    issues.push({
      severity: 'warning',
      code: 'conflict',
      directive: socketPerm.name,
      ...where(socketPerm),
      message: 'has no effect without unixsocket',
      hint: 'Set unixsocket, or remove unixsocketperm',
    });
  }
  if (replicaof && asText(replicaof.args[0] ?? '').toLowerCase() !== 'no') {
    const [host = '', primaryPort = ''] = listItems(replicaof.args);
    if (/^(127\.0\.0\.1|localhost|::1)$/i.test(host) && BigInt(primaryPort) === portN) {
      issues.push({
        severity: 'error',
        code: 'conflict',
        directive: replicaof.name,
        ...where(replicaof),
        message: `replicates from itself (${host}:${primaryPort} is this server's own port)`,
        hint: "Point replicaof at the primary's address",
      });
    }
  }
  const aclfile = lastValue(directives, 'aclfile');
  const requirepass = lastValue(directives, 'requirepass');
  if (aclfile && requirepass && asText(aclfile.args[0] ?? '') !== '') {
    issues.push({
      severity: 'warning',
      code: 'conflict',
      directive: requirepass.name,
      ...where(requirepass),
      message: 'is ignored when aclfile is set',
      hint: 'Define the default user in the ACL file instead',
    });
  }
  const users = directives.filter((d) => d.canonical === 'user');
  if (aclfile && users.length > 0 && asText(aclfile.args[0] ?? '') !== '') {
    issues.push({
      severity: 'error',
      code: 'conflict',
      directive: 'user',
      ...where(users[0]!),
      message: 'user lines cannot be combined with aclfile: the server refuses to start',
      hint: 'Move the users into the ACL file, or remove aclfile',
    });
  }
  return issues;
}

function validateDirectives(directives: readonly ParsedDirective[], options: ValidateOptions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const allow = new Set((options.allow ?? []).map((n) => n.toLowerCase()));
  const seen = new Map<string, ParsedDirective>();
  // conflicts are judged on well-formed lines only: a bad value already has its own error
  const wellFormed: ParsedDirective[] = [];
  const liveCommands = renamableCommands();
  const users = new Map<string, ParsedDirective>();
  for (const d of directives) {
    const spec = getDirective(d.name);
    if (!spec) {
      if (allow.has(d.name)) continue;
      const suggestions = suggestDirectives(d.name);
      issues.push({
        severity: 'error',
        code: 'unknown-directive',
        directive: d.name,
        ...where(d),
        message: `unknown directive${d.name.includes('.') ? ' (a module config? load the module first, and pass it in options.allow)' : ''}`,
        hint:
          suggestions.length > 0
            ? `Did you mean ${suggestions.join(', ')}?`
            : 'See the directive list in valkey.conf',
      });
      continue;
    }
    if (spec.type === 'deprecated') {
      issues.push({
        severity: 'warning',
        code: 'deprecated',
        directive: d.name,
        ...where(d),
        message: 'is accepted but ignored by the server',
        hint: 'Remove it',
      });
      continue;
    }
    const check = checkArgs(spec, d.args);
    if (!check.ok) {
      issues.push({
        severity: 'error',
        code: check.code,
        directive: d.name,
        ...where(d),
        message: check.message,
        // `port 6379 # comment` reads "#" and "comment" as arguments: only whole-line comments exist
        hint: d.args.some((a) => asText(a).startsWith('#'))
          ? 'Comments must be on their own line: the server reads "# ..." after a value as more arguments'
          : check.hint,
      });
      continue;
    }
    if (spec.name === 'user') {
      const userName = asText(d.args[0] ?? '');
      const earlier = users.get(userName);
      if (earlier) {
        issues.push({
          severity: 'error',
          code: 'duplicate',
          directive: d.name,
          ...where(d),
          message: `user "${userName}" is already defined${earlier.file ? ` at ${earlier.file}:${earlier.line}` : ''}: the server refuses to start`,
          hint: 'Define each user on one line',
        });
        continue;
      }
      users.set(userName, d);
      const problem = checkUserRules(d.args.map(asText));
      if (problem) {
        issues.push({
          severity: 'error',
          code: 'wrong-type',
          directive: d.name,
          ...where(d),
          message: problem,
          hint: 'ACL rules: on|off, >password, ~keypattern, &channel, +command, -@category, (selector); see ACL CAT',
        });
        continue;
      }
    }
    if (spec.name === 'rename-command') {
      const [from, to] = d.args.map((a) => asText(a).toLowerCase()) as [string, string];
      if (!liveCommands.has(from)) {
        const suggestions = [...liveCommands].filter((c) => c.startsWith(from.slice(0, 3))).slice(0, 3);
        issues.push({
          severity: 'error',
          code: 'bad-enum',
          directive: d.name,
          ...where(d),
          message: `no such command "${from}"${from.includes('|') ? ' (subcommands cannot be renamed)' : ''}: the server refuses to start`,
          hint: suggestions.length
            ? `Did you mean ${suggestions.join(', ')}? (or was it renamed by an earlier line?)`
            : 'Use a command name from COMMAND LIST',
        });
        continue;
      }
      if (to !== '' && to !== from && liveCommands.has(to)) {
        issues.push({
          severity: 'error',
          code: 'conflict',
          directive: d.name,
          ...where(d),
          message: `the new name "${to}" is already a command: the server refuses to start`,
          hint: 'Pick a name no command has',
        });
        continue;
      }
      liveCommands.delete(from);
      if (to !== '') liveCommands.add(to);
    }
    const clamp = RUNTIME_CLAMPS[spec.aliasOf ?? spec.name];
    const n = clamp && d.args.length === 1 ? parseInteger(asText(d.args[0]!)) : undefined;
    if (clamp && n !== undefined && (n < clamp[0] || n > clamp[1])) {
      issues.push({
        severity: 'warning',
        code: 'out-of-range',
        directive: d.name,
        ...where(d),
        message: `${n} is accepted but the server runs at ${n < clamp[0] ? clamp[0] : clamp[1]}`,
        hint: `Effective range: ${clamp[0]}..${clamp[1]}`,
      });
    }
    wellFormed.push(d);
    if (!spec.repeatable) {
      const key = spec.aliasOf ?? spec.name;
      const previous = seen.get(key);
      if (previous) {
        const sameFile = previous.file === d.file;
        const alias = previous.name !== d.name ? ` (as ${previous.name})` : '';
        issues.push({
          severity: sameFile ? 'error' : 'warning',
          code: 'duplicate',
          directive: d.name,
          ...where(d),
          message: `is already set${alias}${previous.file ? ` at ${previous.file}:${previous.line}` : ''}; only the last value counts`,
          hint: sameFile
            ? `Keep one ${key} line`
            : `The later file overrides the earlier one; remove one if that is not intended`,
        });
      }
      seen.set(key, d);
    }
  }
  return [...issues, ...conflicts(wellFormed)];
}

/**
 * Checks a parsed file (or an object config) the way the server would read it: unknown directives
 * (with "did you mean"), wrong argument counts, types, ranges, enum values, single-value directives
 * given twice, conflicting options, and the parser's syntax/include problems. Errors first.
 * Takes untyped objects too (JSON, another tool's data): this is the run-time check.
 */
export function validateConfig(
  config: ParsedConfig | ValkeyConfigInput | Readonly<Record<string, unknown>>,
  options: ValidateOptions = {},
): ConfigIssue[] {
  let directives: ParsedDirective[];
  const issues: ConfigIssue[] = [];
  if (isParsedConfig(config)) {
    directives = config.directives;
    issues.push(...config.issues);
  } else {
    directives = [];
    for (const [name, value] of Object.entries(config)) {
      try {
        directives.push(...inputToDirectives({ [name]: value } as ValkeyConfigInput));
      } catch (err) {
        if (!ConfigError.isInstance(err)) throw err;
        const spec = getDirective(name);
        issues.push({
          severity: 'error',
          code: err.code === 'ERR_CONFIG_INVALID_NAME' ? 'unknown-directive' : 'wrong-type',
          directive: name,
          message: typeof err.details.reason === 'string' ? err.details.reason : err.message,
          hint: err.hint ?? (spec ? `Write: ${spec.name} ${exampleOf(spec)}` : 'Check the value'),
        });
      }
    }
  }
  issues.push(...validateDirectives(directives, options));
  if (options.checkFiles)
    issues.push(...fileIssues(directives, options.checkFiles === true ? {} : options.checkFiles));
  return issues.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}

/** Throws a ConfigError (`ERR_CONFIG_INVALID`) listing every error (warnings are ignored). */
export function assertValidConfig(
  config: ParsedConfig | ValkeyConfigInput | Readonly<Record<string, unknown>>,
  options: ValidateOptions = {},
): void {
  const errors = validateConfig(config, options).filter((i) => i.severity === 'error');
  if (errors.length === 0) return;
  const first = errors[0]!;
  throw new ConfigError(
    'ERR_CONFIG_INVALID',
    `Invalid config (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${errors.map(formatIssue).join('\n')}`,
    {
      details: { issues: errors, file: first.file, line: first.line, directive: first.directive },
      hint: first.hint,
    },
  );
}
