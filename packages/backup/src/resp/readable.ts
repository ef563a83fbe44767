import type { Command } from './encode.js';
import { BackupError } from '../errors.js';
import { headerCommand, type RespHeaderInfo } from './writer.js';

/**
 * The readable view: one command per line, each argument bare when it is plain printable ASCII and
 * otherwise double-quoted the way `valkey-cli` prints strings (`sdscatrepr`: `\\`, `\"`, `\n`,
 * `\r`, `\t`, `\a`, `\b`, other non-printable bytes as `\xHH`). Lines parse back with the rules of
 * `valkey-cli`'s own argument splitter (`sdssplitargs`), so `valkey-cli < file.txt` runs it too.
 */

const BARE = /^[\x21\x23-\x26\x28-\x5b\x5d-\x7e]+$/;

/** Quotes one argument like valkey-cli (`"a\x00b"`), or leaves it bare when that is unambiguous. */
export function quoteArg(arg: Buffer): string {
  const latin = arg.toString('latin1');
  if (arg.length > 0 && BARE.test(latin)) return latin;
  let s = '"';
  for (const c of arg) {
    switch (c) {
      case 0x5c:
        s += '\\\\';
        break;
      case 0x22:
        s += '\\"';
        break;
      case 0x0a:
        s += '\\n';
        break;
      case 0x0d:
        s += '\\r';
        break;
      case 0x09:
        s += '\\t';
        break;
      case 0x07:
        s += '\\a';
        break;
      case 0x08:
        s += '\\b';
        break;
      default:
        s += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
    }
  }
  return `${s}"`;
}

/** Renders one command as one line (no trailing newline). */
export function formatCommandLine(args: readonly Buffer[]): string {
  return args.map(quoteArg).join(' ');
}

const HEX = /^[0-9a-fA-F]{2}$/;
const ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, b: 8, a: 7 };

function readableError(message: string, line: number, column: number, source: string): BackupError {
  return new BackupError('ERR_READABLE_SYNTAX', `${source}:${line}:${column}: ${message}`, {
    details: { source, line, column },
    hint: 'Each line is one command; quote arguments with spaces or special bytes as "..." (\\xHH escapes) or \'...\'',
  });
}

/**
 * Splits one line into arguments like valkey-cli's `sdssplitargs`: bare words, "double quoted"
 * with escapes, 'single quoted' with only \' escaped. Returns bytes (latin1 for non-escaped text
 * outside ASCII is kept as UTF-8 input bytes).
 */
export function parseCommandLine(
  line: string | Buffer,
  where: { line?: number; source?: string } = {},
): Command {
  const lineNo = where.line ?? 1;
  const source = where.source ?? 'input';
  const input = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  const args: Command = [];
  const n = input.length;
  const isSpace = (c: number | undefined) =>
    c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0b || c === 0x0c;
  const hexAt = (i: number) => i + 1 < n && HEX.test(input.toString('latin1', i, i + 2));
  let i = 0;
  while (true) {
    while (i < n && isSpace(input[i])) i++;
    if (i >= n) break;
    const parts: Buffer[] = [];
    let done = false;
    while (!done) {
      const c = input[i];
      if (c === undefined || isSpace(c)) break;
      if (c === 0x22) {
        // "double quoted": copy runs between escapes.
        i++;
        while (true) {
          let j = i;
          while (j < n && input[j] !== 0x5c && input[j] !== 0x22) j++;
          if (j > i) parts.push(input.subarray(i, j));
          if (j >= n) throw readableError('unbalanced double quotes', lineNo, n + 1, source);
          if (input[j] === 0x22) {
            if (j + 1 < n && !isSpace(input[j + 1])) {
              throw readableError('closing quote must be followed by a space', lineNo, j + 2, source);
            }
            i = j + 1;
            done = true;
            break;
          }
          // backslash escape
          if (input[j + 1] === 0x78 && hexAt(j + 2)) {
            parts.push(Buffer.from([Number.parseInt(input.toString('latin1', j + 2, j + 4), 16)]));
            i = j + 4;
          } else if (j + 1 < n) {
            const e = String.fromCharCode(input[j + 1]!);
            parts.push(Buffer.from([ESCAPES[e] ?? input[j + 1]!]));
            i = j + 2;
          } else throw readableError('unbalanced double quotes', lineNo, n + 1, source);
        }
      } else if (c === 0x27) {
        i++;
        while (true) {
          let j = i;
          while (j < n && input[j] !== 0x5c && input[j] !== 0x27) j++;
          if (j > i) parts.push(input.subarray(i, j));
          if (j >= n) throw readableError('unbalanced single quotes', lineNo, n + 1, source);
          if (input[j] === 0x5c) {
            if (input[j + 1] === 0x27) {
              parts.push(Buffer.from([0x27]));
              i = j + 2;
            } else {
              parts.push(input.subarray(j, j + 1));
              i = j + 1;
            }
            continue;
          }
          if (j + 1 < n && !isSpace(input[j + 1])) {
            throw readableError('closing quote must be followed by a space', lineNo, j + 2, source);
          }
          i = j + 1;
          done = true;
          break;
        }
      } else {
        let j = i;
        while (j < n && !isSpace(input[j]) && input[j] !== 0x22 && input[j] !== 0x27) j++;
        parts.push(input.subarray(i, j));
        i = j;
      }
    }
    args.push(parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts));
  }
  return args;
}

/** Renders commands as readable text, one line each (optionally after the same ECHO header as `.valkey`). */
export async function* commandsToReadable(
  commands: AsyncIterable<Command> | Iterable<Command>,
  options: { header?: RespHeaderInfo } = {},
): AsyncGenerator<Buffer> {
  let batch: string[] = [];
  let size = 0;
  let pendingHeader = options.header;
  for await (const c of commands) {
    if (pendingHeader) {
      batch.push(formatCommandLine(headerCommand(pendingHeader)));
      pendingHeader = undefined;
    }
    const line = formatCommandLine(c);
    batch.push(line);
    size += line.length + 1;
    if (size >= 64 * 1024) {
      yield Buffer.from(`${batch.join('\n')}\n`, 'latin1');
      batch = [];
      size = 0;
    }
  }
  if (pendingHeader) batch.push(formatCommandLine(headerCommand(pendingHeader)));
  if (batch.length > 0) yield Buffer.from(`${batch.join('\n')}\n`, 'latin1');
}

/** Parses readable text (streamed chunks) back into commands; empty lines are skipped. */
/** Longest line the readable-view reader accepts (a hostile file with no newline must not exhaust memory). */
export const MAX_READABLE_LINE_BYTES = 1024 * 1024 * 1024;

export async function* readableToCommands(
  chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  options: { source?: string; maxLineBytes?: number } = {},
): AsyncGenerator<Command> {
  const maxLineBytes = options.maxLineBytes ?? MAX_READABLE_LINE_BYTES;
  let pendingBytes = 0;
  let rest: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  const where = (line: number) =>
    options.source === undefined ? { line } : { line, source: options.source! };
  // Chunks of a line still waiting for its newline: joined once, not re-copied per chunk (a long
  // line in many chunks would otherwise cost quadratic time).
  const pending: Buffer[] = [];
  for await (const chunk of chunks) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (buf.indexOf(10) === -1) {
      pendingBytes += buf.length;
      if (rest.length + pendingBytes > maxLineBytes) {
        throw readableError(
          `line is longer than ${maxLineBytes} bytes (a value too big for the readable view: use .valkey or .rdb)`,
          lineNo + 1,
          1,
          options.source ?? 'input',
        );
      }
      pending.push(buf);
      continue;
    }
    pendingBytes = 0;
    rest = Buffer.concat([rest, ...pending.splice(0), buf]);
    let start = 0;
    let nl = rest.indexOf(10, start);
    while (nl !== -1) {
      lineNo++;
      const line = rest.subarray(start, nl);
      if (!isBlank(line)) yield parseCommandLine(line, where(lineNo));
      start = nl + 1;
      nl = rest.indexOf(10, start);
    }
    rest = rest.subarray(start);
  }
  if (pending.length > 0) rest = Buffer.concat([rest, ...pending]);
  if (!isBlank(rest)) yield parseCommandLine(rest, where(lineNo + 1));
}

function isBlank(line: Buffer): boolean {
  for (const c of line) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}
