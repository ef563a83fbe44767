import { createReadStream } from 'node:fs';
import { type CommandSpan, type ParsedCommand, RespCommandParser, truncatedError } from '../resp/parser.js';

export interface PassThroughOptions {
  /**
   * Called for each command lying whole in an input chunk, as positions: true when it was
   * handled (sent) on the spot, false to have it handed to `onSpanAsync` (the span stays valid
   * until that settles).
   */
  onSpan: (span: CommandSpan) => boolean;
  /** Handles a span `onSpan` declined; resolves false to end the restore. */
  onSpanAsync: (span: CommandSpan) => Promise<boolean>;
  /** Handles a command that came split across input chunks; resolves false to end the restore. */
  onCommand: (command: ParsedCommand) => Promise<boolean>;
  /** Called when the input has been read to its end (before a truncated tail is reported). */
  onEnd?: () => Promise<void>;
  /** An incomplete last command: `error` (default) or `drop` it and report it. */
  truncated?: 'error' | 'drop';
  onTruncated?: (info: { source: string; offset: number; bytes: number }) => void;
  onBytes?: (n: number) => void;
}

/**
 * Reads a RESP command file (`.valkey`) the way `valkey-cli --pipe` does, for a restore that can
 * send its commands as they are: each command is found by its headers and handed over as a span
 * of the input chunk, with no argument buffers made. Syntax errors and a truncated tail are
 * reported like `parseRespCommands` does (same parser).
 */
export async function passThroughResp(path: string, options: PassThroughOptions): Promise<void> {
  const parser = new RespCommandParser({ source: path });
  const split: ParsedCommand[] = [];
  let declined: CommandSpan | null = null;
  const visit = (span: CommandSpan): boolean => {
    if (options.onSpan(span)) return true;
    declined = span;
    return false;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    options.onBytes?.(chunk.length);
    let i = 0;
    while (i < chunk.length) {
      i = parser.scan(chunk, i, visit, split);
      if (declined) {
        const span: CommandSpan = declined;
        declined = null;
        if (!(await options.onSpanAsync(span))) return;
      }
      if (split.length > 0) {
        const c = split.pop()!;
        if (!(await options.onCommand(c))) return;
      }
    }
  }
  await options.onEnd?.();
  const t = parser.tail();
  if (t) {
    if (options.truncated !== 'drop') throw truncatedError(path, t);
    options.onTruncated?.({ source: path, offset: t.offset, bytes: t.bytes });
  }
}

/** True when buf[start, end) is `name` (upper-case letters), in any case. */
export function nameIs(buf: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((buf[start + i]! & 0xdf) !== name.charCodeAt(i)) return false;
  return true;
}

/**
 * Where the key is in a command a pass-through restore sends as it is (the commands our `.valkey`
 * files build keys with, as `keyIndex` knows them; RESTORE excluded, it may need a fallback):
 * 1 or 2, or -1 for any other command.
 */
export function spanKeyIndex(span: CommandSpan): number {
  const { buf, nameStart: s, nameEnd: e } = span;
  if (span.argc < 2) return -1;
  switch (e - s) {
    case 3:
      return nameIs(buf, s, e, 'SET') ? 1 : -1;
    case 4:
      return nameIs(buf, s, e, 'HSET') ||
        nameIs(buf, s, e, 'SADD') ||
        nameIs(buf, s, e, 'ZADD') ||
        nameIs(buf, s, e, 'XADD')
        ? 1
        : -1;
    case 5:
      return nameIs(buf, s, e, 'RPUSH') || nameIs(buf, s, e, 'HMSET') ? 1 : -1;
    case 6:
      if (nameIs(buf, s, e, 'XSETID') || nameIs(buf, s, e, 'XCLAIM')) return 1;
      if (nameIs(buf, s, e, 'XGROUP') && span.argc > 2) {
        const a = span.a1Start;
        const b = span.a1End;
        return nameIs(buf, a, b, 'CREATE') ||
          nameIs(buf, a, b, 'CREATECONSUMER') ||
          nameIs(buf, a, b, 'SETID')
          ? 2
          : -1;
      }
      return -1;
    case 9:
      return nameIs(buf, s, e, 'PEXPIREAT') ? 1 : -1;
    case 10:
      return nameIs(buf, s, e, 'HPEXPIREAT') ? 1 : -1;
    default:
      return -1;
  }
}
