import { isAscii, isUtf8 } from 'node:buffer';
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ConfigValue } from './check.js';
import { ConfigError } from './errors.js';
import type { ConfigIssue } from './issues.js';
import { splitArgs } from './quote.js';
import { canonicalName } from './schema.js';

/** One directive line, with where it came from. */
export interface ParsedDirective {
  /** The name as written, lower-cased (the server lower-cases it too). */
  name: string;
  /** The documented name (`slaveof` → `replicaof`). */
  canonical: string;
  /** Arguments after quoting and escapes are applied: text, or bytes when not valid UTF-8. */
  args: ConfigValue[];
  /** File the line is in (`<input>` for text without a file name). */
  file: string;
  /** 1-based line number. */
  line: number;
}

/** A parsed valkey.conf: directives in the order the server applies them (includes expanded in place). */
export interface ParsedConfig {
  kind: 'parsed-config';
  /** The top-level file. */
  file: string;
  directives: ParsedDirective[];
  /** Every file read, top-level first. */
  files: string[];
  /** Syntax and include problems found while reading. */
  issues: ConfigIssue[];
}

export interface ParseOptions {
  /** Name used in messages and `file` fields (default `<input>`). */
  file?: string;
  /** Read `include`d files and splice their directives in place (default: true for files, false for text). */
  resolveIncludes?: boolean;
  /**
   * Directory relative `include` paths are resolved against. The server resolves them against its
   * working directory; this defaults to the directory of the top-level file (or the process cwd).
   */
  cwd?: string;
  /** Reads an included file (default `fs.readFileSync`). */
  readFile?: (path: string) => Uint8Array;
}

/** Turns a binary (latin1) argument into text when it is valid UTF-8, else keeps the bytes. */
function decodeArg(binary: string): ConfigValue {
  const bytes = Buffer.from(binary, 'latin1');
  if (isAscii(bytes)) return binary;
  return isUtf8(bytes) ? bytes.toString('utf8') : new Uint8Array(bytes);
}

function toBinary(input: string | Uint8Array): string {
  return typeof input === 'string'
    ? Buffer.from(input, 'utf8').toString('latin1')
    : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
}

function hasGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        re += `[${pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files an include pattern names, sorted like glob(3) (a glob in the last path segment only). */
function expandInclude(path: string): string[] {
  if (!hasGlob(path)) return [path];
  const dir = dirname(path);
  const pattern = globToRegExp(path.slice(dir.length + 1));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => pattern.test(n) && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
}

interface State {
  options: ParseOptions;
  cwd: string;
  directives: ParsedDirective[];
  files: string[];
  issues: ConfigIssue[];
  /** realpaths of the files being read, outermost first (for cycle detection) */
  stack: string[];
}

function parseInto(state: State, binaryText: string, file: string): void {
  const lines = binaryText.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const trimmed = lines[i]!.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const split = splitArgs(trimmed);
    if (!split.ok) {
      state.issues.push({
        severity: 'error',
        code: 'syntax',
        file,
        line: lineNo,
        column: split.column,
        directive: trimmed.split(/\s/, 1)[0]!.toLowerCase(),
        message: `${split.reason} (the server stops with "Unbalanced quotes in configuration line")`,
        hint: 'Close the quote; inside double quotes write \\" for a quote and \\\\ for a backslash',
      });
      continue;
    }
    if (split.args.length === 0) continue;
    const [rawName, ...rawArgs] = split.args as [string, ...string[]];
    const name = rawName.replace(/[A-Z]/g, (c) => c.toLowerCase());
    const directive: ParsedDirective = {
      name,
      canonical: canonicalName(name),
      args: rawArgs.map(decodeArg),
      file,
      line: lineNo,
    };
    state.directives.push(directive);
    if (name === 'include' && state.options.resolveIncludes && rawArgs.length === 1) {
      readInclude(state, directive, decodeArg(rawArgs[0]!));
    }
  }
}

function readInclude(state: State, at: ParsedDirective, target: ConfigValue): void {
  const raw = typeof target === 'string' ? target : Buffer.from(target).toString('utf8');
  const path = isAbsolute(raw) ? raw : resolve(state.cwd, raw);
  const matches = expandInclude(path);
  if (matches.length === 0 && hasGlob(path)) return; // the server accepts a glob that matches nothing
  for (const match of matches) {
    let real: string;
    try {
      real = realpathSync(match);
    } catch {
      state.issues.push({
        severity: 'error',
        code: 'include-missing',
        file: at.file,
        line: at.line,
        directive: 'include',
        message: `cannot open included file ${match}`,
        hint: state.cwd
          ? `Relative includes are resolved against the server's working directory (here ${state.cwd}); use an absolute path`
          : 'Use an absolute path',
      });
      continue;
    }
    if (state.stack.includes(real)) {
      const chain = [...state.stack.slice(state.stack.indexOf(real)), real].join(' -> ');
      state.issues.push({
        severity: 'error',
        code: 'include-cycle',
        file: at.file,
        line: at.line,
        directive: 'include',
        message: `include cycle: ${chain}`,
        hint: 'Remove one of the include lines; the server would recurse until it crashes',
      });
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = (state.options.readFile ?? readFileSync)(real);
    } catch (cause) {
      state.issues.push({
        severity: 'error',
        code: 'include-missing',
        file: at.file,
        line: at.line,
        directive: 'include',
        message: `cannot read included file ${match}: ${(cause as Error).message}`,
        hint: 'Check the path and its permissions',
      });
      continue;
    }
    state.files.push(match);
    state.stack.push(real);
    parseInto(state, toBinary(bytes), match);
    state.stack.pop();
  }
}

/**
 * Parses valkey.conf text exactly as the server reads it: one directive per line, `#` comments,
 * `sdssplitargs` quoting and escapes, case-insensitive names, repeated directives kept in order.
 * Problems (unbalanced quotes, include cycles, missing includes) are returned in `issues`, with
 * file and line; nothing throws for bad content.
 */
export function parseConfig(text: string | Uint8Array, options: ParseOptions = {}): ParsedConfig {
  const file = options.file ?? '<input>';
  const state: State = {
    options: { ...options, resolveIncludes: options.resolveIncludes ?? false },
    cwd: options.cwd ?? (options.file ? dirname(resolve(options.file)) : process.cwd()),
    directives: [],
    files: [file],
    issues: [],
    stack: [],
  };
  if (options.file) {
    try {
      state.stack.push(realpathSync(options.file));
    } catch {
      state.stack.push(resolve(options.file));
    }
  }
  parseInto(state, toBinary(text), file);
  return {
    kind: 'parsed-config',
    file,
    directives: state.directives,
    files: state.files,
    issues: state.issues,
  };
}

/** Reads and parses a config file, following `include`s (relative ones against `cwd`, default: the file's directory). */
export function parseConfigFile(path: string, options: Omit<ParseOptions, 'file'> = {}): ParsedConfig {
  let bytes: Uint8Array;
  try {
    bytes = (options.readFile ?? readFileSync)(path);
  } catch (cause) {
    throw new ConfigError('ERR_CONFIG_READ', `Cannot read config file ${path}: ${(cause as Error).message}`, {
      cause,
      details: { file: path },
      hint: 'Check the path and its permissions',
    });
  }
  return parseConfig(bytes, { ...options, file: path, resolveIncludes: options.resolveIncludes ?? true });
}

/** True for the result of `parseConfig` / `parseConfigFile`. */
export function isParsedConfig(value: unknown): value is ParsedConfig {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'parsed-config' &&
    Array.isArray((value as { directives?: unknown }).directives)
  );
}
