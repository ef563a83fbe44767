import { BackupError } from '../errors.js';

/** A command read from a RESP stream, with where it started (for error messages and progress). */
export interface ParsedCommand {
  args: Buffer[];
  /** Byte offset of the command's `*` in the stream. */
  offset: number;
  /** 0-based index of the command in the stream. */
  index: number;
}

/**
 * A command that lies whole in one input chunk, as positions in it (no argument buffers): what
 * `scan` hands over. Valid until the next `scan` call; `a1`/`a2` are -1 when absent.
 */
export interface CommandSpan {
  buf: Buffer;
  /** The command's bytes: buf[start, end). */
  start: number;
  end: number;
  argc: number;
  /** The command name: buf[nameStart, nameEnd). */
  nameStart: number;
  nameEnd: number;
  /** The first and second arguments. */
  a1Start: number;
  a1End: number;
  a2Start: number;
  a2End: number;
  /** Byte offset of the command in the stream, and its 0-based index. */
  offset: number;
  index: number;
}

export interface RespParserOptions {
  /** Named in error messages (a file path, `stdin`, a URL). */
  source?: string;
  /** Largest accepted bulk string (default 512 MiB, the server's proto-max-bulk-len). */
  maxBulkLength?: number;
  /** Largest accepted argument count (default 2^31). */
  maxArgs?: number;
}

/** What `end()` found when the stream stopped in the middle of a command. */
export interface TruncatedTail {
  /** Offset where the incomplete command starts. */
  offset: number;
  /** Bytes of the incomplete command that were present. */
  bytes: number;
  /** Index the command would have had. */
  index: number;
}

const MAX_LINE = 64;

/**
 * Incremental parser of RESP2 command arrays (`*<n>\r\n$<len>\r\n<bytes>\r\n...`), the framing of
 * `.valkey` files, AOF files and `valkey-cli --pipe` input. Feed it chunks of any size (down to one
 * byte); it returns each complete command once and holds at most one bulk string in memory.
 */
export class RespCommandParser {
  private readonly source: string;
  private readonly maxBulk: number;
  private readonly maxArgs: number;
  /** Unparsed bytes of a header line. */
  private line: Buffer = Buffer.alloc(0);
  private state: 'array' | 'bulk-header' | 'bulk-body' | 'bulk-crlf' = 'array';
  private args: Buffer[] = [];
  private argsLeft = 0;
  private bulkLeft = 0;
  private bulkParts: Buffer[] = [];
  private crlfLeft = 0;
  /** Bytes consumed so far. */
  private pos = 0;
  private commandStart = 0;
  private commandIndex = 0;
  /** The number `fastHeader` read. */
  private header = 0;

  constructor(options: RespParserOptions = {}) {
    this.source = options.source ?? 'input';
    this.maxBulk = options.maxBulkLength ?? 512 * 1024 * 1024;
    this.maxArgs = options.maxArgs ?? 2 ** 31;
  }

  /** Bytes consumed so far (the offset of the next byte). */
  get offset(): number {
    return this.pos;
  }

  /** Commands completed so far. */
  get count(): number {
    return this.commandIndex;
  }

  /** True when the parser sits between two commands. */
  get idle(): boolean {
    return this.state === 'array' && this.line.length === 0;
  }

  private fail(message: string, at: number): never {
    throw new BackupError(
      'ERR_RESP_SYNTAX',
      `${this.source}: ${message} at byte ${at} (command #${this.commandIndex + 1})`,
      {
        details: {
          source: this.source,
          offset: at,
          commandOffset: this.commandStart,
          command: this.commandIndex,
        },
        hint: 'The file is not a RESP command stream or is corrupt; check it with valkey-check-aof, or convert it again from its source',
      },
    );
  }

  /** Reads a `\r\n`-terminated header line starting at `i`; returns [value, next index] or null. */
  private readLine(chunk: Buffer, i: number): [string, number] | null {
    const nl = chunk.indexOf(10, i);
    if (nl === -1) {
      this.line = Buffer.concat([this.line, chunk.subarray(i)]);
      if (this.line.length > MAX_LINE) this.fail('header line too long', this.pos + (chunk.length - i));
      this.pos += chunk.length - i;
      return null;
    }
    let raw = chunk.subarray(i, nl + 1);
    if (this.line.length > 0) {
      raw = Buffer.concat([this.line, raw]);
      this.line = Buffer.alloc(0);
    }
    const lineStart = this.pos - (raw.length - (nl + 1 - i));
    this.pos += nl + 1 - i;
    if (raw.length < 2 || raw[raw.length - 2] !== 13)
      this.fail('header line not terminated by \\r\\n', lineStart);
    if (raw.length - 2 > MAX_LINE) this.fail('header line too long', lineStart);
    return [raw.toString('latin1', 0, raw.length - 2), nl + 1];
  }

  private parseCount(text: string, kind: string, at: number): number {
    if (!/^-?\d+$/.test(text)) this.fail(`bad ${kind} "${text.slice(0, 20)}"`, at);
    return Number(text);
  }

  /**
   * The fast path for a header line that lies whole in `chunk` (nearly all of them): reads the
   * decimal number after the type byte at `i` straight from the bytes. Returns the next index
   * (the number in `this.header`), or -1 to take the general path (split line, odd syntax: it
   * also produces the errors).
   */
  private fastHeader(chunk: Buffer, i: number): number {
    let j = i + 1;
    const end = Math.min(chunk.length, j + 20);
    let n = 0;
    const digitsStart = j;
    while (j < end) {
      const c = chunk[j]!;
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      j++;
    }
    if (j === digitsStart || j + 1 >= chunk.length || chunk[j] !== 13 || chunk[j + 1] !== 10) return -1;
    this.header = n;
    return j + 2;
  }

  /**
   * The fast path for a command that lies whole in `chunk` from `i` (nearly all of them): parsed
   * in one pass with no intermediate state. Returns the index after it, or -1 when the command
   * runs past the chunk or anything looks odd (the state machine then takes it, and reports
   * errors).
   */
  private fastCommand(chunk: Buffer, i: number, out: ParsedCommand[]): number {
    if (this.line.length !== 0 || chunk[i] !== 42) return -1;
    let j = this.fastHeader(chunk, i);
    if (j === -1) return -1;
    const n = this.header;
    // Each argument takes at least 6 bytes ($0\r\n\r\n): a count the chunk cannot hold is not whole.
    if (n < 1 || n > this.maxArgs || n * 6 > chunk.length - j) return -1;
    const args: Buffer[] = new Array(n);
    for (let k = 0; k < n; k++) {
      if (j >= chunk.length || chunk[j] !== 36) return -1;
      const body = this.fastHeader(chunk, j);
      if (body === -1) return -1;
      const len = this.header;
      const end = body + len;
      if (len > this.maxBulk || end + 2 > chunk.length || chunk[end] !== 13 || chunk[end + 1] !== 10)
        return -1;
      args[k] = chunk.subarray(body, end);
      j = end + 2;
    }
    const start = this.pos;
    this.pos += j - i;
    this.commandStart = start;
    out.push({ args, offset: start, index: this.commandIndex++ });
    return j;
  }

  /** The span `scan` hands over (one object, reused). */
  private readonly span: CommandSpan = {
    buf: Buffer.alloc(0),
    start: 0,
    end: 0,
    argc: 0,
    nameStart: 0,
    nameEnd: 0,
    a1Start: -1,
    a1End: -1,
    a2Start: -1,
    a2End: -1,
    offset: 0,
    index: 0,
  };

  /** `fastCommand` without argument buffers: fills `this.span`; -1 to take the general path. */
  private fastSpan(chunk: Buffer, i: number): number {
    if (this.line.length !== 0 || chunk[i] !== 42) return -1;
    let j = this.fastHeader(chunk, i);
    if (j === -1) return -1;
    const n = this.header;
    if (n < 1 || n > this.maxArgs || n * 6 > chunk.length - j) return -1;
    const span = this.span;
    span.a1Start = span.a1End = span.a2Start = span.a2End = -1;
    for (let k = 0; k < n; k++) {
      if (j >= chunk.length || chunk[j] !== 36) return -1;
      const body = this.fastHeader(chunk, j);
      if (body === -1) return -1;
      const len = this.header;
      const end = body + len;
      if (len > this.maxBulk || end + 2 > chunk.length || chunk[end] !== 13 || chunk[end + 1] !== 10)
        return -1;
      if (k === 0) {
        span.nameStart = body;
        span.nameEnd = end;
      } else if (k === 1) {
        span.a1Start = body;
        span.a1End = end;
      } else if (k === 2) {
        span.a2Start = body;
        span.a2End = end;
      }
      j = end + 2;
    }
    span.buf = chunk;
    span.start = i;
    span.end = j;
    span.argc = n;
    span.offset = this.pos;
    span.index = this.commandIndex++;
    this.commandStart = this.pos;
    this.pos += j - i;
    return j;
  }

  /**
   * Reads the number of the header line at `i` into `this.header` (from the bytes when the line
   * is whole, else through `readLine`); returns the next index, or -1 when the line continues in
   * the next chunk.
   */
  private readHeader(chunk: Buffer, i: number, kind: string, at: number): number {
    const next = this.line.length === 0 ? this.fastHeader(chunk, i) : -1;
    if (next !== -1) {
      this.pos += next - i;
      return next;
    }
    const got = this.readLine(chunk, i);
    if (!got) return -1;
    this.header = this.parseCount(got[0].slice(1), kind, at);
    return got[1];
  }

  /** Feeds a chunk; returns the commands it completed, in order. */
  push(chunk: Buffer): ParsedCommand[] {
    const out: ParsedCommand[] = [];
    this.run(chunk, 0, out);
    return out;
  }

  /**
   * `push` for hot loops that need no argument buffers: from `from`, each command lying whole in
   * `chunk` goes to `onSpan` as positions. Returns the index to resume from (`chunk.length` when
   * the chunk is used up): early when `onSpan` returns false (after that command), or when a
   * command split across chunks completes (it is in `out`, to be handled before resuming).
   */
  scan(chunk: Buffer, from: number, onSpan: (span: CommandSpan) => boolean, out: ParsedCommand[]): number {
    return this.run(chunk, from, out, onSpan);
  }

  private run(
    chunk: Buffer,
    from: number,
    out: ParsedCommand[],
    onSpan?: (span: CommandSpan) => boolean,
  ): number {
    let i = from;
    while (i < chunk.length) {
      if (this.state === 'array') {
        if (onSpan) {
          const next = this.fastSpan(chunk, i);
          if (next !== -1) {
            i = next;
            if (!onSpan(this.span)) return i;
            continue;
          }
        } else {
          const next = this.fastCommand(chunk, i, out);
          if (next !== -1) {
            i = next;
            continue;
          }
        }
      }
      switch (this.state) {
        case 'array': {
          if (this.line.length === 0) {
            this.commandStart = this.pos;
            if (chunk[i] !== 42 /* '*' */) {
              this.fail(
                `expected '*' (start of a command) but found 0x${chunk[i]!.toString(16).padStart(2, '0')}`,
                this.pos,
              );
            }
          }
          const at = this.commandStart;
          const next = this.readHeader(chunk, i, 'array length', at);
          if (next === -1) return chunk.length;
          i = next;
          const n = this.header;
          if (n < 1 || n > this.maxArgs) this.fail(`array length ${n} out of range`, at);
          this.args = [];
          this.argsLeft = n;
          this.state = 'bulk-header';
          break;
        }
        case 'bulk-header': {
          const at = this.pos - this.line.length;
          if (this.line.length === 0 && chunk[i] !== 36 /* '$' */) {
            this.fail(
              `expected '$' (bulk string) but found 0x${chunk[i]!.toString(16).padStart(2, '0')}`,
              this.pos,
            );
          }
          const next = this.readHeader(chunk, i, 'bulk length', at);
          if (next === -1) return chunk.length;
          i = next;
          const len = this.header;
          if (len < 0 || len > this.maxBulk) this.fail(`bulk length ${len} out of range`, at);
          this.bulkLeft = len;
          this.bulkParts = [];
          this.state = len === 0 ? 'bulk-crlf' : 'bulk-body';
          this.crlfLeft = 2;
          break;
        }
        case 'bulk-body': {
          const take = Math.min(this.bulkLeft, chunk.length - i);
          this.bulkParts.push(chunk.subarray(i, i + take));
          this.bulkLeft -= take;
          this.pos += take;
          i += take;
          if (this.bulkLeft === 0) {
            this.state = 'bulk-crlf';
            this.crlfLeft = 2;
          }
          break;
        }
        case 'bulk-crlf': {
          const expected = this.crlfLeft === 2 ? 13 : 10;
          if (chunk[i] !== expected) this.fail('bulk string not followed by \\r\\n', this.pos);
          i++;
          this.pos++;
          if (--this.crlfLeft === 0) {
            const parts = this.bulkParts;
            // Zero-copy when the bulk sits in one chunk: arguments share the input chunks' memory
            // (sources must not reuse a chunk's buffer once pushed, which streams never do).
            this.args.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
            this.bulkParts = [];
            if (--this.argsLeft === 0) {
              out.push({ args: this.args, offset: this.commandStart, index: this.commandIndex++ });
              this.args = [];
              this.state = 'array';
              if (onSpan) return i;
            } else this.state = 'bulk-header';
          }
          break;
        }
      }
    }
    return i;
  }

  /** Describes an incomplete trailing command, or returns null when the stream ended cleanly. */
  tail(): TruncatedTail | null {
    if (this.idle) return null;
    return { offset: this.commandStart, bytes: this.pos - this.commandStart, index: this.commandIndex };
  }

  /** Call at end of input: throws ERR_RESP_TRUNCATED when a command was cut off. */
  end(): void {
    const t = this.tail();
    if (!t) return;
    throw truncatedError(this.source, t);
  }
}

export function truncatedError(source: string, t: TruncatedTail): BackupError {
  return new BackupError(
    'ERR_RESP_TRUNCATED',
    `${source}: the last command (#${t.index + 1}, starting at byte ${t.offset}) is truncated after ${t.bytes} bytes`,
    {
      details: { source, offset: t.offset, bytes: t.bytes, command: t.index },
      hint: 'The file was cut off while being written. Pass --truncated drop (truncated: "drop") to ignore the incomplete command (like valkey-check-aof --fix), or re-create the file',
    },
  );
}

export interface ParseRespOptions extends RespParserOptions {
  /** What to do with an incomplete last command: throw (default) or drop it and report it via `onTruncated`. */
  truncated?: 'error' | 'drop';
  onTruncated?: (tail: TruncatedTail) => void;
}

/** Parses a stream of chunks into commands (streaming; memory holds one command at a time). */
export async function* parseRespCommands(
  source: AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>,
  options: ParseRespOptions = {},
): AsyncGenerator<ParsedCommand> {
  for await (const batch of parseRespCommandBatches(source, options)) yield* batch;
}

/**
 * Like `parseRespCommands`, but yields the commands completed by each input chunk together:
 * one await per chunk instead of one per command, for hot loops (restore).
 */
export async function* parseRespCommandBatches(
  source: AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>,
  options: ParseRespOptions = {},
): AsyncGenerator<ParsedCommand[]> {
  const parser = new RespCommandParser(options);
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const done = parser.push(buf);
    if (done.length > 0) yield done;
  }
  const t = parser.tail();
  if (t) {
    if (options.truncated !== 'drop') throw truncatedError(options.source ?? 'input', t);
    options.onTruncated?.(t);
  }
}
