// ../../tmp/vd-bench/after/packages/backup/src/resp/errors.ts
import { ValkeyToolsError } from '@valkey-tools/core';
var BackupError = class extends ValkeyToolsError {
  name = 'BackupError';
  constructor(code, message, options) {
    super(code, message, options);
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/resp/encode.ts
function toArg(arg) {
  if (Buffer.isBuffer(arg)) return arg;
  return Buffer.from(typeof arg === 'string' ? arg : String(arg));
}
function command(...args) {
  return args.map(toArg);
}
function encodeCommand(args) {
  const bufs = args.every(Buffer.isBuffer) ? args : args.map(toArg);
  const out = Buffer.allocUnsafe(encodedLength(bufs));
  encodeCommandInto(out, 0, bufs);
  return out;
}
function digits(n) {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1e3) return 3;
  if (n < 1e4) return 4;
  if (n < 1e5) return 5;
  return String(n).length;
}
function bulkSize(n) {
  return 5 + digits(n) + n;
}
function writeHeader(out, pos, prefix, n) {
  out[pos++] = prefix;
  if (n < 10) out[pos++] = 48 + n;
  else if (n < 100) {
    out[pos++] = 48 + ((n / 10) | 0);
    out[pos++] = 48 + (n % 10);
  } else pos += out.write(String(n), pos, 'latin1');
  out[pos++] = 13;
  out[pos++] = 10;
  return pos;
}
function encodeCommandInto(out, pos, args) {
  let p = writeHeader(out, pos, 42, args.length);
  for (const a of args) {
    p = writeHeader(out, p, 36, a.length);
    if (a.length < 32) for (let i = 0; i < a.length; i++) out[p + i] = a[i];
    else a.copy(out, p);
    p += a.length;
    out[p++] = 13;
    out[p++] = 10;
  }
  return p;
}
function encodedLength(args) {
  let n = 3 + digits(args.length);
  for (const a of args) n += bulkSize(a.length);
  return n;
}
function headerAt(buf, at) {
  const end = buf.indexOf(13, at);
  return [Number(buf.toString('latin1', at + 1, end)), end + 2];
}
function decodeCommandAt(buf, at) {
  let [argc, p] = headerAt(buf, at);
  const args = [];
  while (argc-- > 0) {
    const [len, start] = headerAt(buf, p);
    args.push(Buffer.from(buf.subarray(start, start + len)));
    p = start + len + 2;
  }
  return args;
}

// ../../tmp/vd-bench/after/packages/backup/src/resp/parser.ts
var MAX_LINE = 64;
var RespCommandParser = class {
  source;
  maxBulk;
  maxArgs;
  /** Unparsed bytes of a header line. */
  line = Buffer.alloc(0);
  state = 'array';
  args = [];
  argsLeft = 0;
  bulkLeft = 0;
  bulkParts = [];
  crlfLeft = 0;
  /** Bytes consumed so far. */
  pos = 0;
  commandStart = 0;
  commandIndex = 0;
  /** The number `fastHeader` read. */
  header = 0;
  constructor(options = {}) {
    this.source = options.source ?? 'input';
    this.maxBulk = options.maxBulkLength ?? 512 * 1024 * 1024;
    this.maxArgs = options.maxArgs ?? 2 ** 31;
  }
  /** Bytes consumed so far (the offset of the next byte). */
  get offset() {
    return this.pos;
  }
  /** Commands completed so far. */
  get count() {
    return this.commandIndex;
  }
  /** True when the parser sits between two commands. */
  get idle() {
    return this.state === 'array' && this.line.length === 0;
  }
  fail(message, at) {
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
  readLine(chunk, i) {
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
  parseCount(text2, kind, at) {
    if (!/^-?\d+$/.test(text2)) this.fail(`bad ${kind} "${text2.slice(0, 20)}"`, at);
    return Number(text2);
  }
  /**
   * The fast path for a header line that lies whole in `chunk` (nearly all of them): reads the
   * decimal number after the type byte at `i` straight from the bytes. Returns the next index
   * (the number in `this.header`), or -1 to take the general path (split line, odd syntax: it
   * also produces the errors).
   */
  fastHeader(chunk, i) {
    let j = i + 1;
    const end = Math.min(chunk.length, j + 20);
    let n = 0;
    const digitsStart = j;
    while (j < end) {
      const c = chunk[j];
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
  fastCommand(chunk, i, out) {
    if (this.line.length !== 0 || chunk[i] !== 42) return -1;
    let j = this.fastHeader(chunk, i);
    if (j === -1) return -1;
    const n = this.header;
    if (n < 1 || n > this.maxArgs || n * 6 > chunk.length - j) return -1;
    const args = new Array(n);
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
  span = {
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
  fastSpan(chunk, i) {
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
  readHeader(chunk, i, kind, at) {
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
  push(chunk) {
    const out = [];
    this.run(chunk, 0, out);
    return out;
  }
  /**
   * `push` for hot loops that need no argument buffers: from `from`, each command lying whole in
   * `chunk` goes to `onSpan` as positions. Returns the index to resume from (`chunk.length` when
   * the chunk is used up): early when `onSpan` returns false (after that command), or when a
   * command split across chunks completes (it is in `out`, to be handled before resuming).
   */
  scan(chunk, from, onSpan, out) {
    return this.run(chunk, from, out, onSpan);
  }
  run(chunk, from, out, onSpan) {
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
            if (chunk[i] !== 42) {
              this.fail(
                `expected '*' (start of a command) but found 0x${chunk[i].toString(16).padStart(2, '0')}`,
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
          if (this.line.length === 0 && chunk[i] !== 36) {
            this.fail(
              `expected '$' (bulk string) but found 0x${chunk[i].toString(16).padStart(2, '0')}`,
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
            this.args.push(parts.length === 1 ? parts[0] : Buffer.concat(parts));
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
  tail() {
    if (this.idle) return null;
    return { offset: this.commandStart, bytes: this.pos - this.commandStart, index: this.commandIndex };
  }
  /** Call at end of input: throws ERR_RESP_TRUNCATED when a command was cut off. */
  end() {
    const t2 = this.tail();
    if (!t2) return;
    throw truncatedError(this.source, t2);
  }
};
function truncatedError(source, t2) {
  return new BackupError(
    'ERR_RESP_TRUNCATED',
    `${source}: the last command (#${t2.index + 1}, starting at byte ${t2.offset}) is truncated after ${t2.bytes} bytes`,
    {
      details: { source, offset: t2.offset, bytes: t2.bytes, command: t2.index },
      hint: 'The file was cut off while being written. Pass truncated: "drop" to ignore the incomplete command (like valkey-check-aof --fix), or re-create the file',
    },
  );
}
async function* parseRespCommands(source, options = {}) {
  for await (const batch of parseRespCommandBatches(source, options)) yield* batch;
}
async function* parseRespCommandBatches(source, options = {}) {
  const parser = new RespCommandParser(options);
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const done = parser.push(buf);
    if (done.length > 0) yield done;
  }
  const t2 = parser.tail();
  if (t2) {
    if (options.truncated !== 'drop') throw truncatedError(options.source ?? 'input', t2);
    options.onTruncated?.(t2);
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/resp/writer.ts
var RESP_HEADER_PREFIX = 'valkey-tools resp 1';
function headerCommand(info) {
  return [Buffer.from('ECHO'), Buffer.from(`${RESP_HEADER_PREFIX} ${JSON.stringify(info)}`)];
}
function parseHeaderCommand(args) {
  if (args.length !== 2 || args[0].length !== 4 || args[0].toString('latin1').toUpperCase() !== 'ECHO')
    return null;
  const text2 = args[1].toString('utf8');
  if (!text2.startsWith(`${RESP_HEADER_PREFIX} `)) return null;
  try {
    return JSON.parse(text2.slice(RESP_HEADER_PREFIX.length + 1));
  } catch {
    return {};
  }
}
var RespChunker = class {
  constructor(target) {
    this.target = target;
    this.chunk = Buffer.allocUnsafe(target);
  }
  target;
  chunk;
  pos = 0;
  /** Finished chunks not yet handed out. */
  ready = [];
  add(c) {
    const n = encodedLength(c);
    if (this.pos + n > this.target && this.pos > 0) {
      this.ready.push(this.chunk.subarray(0, this.pos));
      this.chunk = Buffer.allocUnsafe(this.target);
      this.pos = 0;
    }
    if (n > this.target) this.ready.push(encodeCommand(c));
    else this.pos = encodeCommandInto(this.chunk, this.pos, c);
  }
  /** Moves the partly filled chunk to `ready`. */
  flush() {
    if (this.pos > 0) this.ready.push(this.chunk.subarray(0, this.pos));
    this.pos = 0;
  }
};
async function* commandsToResp(commands, options = {}) {
  const out = new RespChunker(options.chunkSize ?? 64 * 1024);
  let pendingHeader = options.header;
  for await (const c of commands) {
    if (pendingHeader) {
      out.add(headerCommand(pendingHeader));
      pendingHeader = void 0;
    }
    out.add(c);
    if (out.ready.length > 0) {
      yield* out.ready;
      out.ready.length = 0;
    }
  }
  if (pendingHeader) out.add(headerCommand(pendingHeader));
  out.flush();
  yield* out.ready;
}
async function* commandBatchesToResp(batches, options = {}) {
  const out = new RespChunker(options.chunkSize ?? 64 * 1024);
  let pendingHeader = options.header;
  for await (const batch of batches) {
    for (const c of batch) {
      if (pendingHeader) {
        out.add(headerCommand(pendingHeader));
        pendingHeader = void 0;
      }
      out.add(c);
    }
    if (out.ready.length > 0) {
      yield* out.ready;
      out.ready.length = 0;
    }
  }
  if (pendingHeader) out.add(headerCommand(pendingHeader));
  out.flush();
  yield* out.ready;
}

// ../../tmp/vd-bench/after/packages/backup/src/resp/readable.ts
var BARE = /^[\x21\x23-\x26\x28-\x5b\x5d-\x7e]+$/;
function quoteArg(arg) {
  const latin = arg.toString('latin1');
  if (arg.length > 0 && BARE.test(latin)) return latin;
  let s = '"';
  for (const c of arg) {
    switch (c) {
      case 92:
        s += '\\\\';
        break;
      case 34:
        s += '\\"';
        break;
      case 10:
        s += '\\n';
        break;
      case 13:
        s += '\\r';
        break;
      case 9:
        s += '\\t';
        break;
      case 7:
        s += '\\a';
        break;
      case 8:
        s += '\\b';
        break;
      default:
        s += c >= 32 && c <= 126 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
    }
  }
  return `${s}"`;
}
function formatCommandLine(args) {
  return args.map(quoteArg).join(' ');
}
var HEX = /^[0-9a-fA-F]{2}$/;
var ESCAPES = { n: 10, r: 13, t: 9, b: 8, a: 7 };
function readableError(message, line, column, source) {
  return new BackupError('ERR_READABLE_SYNTAX', `${source}:${line}:${column}: ${message}`, {
    details: { source, line, column },
    hint: `Each line is one command; quote arguments with spaces or special bytes as "..." (\\xHH escapes) or '...'`,
  });
}
function parseCommandLine(line, where2 = {}) {
  const lineNo = where2.line ?? 1;
  const source = where2.source ?? 'input';
  const input = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  const args = [];
  const n = input.length;
  const isSpace = (c) => c === 32 || c === 10 || c === 13 || c === 9 || c === 11 || c === 12;
  const hexAt = (i2) => i2 + 1 < n && HEX.test(input.toString('latin1', i2, i2 + 2));
  let i = 0;
  while (true) {
    while (i < n && isSpace(input[i])) i++;
    if (i >= n) break;
    const parts = [];
    let done = false;
    while (!done) {
      const c = input[i];
      if (c === void 0 || isSpace(c)) break;
      if (c === 34) {
        i++;
        while (true) {
          let j = i;
          while (j < n && input[j] !== 92 && input[j] !== 34) j++;
          if (j > i) parts.push(input.subarray(i, j));
          if (j >= n) throw readableError('unbalanced double quotes', lineNo, n + 1, source);
          if (input[j] === 34) {
            if (j + 1 < n && !isSpace(input[j + 1])) {
              throw readableError('closing quote must be followed by a space', lineNo, j + 2, source);
            }
            i = j + 1;
            done = true;
            break;
          }
          if (input[j + 1] === 120 && hexAt(j + 2)) {
            parts.push(Buffer.from([Number.parseInt(input.toString('latin1', j + 2, j + 4), 16)]));
            i = j + 4;
          } else if (j + 1 < n) {
            const e = String.fromCharCode(input[j + 1]);
            parts.push(Buffer.from([ESCAPES[e] ?? input[j + 1]]));
            i = j + 2;
          } else throw readableError('unbalanced double quotes', lineNo, n + 1, source);
        }
      } else if (c === 39) {
        i++;
        while (true) {
          let j = i;
          while (j < n && input[j] !== 92 && input[j] !== 39) j++;
          if (j > i) parts.push(input.subarray(i, j));
          if (j >= n) throw readableError('unbalanced single quotes', lineNo, n + 1, source);
          if (input[j] === 92) {
            if (input[j + 1] === 39) {
              parts.push(Buffer.from([39]));
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
        while (j < n && !isSpace(input[j]) && input[j] !== 34 && input[j] !== 39) j++;
        parts.push(input.subarray(i, j));
        i = j;
      }
    }
    args.push(parts.length === 1 ? Buffer.from(parts[0]) : Buffer.concat(parts));
  }
  return args;
}
async function* commandsToReadable(commands, options = {}) {
  let batch = [];
  let size = 0;
  let pendingHeader = options.header;
  for await (const c of commands) {
    if (pendingHeader) {
      batch.push(formatCommandLine(headerCommand(pendingHeader)));
      pendingHeader = void 0;
    }
    const line = formatCommandLine(c);
    batch.push(line);
    size += line.length + 1;
    if (size >= 64 * 1024) {
      yield Buffer.from(
        `${batch.join('\n')}
`,
        'latin1',
      );
      batch = [];
      size = 0;
    }
  }
  if (pendingHeader) batch.push(formatCommandLine(headerCommand(pendingHeader)));
  if (batch.length > 0)
    yield Buffer.from(
      `${batch.join('\n')}
`,
      'latin1',
    );
}
var MAX_READABLE_LINE_BYTES = 1024 * 1024 * 1024;
async function* readableToCommands(chunks, options = {}) {
  const maxLineBytes = options.maxLineBytes ?? MAX_READABLE_LINE_BYTES;
  let pendingBytes = 0;
  let rest = Buffer.alloc(0);
  let lineNo = 0;
  const where2 = (line) => (options.source === void 0 ? { line } : { line, source: options.source });
  const pending = [];
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
      if (!isBlank(line)) yield parseCommandLine(line, where2(lineNo));
      start = nl + 1;
      nl = rest.indexOf(10, start);
    }
    rest = rest.subarray(start);
  }
  if (pending.length > 0) rest = Buffer.concat([rest, ...pending]);
  if (!isBlank(rest)) yield parseCommandLine(rest, where2(lineNo + 1));
}
function isBlank(line) {
  for (const c of line) if (c !== 32 && c !== 9 && c !== 13) return false;
  return true;
}

// ../../tmp/vd-bench/after/packages/backup/src/resp/records-to-commands.ts
function formatStreamId(id) {
  return `${id.ms}-${id.seq}`;
}
function formatScore(score) {
  if (Number.isNaN(score)) {
    throw new BackupError('ERR_UNSUPPORTED', 'a sorted-set score is NaN, which the server cannot store', {
      hint: 'The source data is corrupt; check the file with valkey-check-rdb',
    });
  }
  if (score === Number.POSITIVE_INFINITY) return 'inf';
  if (score === Number.NEGATIVE_INFINITY) return '-inf';
  if (Object.is(score, -0)) return '-0';
  return String(score);
}
var U64_MAX = 2n ** 64n - 1n;
function entriesRead(n) {
  return n === U64_MAX || n < 0n ? '-1' : String(n);
}
function* batched(items, size) {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
function xaddCommands(key, entries) {
  return entries.map((e) => {
    const args = ['XADD', key, formatStreamId(e.id)];
    for (const [f, val] of e.fields) args.push(f, val);
    return command(...args);
  });
}
function streamCommands(key, v) {
  const out = xaddCommands(key, v.entries);
  if (v.entries.length === 0) {
    const id = v.lastId.ms === 0n && v.lastId.seq === 0n ? '0-1' : formatStreamId(v.lastId);
    out.push(command('XADD', key, 'MAXLEN', '0', id, 'x', 'y'));
  }
  out.push(...streamMetaCommands(key, v));
  return out;
}
function streamMetaCommands(key, v) {
  const out = [];
  const setid = ['XSETID', key, formatStreamId(v.lastId)];
  if (v.entriesAdded !== void 0) setid.push('ENTRIESADDED', v.entriesAdded);
  if (v.maxDeletedId !== void 0) setid.push('MAXDELETEDID', formatStreamId(v.maxDeletedId));
  out.push(command(...setid));
  for (const g of v.groups) {
    const create = ['XGROUP', 'CREATE', key, g.name, formatStreamId(g.lastId)];
    if (g.entriesRead !== void 0) create.push('ENTRIESREAD', entriesRead(g.entriesRead));
    out.push(command(...create));
    for (const p of g.pending) {
      out.push(
        command(
          'XCLAIM',
          key,
          g.name,
          p.consumer,
          '0',
          formatStreamId(p.id),
          'TIME',
          p.deliveryTime,
          'RETRYCOUNT',
          p.deliveryCount,
          'JUSTID',
          'FORCE',
        ),
      );
    }
    const owners = new Set(g.pending.map((p) => p.consumer.toString('latin1')));
    for (const c of g.consumers) {
      if (!owners.has(c.name.toString('latin1'))) {
        out.push(command('XGROUP', 'CREATECONSUMER', key, g.name, c.name));
      }
    }
  }
  return out;
}
function keyRecordToCommands(record, options = {}) {
  const out = valueCommands(record.key, record.value, options, 'whole');
  if (record.expiresAt !== void 0) out.push(command('PEXPIREAT', record.key, record.expiresAt));
  return out;
}
function valueCommands(key, value, options, mode) {
  const size = options.batchSize ?? 64;
  const out = [];
  switch (value.type) {
    case 'string':
      out.push(command(mode === 'later-part' ? 'APPEND' : 'SET', key, value.value));
      break;
    case 'list':
      for (const b of batched(value.items, size)) out.push(command('RPUSH', key, ...b));
      break;
    case 'set':
      for (const b of batched(value.members, size)) out.push(command('SADD', key, ...b));
      break;
    case 'zset':
      for (const b of batched(value.entries, size)) {
        out.push(command('ZADD', key, ...b.flatMap((e) => [formatScore(e.score), e.member])));
      }
      break;
    case 'hash': {
      for (const b of batched(value.entries, size)) {
        out.push(command('HSET', key, ...b.flatMap((e) => [e.field, e.value])));
      }
      const byTime = /* @__PURE__ */ new Map();
      for (const e of value.entries) {
        if (e.expiresAt === void 0) continue;
        const list = byTime.get(e.expiresAt);
        if (list) list.push(e.field);
        else byTime.set(e.expiresAt, [e.field]);
      }
      for (const [at, fields] of byTime) {
        for (const b of batched(fields, size)) {
          out.push(command('HPEXPIREAT', key, at, 'FIELDS', b.length, ...b));
        }
      }
      break;
    }
    case 'stream':
      out.push(...(mode === 'whole' ? streamCommands(key, value) : xaddCommands(key, value.entries)));
      break;
    case 'module': {
      if (!options.dumpPayload) {
        throw new BackupError(
          'ERR_UNSUPPORTED',
          `key "${key.toString('latin1')}" holds a module value (${value.moduleName}) which has no plain-command form`,
          {
            details: { key: key.toString('latin1'), module: value.moduleName },
            hint: 'Pass dumpPayload to write it as RESTORE',
          },
        );
      }
      out.push(
        command('RESTORE', key, '0', options.dumpPayload({ kind: 'key', db: 0, key, encoding: '', value })),
      );
      break;
    }
  }
  return out;
}
var ChunkedKeyCommands = class {
  constructor(options = {}) {
    this.options = options;
  }
  options;
  begin = null;
  first = true;
  push(r) {
    if (r.kind === 'key-begin') {
      this.begin = r;
      this.first = true;
      return [];
    }
    if (r.kind === 'key-part') {
      const out2 = valueCommands(r.key, r.value, this.options, this.first ? 'first-part' : 'later-part');
      this.first = false;
      return out2;
    }
    const out = [];
    if (r.stream) out.push(...streamMetaCommands(r.key, r.stream));
    if (this.begin?.expiresAt !== void 0) out.push(command('PEXPIREAT', r.key, this.begin.expiresAt));
    this.begin = null;
    return out;
  }
};
function functionRecordToCommand(record) {
  return command('FUNCTION', 'LOAD', 'REPLACE', record.code);
}
async function* recordsToCommands(records, options = {}) {
  let db = options.selectFirstDb === false ? 0 : -1;
  const chunked = new ChunkedKeyCommands(options);
  for await (const r of records) {
    if (r.kind === 'function') yield functionRecordToCommand(r);
    else if (r.kind === 'key' || r.kind === 'key-begin') {
      if (r.db !== db) {
        yield command('SELECT', r.db);
        db = r.db;
      }
      if (r.kind === 'key') yield* keyRecordToCommands(r, options);
      else chunked.push(r);
    } else if (r.kind === 'key-part' || r.kind === 'key-end') yield* chunked.push(r);
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/rdb/errors.ts
import { ValkeyToolsError as ValkeyToolsError2 } from '@valkey-tools/core';
var RdbError = class _RdbError extends ValkeyToolsError2 {
  name = 'RdbError';
  constructor(code, message, options = {}) {
    super(code, _RdbError.decorate(message, options.details), options);
  }
  /** Adds "at offset N (key "k")" to a message, once. */
  static decorate(message, details) {
    if (!details) return message;
    const where2 = [];
    if (typeof details.file === 'string') where2.push(`in ${details.file}`);
    if (typeof details.offset === 'number') where2.push(`at byte offset ${details.offset}`);
    if (typeof details.line === 'number') where2.push(`on line ${details.line}`);
    if (typeof details.key === 'string') where2.push(`key ${JSON.stringify(details.key)}`);
    return where2.length ? `${message} (${where2.join(', ')})` : message;
  }
  /** True when `value` is an RdbError (works across duplicated package copies). */
  static isRdbError(value) {
    return ValkeyToolsError2.isInstance(value) && value.name === 'RdbError';
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/rdb/reader.ts
import { createReadStream, statSync } from 'node:fs';

// ../../tmp/vd-bench/after/packages/backup/src/rdb/crc64.ts
var TABLE_HI = new Uint32Array(256);
var TABLE_LO = new Uint32Array(256);
{
  const polyHi = 2511115049;
  const polyLo = 2890647989;
  for (let n = 0; n < 256; n++) {
    let hi = 0;
    let lo = n;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) {
        hi = (hi ^ polyHi) >>> 0;
        lo = (lo ^ polyLo) >>> 0;
      }
    }
    TABLE_HI[n] = hi;
    TABLE_LO[n] = lo;
  }
}
var SLICE_HI = new Uint32Array(8 * 256);
var SLICE_LO = new Uint32Array(8 * 256);
{
  SLICE_HI.set(TABLE_HI);
  SLICE_LO.set(TABLE_LO);
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const phi = SLICE_HI[(k - 1) * 256 + n];
      const plo = SLICE_LO[(k - 1) * 256 + n];
      const idx = plo & 255;
      SLICE_LO[k * 256 + n] = (((plo >>> 8) | (phi << 24)) ^ TABLE_LO[idx]) >>> 0;
      SLICE_HI[k * 256 + n] = ((phi >>> 8) ^ TABLE_HI[idx]) >>> 0;
    }
  }
}
var Crc64 = class {
  hi = 0;
  lo = 0;
  update(data, start = 0, end = data.length) {
    let hi = this.hi;
    let lo = this.lo;
    const thi = TABLE_HI;
    const tlo = TABLE_LO;
    const shi = SLICE_HI;
    const slo = SLICE_LO;
    let i = start;
    const end8 = end - 7;
    for (; i < end8; i += 8) {
      const xl = lo ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
      const xh = hi ^ (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24));
      const a = 1792 + (xl & 255);
      const b = 1536 + ((xl >>> 8) & 255);
      const c = 1280 + ((xl >>> 16) & 255);
      const d = 1024 + (xl >>> 24);
      const e = 768 + (xh & 255);
      const f = 512 + ((xh >>> 8) & 255);
      const g = 256 + ((xh >>> 16) & 255);
      const h = xh >>> 24;
      lo = slo[a] ^ slo[b] ^ slo[c] ^ slo[d] ^ slo[e] ^ slo[f] ^ slo[g] ^ slo[h];
      hi = shi[a] ^ shi[b] ^ shi[c] ^ shi[d] ^ shi[e] ^ shi[f] ^ shi[g] ^ shi[h];
    }
    for (; i < end; i++) {
      const idx = (lo ^ data[i]) & 255;
      lo = ((lo >>> 8) | (hi << 24)) ^ tlo[idx];
      hi = (hi >>> 8) ^ thi[idx];
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }
  /** Starts over (one instance can hash many payloads). */
  reset() {
    this.hi = 0;
    this.lo = 0;
    return this;
  }
  /** Writes the CRC as 8 little-endian bytes into `out` at `at`. */
  writeDigest(out, at) {
    out.writeUInt32LE(this.lo, at);
    out.writeUInt32LE(this.hi, at + 4);
  }
  digest() {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }
  /** The CRC as 8 little-endian bytes, the way RDB trailers and DUMP payloads store it. */
  digestBytes() {
    const out = Buffer.allocUnsafe(8);
    this.writeDigest(out, 0);
    return out;
  }
};
function crc64(data) {
  return new Crc64().update(data).digest();
}

// ../../tmp/vd-bench/after/packages/backup/src/rdb/byte-source.ts
var EMPTY = Buffer.alloc(0);
function toBuffer(chunk) {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new RdbError(
    'ERR_RDB_BAD_RECORD',
    `expected binary chunks (Buffer/Uint8Array), got ${typeof chunk}`,
    {
      hint: 'Open the stream without an encoding (no setEncoding / no "utf8" option)',
    },
  );
}
var ByteSource = class {
  buf = EMPTY;
  pos = 0;
  /** Absolute offset of buf[0]. */
  base = 0;
  /** Start of consumed bytes not yet fed to crc/capture. */
  mark = 0;
  iterator = null;
  done = false;
  /** Total input size when known up front (Uint8Array input, files). */
  total;
  crc;
  capture = null;
  constructor(input, options = {}) {
    this.crc = options.checksum === false ? null : new Crc64();
    if (input instanceof Uint8Array) {
      this.buf = toBuffer(input);
      this.done = true;
      this.total = input.byteLength;
    } else {
      const iterable = input;
      if (typeof iterable[Symbol.asyncIterator] !== 'function') {
        throw new RdbError(
          'ERR_RDB_BAD_RECORD',
          'input is neither a Uint8Array nor an async iterable of bytes',
        );
      }
      this.iterator = iterable[Symbol.asyncIterator]();
      this.total = options.total;
    }
  }
  get offset() {
    return this.base + this.pos;
  }
  get avail() {
    return this.buf.length - this.pos;
  }
  /** Bytes left in the input, when the total is known. */
  get remaining() {
    return this.total === void 0 ? void 0 : this.total - this.offset;
  }
  /** Buffers up to n bytes; resolves early only at end of input. Returns undefined when nothing to wait for. */
  ensure(n) {
    if (this.buf.length - this.pos >= n || this.done) return void 0;
    return this.fill(n);
  }
  /** Like ensure, but fails with ERR_RDB_TRUNCATED when fewer than n bytes are left. */
  async require(n, what, key) {
    if (this.buf.length - this.pos < n && !this.done) await this.fill(n);
    if (this.buf.length - this.pos < n) this.truncated(n, what, key);
  }
  truncated(n, what, key) {
    throw new RdbError(
      'ERR_RDB_TRUNCATED',
      `unexpected end of input while reading ${what}: needed ${n} byte(s), ${this.avail} left`,
      {
        details: { offset: this.offset, ...(key !== void 0 ? { key } : {}) },
        hint: 'The file is incomplete (interrupted copy or save); take a fresh snapshot',
      },
    );
  }
  async fill(n) {
    this.flushConsumed();
    const parts = [];
    let have = this.buf.length - this.pos;
    if (have > 0) parts.push(this.buf.subarray(this.pos));
    while (have < n) {
      const r = await this.iterator.next();
      if (r.done) {
        this.done = true;
        this.iterator = null;
        break;
      }
      const chunk = toBuffer(r.value);
      if (chunk.length === 0) continue;
      parts.push(chunk);
      have += chunk.length;
    }
    this.base += this.pos;
    this.buf = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
    this.pos = 0;
    this.mark = 0;
  }
  /** Feeds consumed bytes to the CRC and the capture. */
  flushConsumed() {
    if (this.pos > this.mark) {
      this.crc?.update(this.buf, this.mark, this.pos);
      if (this.capture) this.capture.push(Buffer.from(this.buf.subarray(this.mark, this.pos)));
      this.mark = this.pos;
    }
  }
  startCapture() {
    this.flushConsumed();
    this.capture = [];
  }
  endCapture() {
    this.flushConsumed();
    const parts = this.capture ?? [];
    this.capture = null;
    return Buffer.concat(parts);
  }
  u8() {
    return this.buf[this.pos++];
  }
  /** Copies n bytes that are already buffered. */
  take(n) {
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /**
   * Yields exactly n bytes in pieces of at most maxPiece bytes (views; copy them to keep them past
   * the next read). Fails with ERR_RDB_TRUNCATED when the input ends first.
   */
  async *pieces(n, maxPiece, what, key) {
    let left = n;
    while (left > 0) {
      if (this.pos >= this.buf.length) {
        if (!this.done) await this.fill(1);
        if (this.pos >= this.buf.length) this.truncated(left, what, key);
      }
      const k = Math.min(left, this.buf.length - this.pos, maxPiece);
      const piece = this.buf.subarray(this.pos, this.pos + k);
      this.pos += k;
      left -= k;
      yield piece;
    }
  }
  /** Reads n bytes into one new Buffer; memory grows only as real input arrives. */
  async bytes(n, what, key) {
    if (this.buf.length - this.pos >= n) return this.take(n);
    if (n <= 65536) {
      await this.require(n, what, key);
      return this.take(n);
    }
    const parts = [];
    for await (const piece of this.pieces(n, 1 << 20, what, key)) parts.push(piece);
    return Buffer.concat(parts, n);
  }
  /** Stops reading: lets the underlying stream clean up (destroys Node streams). */
  async close() {
    const it = this.iterator;
    this.iterator = null;
    this.done = true;
    if (it?.return) await it.return();
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/rdb/constants.ts
var RdbType = {
  STRING: 0,
  LIST: 1,
  SET: 2,
  ZSET: 3,
  HASH: 4,
  ZSET_2: 5,
  MODULE_PRE_GA: 6,
  MODULE_2: 7,
  HASH_ZIPMAP: 9,
  LIST_ZIPLIST: 10,
  SET_INTSET: 11,
  ZSET_ZIPLIST: 12,
  HASH_ZIPLIST: 13,
  LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15,
  HASH_LISTPACK: 16,
  ZSET_LISTPACK: 17,
  LIST_QUICKLIST_2: 18,
  STREAM_LISTPACKS_2: 19,
  SET_LISTPACK: 20,
  STREAM_LISTPACKS_3: 21,
  /** Valkey 9 (VALKEY080+): hashtable hash with per-field expiry. Redis 7.4 RC: HASH_METADATA_PRE_GA. */
  HASH_2: 22,
  /** Redis 7.4 RC: HASH_LISTPACK_EX_PRE_GA. Valkey 9.2: PATH_HASH. */
  TYPE_23: 23,
  REDIS_HASH_METADATA: 24,
  REDIS_HASH_LISTPACK_EX: 25,
};
var RdbOpcode = {
  SLOT_IMPORT: 243,
  SLOT_INFO: 244,
  FUNCTION2: 245,
  FUNCTION_PRE_GA: 246,
  MODULE_AUX: 247,
  IDLE: 248,
  FREQ: 249,
  AUX: 250,
  RESIZEDB: 251,
  EXPIRETIME_MS: 252,
  EXPIRETIME: 253,
  SELECTDB: 254,
  EOF: 255,
};
var ModuleOpcode = { EOF: 0, SINT: 1, UINT: 2, FLOAT: 3, DOUBLE: 4, STRING: 5 };
var KNOWN_REDIS_VERSION = 12;
var MODULE_CHARSET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
function decodeModuleId(id) {
  const encodingVersion = Number(id & 1023n);
  let rest = id >> 10n;
  const chars = new Array(9);
  for (let j = 8; j >= 0; j--) {
    chars[j] = MODULE_CHARSET[Number(rest & 63n)];
    rest >>= 6n;
  }
  return { name: chars.join(''), encodingVersion };
}

// ../../tmp/vd-bench/after/packages/backup/src/rdb/containers.ts
function packedToBuffer(v) {
  return typeof v === 'object' ? v : Buffer.from(String(v));
}
function int64ToValue(v) {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}
function backlenSize(l) {
  if (l <= 127) return 1;
  if (l < 16383) return 2;
  if (l < 2097151) return 3;
  if (l < 268435455) return 4;
  return 5;
}
function writeBacklen(out, at, l) {
  if (l <= 127) {
    out[at] = l;
    return 1;
  }
  const size = backlenSize(l);
  for (let i = 0; i < size; i++) {
    const shift = 7 * (size - 1 - i);
    const group = Math.floor(l / 2 ** shift) & 127;
    out[at + i] = i === 0 ? group : group | 128;
  }
  return size;
}
function parseListpack(blob, fail) {
  const len = blob.length;
  if (len < 7) fail(`listpack of ${len} bytes is shorter than its 7-byte minimum`);
  const total = blob.readUInt32LE(0);
  if (total !== len) fail(`listpack header says ${total} bytes but the string holds ${len}`);
  const declared = blob.readUInt16LE(4);
  const out = [];
  let p = 6;
  const need = (n) => {
    if (p + n > len - 1) fail(`listpack entry at ${p} runs past the end`);
  };
  for (;;) {
    if (p >= len) fail('listpack has no end byte');
    const b = blob[p];
    if (b === 255) {
      if (p !== len - 1) fail(`listpack end byte at ${p} is not the last byte`);
      break;
    }
    const start = p;
    let value;
    if ((b & 128) === 0) {
      value = b & 127;
      p += 1;
    } else if ((b & 192) === 128) {
      const slen = b & 63;
      need(1 + slen);
      value = blob.subarray(p + 1, p + 1 + slen);
      p += 1 + slen;
    } else if ((b & 224) === 192) {
      need(2);
      let v = ((b & 31) << 8) | blob[p + 1];
      if (v >= 4096) v -= 8192;
      value = v;
      p += 2;
    } else if ((b & 240) === 224) {
      need(2);
      const slen = ((b & 15) << 8) | blob[p + 1];
      need(2 + slen);
      value = blob.subarray(p + 2, p + 2 + slen);
      p += 2 + slen;
    } else if (b === 241) {
      need(3);
      value = blob.readInt16LE(p + 1);
      p += 3;
    } else if (b === 242) {
      need(4);
      value = blob.readIntLE(p + 1, 3);
      p += 4;
    } else if (b === 243) {
      need(5);
      value = blob.readInt32LE(p + 1);
      p += 5;
    } else if (b === 244) {
      need(9);
      value = int64ToValue(blob.readBigInt64LE(p + 1));
      p += 9;
    } else if (b === 240) {
      need(5);
      const slen = blob.readUInt32LE(p + 1);
      need(5 + slen);
      value = blob.subarray(p + 5, p + 5 + slen);
      p += 5 + slen;
    } else {
      fail(`listpack entry at ${p} has invalid encoding byte 0x${b.toString(16)}`);
    }
    const entryLen = p - start;
    const bl = backlenSize(entryLen);
    if (p + bl > len - 1) fail(`listpack entry at ${start} back-length runs past the end`);
    let decoded = 0;
    let shift = 0;
    for (let i = p + bl - 1; i >= p; i--) {
      decoded += (blob[i] & 127) * 2 ** shift;
      shift += 7;
    }
    if (decoded !== entryLen)
      fail(`listpack entry at ${start} has back-length ${decoded}, expected ${entryLen}`);
    p += bl;
    out.push(value);
  }
  if (declared !== 65535 && declared !== out.length) {
    fail(`listpack header counts ${declared} elements but holds ${out.length}`);
  }
  return out;
}
function parseZiplist(blob, fail) {
  const len = blob.length;
  if (len < 11) fail(`ziplist of ${len} bytes is shorter than its 11-byte minimum`);
  const zlbytes = blob.readUInt32LE(0);
  if (zlbytes !== len) fail(`ziplist header says ${zlbytes} bytes but the string holds ${len}`);
  const zltail = blob.readUInt32LE(4);
  const zllen = blob.readUInt16LE(8);
  const out = [];
  let p = 10;
  let prevLen = 0;
  let lastStart = 10;
  const need = (n) => {
    if (p + n > len - 1) fail(`ziplist entry at ${p} runs past the end`);
  };
  for (;;) {
    if (p >= len) fail('ziplist has no end byte');
    if (blob[p] === 255) {
      if (p !== len - 1) fail(`ziplist end byte at ${p} is not the last byte`);
      break;
    }
    const start = p;
    let storedPrev;
    if (blob[p] < 254) {
      storedPrev = blob[p];
      p += 1;
    } else if (blob[p] === 254) {
      need(5);
      storedPrev = blob.readUInt32LE(p + 1);
      p += 5;
    } else {
      fail(`ziplist entry at ${p} has invalid prevlen byte`);
    }
    if (storedPrev !== prevLen)
      fail(`ziplist entry at ${start} says the previous entry is ${storedPrev} bytes, it is ${prevLen}`);
    need(1);
    const enc = blob[p];
    let value;
    const kind = enc >> 6;
    if (kind === 0) {
      const slen = enc & 63;
      need(1 + slen);
      value = blob.subarray(p + 1, p + 1 + slen);
      p += 1 + slen;
    } else if (kind === 1) {
      need(2);
      const slen = ((enc & 63) << 8) | blob[p + 1];
      need(2 + slen);
      value = blob.subarray(p + 2, p + 2 + slen);
      p += 2 + slen;
    } else if (kind === 2) {
      if (enc !== 128) fail(`ziplist entry at ${start} has invalid string encoding 0x${enc.toString(16)}`);
      need(5);
      const slen = blob.readUInt32BE(p + 1);
      need(5 + slen);
      value = blob.subarray(p + 5, p + 5 + slen);
      p += 5 + slen;
    } else if (enc === 192) {
      need(3);
      value = blob.readInt16LE(p + 1);
      p += 3;
    } else if (enc === 208) {
      need(5);
      value = blob.readInt32LE(p + 1);
      p += 5;
    } else if (enc === 224) {
      need(9);
      value = int64ToValue(blob.readBigInt64LE(p + 1));
      p += 9;
    } else if (enc === 240) {
      need(4);
      value = blob.readIntLE(p + 1, 3);
      p += 4;
    } else if (enc === 254) {
      need(2);
      value = blob.readInt8(p + 1);
      p += 2;
    } else if (enc >= 241 && enc <= 253) {
      value = (enc & 15) - 1;
      p += 1;
    } else {
      fail(`ziplist entry at ${start} has invalid encoding byte 0x${enc.toString(16)}`);
    }
    prevLen = p - start;
    lastStart = start;
    out.push(value);
  }
  if (zltail !== lastStart)
    fail(`ziplist tail offset ${zltail} does not point at the last entry (${lastStart})`);
  if (zllen !== 65535 && zllen !== out.length)
    fail(`ziplist header counts ${zllen} entries but holds ${out.length}`);
  return out;
}
function parseIntset(blob, fail) {
  if (blob.length < 8) fail(`intset of ${blob.length} bytes is shorter than its 8-byte header`);
  const width = blob.readUInt32LE(0);
  const count = blob.readUInt32LE(4);
  if (width !== 2 && width !== 4 && width !== 8) fail(`intset has invalid encoding width ${width}`);
  if (8 + count * width !== blob.length) {
    fail(
      `intset header counts ${count} x ${width}-byte members but the string holds ${blob.length - 8} bytes`,
    );
  }
  const out = [];
  let prev;
  for (let i = 0; i < count; i++) {
    const at = 8 + i * width;
    const v =
      width === 2 ? blob.readInt16LE(at) : width === 4 ? blob.readInt32LE(at) : blob.readBigInt64LE(at);
    if (prev !== void 0 && !(v > prev)) fail(`intset members are not strictly ascending at index ${i}`);
    prev = v;
    out.push(Buffer.from(String(v)));
  }
  return out;
}
function parseZipmap(blob, fail) {
  const len = blob.length;
  if (len < 2) fail('zipmap is shorter than 2 bytes');
  const declared = blob[0];
  let p = 1;
  const out = [];
  const readLen = () => {
    if (p >= len) fail('zipmap entry runs past the end');
    const b = blob[p];
    if (b < 254) {
      p += 1;
      return b;
    }
    if (b === 254) {
      if (p + 5 > len) fail('zipmap entry length runs past the end');
      const v = blob.readUInt32LE(p + 1);
      p += 5;
      return v;
    }
    fail(`zipmap has an unexpected end marker at ${p}`);
  };
  for (;;) {
    if (p >= len) fail('zipmap has no end byte');
    if (blob[p] === 255) {
      if (p !== len - 1) fail(`zipmap end byte at ${p} is not the last byte`);
      break;
    }
    const klen = readLen();
    if (p + klen > len) fail('zipmap field runs past the end');
    const field = blob.subarray(p, p + klen);
    p += klen;
    const vlen = readLen();
    if (p >= len) fail('zipmap value runs past the end');
    const free = blob[p];
    p += 1;
    if (p + vlen + free > len) fail('zipmap value runs past the end');
    const value = blob.subarray(p, p + vlen);
    p += vlen + free;
    out.push([field, value]);
  }
  if (declared < 254 && declared !== out.length)
    fail(`zipmap header counts ${declared} entries but holds ${out.length}`);
  return out;
}
function parseCanonicalInt64(b) {
  const n = b.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  if (b[0] === 45) {
    if (n === 1) return null;
    i = 1;
  }
  if (b[i] === 48 && n > i + 1) return null;
  if (b[i] === 48 && i === 1) return null;
  for (let j = i; j < n; j++) {
    const c = b[j];
    if (c < 48 || c > 57) return null;
  }
  const v = BigInt(b.toString('latin1'));
  if (v > 9223372036854775807n || v < -9223372036854775808n) return null;
  return v;
}
var ListpackBuilder = class {
  parts = [];
  bytes = 6;
  count = 0;
  /** Size the listpack would have if finished now. */
  get size() {
    return this.bytes + 1;
  }
  appendInt(v) {
    const n = typeof v === 'bigint' ? v : BigInt(v);
    let enc;
    if (n >= 0n && n <= 127n) {
      enc = Buffer.from([Number(n)]);
    } else if (n >= -4096n && n <= 4095n) {
      let u = Number(n);
      if (u < 0) u += 8192;
      enc = Buffer.from([192 | (u >> 8), u & 255]);
    } else if (n >= -32768n && n <= 32767n) {
      enc = Buffer.allocUnsafe(3);
      enc[0] = 241;
      enc.writeInt16LE(Number(n), 1);
    } else if (n >= -8388608n && n <= 8388607n) {
      enc = Buffer.allocUnsafe(4);
      enc[0] = 242;
      enc.writeIntLE(Number(n), 1, 3);
    } else if (n >= -2147483648n && n <= 2147483647n) {
      enc = Buffer.allocUnsafe(5);
      enc[0] = 243;
      enc.writeInt32LE(Number(n), 1);
    } else {
      enc = Buffer.allocUnsafe(9);
      enc[0] = 244;
      enc.writeBigInt64LE(n, 1);
    }
    return this.push(enc);
  }
  appendString(s) {
    const l = s.length;
    let head;
    if (l < 64) head = Buffer.from([128 | l]);
    else if (l < 4096) head = Buffer.from([224 | (l >> 8), l & 255]);
    else {
      head = Buffer.allocUnsafe(5);
      head[0] = 240;
      head.writeUInt32LE(l, 1);
    }
    return this.push(Buffer.concat([head, s]));
  }
  /** Appends bytes, integer-encoded when the server would do so. */
  append(s) {
    const v = parseCanonicalInt64(s);
    return v === null ? this.appendString(s) : this.appendInt(v);
  }
  push(encoded) {
    const bl = backlenSize(encoded.length);
    const entry = Buffer.allocUnsafe(encoded.length + bl);
    encoded.copy(entry, 0);
    writeBacklen(entry, encoded.length, encoded.length);
    this.parts.push(entry);
    this.bytes += entry.length;
    this.count++;
    return this;
  }
  finish() {
    const total = this.bytes + 1;
    const out = Buffer.allocUnsafe(total);
    out.writeUInt32LE(total, 0);
    out.writeUInt16LE(Math.min(this.count, 65535), 4);
    let p = 6;
    for (const part of this.parts) {
      part.copy(out, p);
      p += part.length;
    }
    out[p] = 255;
    return out;
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/rdb/lzf.ts
var LzfFormatError = class extends Error {};
function lzfDecompress(input, outputLength) {
  const out = Buffer.allocUnsafe(outputLength);
  lzfDecompressInto(input, 0, input.length, out, outputLength);
  return out;
}
function lzfDecompressInto(input, start, end, out, outputLength) {
  let ip = start;
  let op = 0;
  const inEnd = end;
  while (ip < inEnd) {
    const ctrl = input[ip++];
    if (ctrl < 32) {
      const len = ctrl + 1;
      if (op + len > outputLength) throw new LzfFormatError('literal run overflows the declared length');
      if (ip + len > inEnd) throw new LzfFormatError('literal run past the end of the input');
      for (let i = 0; i < len; i++) out[op++] = input[ip++];
    } else {
      let len = ctrl >>> 5;
      if (len === 7) {
        if (ip >= inEnd) throw new LzfFormatError('back-reference length past the end of the input');
        len += input[ip++];
      }
      if (ip >= inEnd) throw new LzfFormatError('back-reference offset past the end of the input');
      const ref = op - ((ctrl & 31) << 8) - input[ip++] - 1;
      len += 2;
      if (ref < 0) throw new LzfFormatError('back-reference before the start of the output');
      if (op + len > outputLength) throw new LzfFormatError('back-reference overflows the declared length');
      if (len > 64 && op - ref >= len) {
        out.copyWithin(op, ref, ref + len);
        op += len;
      } else {
        for (let i = 0; i < len; i++) out[op++] = out[ref + i];
      }
    }
  }
  if (op !== outputLength) {
    throw new LzfFormatError(`decompressed ${op} bytes, the header declared ${outputLength}`);
  }
}
function lzfCheck(input, outputLength, start = 0, end = input.length) {
  let ip = start;
  let op = 0;
  const inEnd = end;
  while (ip < inEnd) {
    const ctrl = input[ip++];
    if (ctrl < 32) {
      const len = ctrl + 1;
      if (op + len > outputLength || ip + len > inEnd) return false;
      ip += len;
      op += len;
    } else {
      let len = ctrl >>> 5;
      if (len === 7) {
        if (ip >= inEnd) return false;
        len += input[ip++];
      }
      if (ip >= inEnd) return false;
      const ref = op - ((ctrl & 31) << 8) - input[ip++] - 1;
      len += 2;
      if (ref < 0 || op + len > outputLength) return false;
      op += len;
    }
  }
  return op === outputLength;
}
var HLOG = 14;
var HSIZE = 1 << HLOG;
var MAX_OFF = 1 << 13;
var MAX_REF = (1 << 8) + (1 << 3);
var MAX_LIT = 32;
var TABLE = new Int32Array(HSIZE);
var tableBase = 0;
function copyLiterals(input, from, to, out, op) {
  while (from < to) {
    const run = Math.min(MAX_LIT, to - from);
    out[op++] = run - 1;
    out.set(input.subarray(from, from + run), op);
    op += run;
    from += run;
  }
  return op;
}
function lzfCompress(input, maxOutput = input.length - 1) {
  const n = input.length;
  if (n < 4 || maxOutput <= 0) return null;
  const out = Buffer.allocUnsafe(n + Math.ceil(n / MAX_LIT) + 8);
  if (tableBase + n + 1 >= 2147483647) {
    TABLE.fill(0);
    tableBase = 0;
  }
  const base = tableBase;
  tableBase += n + 1;
  const table = TABLE;
  let op = 0;
  let litStart = 0;
  let ip = 0;
  while (ip + 2 < n) {
    const h = (((input[ip] << 16) | (input[ip + 1] << 8) | input[ip + 2]) * 2654435761) >>> (32 - HLOG);
    const stored = table[h];
    const ref = stored > base ? stored - base - 1 : -1;
    table[h] = base + ip + 1;
    const off = ip - ref - 1;
    if (
      ref >= 0 &&
      off < MAX_OFF &&
      input[ref] === input[ip] &&
      input[ref + 1] === input[ip + 1] &&
      input[ref + 2] === input[ip + 2]
    ) {
      let len = 3;
      const maxLen = Math.min(MAX_REF, n - ip);
      while (len < maxLen && input[ref + len] === input[ip + len]) len++;
      op = copyLiterals(input, litStart, ip, out, op);
      const enc = len - 2;
      if (enc < 7) {
        out[op++] = (enc << 5) | (off >>> 8);
      } else {
        out[op++] = (7 << 5) | (off >>> 8);
        out[op++] = enc - 7;
      }
      out[op++] = off & 255;
      if (op > maxOutput) return null;
      ip += len;
      litStart = ip;
    } else {
      ip++;
    }
  }
  op = copyLiterals(input, litStart, n, out, op);
  if (op > maxOutput) return null;
  return Buffer.from(out.subarray(0, op));
}
var HISTORY = 8192;
var LzfStreamDecoder = class {
  constructor(total, pieceSize = 1 << 20) {
    this.total = total;
    this.pieceSize = pieceSize;
    this.win = Buffer.allocUnsafe(HISTORY + pieceSize + 512);
  }
  total;
  pieceSize;
  win;
  w = 0;
  emitted = 0;
  pending = Buffer.alloc(0);
  produced = 0;
  /** Decodes `input`; yields output pieces (fresh Buffers). */
  *push(input) {
    const data = this.pending.length ? Buffer.concat([this.pending, input]) : input;
    const n = data.length;
    let i = 0;
    while (i < n) {
      const ctrl = data[i];
      if (ctrl < 32) {
        const run = ctrl + 1;
        if (i + 1 + run > n) break;
        yield* this.room(run);
        if (this.produced + this.w - this.emitted + run > this.total)
          throw new LzfFormatError('literal run overflows the declared length');
        this.win.set(data.subarray(i + 1, i + 1 + run), this.w);
        this.w += run;
        i += 1 + run;
      } else {
        let l = ctrl >>> 5;
        const head = l === 7 ? 3 : 2;
        if (i + head > n) break;
        if (l === 7) l += data[i + 1];
        const off = ((ctrl & 31) << 8) + data[i + head - 1] + 1;
        const len = l + 2;
        yield* this.room(len);
        const ref = this.w - off;
        if (ref < 0) throw new LzfFormatError('back-reference before the start of the output');
        if (this.produced + this.w - this.emitted + len > this.total)
          throw new LzfFormatError('back-reference overflows the declared length');
        for (let k = 0; k < len; k++) this.win[this.w + k] = this.win[ref + k];
        this.w += len;
        i += head;
      }
      if (this.w - this.emitted >= this.pieceSize) yield this.emit();
    }
    this.pending = Buffer.from(data.subarray(i));
  }
  /** Flushes the rest; fails when the stream was cut or sized wrong. */
  *end() {
    if (this.pending.length) throw new LzfFormatError('compressed data ends inside a token');
    if (this.w > this.emitted) yield this.emit();
    if (this.produced !== this.total)
      throw new LzfFormatError(`decompressed ${this.produced} bytes, the header declared ${this.total}`);
  }
  emit() {
    const out = Buffer.from(this.win.subarray(this.emitted, this.w));
    this.produced += out.length;
    this.emitted = this.w;
    return out;
  }
  /** Makes room for `n` more bytes, keeping the 8 KiB history. */
  *room(n) {
    if (this.w + n <= this.win.length) return;
    if (this.w > this.emitted) yield this.emit();
    const keep = Math.min(this.w, HISTORY);
    this.win.copyWithin(0, this.w - keep, this.w);
    this.w = keep;
    this.emitted = keep;
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/rdb/text.ts
import { isUtf8 } from 'node:buffer';
function bytesToText(bytes) {
  return isUtf8(bytes)
    ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
    : null;
}
var ESCAPED = /[\u0000-\u001f\u007f\\]/g;
function keyToText(key) {
  const buf = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  if (isPlainAscii(buf)) return buf.toString('latin1');
  if (isUtf8(buf)) {
    return buf
      .toString('utf8')
      .replace(ESCAPED, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  }
  let out = '';
  for (const b of buf) {
    if (b === 92) out += '\\\\';
    else if (b >= 32 && b < 127) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}
function isPlainAscii(buf) {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c < 32 || c > 126 || c === 92) return false;
  }
  return true;
}
function displayBytes(bytes, max = 200) {
  const out = keyToText(bytes.length > max * 4 ? bytes.subarray(0, max * 4) : bytes);
  return out.length > max || bytes.length > max * 4 ? `${out.slice(0, max)}...` : out;
}

// ../../tmp/vd-bench/after/packages/backup/src/rdb/reader.ts
var MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
var BLOB_TYPES = /* @__PURE__ */ new Set([9, 10, 11, 12, 13, 16, 17, 20, 23, 25]);
var U64_MAX2 = (1n << 64n) - 1n;
var BLOB_WHAT = {
  9: 'zipmap',
  10: 'list ziplist',
  11: 'intset',
  12: 'zset ziplist',
  13: 'hash ziplist',
  16: 'hash listpack',
  17: 'zset listpack',
  20: 'set listpack',
  23: 'hash listpack',
  25: 'hash listpack',
};
var EMPTY2 = Buffer.alloc(0);
var ENCODING_NAMES = {
  0: 'string',
  1: 'linkedlist',
  2: 'hashtable',
  3: 'skiplist',
  4: 'hashtable',
  5: 'skiplist',
  7: 'module2',
  9: 'zipmap',
  10: 'ziplist',
  11: 'intset',
  12: 'ziplist',
  13: 'ziplist',
  14: 'quicklist',
  15: 'stream-listpacks',
  16: 'listpack',
  17: 'listpack',
  18: 'quicklist2',
  19: 'stream-listpacks2',
  20: 'listpack',
  21: 'stream-listpacks3',
};
var TYPE_OF = {
  0: 'string',
  1: 'list',
  2: 'set',
  3: 'zset',
  4: 'hash',
  5: 'zset',
  7: 'module',
  9: 'hash',
  10: 'list',
  11: 'set',
  12: 'zset',
  13: 'hash',
  14: 'list',
  15: 'stream',
  16: 'hash',
  17: 'zset',
  18: 'list',
  19: 'stream',
  20: 'set',
  21: 'stream',
  22: 'hash',
  23: 'hash',
  24: 'hash',
  25: 'hash',
};
function valueSize(v) {
  switch (v.type) {
    case 'list':
      return v.items.length;
    case 'set':
      return v.members.length;
    case 'zset':
    case 'hash':
    case 'stream':
      return v.entries.length;
    default:
      return -1;
  }
}
function parseScoreText(b) {
  const s = b.toString('latin1').trim().toLowerCase();
  if (s === 'inf' || s === '+inf' || s === 'infinity' || s === '+infinity') return Infinity;
  if (s === '-inf' || s === '-infinity') return -Infinity;
  if (s === '') return Number.NaN;
  return Number(s);
}
var RdbReader = class {
  constructor(input, options) {
    this.options = options;
    this.src = new ByteSource(input, {
      ...(options.totalBytes !== void 0 ? { total: options.totalBytes } : {}),
      checksum: options.checksum !== false,
    });
    this.maxString = options.maxStringBytes ?? 1 << 30;
    const chunked = options.chunked === true ? {} : options.chunked || null;
    this.chunkElements = chunked ? Math.max(1, chunked.elements ?? 1e4) : Number.POSITIVE_INFINITY;
    this.chunkBytes = chunked ? Math.max(1, chunked.bytes ?? 8 << 20) : Number.POSITIVE_INFINITY;
    this.pieceBytes = chunked ? Math.max(1, chunked.pieceBytes ?? 1 << 20) : 1 << 20;
    this.progressEvery = options.onProgress
      ? Math.max(1, options.progressEvery ?? 1e4)
      : Number.POSITIVE_INFINITY;
  }
  options;
  src;
  version = 0;
  flavor = 'redis';
  db = 0;
  currentKey;
  /** The key being read, as text for messages (computed only when needed). */
  get keyText() {
    return this.currentKey === void 0 ? void 0 : displayBytes(this.currentKey);
  }
  encoded = false;
  maxString;
  chunkElements;
  chunkBytes;
  pieceBytes;
  keys = 0;
  /** Element count (bytes for strings) the current value declared up front, if any. */
  declared;
  progressEvery;
  fail(code, message, hint, at) {
    throw new RdbError(code, message, {
      details: {
        offset: at ?? this.src.offset,
        ...(this.keyText !== void 0 ? { key: this.keyText } : {}),
        ...(this.options.file !== void 0 ? { file: this.options.file } : {}),
      },
      ...(hint ? { hint } : {}),
    });
  }
  progress() {
    const total = this.src.total;
    this.options.onProgress?.({
      keys: this.keys,
      bytes: this.src.offset,
      ...(total !== void 0 ? { totalBytes: total } : {}),
    });
  }
  warn(code, message, key) {
    this.options.onWarning?.({
      code,
      message,
      offset: this.src.offset,
      db: this.db,
      ...(key ? { key } : {}),
    });
  }
  truncated(n, what) {
    this.src.truncated(n, what, this.keyText);
  }
  async need(n, what) {
    if (this.src.avail < n) {
      const p = this.src.ensure(n);
      if (p) await p;
      if (this.src.avail < n) this.truncated(n, what);
    }
  }
  // ---- primitives ------------------------------------------------------------------------
  /** Reads a length; sets `this.encoded` when it is a special string encoding instead. */
  async lenRaw(what) {
    const src = this.src;
    if (src.avail < 9) {
      const p = src.ensure(9);
      if (p) await p;
      if (src.avail < 1) this.truncated(1, what);
    }
    const b = src.u8();
    const kind = b >> 6;
    this.encoded = false;
    if (kind === 0) return b & 63;
    if (kind === 1) {
      if (src.avail < 1) this.truncated(1, what);
      return ((b & 63) << 8) | src.u8();
    }
    if (kind === 3) {
      this.encoded = true;
      return b & 63;
    }
    if (b === 128) {
      if (src.avail < 4) this.truncated(4, what);
      const v = src.buf.readUInt32BE(src.pos);
      src.pos += 4;
      return v;
    }
    if (b === 129) {
      if (src.avail < 8) this.truncated(8, what);
      const v = src.buf.readBigUInt64BE(src.pos);
      src.pos += 8;
      if (v > MAX_SAFE)
        this.fail('ERR_RDB_BAD_LENGTH', `${what}: 64-bit length ${v} is beyond any real value`);
      return Number(v);
    }
    this.fail(
      'ERR_RDB_BAD_LENGTH',
      `${what}: invalid length byte 0x${b.toString(16)}`,
      void 0,
      src.offset - 1,
    );
  }
  async len(what) {
    const at = this.src.offset;
    const n = await this.lenRaw(what);
    if (this.encoded)
      this.fail('ERR_RDB_BAD_LENGTH', `${what}: expected a length, found a string encoding byte`, void 0, at);
    return n;
  }
  /** A length read as an unsigned 64-bit bigint (stream ids, counters, module values). */
  async lenBig(what) {
    const src = this.src;
    if (src.avail < 9) {
      const p = src.ensure(9);
      if (p) await p;
    }
    if (src.avail >= 1 && src.buf[src.pos] === 129) {
      if (src.avail < 9) this.truncated(9, what);
      const v = src.buf.readBigUInt64BE(src.pos + 1);
      src.pos += 9;
      return v;
    }
    return BigInt(await this.len(what));
  }
  /** A count of following items, each at least `minBytes` long: checked against what remains. */
  async count(what, minBytes = 1) {
    const at = this.src.offset;
    const n = await this.len(what);
    const remaining = this.src.remaining;
    if (remaining !== void 0 && n * minBytes > remaining) {
      this.fail(
        'ERR_RDB_BAD_LENGTH',
        `${what}: ${n} items cannot fit in the ${remaining} bytes left in the input`,
        'The length is corrupt or the file is truncated',
        at,
      );
    }
    return n;
  }
  checkStringLength(n, what, at) {
    if (n > this.maxString) {
      this.fail(
        'ERR_RDB_BAD_LENGTH',
        `${what}: string length ${n} exceeds the ${this.maxString}-byte limit`,
        'If the value is real, raise the maxStringBytes option',
        at,
      );
    }
    const remaining = this.src.remaining;
    if (remaining !== void 0 && n > remaining) {
      this.fail(
        'ERR_RDB_BAD_LENGTH',
        `${what}: string length ${n} is larger than the ${remaining} bytes left in the input`,
        'The length is corrupt or the file is truncated',
        at,
      );
    }
  }
  /** Reads a plain or int-encoded string synchronously when it is fully buffered; null (nothing consumed) otherwise. */
  stringSync(maxLength = this.maxString) {
    const src = this.src;
    const buf = src.buf;
    let p = src.pos;
    const end = buf.length;
    if (p >= end) return null;
    const b = buf[p];
    let n;
    if (b < 64) {
      n = b;
      p += 1;
    } else if (b < 128) {
      if (p + 2 > end) return null;
      n = ((b & 63) << 8) | buf[p + 1];
      p += 2;
    } else if (b === 128) {
      if (p + 5 > end) return null;
      n = buf.readUInt32BE(p + 1);
      p += 5;
    } else if (b === 192) {
      if (p + 2 > end) return null;
      src.pos = p + 2;
      return Buffer.from(String(buf.readInt8(p + 1)));
    } else if (b === 193) {
      if (p + 3 > end) return null;
      src.pos = p + 3;
      return Buffer.from(String(buf.readInt16LE(p + 1)));
    } else if (b === 194) {
      if (p + 5 > end) return null;
      src.pos = p + 5;
      return Buffer.from(String(buf.readInt32LE(p + 1)));
    } else return null;
    if (n > maxLength || p + n > end) return null;
    src.pos = p + n;
    const out = Buffer.allocUnsafe(n);
    buf.copy(out, 0, p, p + n);
    return out;
  }
  async string(what) {
    const at = this.src.offset;
    const n = await this.lenRaw(what);
    return this.stringBody(n, what, at);
  }
  /** The rest of a string whose length byte(s) were read by `lenRaw` (honours `this.encoded`). */
  async stringBody(n, what, at) {
    const src = this.src;
    if (!this.encoded) {
      this.checkStringLength(n, what, at);
      if (src.avail >= n) return src.take(n);
      return src.bytes(n, what, this.keyText);
    }
    switch (n) {
      case 0: {
        await this.need(1, what);
        const v = src.buf.readInt8(src.pos);
        src.pos += 1;
        return Buffer.from(String(v));
      }
      case 1: {
        await this.need(2, what);
        const v = src.buf.readInt16LE(src.pos);
        src.pos += 2;
        return Buffer.from(String(v));
      }
      case 2: {
        await this.need(4, what);
        const v = src.buf.readInt32LE(src.pos);
        src.pos += 4;
        return Buffer.from(String(v));
      }
      case 3: {
        const clen = await this.len(`${what} (LZF compressed length)`);
        const ulen = await this.len(`${what} (LZF original length)`);
        this.checkStringLength(clen, what, at);
        if (ulen > this.maxString) {
          this.fail(
            'ERR_RDB_BAD_LENGTH',
            `${what}: LZF original length ${ulen} exceeds the ${this.maxString}-byte limit`,
            'If the value is real, raise the maxStringBytes option',
            at,
          );
        }
        if (ulen > clen * 90 + 64 || (ulen > 0 && clen === 0)) {
          this.fail(
            'ERR_RDB_CORRUPT_LZF',
            `${what}: LZF header claims ${clen} -> ${ulen} bytes, impossible for LZF`,
            void 0,
            at,
          );
        }
        const compressed = await src.bytes(clen, what, this.keyText);
        return this.lzf(compressed, ulen, at, what);
      }
      default:
        this.fail('ERR_RDB_BAD_STRING', `${what}: unknown string encoding ${n}`, void 0, at);
    }
  }
  lzf(compressed, ulen, at, what = 'string value') {
    try {
      return lzfDecompress(compressed, ulen);
    } catch (err) {
      if (err instanceof LzfFormatError)
        this.fail('ERR_RDB_CORRUPT_LZF', `${what}: invalid LZF data: ${err.message}`, void 0, at);
      throw err;
    }
  }
  async millis(what) {
    await this.need(8, what);
    const v = this.src.buf.readBigInt64LE(this.src.pos);
    this.src.pos += 8;
    return Number(v);
  }
  async binaryDouble(what) {
    await this.need(8, what);
    const v = this.src.buf.readDoubleLE(this.src.pos);
    this.src.pos += 8;
    return v;
  }
  async asciiDouble(what) {
    await this.need(1, what);
    const n = this.src.u8();
    if (n === 253) return Number.NaN;
    if (n === 254) return Infinity;
    if (n === 255) return -Infinity;
    await this.need(n, what);
    const v = parseScoreText(this.src.take(n));
    if (Number.isNaN(v)) this.fail('ERR_RDB_CORRUPT_VALUE', `${what}: not a number`);
    return v;
  }
  async rawId(what) {
    await this.need(16, what);
    const buf = this.src.buf;
    const id = { ms: buf.readBigUInt64BE(this.src.pos), seq: buf.readBigUInt64BE(this.src.pos + 8) };
    this.src.pos += 16;
    return id;
  }
  async lenId(what) {
    return { ms: await this.lenBig(what), seq: await this.lenBig(what) };
  }
  /** Reads a blob string and decodes the container in it, mapping integrity failures to `code`. */
  async blob(what, code, parse) {
    const at = this.src.offset;
    const b = this.stringSync() ?? (await this.string(what));
    return parse(b, (m) =>
      this.fail(code, `${what} integrity check failed: ${m}`, 'The file is corrupt', at),
    );
  }
  // ---- records ---------------------------------------------------------------------------
  async header() {
    await this.src.ensure(9);
    if (this.src.avail < 9) {
      this.fail(
        'ERR_RDB_BAD_MAGIC',
        `input is ${this.src.avail} bytes, too short for an RDB header`,
        'Is this an RDB file?',
      );
    }
    const head = this.src.take(9).toString('latin1');
    let magic;
    let digits2;
    if (head.startsWith('REDIS')) {
      magic = 'REDIS';
      digits2 = head.slice(5);
    } else if (head.startsWith('VALKEY')) {
      magic = 'VALKEY';
      digits2 = head.slice(6);
    } else {
      const hint = head.startsWith('*')
        ? 'This looks like RESP text (an AOF or .valkey file), not an RDB'
        : head.startsWith('$')
          ? 'This looks like a replication stream ($<len> / $EOF: framing); strip the framing first'
          : 'An RDB file starts with REDIS0011 or VALKEY080';
      this.fail('ERR_RDB_BAD_MAGIC', `wrong signature ${JSON.stringify(head)}`, hint, 0);
    }
    if (!/^\d+$/.test(digits2))
      this.fail(
        'ERR_RDB_BAD_MAGIC',
        `wrong signature ${JSON.stringify(head)}: version is not a number`,
        void 0,
        0,
      );
    const version = Number(digits2);
    this.version = version;
    this.flavor = magic === 'VALKEY' ? 'valkey' : 'redis';
    const known =
      magic === 'REDIS' ? version >= 1 && version <= KNOWN_REDIS_VERSION : version === 80 || version === 81;
    if (!known && !this.options.allowUnknownVersion) {
      this.fail(
        'ERR_RDB_UNSUPPORTED_VERSION',
        `RDB format version ${version} (${head}) is not supported; this reader knows REDIS0001-REDIS00${KNOWN_REDIS_VERSION} and VALKEY080-VALKEY081`,
        'Pass allowUnknownVersion: true to try anyway (reading fails at the first unknown type or opcode)',
        5,
      );
    }
    return { kind: 'header', magic, version, flavor: this.flavor };
  }
  /** The records; the input is closed when they end or the caller stops early. */
  async *records() {
    try {
      const src = this.src;
      yield await this.header();
      let expiresAt;
      let lruIdle;
      let lfuFreq;
      for (;;) {
        if (src.avail < 1) {
          const p = src.ensure(1);
          if (p) await p;
          if (src.avail < 1) this.truncated(1, 'the next opcode (the file has no EOF marker)');
        }
        const opAt = src.offset;
        const op = src.u8();
        if (op <= 25) {
          const { type, typeName } = this.checkType(op, opAt);
          const key = this.stringSync() ?? (await this.string('key'));
          this.currentKey = key;
          const meta = { db: this.db, key, encoding: typeName };
          if (expiresAt !== void 0) meta.expiresAt = expiresAt;
          if (lruIdle !== void 0) meta.lruIdle = lruIdle;
          if (lfuFreq !== void 0) meta.lfuFreq = lfuFreq;
          expiresAt = lruIdle = lfuFreq = void 0;
          const small = type === RdbType.STRING ? this.stringSync(this.chunkBytes - 1) : null;
          if (small !== null || (type === RdbType.STRING && this.chunkBytes === Number.POSITIVE_INFINITY)) {
            const value = small ?? (await this.string('string value'));
            this.currentKey = void 0;
            yield { kind: 'key', ...meta, value: { type: 'string', value } };
            if (++this.keys % this.progressEvery === 0) this.progress();
            continue;
          }
          if (BLOB_TYPES.has(type)) {
            const value = this.blobValueSync(type) ?? (await this.blobValue(type));
            if (valueSize(value) === 0) {
              this.warn(
                'empty-key',
                `skipping empty key ${JSON.stringify(this.keyText)} (the server skips it on load)`,
                key,
              );
            } else {
              yield { kind: 'key', ...meta, value };
            }
            this.currentKey = void 0;
            if (++this.keys % this.progressEvery === 0) this.progress();
            continue;
          }
          this.declared = void 0;
          const parts = this.value(type);
          let begun = false;
          let delivered = 0;
          for (;;) {
            const r = await parts.next();
            if (r.done) {
              const final = r.value;
              const size = valueSize(final);
              if (!begun) {
                if (size === 0 && final.type !== 'stream') {
                  this.warn(
                    'empty-key',
                    `skipping empty key ${JSON.stringify(this.keyText)} (the server skips it on load)`,
                    key,
                  );
                } else {
                  yield { kind: 'key', ...meta, value: final };
                }
              } else {
                const n = final.type === 'string' ? final.value.length : size;
                if (n > 0) yield { kind: 'key-part', db: meta.db, key, value: final };
                delivered += n;
                const end = { kind: 'key-end', db: meta.db, key, size: delivered };
                if (final.type === 'stream') {
                  const { type: _t, entries: _e, ...rest } = final;
                  end.stream = rest;
                }
                yield end;
              }
              break;
            }
            if (!begun) {
              begun = true;
              const begin = { kind: 'key-begin', ...meta, type: TYPE_OF[type] };
              if (this.declared !== void 0) begin.elements = this.declared;
              yield begin;
            }
            const part = r.value;
            delivered += part.type === 'string' ? part.value.length : valueSize(part);
            yield { kind: 'key-part', db: meta.db, key, value: part };
          }
          this.currentKey = void 0;
          if (++this.keys % this.progressEvery === 0) this.progress();
          continue;
        }
        switch (op) {
          case RdbOpcode.EOF: {
            src.flushConsumed();
            const computed = src.crc?.digest() ?? null;
            let checksum = null;
            if (this.version >= 5) {
              await this.need(8, 'the CRC-64 trailer');
              const stored = src.buf.readBigUInt64LE(src.pos);
              src.pos += 8;
              if (stored !== 0n) {
                checksum = stored;
                if (computed !== null && computed !== stored) {
                  this.fail(
                    'ERR_RDB_CHECKSUM',
                    `CRC-64 mismatch: the file says 0x${stored.toString(16).padStart(16, '0')}, the content hashes to 0x${computed.toString(16).padStart(16, '0')}`,
                    'The file is corrupt; take a fresh snapshot (or read with checksum: false to salvage it)',
                    src.offset - 8,
                  );
                }
              }
            }
            if (this.options.onProgress) this.progress();
            yield { kind: 'end', checksum };
            const left = src.total !== void 0 ? src.total - src.offset : src.avail;
            if (left > 0) {
              this.warn(
                'trailing-data',
                `${left} byte(s) follow the end of the RDB (e.g. an AOF tail after an RDB preamble)`,
              );
            }
            return;
          }
          case RdbOpcode.SELECTDB:
            this.db = await this.len('SELECTDB database number');
            yield { kind: 'select-db', db: this.db };
            break;
          case RdbOpcode.RESIZEDB: {
            const dbSize = await this.len('RESIZEDB db size');
            const expiresSize = await this.len('RESIZEDB expires size');
            yield { kind: 'resize-db', dbSize, expiresSize };
            break;
          }
          case RdbOpcode.AUX: {
            const key = await this.string('AUX field name');
            const value = await this.string('AUX field value');
            yield { kind: 'aux', key, value };
            break;
          }
          case RdbOpcode.EXPIRETIME_MS:
            expiresAt = await this.millis('EXPIRETIME_MS');
            break;
          case RdbOpcode.EXPIRETIME: {
            await this.need(4, 'EXPIRETIME');
            expiresAt = src.buf.readInt32LE(src.pos) * 1e3;
            src.pos += 4;
            break;
          }
          case RdbOpcode.IDLE:
            lruIdle = await this.len('IDLE');
            break;
          case RdbOpcode.FREQ:
            await this.need(1, 'FREQ');
            lfuFreq = src.u8();
            break;
          case RdbOpcode.MODULE_AUX: {
            src.startCapture();
            let moduleId;
            try {
              moduleId = await this.lenBig('MODULE_AUX module id');
              const whenOp = await this.len('MODULE_AUX when opcode');
              if (whenOp !== ModuleOpcode.UINT)
                this.fail(
                  'ERR_RDB_CORRUPT_MODULE',
                  `MODULE_AUX: expected the UINT "when" opcode, got ${whenOp}`,
                );
              await this.lenBig('MODULE_AUX when');
              await this.moduleOpcodes('MODULE_AUX');
            } catch (err) {
              src.endCapture();
              throw err;
            }
            const raw = src.endCapture();
            const { name } = decodeModuleId(moduleId);
            yield { kind: 'module-aux', moduleId, moduleName: name, raw };
            break;
          }
          case RdbOpcode.FUNCTION2:
            yield { kind: 'function', code: await this.string('FUNCTION2 library code') };
            break;
          case RdbOpcode.FUNCTION_PRE_GA:
            this.fail(
              'ERR_RDB_UNKNOWN_OPCODE',
              'FUNCTION_PRE_GA (0xF6, Redis 7.0 release candidates) is not supported',
              'Load the file into Redis 7.0 GA and save it again',
              opAt,
            );
            break;
          case RdbOpcode.SLOT_INFO:
            if (this.version < 12) this.unknownOpcode(op, opAt);
            {
              const slot = await this.len('SLOT_INFO slot');
              const slotSize = await this.len('SLOT_INFO slot size');
              const expiresSlotSize = await this.len('SLOT_INFO expires size');
              yield { kind: 'slot-info', slot, slotSize, expiresSlotSize };
            }
            break;
          case RdbOpcode.SLOT_IMPORT:
            if (this.flavor !== 'valkey') this.unknownOpcode(op, opAt);
            {
              await this.string('SLOT_IMPORT job name');
              const ranges = await this.count('SLOT_IMPORT range count', 2);
              for (let i = 0; i < ranges; i++) {
                await this.len('SLOT_IMPORT range start');
                await this.len('SLOT_IMPORT range end');
              }
              this.warn(
                'slot-import-skipped',
                `skipped Valkey atomic slot migration state (${ranges} slot range(s))`,
              );
            }
            break;
          default:
            this.unknownOpcode(op, opAt);
        }
      }
    } finally {
      await this.close();
    }
  }
  unknownOpcode(op, at) {
    this.fail(
      op < 240 ? 'ERR_RDB_UNKNOWN_TYPE' : 'ERR_RDB_UNKNOWN_OPCODE',
      `unknown opcode or type ${op} (0x${op.toString(16)}) for ${this.flavor === 'valkey' ? 'VALKEY' : 'REDIS'}${this.version} files`,
      'The file is corrupt or comes from a newer server than this reader knows',
      at,
    );
  }
  checkType(op, at) {
    const redis12 = this.flavor === 'redis' && this.version >= 12;
    const valkey = this.flavor === 'valkey';
    let name = ENCODING_NAMES[op];
    if (op === RdbType.MODULE_PRE_GA) {
      this.fail(
        'ERR_RDB_UNSUPPORTED_VALUE',
        'module value of pre-GA format (type 6) is not supported',
        void 0,
        at,
      );
    }
    if (op === RdbType.HASH_2) name = valkey ? 'hashtable-ttl' : redis12 ? 'hash-metadata-pre-ga' : void 0;
    else if (op === RdbType.TYPE_23) {
      if (valkey)
        this.fail('ERR_RDB_UNKNOWN_TYPE', 'type 23 (Valkey 9.2 PATH_HASH) is not supported yet', void 0, at);
      name = redis12 ? 'listpack-ex-pre-ga' : void 0;
    } else if (op === RdbType.REDIS_HASH_METADATA) name = redis12 ? 'hash-metadata' : void 0;
    else if (op === RdbType.REDIS_HASH_LISTPACK_EX) name = redis12 ? 'listpack-ex' : void 0;
    if (name === void 0) {
      this.fail(
        'ERR_RDB_UNKNOWN_TYPE',
        `unknown value type ${op} for ${this.flavor === 'valkey' ? 'VALKEY' : 'REDIS'}${this.version} files`,
        'The file is corrupt or uses a type this reader does not know',
        at,
      );
    }
    return { type: op, typeName: name };
  }
  async moduleOpcodes(what) {
    for (;;) {
      const op = await this.len(`${what} opcode`);
      switch (op) {
        case ModuleOpcode.EOF:
          return;
        case ModuleOpcode.SINT:
        case ModuleOpcode.UINT:
          await this.lenBig(`${what} integer`);
          break;
        case ModuleOpcode.FLOAT:
          await this.need(4, `${what} float`);
          this.src.pos += 4;
          break;
        case ModuleOpcode.DOUBLE:
          await this.need(8, `${what} double`);
          this.src.pos += 8;
          break;
        case ModuleOpcode.STRING: {
          const at = this.src.offset;
          const n = await this.lenRaw(`${what} string`);
          if (!this.encoded && n > 65536) {
            this.checkStringLength(n, `${what} string`, at);
            for await (const _ of this.src.pieces(n, 1 << 20, `${what} string`, this.keyText)) {
            }
          } else {
            await this.stringBody(n, `${what} string`, at);
          }
          break;
        }
        default:
          this.fail(
            'ERR_RDB_CORRUPT_MODULE',
            `${what}: unknown module opcode ${op}`,
            'The module value is corrupt',
          );
      }
    }
  }
  // ---- values ----------------------------------------------------------------------------
  async *value(type) {
    switch (type) {
      case RdbType.STRING: {
        const at = this.src.offset;
        const n = await this.lenRaw('string value');
        if (!this.encoded && n >= this.chunkBytes) {
          this.checkStringLength(n, 'string value', at);
          this.declared = n;
          for await (const piece of this.src.pieces(n, this.pieceBytes, 'string value', this.keyText)) {
            yield { type: 'string', value: Buffer.from(piece) };
          }
          return { type: 'string', value: EMPTY2 };
        }
        if (this.encoded && n === 3 && this.chunkBytes !== Number.POSITIVE_INFINITY) {
          const clen = await this.len('string value (LZF compressed length)');
          const ulen = await this.len('string value (LZF original length)');
          this.checkStringLength(clen, 'string value', at);
          if (ulen < this.chunkBytes) {
            const compressed = await this.src.bytes(clen, 'string value', this.keyText);
            return { type: 'string', value: this.lzf(compressed, ulen, at) };
          }
          if (ulen > this.maxString || ulen > clen * 90 + 64) {
            this.fail(
              'ERR_RDB_CORRUPT_LZF',
              `string value: LZF header claims ${clen} -> ${ulen} bytes`,
              void 0,
              at,
            );
          }
          this.declared = ulen;
          const decoder = new LzfStreamDecoder(ulen, this.pieceBytes);
          try {
            for await (const piece of this.src.pieces(clen, 1 << 20, 'string value', this.keyText)) {
              for (const out of decoder.push(piece)) yield { type: 'string', value: out };
            }
            for (const out of decoder.end()) yield { type: 'string', value: out };
          } catch (err) {
            if (err instanceof LzfFormatError)
              this.fail('ERR_RDB_CORRUPT_LZF', `string value: invalid LZF data: ${err.message}`, void 0, at);
            throw err;
          }
          return { type: 'string', value: EMPTY2 };
        }
        return { type: 'string', value: await this.stringBody(n, 'string value', at) };
      }
      case RdbType.LIST:
      case RdbType.SET: {
        const t2 = type === RdbType.LIST ? 'list' : 'set';
        const n = await this.count(`${t2} length`);
        this.declared = n;
        let acc = [];
        for (let i = 0; i < n; i++) {
          acc.push(this.stringSync() ?? (await this.string(`${t2} element`)));
          if (acc.length >= this.chunkElements) {
            yield t2 === 'list' ? { type: 'list', items: acc } : { type: 'set', members: acc };
            acc = [];
          }
        }
        return t2 === 'list' ? { type: 'list', items: acc } : { type: 'set', members: acc };
      }
      case RdbType.ZSET:
      case RdbType.ZSET_2: {
        const n = await this.count('zset length', 2);
        this.declared = n;
        let acc = [];
        for (let i = 0; i < n; i++) {
          const member = this.stringSync() ?? (await this.string('zset member'));
          const score =
            type === RdbType.ZSET
              ? await this.asciiDouble('zset score')
              : await this.binaryDouble('zset score');
          if (Number.isNaN(score)) this.fail('ERR_RDB_CORRUPT_VALUE', 'zset score is NaN');
          acc.push({ member, score });
          if (acc.length >= this.chunkElements) {
            yield { type: 'zset', entries: acc };
            acc = [];
          }
        }
        return { type: 'zset', entries: acc };
      }
      case RdbType.HASH:
      case RdbType.HASH_2:
      case RdbType.REDIS_HASH_METADATA: {
        const valkey2 = type === RdbType.HASH_2 && this.flavor === 'valkey';
        const redisPreGa = type === RdbType.HASH_2 && !valkey2;
        const minExpire = type === RdbType.REDIS_HASH_METADATA ? await this.millis('hash min expire') : 0;
        const n = await this.count('hash length', 2);
        this.declared = n;
        let acc = [];
        for (let i = 0; i < n; i++) {
          let expiresAt;
          if (redisPreGa || type === RdbType.REDIS_HASH_METADATA) {
            const ttl = await this.lenBig('hash field ttl');
            if (ttl !== 0n) expiresAt = Number(redisPreGa ? ttl : ttl + BigInt(minExpire) - 1n);
          }
          const field = this.stringSync() ?? (await this.string('hash field'));
          const value = this.stringSync() ?? (await this.string('hash value'));
          if (valkey2) {
            const ms = await this.millis('hash field expiry');
            if (ms < -1) this.fail('ERR_RDB_CORRUPT_VALUE', `hash field expiry ${ms} is invalid`);
            if (ms !== -1) expiresAt = ms;
          }
          acc.push(expiresAt === void 0 ? { field, value } : { field, value, expiresAt });
          if (acc.length >= this.chunkElements) {
            yield { type: 'hash', entries: acc };
            acc = [];
          }
        }
        return { type: 'hash', entries: acc };
      }
      case RdbType.MODULE_2: {
        this.src.startCapture();
        let moduleId;
        try {
          moduleId = await this.lenBig('module id');
          await this.moduleOpcodes('module value');
        } catch (err) {
          this.src.endCapture();
          throw err;
        }
        const raw = this.src.endCapture();
        const { name, encodingVersion } = decodeModuleId(moduleId);
        return { type: 'module', moduleId, moduleName: name, encodingVersion, raw };
      }
      case RdbType.HASH_ZIPMAP:
      case RdbType.LIST_ZIPLIST:
      case RdbType.SET_INTSET:
      case RdbType.SET_LISTPACK:
      case RdbType.ZSET_ZIPLIST:
      case RdbType.ZSET_LISTPACK:
      case RdbType.HASH_ZIPLIST:
      case RdbType.HASH_LISTPACK:
      case RdbType.TYPE_23:
      case RdbType.REDIS_HASH_LISTPACK_EX:
        return this.blobValue(type);
      case RdbType.LIST_QUICKLIST:
      case RdbType.LIST_QUICKLIST_2: {
        const v2 = type === RdbType.LIST_QUICKLIST_2;
        const nodes = await this.count('quicklist node count', v2 ? 2 : 1);
        let acc = [];
        for (let i = 0; i < nodes; i++) {
          let container = 2;
          if (v2) {
            container = await this.len('quicklist node container');
            if (container !== 1 && container !== 2) {
              this.fail(
                'ERR_RDB_CORRUPT_VALUE',
                `quicklist node container ${container} is neither PLAIN (1) nor PACKED (2)`,
              );
            }
          }
          if (container === 1) {
            acc.push(await this.string('quicklist plain node'));
          } else {
            const vals = v2
              ? await this.blob('quicklist listpack node', 'ERR_RDB_CORRUPT_LISTPACK', parseListpack)
              : await this.blob('quicklist ziplist node', 'ERR_RDB_CORRUPT_ZIPLIST', parseZiplist);
            for (const v of vals) acc.push(packedToBuffer(v));
          }
          if (acc.length >= this.chunkElements) {
            yield { type: 'list', items: acc };
            acc = [];
          }
        }
        return { type: 'list', items: acc };
      }
      case RdbType.STREAM_LISTPACKS:
      case RdbType.STREAM_LISTPACKS_2:
      case RdbType.STREAM_LISTPACKS_3:
        return yield* this.stream(type);
      default:
        this.fail('ERR_RDB_UNKNOWN_TYPE', `unknown value type ${type}`);
    }
  }
  /** Values stored as one compact container (never chunked: the server keeps them small). */
  async blobValue(type) {
    if (type === RdbType.REDIS_HASH_LISTPACK_EX) await this.millis('hash min expire');
    const at = this.src.offset;
    const b = this.stringSync() ?? (await this.string(BLOB_WHAT[type] ?? 'container'));
    return this.decodeBlob(type, b, at);
  }
  /**
   * The blob value when its string is already buffered (no await: most keys of real datasets);
   * null, with nothing consumed, otherwise.
   */
  blobValueSync(type) {
    if (type === RdbType.REDIS_HASH_LISTPACK_EX) return null;
    const at = this.src.offset;
    const b = this.stringSync();
    return b === null ? null : this.decodeBlob(type, b, at);
  }
  /** Decodes a container blob read at `at`, mapping integrity failures to the container's error code. */
  parseBlob(b, at, what, code, parse) {
    return parse(b, (m) =>
      this.fail(code, `${what} integrity check failed: ${m}`, 'The file is corrupt', at),
    );
  }
  decodeBlob(type, b, at) {
    switch (type) {
      case RdbType.HASH_ZIPMAP: {
        const pairs = this.parseBlob(b, at, 'zipmap', 'ERR_RDB_CORRUPT_ZIPMAP', parseZipmap);
        return { type: 'hash', entries: pairs.map(([field, value]) => ({ field, value })) };
      }
      case RdbType.LIST_ZIPLIST: {
        const vals = this.parseBlob(b, at, 'list ziplist', 'ERR_RDB_CORRUPT_ZIPLIST', parseZiplist);
        return { type: 'list', items: vals.map(packedToBuffer) };
      }
      case RdbType.SET_INTSET:
        return {
          type: 'set',
          members: this.parseBlob(b, at, 'intset', 'ERR_RDB_CORRUPT_INTSET', parseIntset),
        };
      case RdbType.SET_LISTPACK: {
        const vals = this.parseBlob(b, at, 'set listpack', 'ERR_RDB_CORRUPT_LISTPACK', parseListpack);
        return { type: 'set', members: vals.map(packedToBuffer) };
      }
      case RdbType.ZSET_ZIPLIST:
      case RdbType.ZSET_LISTPACK: {
        const zip = type === RdbType.ZSET_ZIPLIST;
        const what = zip ? 'zset ziplist' : 'zset listpack';
        const code = zip ? 'ERR_RDB_CORRUPT_ZIPLIST' : 'ERR_RDB_CORRUPT_LISTPACK';
        const vals = this.parseBlob(b, at, what, code, zip ? parseZiplist : parseListpack);
        if (vals.length % 2) this.fail(code, `${what} has an odd number of elements (${vals.length})`);
        const entries = [];
        for (let i = 0; i < vals.length; i += 2) {
          const s = vals[i + 1];
          const score = typeof s === 'object' ? parseScoreText(s) : Number(s);
          if (Number.isNaN(score)) this.fail(code, `${what} score of element ${i / 2} is not a number`);
          entries.push({ member: packedToBuffer(vals[i]), score });
        }
        return { type: 'zset', entries };
      }
      case RdbType.HASH_ZIPLIST:
      case RdbType.HASH_LISTPACK:
      case RdbType.TYPE_23:
      case RdbType.REDIS_HASH_LISTPACK_EX: {
        const zip = type === RdbType.HASH_ZIPLIST;
        const triplets = type === RdbType.TYPE_23 || type === RdbType.REDIS_HASH_LISTPACK_EX;
        const what = zip ? 'hash ziplist' : 'hash listpack';
        const code = zip ? 'ERR_RDB_CORRUPT_ZIPLIST' : 'ERR_RDB_CORRUPT_LISTPACK';
        const vals = this.parseBlob(b, at, what, code, zip ? parseZiplist : parseListpack);
        const step = triplets ? 3 : 2;
        if (vals.length % step)
          this.fail(code, `${what} element count ${vals.length} is not a multiple of ${step}`);
        const entries = [];
        for (let i = 0; i < vals.length; i += step) {
          const field = packedToBuffer(vals[i]);
          const value = packedToBuffer(vals[i + 1]);
          if (triplets) {
            const ttl = vals[i + 2];
            const ms = typeof ttl === 'object' ? Number(ttl.toString('latin1')) : Number(ttl);
            if (!Number.isFinite(ms)) this.fail(code, `${what} field ttl is not a number`);
            entries.push(ms === 0 ? { field, value } : { field, value, expiresAt: ms });
          } else entries.push({ field, value });
        }
        return { type: 'hash', entries };
      }
      default:
        this.fail('ERR_RDB_UNKNOWN_TYPE', `unknown value type ${type}`);
    }
  }
  async *stream(type) {
    const v2 = type >= RdbType.STREAM_LISTPACKS_2;
    const v3 = type >= RdbType.STREAM_LISTPACKS_3;
    const nodes = await this.count('stream listpack node count', 2);
    let acc = [];
    for (let i = 0; i < nodes; i++) {
      const keyAt = this.src.offset;
      const nodeKey = await this.string('stream node key');
      if (nodeKey.length !== 16)
        this.fail(
          'ERR_RDB_CORRUPT_STREAM',
          `stream node key is ${nodeKey.length} bytes, expected 16`,
          void 0,
          keyAt,
        );
      const master = { ms: nodeKey.readBigUInt64BE(0), seq: nodeKey.readBigUInt64BE(8) };
      const lpAt = this.src.offset;
      const vals = await this.blob('stream listpack', 'ERR_RDB_CORRUPT_LISTPACK', parseListpack);
      if (vals.length === 0)
        this.fail('ERR_RDB_CORRUPT_STREAM', 'stream node has an empty listpack', void 0, lpAt);
      this.decodeStreamNode(master, vals, acc, lpAt);
      if (acc.length >= this.chunkElements) {
        yield { type: 'stream', entries: acc, length: 0n, lastId: { ms: 0n, seq: 0n }, groups: [] };
        acc = [];
      }
    }
    const length = await this.lenBig('stream length');
    const lastId = await this.lenId('stream last id');
    const value = { type: 'stream', entries: acc, length, lastId, groups: [] };
    if (v2) {
      value.firstId = await this.lenId('stream first id');
      value.maxDeletedId = await this.lenId('stream max deleted id');
      value.entriesAdded = await this.lenBig('stream entries added');
    }
    const groupCount = await this.count('stream consumer group count', 3);
    for (let g = 0; g < groupCount; g++) {
      const name = await this.string('consumer group name');
      const groupLast = await this.lenId('consumer group last id');
      const group = { name, lastId: groupLast, pending: [], consumers: [] };
      if (v2) {
        const read = await this.lenBig('consumer group entries read');
        if (read !== U64_MAX2) group.entriesRead = read;
      }
      const pelSize = await this.count('consumer group PEL size', 25);
      const byId = /* @__PURE__ */ new Map();
      for (let p = 0; p < pelSize; p++) {
        const id = await this.rawId('PEL entry id');
        const deliveryTime = await this.millis('PEL delivery time');
        const deliveryCount = await this.len('PEL delivery count');
        const entry = { id, deliveryTime, deliveryCount, consumer: EMPTY2 };
        byId.set(`${id.ms}-${id.seq}`, entry);
        group.pending.push(entry);
      }
      const consumerCount = await this.count('consumer count', 10);
      for (let c = 0; c < consumerCount; c++) {
        const cname = await this.string('consumer name');
        const seenTime = await this.millis('consumer seen time');
        const consumer = { name: cname, seenTime, pending: [] };
        if (v3) consumer.activeTime = await this.millis('consumer active time');
        const cpel = await this.count('consumer PEL size', 16);
        for (let p = 0; p < cpel; p++) {
          const at = this.src.offset;
          const id = await this.rawId('consumer PEL id');
          const owner = byId.get(`${id.ms}-${id.seq}`);
          if (!owner) {
            this.fail(
              'ERR_RDB_CORRUPT_STREAM',
              `consumer ${displayBytes(cname)} owns pending id ${id.ms}-${id.seq} that is not in the group PEL`,
              void 0,
              at,
            );
          }
          owner.consumer = cname;
          consumer.pending.push(id);
        }
        group.consumers.push(consumer);
      }
      for (const pe of group.pending) {
        if (pe.consumer === EMPTY2) {
          this.warn(
            'orphan-pending-entry',
            `pending entry ${pe.id.ms}-${pe.id.seq} of group ${displayBytes(name)} has no consumer`,
          );
        }
      }
      value.groups.push(group);
    }
    return value;
  }
  decodeStreamNode(master, vals, out, at) {
    let i = 0;
    const fail = (m) =>
      this.fail('ERR_RDB_CORRUPT_STREAM', `stream listpack: ${m}`, 'The file is corrupt', at);
    const next = () => {
      if (i >= vals.length) fail('entry runs past the end of the listpack');
      return vals[i++];
    };
    const int2 = () => {
      const v = next();
      if (typeof v === 'object') {
        const s = v.toString('latin1');
        if (!/^-?\d+$/.test(s)) fail(`expected an integer, found ${JSON.stringify(displayBytes(v))}`);
        return BigInt(s);
      }
      return BigInt(v);
    };
    const count = Number(int2());
    const deleted = Number(int2());
    const numFields = Number(int2());
    if (numFields < 0 || numFields > vals.length) fail(`master entry has ${numFields} fields`);
    const masterFields = [];
    for (let f = 0; f < numFields; f++) masterFields.push(packedToBuffer(next()));
    if (int2() !== 0n) fail('master entry terminator is not 0');
    let live = 0;
    let dead = 0;
    while (i < vals.length) {
      const flags = Number(int2());
      const msDiff = int2();
      const seqDiff = int2();
      const fields = [];
      let lpCount;
      if (flags & 2) {
        for (const f of masterFields) fields.push([f, packedToBuffer(next())]);
        lpCount = numFields + 3;
      } else {
        const nf = Number(int2());
        if (nf < 0 || nf * 2 > vals.length - i) fail(`entry claims ${nf} fields`);
        for (let f = 0; f < nf; f++) fields.push([packedToBuffer(next()), packedToBuffer(next())]);
        lpCount = nf * 2 + 4;
      }
      if (Number(int2()) !== lpCount) fail('entry lp-count does not match its size');
      if (flags & 1) dead++;
      else {
        live++;
        out.push({ id: { ms: master.ms + msDiff, seq: master.seq + seqDiff }, fields });
      }
    }
    if (live !== count || dead !== deleted)
      fail(`master entry counts ${count} live/${deleted} deleted, found ${live}/${dead}`);
  }
  /** Decodes one value body of `type` (DUMP payloads); the whole input must be consumed. */
  async valueOnly(type, version) {
    this.version = version;
    this.flavor = version >= 80 ? 'valkey' : 'redis';
    const { typeName } = this.checkType(type, 0);
    const gen = this.value(type);
    let r = await gen.next();
    while (!r.done) r = await gen.next();
    if (this.src.avail > 0) {
      this.fail('ERR_RDB_BAD_PAYLOAD', `${this.src.avail} unexpected byte(s) after the value`);
    }
    return { value: r.value, encoding: typeName };
  }
  async close() {
    await this.src.close();
  }
};
async function decodeValue(body, type, version, options = {}) {
  const reader2 = new RdbReader(body, { ...options, checksum: false });
  return reader2.valueOnly(type, version);
}
async function* readRdbWithOffsets(input, options = {}) {
  const reader2 = new RdbReader(input, options);
  for await (const record of reader2.records()) yield { record, offset: reader2.src.offset };
}
function readRdb(input, options = {}) {
  return new RdbReader(input, options).records();
}
function readRdbFile(path, options = {}) {
  let size;
  try {
    size = statSync(path).size;
  } catch {}
  return readRdb(createReadStream(path, { highWaterMark: 1 << 20 }), {
    file: path,
    ...(size !== void 0 ? { totalBytes: size } : {}),
    ...options,
  });
}

// ../../tmp/vd-bench/after/packages/backup/src/rdb/writer.ts
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// ../../tmp/vd-bench/after/packages/backup/src/rdb/value-parts.ts
function emptyValue(type) {
  switch (type) {
    case 'string':
      return { type, value: Buffer.alloc(0) };
    case 'list':
      return { type, items: [] };
    case 'set':
      return { type, members: [] };
    case 'zset':
    case 'hash':
      return { type, entries: [] };
    case 'stream':
      return { type, entries: [], length: 0n, lastId: { ms: 0n, seq: 0n }, groups: [] };
    default:
      return void 0;
  }
}
function isEmptyCollection(value) {
  switch (value.type) {
    case 'list':
      return value.items.length === 0;
    case 'set':
      return value.members.length === 0;
    case 'zset':
    case 'hash':
      return value.entries.length === 0;
    default:
      return false;
  }
}
function appendValueElements(into, part) {
  if (into.type === 'string' && part.type === 'string') into.value = Buffer.concat([into.value, part.value]);
  else if (into.type === 'list' && part.type === 'list') into.items.push(...part.items);
  else if (into.type === 'set' && part.type === 'set') into.members.push(...part.members);
  else if ((into.type === 'zset' && part.type === 'zset') || (into.type === 'hash' && part.type === 'hash')) {
    into.entries.push(...part.entries);
  } else if (into.type === 'stream' && part.type === 'stream') into.entries.push(...part.entries);
  else return false;
  return true;
}

// ../../tmp/vd-bench/after/packages/backup/src/rdb/writer.ts
var DEFAULT_ENCODING_LIMITS = Object.freeze({
  hashMaxListpackEntries: 512,
  hashMaxListpackValue: 64,
  setMaxIntsetEntries: 512,
  setMaxListpackEntries: 128,
  setMaxListpackValue: 64,
  zsetMaxListpackEntries: 128,
  zsetMaxListpackValue: 64,
  listMaxListpackSize: -2,
  streamNodeMaxEntries: 100,
  streamNodeMaxBytes: 4096,
});
var U64_MAX3 = (1n << 64n) - 1n;
var PLAIN_NODE_THRESHOLD = 1 << 30;
function targetVersion(t2) {
  return t2 === 'VALKEY080' ? 80 : t2;
}
var Out = class {
  chunks = [];
  cur = Buffer.allocUnsafe(65536);
  pos = 0;
  size = 0;
  u8(b) {
    if (this.pos >= this.cur.length) this.spill();
    this.cur[this.pos++] = b;
    this.size++;
  }
  raw(buf) {
    const n = buf.length;
    if (n <= this.cur.length - this.pos) {
      this.cur.set(buf, this.pos);
      this.pos += n;
    } else if (n < 4096) {
      this.spill();
      this.cur.set(buf, 0);
      this.pos = n;
    } else {
      this.spill();
      this.chunks.push(Buffer.from(buf.buffer, buf.byteOffset, n));
    }
    this.size += n;
  }
  spill() {
    if (this.pos > 0) {
      this.chunks.push(this.cur.subarray(0, this.pos));
      this.cur = Buffer.allocUnsafe(65536);
      this.pos = 0;
    }
  }
  /** Everything written so far as one Buffer; the scratch space is kept for reuse. */
  take() {
    let out;
    if (this.chunks.length === 0) {
      out = Buffer.allocUnsafe(this.pos);
      this.cur.copy(out, 0, 0, this.pos);
    } else {
      if (this.pos > 0) this.chunks.push(Buffer.from(this.cur.subarray(0, this.pos)));
      out = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = [];
    }
    this.pos = 0;
    this.size = 0;
    return out;
  }
};
var ValueEncoder = class {
  version;
  limits;
  compression;
  compact;
  fieldExpiry;
  constructor(options = {}) {
    const target = options.target ?? 11;
    if (![9, 10, 11, 'VALKEY080'].includes(target)) {
      throw new RdbError('ERR_RDB_BAD_RECORD', `unsupported target ${String(target)}`, {
        hint: 'Use 9, 10, 11 or "VALKEY080"',
      });
    }
    this.version = targetVersion(target);
    this.limits = { ...DEFAULT_ENCODING_LIMITS, ...options.limits };
    this.compression = options.compression !== false;
    this.compact = options.compact !== false;
    this.fieldExpiry = options.fieldExpiry ?? 'error';
  }
  len(out, n) {
    if (typeof n === 'number' && n < 64) out.u8(n);
    else if (typeof n === 'number' && n < 16384) {
      out.u8(64 | (n >> 8));
      out.u8(n & 255);
    } else if (n <= 4294967295) {
      const b = Buffer.allocUnsafe(5);
      b[0] = 128;
      b.writeUInt32BE(Number(n), 1);
      out.raw(b);
    } else {
      const b = Buffer.allocUnsafe(9);
      b[0] = 129;
      b.writeBigUInt64BE(BigInt(n), 1);
      out.raw(b);
    }
  }
  string(out, s) {
    const n = s.length;
    if (n <= 11 && n > 0) {
      const v = parseCanonicalInt64(s);
      if (v !== null && v >= -2147483648n && v <= 2147483647n) {
        const x = Number(v);
        if (x >= -128 && x <= 127) {
          out.u8(192);
          out.u8(x & 255);
        } else if (x >= -32768 && x <= 32767) {
          const b = Buffer.allocUnsafe(3);
          b[0] = 193;
          b.writeInt16LE(x, 1);
          out.raw(b);
        } else {
          const b = Buffer.allocUnsafe(5);
          b[0] = 194;
          b.writeInt32LE(x, 1);
          out.raw(b);
        }
        return;
      }
    }
    if (this.compression && n > 20) {
      const c = lzfCompress(s, n - 4);
      if (c) {
        out.u8(195);
        this.len(out, c.length);
        this.len(out, n);
        out.raw(c);
        return;
      }
    }
    this.len(out, n);
    out.raw(s);
  }
  millis(out, ms) {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64LE(BigInt(Math.trunc(ms)), 0);
    out.raw(b);
  }
  /** Writes the value body and returns its type byte. `key` is only used in error messages. */
  value(out, v, key) {
    switch (v.type) {
      case 'string':
        this.string(out, v.value);
        return RdbType.STRING;
      case 'list':
        return this.list(out, v);
      case 'set':
        this.unique(v.members, 'set member', key);
        return this.set(out, v);
      case 'zset':
        this.unique(
          v.entries.map((e) => e.member),
          'zset member',
          key,
        );
        for (const e of v.entries) if (Number.isNaN(e.score)) this.bad('zset score is NaN', key);
        return this.zset(out, v);
      case 'hash':
        this.unique(
          v.entries.map((e) => e.field),
          'hash field',
          key,
        );
        return this.hash(out, v, key);
      case 'stream':
        this.checkStream(v, key);
        return this.stream(out, v);
      case 'module':
        out.raw(v.raw);
        return RdbType.MODULE_2;
      default:
        throw new RdbError('ERR_RDB_BAD_RECORD', `unknown value type ${v.type}`);
    }
  }
  list(out, v) {
    if (this.version < 10 || !this.compact) {
      this.len(out, v.items.length);
      for (const item of v.items) this.string(out, item);
      return RdbType.LIST;
    }
    const sizeLimit = this.limits.listMaxListpackSize;
    const maxBytes = sizeLimit < 0 ? 4096 * 2 ** (Math.min(5, -sizeLimit) - 1) : Number.POSITIVE_INFINITY;
    const maxEntries = sizeLimit > 0 ? sizeLimit : Number.POSITIVE_INFINITY;
    const nodes = [];
    let lp = null;
    for (const item of v.items) {
      if (item.length >= PLAIN_NODE_THRESHOLD) {
        nodes.push({ plain: item });
        lp = null;
        continue;
      }
      if (lp && (lp.count >= maxEntries || lp.size + item.length + 11 > maxBytes)) lp = null;
      if (!lp) {
        lp = new ListpackBuilder();
        nodes.push({ lp });
      }
      lp.append(item);
    }
    this.len(out, nodes.length);
    for (const node of nodes) {
      if ('plain' in node) {
        this.len(out, 1);
        this.string(out, node.plain);
      } else {
        this.len(out, 2);
        this.string(out, node.lp.finish());
      }
    }
    return RdbType.LIST_QUICKLIST_2;
  }
  /** A record the server could not load (it refuses duplicates, NaN scores, inconsistent PELs). */
  bad(message, key) {
    throw new RdbError('ERR_RDB_BAD_RECORD', message, {
      ...(key ? { details: { key: displayBytes(key) } } : {}),
      hint: 'valkey-server would refuse to load this; fix the input records',
    });
  }
  unique(items, what, key) {
    if (items.length < 2) return;
    const seen = /* @__PURE__ */ new Set();
    for (const b of items) {
      const s = b.toString('latin1');
      if (seen.has(s)) this.bad(`duplicate ${what} ${JSON.stringify(displayBytes(b))}`, key);
      seen.add(s);
    }
  }
  checkStream(v, key) {
    const idText2 = (id) => `${id.ms}-${id.seq}`;
    const after = (a, b) => a.ms > b.ms || (a.ms === b.ms && a.seq > b.seq);
    let prev;
    for (const e of v.entries) {
      if (prev && !after(e.id, prev))
        this.bad(`stream entry ids are not increasing at ${idText2(e.id)}`, key);
      prev = e.id;
    }
    if (prev && after(prev, v.lastId))
      this.bad(`stream last id ${idText2(v.lastId)} is below the last entry ${idText2(prev)}`, key);
    for (const g of v.groups) {
      const owners = /* @__PURE__ */ new Map();
      for (const p of g.pending) owners.set(idText2(p.id), p.consumer.toString('latin1'));
      const names = new Set(g.consumers.map((c) => c.name.toString('latin1')));
      for (const [id, owner] of owners) {
        if (!names.has(owner))
          this.bad(
            `group ${JSON.stringify(displayBytes(g.name))}: pending entry ${id} belongs to no consumer of the group`,
            key,
          );
      }
      for (const c of g.consumers) {
        for (const id of c.pending) {
          if (owners.get(idText2(id)) !== c.name.toString('latin1')) {
            this.bad(
              `group ${JSON.stringify(displayBytes(g.name))}: consumer ${JSON.stringify(displayBytes(c.name))} lists pending id ${idText2(id)} that the group PEL does not give it`,
              key,
            );
          }
        }
      }
    }
  }
  set(out, v) {
    const n = v.members.length;
    const L = this.limits;
    if (this.compact && n <= L.setMaxIntsetEntries) {
      const ints = [];
      for (const m of v.members) {
        const x = parseCanonicalInt64(m);
        if (x === null) break;
        ints.push(x);
      }
      if (ints.length === n) {
        ints.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        let width = 2;
        for (const x of ints) {
          if (x < -2147483648n || x > 2147483647n) width = 8;
          else if ((x < -32768n || x > 32767n) && width < 4) width = 4;
        }
        const blob = Buffer.allocUnsafe(8 + n * width);
        blob.writeUInt32LE(width, 0);
        blob.writeUInt32LE(n, 4);
        ints.forEach((x, i) => {
          const at = 8 + i * width;
          if (width === 2) blob.writeInt16LE(Number(x), at);
          else if (width === 4) blob.writeInt32LE(Number(x), at);
          else blob.writeBigInt64LE(x, at);
        });
        this.string(out, blob);
        return RdbType.SET_INTSET;
      }
    }
    if (
      this.compact &&
      this.version >= 11 &&
      n <= L.setMaxListpackEntries &&
      v.members.every((m) => m.length <= L.setMaxListpackValue)
    ) {
      const lp = new ListpackBuilder();
      for (const m of v.members) lp.append(m);
      this.string(out, lp.finish());
      return RdbType.SET_LISTPACK;
    }
    this.len(out, n);
    for (const m of v.members) this.string(out, m);
    return RdbType.SET;
  }
  zset(out, v) {
    const n = v.entries.length;
    const L = this.limits;
    const sorted = [...v.entries].sort((a, b2) =>
      a.score < b2.score ? -1 : a.score > b2.score ? 1 : Buffer.compare(a.member, b2.member),
    );
    if (
      this.compact &&
      this.version >= 10 &&
      n <= L.zsetMaxListpackEntries &&
      v.entries.every((e) => e.member.length <= L.zsetMaxListpackValue)
    ) {
      const lp = new ListpackBuilder();
      for (const e of sorted) {
        lp.append(e.member);
        const s = e.score;
        if (Number.isSafeInteger(s) && !Object.is(s, -0)) lp.appendInt(s);
        else lp.appendString(Buffer.from(scoreText(s)));
      }
      this.string(out, lp.finish());
      return RdbType.ZSET_LISTPACK;
    }
    this.len(out, n);
    const b = Buffer.allocUnsafe(8);
    for (let i = sorted.length - 1; i >= 0; i--) {
      const e = sorted[i];
      this.string(out, e.member);
      b.writeDoubleLE(e.score, 0);
      out.raw(b);
    }
    return RdbType.ZSET_2;
  }
  hash(out, v, key) {
    const n = v.entries.length;
    const L = this.limits;
    const withTtl = v.entries.some((e) => e.expiresAt !== void 0);
    if (withTtl && this.version >= 80) {
      this.len(out, n);
      for (const e of v.entries) {
        this.string(out, e.field);
        this.string(out, e.value);
        this.millis(out, e.expiresAt ?? -1);
      }
      return RdbType.HASH_2;
    }
    if (withTtl && this.fieldExpiry === 'error') {
      throw new RdbError(
        'ERR_RDB_UNSUPPORTED_VALUE',
        `hash ${key ? JSON.stringify(displayBytes(key)) : ''} has fields with a TTL, which RDB ${this.version} cannot store`,
        {
          ...(key ? { details: { key: displayBytes(key) } } : {}),
          hint: 'Write target "VALKEY080" (Valkey 9), or pass fieldExpiry: "drop" to write the fields without TTLs',
        },
      );
    }
    if (
      this.compact &&
      this.version >= 10 &&
      n <= L.hashMaxListpackEntries &&
      v.entries.every(
        (e) => e.field.length <= L.hashMaxListpackValue && e.value.length <= L.hashMaxListpackValue,
      )
    ) {
      const lp = new ListpackBuilder();
      for (const e of v.entries) {
        lp.append(e.field);
        lp.append(e.value);
      }
      this.string(out, lp.finish());
      return RdbType.HASH_LISTPACK;
    }
    this.len(out, n);
    for (const e of v.entries) {
      this.string(out, e.field);
      this.string(out, e.value);
    }
    return RdbType.HASH;
  }
  id(out, id) {
    this.len(out, id.ms);
    this.len(out, id.seq);
  }
  stream(out, v) {
    const type =
      this.version >= 11
        ? RdbType.STREAM_LISTPACKS_3
        : this.version >= 10
          ? RdbType.STREAM_LISTPACKS_2
          : RdbType.STREAM_LISTPACKS;
    const L = this.limits;
    const nodes = [];
    let bytes = 0;
    for (const e of v.entries) {
      const last = nodes.at(-1);
      const size = e.fields.reduce((s, [f, x]) => s + f.length + x.length + 4, 8);
      if (!last || last.entries.length >= L.streamNodeMaxEntries || bytes + size > L.streamNodeMaxBytes) {
        nodes.push({ master: e.id, entries: [e] });
        bytes = size;
      } else {
        last.entries.push(e);
        bytes += size;
      }
    }
    this.len(out, nodes.length);
    for (const node of nodes) {
      const key = Buffer.allocUnsafe(16);
      key.writeBigUInt64BE(node.master.ms, 0);
      key.writeBigUInt64BE(node.master.seq, 8);
      this.string(out, key);
      const masterFields = node.entries[0].fields.map(([f]) => f);
      const lp = new ListpackBuilder();
      lp.appendInt(node.entries.length);
      lp.appendInt(0);
      lp.appendInt(masterFields.length);
      for (const f of masterFields) lp.append(f);
      lp.appendInt(0);
      for (const e of node.entries) {
        const same =
          e.fields.length === masterFields.length && e.fields.every(([f], i) => f.equals(masterFields[i]));
        lp.appendInt(same ? 2 : 0);
        lp.appendInt(e.id.ms - node.master.ms);
        lp.appendInt(e.id.seq - node.master.seq);
        if (same) {
          for (const [, x] of e.fields) lp.append(x);
          lp.appendInt(e.fields.length + 3);
        } else {
          lp.appendInt(e.fields.length);
          for (const [f, x] of e.fields) {
            lp.append(f);
            lp.append(x);
          }
          lp.appendInt(e.fields.length * 2 + 4);
        }
      }
      this.string(out, lp.finish());
    }
    const length = BigInt(v.entries.length);
    this.len(out, length);
    this.id(out, v.lastId);
    const zero = { ms: 0n, seq: 0n };
    if (type !== RdbType.STREAM_LISTPACKS) {
      this.id(out, v.firstId ?? v.entries[0]?.id ?? zero);
      this.id(out, v.maxDeletedId ?? zero);
      this.len(out, v.entriesAdded ?? length);
    }
    this.len(out, v.groups.length);
    const cmp = (a, b) => (a.ms < b.ms ? -1 : a.ms > b.ms ? 1 : a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0);
    const rawId = (id) => {
      const b = Buffer.allocUnsafe(16);
      b.writeBigUInt64BE(id.ms, 0);
      b.writeBigUInt64BE(id.seq, 8);
      out.raw(b);
    };
    for (const g of v.groups) {
      this.string(out, g.name);
      this.id(out, g.lastId);
      if (type !== RdbType.STREAM_LISTPACKS) this.len(out, g.entriesRead ?? U64_MAX3);
      const pel = [...g.pending].sort((a, b) => cmp(a.id, b.id));
      this.len(out, pel.length);
      for (const p of pel) {
        rawId(p.id);
        this.millis(out, p.deliveryTime);
        this.len(out, p.deliveryCount);
      }
      this.len(out, g.consumers.length);
      for (const c of g.consumers) {
        this.string(out, c.name);
        this.millis(out, c.seenTime);
        if (type === RdbType.STREAM_LISTPACKS_3) this.millis(out, c.activeTime ?? c.seenTime);
        const cpel = pel.filter((p) => p.consumer.equals(c.name)).map((p) => p.id);
        this.len(out, cpel.length);
        for (const id of cpel) rawId(id);
      }
    }
    return type;
  }
  /** Encodes one value into a standalone buffer; returns the type byte and the body. */
  scratch = new Out();
  encode(v, key) {
    const out = this.scratch;
    const type = this.value(out, v, key);
    return { type, body: out.take() };
  }
};
function scoreText(s) {
  if (s === Infinity) return 'inf';
  if (s === -Infinity) return '-inf';
  if (Object.is(s, -0)) return '-0';
  return String(s);
}
function emptyPartialValue(type) {
  const value = emptyValue(type);
  if (!value) throw new RdbError('ERR_RDB_BAD_RECORD', `a ${type} value cannot be delivered in parts`);
  return value;
}
async function* writeRdb(records, options = {}) {
  const enc = new ValueEncoder(options);
  const out = new Out();
  const crc = options.checksum === false ? null : new Crc64();
  const chunkBytes = options.chunkBytes ?? 65536;
  const keepAux = options.keepAux !== false;
  const keepLruLfu = options.keepLruLfu !== false;
  const progressEvery = options.progressEvery ?? 1e4;
  let keys = 0;
  let total = 0;
  const drain = () => {
    const b = out.take();
    crc?.update(b);
    total += b.length;
    return b;
  };
  const magic =
    enc.version >= 80
      ? `VALKEY${String(enc.version).padStart(3, '0')}`
      : `REDIS${String(enc.version).padStart(4, '0')}`;
  out.raw(Buffer.from(magic, 'latin1'));
  const aux = (k, v) => {
    out.u8(RdbOpcode.AUX);
    enc.string(out, k);
    enc.string(out, v);
  };
  for (const [k, v] of Object.entries(options.aux ?? {}))
    aux(Buffer.from(k), typeof v === 'string' ? Buffer.from(v) : v);
  let currentDb = -1;
  let announcedDb = -1;
  let pendingResize = null;
  let partial = null;
  let streaming = null;
  const L = enc.limits;
  const streamAbove = {
    string: 1 << 20,
    list: 1024,
    set: Math.max(L.setMaxIntsetEntries, L.setMaxListpackEntries),
    zset: L.zsetMaxListpackEntries,
    hash: L.hashMaxListpackEntries,
  };
  const f64 = Buffer.alloc(8);
  const writePart = (v) => {
    switch (v.type) {
      case 'string':
        out.raw(v.value);
        return v.value.length;
      case 'list':
        for (const x of v.items) enc.string(out, x);
        return v.items.length;
      case 'set':
        for (const x of v.members) enc.string(out, x);
        return v.members.length;
      case 'zset':
        for (const e of v.entries) {
          enc.string(out, e.member);
          f64.writeDoubleLE(e.score, 0);
          out.raw(f64);
        }
        return v.entries.length;
      case 'hash':
        for (const e of v.entries) {
          if (e.expiresAt !== void 0 && enc.version < 80 && enc.fieldExpiry === 'error') {
            throw new RdbError(
              'ERR_RDB_UNSUPPORTED_VALUE',
              `hash ${JSON.stringify(displayBytes(streaming.key))} has fields with a TTL, which RDB ${enc.version} cannot store`,
              {
                details: { key: displayBytes(streaming.key) },
                hint: 'Write target "VALKEY080" (Valkey 9), or pass fieldExpiry: "drop" to write the fields without TTLs',
              },
            );
          }
          enc.string(out, e.field);
          enc.string(out, e.value);
          if (enc.version >= 80) enc.millis(out, e.expiresAt ?? -1);
        }
        return v.entries.length;
      default:
        throw new RdbError('ERR_RDB_BAD_RECORD', `a ${v.type} value cannot be streamed`);
    }
  };
  const seen = options.checkDuplicateKeys ? /* @__PURE__ */ new Set() : null;
  const writePrefix = (r) => {
    if (seen) {
      const id = `${r.db}:${r.key.toString('latin1')}`;
      if (seen.has(id)) {
        throw new RdbError('ERR_RDB_BAD_RECORD', `duplicate key in db ${r.db}`, {
          details: { key: displayBytes(r.key), db: r.db },
          hint: 'valkey-server refuses an RDB with duplicate keys; de-duplicate the input',
        });
      }
      seen.add(id);
    }
    if (r.db !== currentDb) {
      out.u8(RdbOpcode.SELECTDB);
      enc.len(out, r.db);
      if (pendingResize && pendingResize.db === r.db) {
        out.u8(RdbOpcode.RESIZEDB);
        enc.len(out, pendingResize.dbSize);
        enc.len(out, pendingResize.expiresSize);
      }
      pendingResize = null;
      currentDb = r.db;
    }
    if (r.expiresAt !== void 0) {
      out.u8(RdbOpcode.EXPIRETIME_MS);
      enc.millis(out, r.expiresAt);
    }
    if (keepLruLfu && r.lruIdle !== void 0) {
      out.u8(RdbOpcode.IDLE);
      enc.len(out, r.lruIdle);
    }
    if (keepLruLfu && r.lfuFreq !== void 0) {
      out.u8(RdbOpcode.FREQ);
      out.u8(r.lfuFreq & 255);
    }
  };
  const writeKey = (r) => {
    if (isEmptyCollection(r.value)) return;
    writePrefix(r);
    const { type, body: body2 } = enc.encode(r.value, r.key);
    out.u8(type);
    enc.string(out, r.key);
    out.raw(body2);
    keys++;
    if (options.onProgress && keys % progressEvery === 0)
      options.onProgress({ keys, bytes: total + out.size });
  };
  for await (const r of records) {
    switch (r.kind) {
      case 'key':
        writeKey(r);
        break;
      case 'key-begin': {
        const { kind: _k, type, elements, ...rest } = r;
        const above = streamAbove[type];
        if (elements !== void 0 && above !== void 0 && elements > above) {
          writePrefix(rest);
          out.u8(
            type === 'string'
              ? RdbType.STRING
              : type === 'list'
                ? RdbType.LIST
                : type === 'set'
                  ? RdbType.SET
                  : type === 'zset'
                    ? RdbType.ZSET_2
                    : enc.version >= 80
                      ? RdbType.HASH_2
                      : RdbType.HASH,
          );
          enc.string(out, r.key);
          enc.len(out, elements);
          streaming = { key: r.key, type, declared: elements, written: 0 };
        } else {
          partial = { rec: rest, value: emptyPartialValue(type) };
        }
        break;
      }
      case 'key-part':
        if (streaming) {
          if (r.value.type !== streaming.type) {
            throw new RdbError(
              'ERR_RDB_BAD_RECORD',
              `key-part of type ${r.value.type} inside a ${streaming.type} key`,
            );
          }
          streaming.written += writePart(r.value);
          if (streaming.written > streaming.declared) {
            throw new RdbError(
              'ERR_RDB_BAD_RECORD',
              `key ${JSON.stringify(displayBytes(streaming.key))} declared ${streaming.declared} elements but more arrived`,
            );
          }
          break;
        }
        if (!partial) throw new RdbError('ERR_RDB_BAD_RECORD', 'key-part record without a key-begin');
        appendValueElements(partial.value, r.value);
        break;
      case 'key-end':
        if (streaming) {
          if (streaming.written !== streaming.declared) {
            throw new RdbError(
              'ERR_RDB_BAD_RECORD',
              `key ${JSON.stringify(displayBytes(streaming.key))} declared ${streaming.declared} elements but ${streaming.written} arrived`,
            );
          }
          streaming = null;
          keys++;
          break;
        }
        if (!partial) throw new RdbError('ERR_RDB_BAD_RECORD', 'key-end record without a key-begin');
        if (partial.value.type === 'stream' && r.stream) Object.assign(partial.value, r.stream);
        writeKey({ ...partial.rec, value: partial.value });
        partial = null;
        break;
      case 'aux':
        if (keepAux) aux(r.key, r.value);
        break;
      case 'module-aux':
        out.u8(RdbOpcode.MODULE_AUX);
        out.raw(r.raw);
        break;
      case 'function':
        out.u8(RdbOpcode.FUNCTION2);
        enc.string(out, r.code);
        break;
      case 'select-db':
        announcedDb = r.db;
        break;
      case 'resize-db':
        if (announcedDb >= 0) pendingResize = { db: announcedDb, ...r };
        break;
      case 'slot-info':
        if (enc.version >= 80) {
          out.u8(RdbOpcode.SLOT_INFO);
          enc.len(out, r.slot);
          enc.len(out, r.slotSize);
          enc.len(out, r.expiresSlotSize);
        } else {
          aux(Buffer.from('slot-info'), Buffer.from(`${r.slot},${r.slotSize},${r.expiresSlotSize}`));
        }
        break;
      default:
        break;
    }
    if (out.size >= chunkBytes) yield drain();
  }
  if (partial)
    throw new RdbError('ERR_RDB_BAD_RECORD', 'the input ended inside a key delivered in parts (no key-end)');
  out.u8(RdbOpcode.EOF);
  const body = drain();
  const trailer = crc ? crc.digestBytes() : Buffer.alloc(8);
  total += 8;
  options.onProgress?.({ keys, bytes: total });
  yield Buffer.concat([body, trailer]);
}
function createRdbWriteStream(records, options = {}) {
  return Readable.from(writeRdb(records, options), { objectMode: false });
}
async function writeRdbFile(path, records, options = {}) {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  let result = { keys: 0, bytes: 0 };
  const onProgress = options.onProgress;
  try {
    await pipeline(
      Readable.from(
        writeRdb(records, {
          ...options,
          onProgress: (p) => {
            result = p;
            onProgress?.(p);
          },
        }),
      ),
      createWriteStream(tmp, { flush: true }),
    );
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return result;
}

// ../../tmp/vd-bench/after/packages/backup/src/live/backup.ts
import { rm } from 'node:fs/promises';

// ../../tmp/vd-bench/after/packages/backup/src/convert/atomic.ts
import { CoreError, partialPath, writeStreamAtomic } from '@valkey-tools/core';
async function writeFileAtomically(path, chunks, onBytes) {
  try {
    return await writeStreamAtomic(path, chunks, onBytes ? { onBytes } : {});
  } catch (err) {
    if (CoreError.hasCode(err, 'ERR_WRITE_FILE')) {
      throw new BackupError('ERR_INVALID_OPTION', err.message, {
        cause: err,
        details: { path },
      });
    }
    throw err;
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/convert/filter.ts
function globMatch(pattern, key) {
  return matchAt(pattern, 0, key, 0, 0);
}
function matchAt(p, pi, s, si, depth) {
  if (depth > 1e3) return false;
  while (pi < p.length && si <= s.length) {
    const c = p[pi];
    if (c === 42) {
      while (pi + 1 < p.length && p[pi + 1] === 42) pi++;
      if (pi + 1 === p.length) return true;
      for (let k = si; k <= s.length; k++) if (matchAt(p, pi + 1, s, k, depth + 1)) return true;
      return false;
    }
    if (si >= s.length) return false;
    if (c === 63) {
      si++;
      pi++;
      continue;
    }
    if (c === 91) {
      pi++;
      const not = p[pi] === 94;
      if (not) pi++;
      let matched = false;
      while (pi < p.length && p[pi] !== 93) {
        if (p[pi] === 92 && pi + 1 < p.length) {
          pi++;
          if (p[pi] === s[si]) matched = true;
        } else if (pi + 2 < p.length && p[pi + 1] === 45) {
          let lo = p[pi];
          let hi = p[pi + 2];
          if (lo > hi) [lo, hi] = [hi, lo];
          if (s[si] >= lo && s[si] <= hi) matched = true;
          pi += 2;
        } else if (p[pi] === s[si]) matched = true;
        pi++;
      }
      if (not) matched = !matched;
      if (!matched) return false;
      pi++;
      si++;
      continue;
    }
    if (c === 92 && pi + 1 < p.length) pi++;
    if (p[pi] !== s[si]) return false;
    pi++;
    si++;
  }
  while (pi < p.length && p[pi] === 42) pi++;
  return pi === p.length && si === s.length;
}
var TYPES = ['string', 'list', 'set', 'zset', 'hash', 'stream', 'module'];
function compileFilter(filter) {
  const types = filter.type === void 0 ? void 0 : Array.isArray(filter.type) ? filter.type : [filter.type];
  for (const t2 of types ?? []) {
    if (!TYPES.includes(t2)) {
      throw new BackupError('ERR_INVALID_OPTION', `unknown type filter "${t2}"`, {
        hint: `Use one of ${TYPES.join(', ')}`,
      });
    }
  }
  if (filter.db !== void 0 && (!Number.isInteger(filter.db) || filter.db < 0)) {
    throw new BackupError('ERR_INVALID_OPTION', `db must be a non-negative integer, got ${filter.db}`);
  }
  const pattern =
    filter.match === void 0
      ? void 0
      : Buffer.isBuffer(filter.match)
        ? filter.match
        : Buffer.from(filter.match);
  return {
    db: (db) => filter.db === void 0 || db === filter.db,
    key: (key) => pattern === void 0 || globMatch(pattern, key),
    type: (t2) => types === void 0 || types.includes(t2),
    any: filter.db !== void 0 || pattern !== void 0 || types !== void 0,
  };
}
function dumpPayloadType(payload) {
  return rdbTypeValueType(payload[0]);
}
function rdbTypeValueType(t2) {
  if (t2 === void 0) return void 0;
  if (t2 === 0) return 'string';
  if (t2 === 1 || t2 === 10 || t2 === 14 || t2 === 18) return 'list';
  if (t2 === 2 || t2 === 11 || t2 === 20) return 'set';
  if (t2 === 3 || t2 === 5 || t2 === 12 || t2 === 17) return 'zset';
  if (t2 === 4 || t2 === 9 || t2 === 13 || t2 === 16 || (t2 >= 22 && t2 <= 25)) return 'hash';
  if (t2 === 15 || t2 === 19 || t2 === 21) return 'stream';
  if (t2 === 6 || t2 === 7) return 'module';
  return void 0;
}
function commandValueType(args) {
  switch (args[0]?.toString('latin1').toUpperCase()) {
    case 'SET':
      return 'string';
    case 'RPUSH':
      return 'list';
    case 'SADD':
      return 'set';
    case 'ZADD':
      return 'zset';
    case 'HSET':
    case 'HMSET':
      return 'hash';
    case 'XADD':
      return 'stream';
    case 'RESTORE':
      return args[3] ? dumpPayloadType(args[3]) : void 0;
    default:
      return void 0;
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/convert/formats.ts
var BY_EXTENSION = [
  [/\.rdb$/i, 'rdb'],
  [/\.(valkey|resp)$/i, 'resp'],
  [/\.(txt|valkey\.txt|commands)$/i, 'readable'],
  [/\.(jsonl|ndjson)$/i, 'jsonl'],
  [/\.(aof|manifest)$/i, 'aof'],
];
function formatFromPath(path, role) {
  for (const [re, f] of BY_EXTENSION) {
    if (re.test(path)) {
      if (role === 'output' && f === 'aof') break;
      return f;
    }
  }
  throw new BackupError('ERR_FORMAT', `cannot tell the ${role} format of "${path}" from its name`, {
    details: { path },
    hint:
      role === 'input'
        ? 'Name it .rdb, .valkey/.resp, .txt (readable), .jsonl or .aof (or a multi-part AOF directory), or pass `from`'
        : 'Name it .rdb, .valkey/.resp, .txt (readable) or .jsonl, or pass `to`',
  });
}
function checkOutputFormat(f) {
  if (f === 'rdb' || f === 'resp' || f === 'readable' || f === 'jsonl') return f;
  throw new BackupError('ERR_FORMAT', `"${f}" is not an output format`, {
    hint: 'Use rdb, resp, readable or jsonl',
  });
}

// ../../tmp/vd-bench/after/packages/backup/src/rdb/dump.ts
function targetFor(version) {
  if (version >= 80) return 'VALKEY080';
  if (version >= 11) return 11;
  if (version === 10) return 10;
  return 9;
}
function encodeDumpPayload(value, options = {}) {
  const version = options.rdbVersion ?? 11;
  if (!Number.isInteger(version) || version < 1 || version > 65535) {
    throw new RdbError('ERR_RDB_BAD_PAYLOAD', `invalid DUMP payload RDB version ${version}`);
  }
  const { rdbVersion: _v, ...rest } = options;
  const { type, body } = new ValueEncoder({ ...rest, target: targetFor(version) }).encode(value);
  return dumpPayload(type, body, version);
}
function dumpPayload(type, body, version) {
  const out = Buffer.allocUnsafe(1 + body.length + 10);
  out[0] = type;
  out.set(body, 1);
  out.writeUInt16LE(version, 1 + body.length);
  new Crc64()
    .update(out, 0, out.length - 8)
    .digestBytes()
    .copy(out, out.length - 8);
  return out;
}
async function decodeDumpPayload(payload, options = {}) {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < 11) {
    throw new RdbError(
      'ERR_RDB_BAD_PAYLOAD',
      `DUMP payload of ${buf.length} bytes is too short (type + value + 10-byte footer)`,
      {
        hint: 'Read DUMP replies as raw bytes (e.g. callBuffer / returnBuffers); decoding them as UTF-8 corrupts them',
      },
    );
  }
  const rdbVersion = buf.readUInt16LE(buf.length - 10);
  if (options.checksum !== false) {
    const stored = buf.readBigUInt64LE(buf.length - 8);
    const computed = crc64(buf.subarray(0, buf.length - 8));
    if (stored !== computed) {
      throw new RdbError('ERR_RDB_CHECKSUM', 'DUMP payload checksum mismatch', {
        details: { offset: buf.length - 8 },
        hint: 'The payload was altered, e.g. decoded as UTF-8 text; read DUMP replies as raw bytes',
      });
    }
  }
  const type = buf[0];
  const { value, encoding } = await decodeValue(buf.subarray(1, buf.length - 10), type, rdbVersion, options);
  return { value, type, encoding, rdbVersion };
}

// ../../tmp/vd-bench/after/packages/backup/src/jsonl/jsonl.ts
import { StringDecoder } from 'node:string_decoder';
function bytesToJson(b) {
  const text2 = bytesToText(b);
  return text2 !== null ? text2 : { $b64: b.toString('base64') };
}
var idText = (id) => `${id.ms}-${id.seq}`;
function scoreToJson(s) {
  if (s === Infinity) return 'inf';
  if (s === -Infinity) return '-inf';
  if (Object.is(s, -0)) return '-0';
  return s;
}
function streamMeta(v) {
  const out = { length: String(v.length), lastId: idText(v.lastId) };
  if (v.firstId) out.firstId = idText(v.firstId);
  if (v.maxDeletedId) out.maxDeletedId = idText(v.maxDeletedId);
  if (v.entriesAdded !== void 0) out.entriesAdded = String(v.entriesAdded);
  out.groups = v.groups.map((g) => {
    const o = { name: bytesToJson(g.name), lastId: idText(g.lastId) };
    if (g.entriesRead !== void 0) o.entriesRead = String(g.entriesRead);
    o.pending = g.pending.map((p) => [
      idText(p.id),
      bytesToJson(p.consumer),
      p.deliveryTime,
      p.deliveryCount,
    ]);
    o.consumers = g.consumers.map((c) => {
      const co = { name: bytesToJson(c.name), seenTime: c.seenTime };
      if (c.activeTime !== void 0) co.activeTime = c.activeTime;
      co.pending = c.pending.map(idText);
      return co;
    });
    return o;
  });
  return out;
}
function streamEntriesToJson(entries) {
  return entries.map((e) => [idText(e.id), e.fields.flatMap(([f, v]) => [bytesToJson(f), bytesToJson(v)])]);
}
function valueToJson(v, withStreamMeta = true) {
  switch (v.type) {
    case 'string':
      return bytesToJson(v.value);
    case 'list':
      return v.items.map(bytesToJson);
    case 'set':
      return v.members.map(bytesToJson);
    case 'zset':
      return v.entries.map((e) => [bytesToJson(e.member), scoreToJson(e.score)]);
    case 'hash':
      return v.entries.map((e) =>
        e.expiresAt === void 0
          ? [bytesToJson(e.field), bytesToJson(e.value)]
          : [bytesToJson(e.field), bytesToJson(e.value), e.expiresAt],
      );
    case 'stream':
      return withStreamMeta
        ? { entries: streamEntriesToJson(v.entries), ...streamMeta(v) }
        : { entries: streamEntriesToJson(v.entries) };
    case 'module':
      return {
        moduleId: String(v.moduleId),
        moduleName: v.moduleName,
        encodingVersion: v.encodingVersion,
        raw: bytesToJson(v.raw),
      };
  }
}
function keyRecordToJson(r) {
  const o = {
    db: r.db,
    key: bytesToJson(r.key),
    type: r.value.type,
    value: valueToJson(r.value),
  };
  if (r.expiresAt !== void 0) o.expiresAt = r.expiresAt;
  if (r.lruIdle !== void 0) o.lruIdle = r.lruIdle;
  if (r.lfuFreq !== void 0) o.lfuFreq = r.lfuFreq;
  return JSON.stringify(o);
}
async function* recordsToJsonl(records, options = {}) {
  let begin = null;
  let first = true;
  for await (const r of records) {
    switch (r.kind) {
      case 'key':
        yield `${keyRecordToJson(r)}
`;
        break;
      case 'function':
        if (options.functions !== false)
          yield `${JSON.stringify({ function: bytesToJson(r.code) })}
`;
        break;
      case 'key-begin':
        begin = r;
        first = true;
        break;
      case 'key-part': {
        if (!begin) throw new RdbError('ERR_RDB_BAD_RECORD', 'key-part record without a key-begin');
        if (first) {
          const o = {
            db: begin.db,
            key: bytesToJson(begin.key),
            type: r.value.type,
            value: valueToJson(r.value, false),
          };
          if (begin.expiresAt !== void 0) o.expiresAt = begin.expiresAt;
          if (begin.lruIdle !== void 0) o.lruIdle = begin.lruIdle;
          if (begin.lfuFreq !== void 0) o.lfuFreq = begin.lfuFreq;
          yield `${JSON.stringify(o)}
`;
          first = false;
        } else {
          yield `${JSON.stringify({ db: r.db, key: bytesToJson(r.key), type: r.value.type, append: true, value: valueToJson(r.value, false) })}
`;
        }
        break;
      }
      case 'key-end':
        if (begin && r.stream) {
          yield `${JSON.stringify({ db: r.db, key: bytesToJson(r.key), type: 'stream', append: true, value: { entries: [], ...streamMeta(r.stream) } })}
`;
        } else if (begin && first) {
          const { kind: _k, type, encoding: _e, ...meta } = begin;
          yield `${keyRecordToJson({ ...meta, value: emptyValue(type) ?? emptyValue('stream') })}
`;
        }
        begin = null;
        break;
      default:
        break;
    }
  }
}
var LineError = class extends Error {};
function bytesFromJson(j, what) {
  if (typeof j === 'string') return Buffer.from(j, 'utf8');
  if (j && typeof j === 'object' && typeof j.$b64 === 'string') return Buffer.from(j.$b64, 'base64');
  throw new LineError(`${what} must be a string or {"$b64": ...}`);
}
function arr(j, what) {
  if (!Array.isArray(j)) throw new LineError(`${what} must be an array`);
  return j;
}
function num(j, what) {
  if (typeof j !== 'number' || !Number.isFinite(j)) throw new LineError(`${what} must be a number`);
  return j;
}
function big(j, what) {
  if (
    (typeof j === 'string' && /^\d+$/.test(j)) ||
    (typeof j === 'number' && Number.isSafeInteger(j) && j >= 0)
  )
    return BigInt(j);
  throw new LineError(`${what} must be an unsigned integer (string)`);
}
function idFromJson(j, what) {
  if (typeof j !== 'string') throw new LineError(`${what} must be a "ms-seq" string`);
  const m = /^(\d+)-(\d+)$/.exec(j);
  if (!m) throw new LineError(`${what} must be a "ms-seq" string, got ${JSON.stringify(j)}`);
  return { ms: BigInt(m[1]), seq: BigInt(m[2]) };
}
function scoreFromJson(j) {
  if (j === 'inf' || j === '+inf') return Infinity;
  if (j === '-inf') return -Infinity;
  if (j === '-0') return -0;
  return num(j, 'zset score');
}
function streamFromJson(o) {
  const entries = arr(o.entries ?? [], 'stream entries').map((e) => {
    const [id, kv] = arr(e, 'stream entry');
    const flat = arr(kv, 'stream entry fields');
    if (flat.length % 2) throw new LineError('stream entry fields must be field/value pairs');
    const fields = [];
    for (let i = 0; i < flat.length; i += 2)
      fields.push([bytesFromJson(flat[i], 'stream field'), bytesFromJson(flat[i + 1], 'stream value')]);
    return { id: idFromJson(id, 'stream entry id'), fields };
  });
  if (o.lastId === void 0)
    return { type: 'stream', entries, length: 0n, lastId: { ms: 0n, seq: 0n }, groups: [] };
  const v = {
    type: 'stream',
    entries,
    length: big(o.length ?? String(entries.length), 'stream length'),
    lastId: idFromJson(o.lastId, 'stream lastId'),
    groups: arr(o.groups ?? [], 'stream groups').map((gj) => {
      const g = gj;
      const group = {
        name: bytesFromJson(g.name, 'group name'),
        lastId: idFromJson(g.lastId, 'group lastId'),
        pending: arr(g.pending ?? [], 'group pending').map((pj) => {
          const [id, consumer, deliveryTime, deliveryCount] = arr(pj, 'pending entry');
          return {
            id: idFromJson(id, 'pending id'),
            consumer: bytesFromJson(consumer, 'pending consumer'),
            deliveryTime: num(deliveryTime, 'delivery time'),
            deliveryCount: num(deliveryCount, 'delivery count'),
          };
        }),
        consumers: arr(g.consumers ?? [], 'group consumers').map((cj) => {
          const c = cj;
          return {
            name: bytesFromJson(c.name, 'consumer name'),
            seenTime: num(c.seenTime, 'consumer seenTime'),
            ...(c.activeTime !== void 0 ? { activeTime: num(c.activeTime, 'consumer activeTime') } : {}),
            pending: arr(c.pending ?? [], 'consumer pending').map((x) =>
              idFromJson(x, 'consumer pending id'),
            ),
          };
        }),
      };
      if (g.entriesRead !== void 0) group.entriesRead = big(g.entriesRead, 'group entriesRead');
      return group;
    }),
  };
  if (o.firstId !== void 0) v.firstId = idFromJson(o.firstId, 'stream firstId');
  if (o.maxDeletedId !== void 0) v.maxDeletedId = idFromJson(o.maxDeletedId, 'stream maxDeletedId');
  if (o.entriesAdded !== void 0) v.entriesAdded = big(o.entriesAdded, 'stream entriesAdded');
  return v;
}
function valueFromJson(type, j) {
  switch (type) {
    case 'string':
      return { type, value: bytesFromJson(j, 'string value') };
    case 'list':
      return { type, items: arr(j, 'list value').map((x) => bytesFromJson(x, 'list item')) };
    case 'set':
      return { type, members: arr(j, 'set value').map((x) => bytesFromJson(x, 'set member')) };
    case 'zset':
      return {
        type,
        entries: arr(j, 'zset value').map((e) => {
          const [m, s] = arr(e, 'zset entry');
          return { member: bytesFromJson(m, 'zset member'), score: scoreFromJson(s) };
        }),
      };
    case 'hash':
      return {
        type,
        entries: arr(j, 'hash value').map((e) => {
          const [f, v, ttl] = arr(e, 'hash entry');
          const entry = {
            field: bytesFromJson(f, 'hash field'),
            value: bytesFromJson(v, 'hash value'),
          };
          if (ttl !== void 0 && ttl !== null) entry.expiresAt = num(ttl, 'hash field expiry');
          return entry;
        }),
      };
    case 'stream':
      if (!j || typeof j !== 'object' || Array.isArray(j))
        throw new LineError('stream value must be an object');
      return streamFromJson(j);
    case 'module': {
      const o = j;
      if (!o || typeof o !== 'object') throw new LineError('module value must be an object');
      return {
        type,
        moduleId: big(o.moduleId, 'moduleId'),
        moduleName: String(o.moduleName ?? ''),
        encodingVersion: num(o.encodingVersion ?? 0, 'encodingVersion'),
        raw: bytesFromJson(o.raw, 'module raw'),
      };
    }
    default:
      throw new LineError(`unknown type ${JSON.stringify(type)}`);
  }
}
function encodingFor(v) {
  return v.type === 'string'
    ? 'string'
    : v.type === 'module'
      ? 'module2'
      : v.type === 'stream'
        ? 'stream-listpacks3'
        : 'jsonl';
}
function appendTo(into, part) {
  if (!appendValueElements(into, part))
    throw new LineError(`an append line of type ${part.type} does not match the key's type ${into.type}`);
  if (into.type === 'stream' && part.type === 'stream') {
    const { entries: _e, ...meta } = part;
    if (part.lastId.ms !== 0n || part.lastId.seq !== 0n || part.groups.length) Object.assign(into, meta);
  }
}
var MAX_JSONL_LINE_CHARS = 256 * 1024 * 1024;
async function* jsonlToRecords(input, options = {}) {
  const maxLineChars = options.maxLineChars ?? MAX_JSONL_LINE_CHARS;
  const decoder = new StringDecoder('utf8');
  let lineNo = 0;
  let pending = null;
  const parse = (line) => {
    lineNo++;
    if (line.trim() === '') return null;
    try {
      const o = JSON.parse(line);
      if (!o || typeof o !== 'object' || Array.isArray(o))
        throw new LineError('a line must be a JSON object');
      if (o.function !== void 0) return { kind: 'function', code: bytesFromJson(o.function, 'function') };
      const db = o.db ?? 0;
      if (typeof db !== 'number' || !Number.isSafeInteger(db) || db < 0)
        throw new LineError('db must be a non-negative integer');
      const key = bytesFromJson(o.key, 'key');
      const value = valueFromJson(o.type, o.value);
      if (o.append === true) {
        if (!pending || pending.db !== db || !pending.key.equals(key))
          throw new LineError('an "append" line must follow a line for the same key');
        appendTo(pending.value, value);
        return 'appended';
      }
      const rec = { kind: 'key', db, key, encoding: encodingFor(value), value };
      if (o.expiresAt !== void 0) rec.expiresAt = num(o.expiresAt, 'expiresAt');
      if (o.lruIdle !== void 0) rec.lruIdle = num(o.lruIdle, 'lruIdle');
      if (o.lfuFreq !== void 0) rec.lfuFreq = num(o.lfuFreq, 'lfuFreq');
      return rec;
    } catch (err) {
      const reason = err instanceof LineError || err instanceof SyntaxError ? err.message : String(err);
      throw new RdbError('ERR_JSONL_PARSE', `invalid JSONL: ${reason}`, {
        details: { line: lineNo },
        cause: err,
      });
    }
  };
  function* handle(line) {
    const r = parse(line);
    if (r === null || r === 'appended') return;
    if (pending) yield pending;
    pending = null;
    if (r.kind === 'key') pending = r;
    else yield r;
  }
  let pieces = [];
  let pendingChars = 0;
  const tooLong = () =>
    new RdbError(
      'ERR_JSONL_PARSE',
      `invalid JSONL: line ${lineNo + 1} is longer than ${maxLineChars} characters`,
      {
        details: { line: lineNo + 1 },
        hint: 'Write big keys as several lines ("append": true), as recordsToJsonl does',
      },
    );
  for await (const chunk of input) {
    const text2 =
      typeof chunk === 'string'
        ? chunk
        : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    let start = 0;
    let nl = text2.indexOf('\n');
    while (nl !== -1) {
      if (pendingChars + (nl - start) > maxLineChars) throw tooLong();
      pieces.push(text2.slice(start, nl));
      const line = pieces.length === 1 ? pieces[0] : pieces.join('');
      pieces = [];
      pendingChars = 0;
      yield* handle(line);
      start = nl + 1;
      nl = text2.indexOf('\n', start);
    }
    if (start < text2.length) {
      pendingChars += text2.length - start;
      if (pendingChars > maxLineChars) throw tooLong();
      pieces.push(text2.slice(start));
    }
  }
  const rest = pieces.join('') + decoder.end();
  if (rest !== '') yield* handle(rest);
  if (pending) yield pending;
}

// ../../tmp/vd-bench/after/packages/backup/src/convert/rdb-bridge.ts
var rdbAvailable = true;
function readRdbRecords(input, options = {}) {
  const opts = {
    ...(options.file === void 0 ? {} : { file: options.file }),
    ...(options.chunked ? { chunked: true } : {}),
    onWarning: (w) => {
      if (w.code === 'trailing-data') options.onTrailingData?.(w.offset);
    },
  };
  return typeof input === 'string' ? readRdbFile(input, opts) : readRdb(input, opts);
}
function writeRdbChunks(records, options = {}) {
  return writeRdb(records, { target: options.target ?? 11 });
}
function encodeDump(record, rdbVersion = 11) {
  return encodeDumpPayload(record.value, { rdbVersion });
}
async function decodeDump(payload, key, db) {
  const d = await decodeDumpPayload(payload);
  return { kind: 'key', db, key, encoding: d.encoding, value: d.value };
}
async function* recordsToJsonlChunks(records) {
  let batch = [];
  let size = 0;
  for await (const line of recordsToJsonl(records)) {
    batch.push(line);
    size += line.length;
    if (size >= 64 * 1024) {
      yield Buffer.from(batch.join(''), 'utf8');
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) yield Buffer.from(batch.join(''), 'utf8');
}
function jsonlToRecordStream(input) {
  return jsonlToRecords(input);
}

// ../../tmp/vd-bench/after/packages/backup/src/convert/output.ts
function encodeRecords(records, format, options = {}) {
  const cmdOptions = { dumpPayload: encodeDump, ...options };
  switch (format) {
    case 'rdb':
      return writeRdbChunks(records);
    case 'jsonl':
      return recordsToJsonlChunks(records);
    case 'resp':
      return commandsToResp(
        recordsToCommands(records, cmdOptions),
        options.header ? { header: options.header } : {},
      );
    case 'readable':
      return commandsToReadable(
        recordsToCommands(records, cmdOptions),
        options.header ? { header: options.header } : {},
      );
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/rdb/inspect.ts
import { open as openFile, stat } from 'node:fs/promises';
import { createReadStream as createReadStream2, existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

// ../../tmp/vd-bench/after/packages/backup/src/rdb/fast-verify.ts
var GiveUp = class extends Error {};
var GIVE_UP = new GiveUp('fast verify gave up');
var NeedMore = class extends Error {};
var NEED_MORE = new NeedMore('need more input');
var giveUp = () => {
  throw GIVE_UP;
};
var MAX_SAFE2 = BigInt(Number.MAX_SAFE_INTEGER);
var INT_TEXT = /^-?\d+$/;
function parseScoreText2(b) {
  const s = b.toString('latin1').trim().toLowerCase();
  if (s === 'inf' || s === '+inf' || s === 'infinity' || s === '+infinity') return Infinity;
  if (s === '-inf' || s === '-infinity') return -Infinity;
  if (s === '') return Number.NaN;
  return Number(s);
}
var failContainer = () => giveUp();
var Walker = class {
  buf = Buffer.alloc(0);
  pos = 0;
  /** Absolute offset of buf[0]. */
  base = 0;
  /** True when buf holds everything up to the end of the input. */
  atEnd = false;
  /** Input size when known. */
  total;
  maxString;
  version = 0;
  flavor = 'redis';
  /** Set by len(): the length byte was a string encoding. */
  encoded = false;
  constructor(maxString) {
    this.maxString = maxString;
  }
  need(n) {
    if (this.buf.length - this.pos < n) {
      if (this.atEnd) giveUp();
      throw NEED_MORE;
    }
  }
  u8() {
    if (this.pos >= this.buf.length) this.need(1);
    return this.buf[this.pos++];
  }
  lenRaw() {
    const buf = this.buf;
    const b = this.u8();
    const kind = b >> 6;
    this.encoded = false;
    if (kind === 0) return b & 63;
    if (kind === 1) return ((b & 63) << 8) | this.u8();
    if (kind === 3) {
      this.encoded = true;
      return b & 63;
    }
    if (b === 128) {
      this.need(4);
      const v = buf.readUInt32BE(this.pos);
      this.pos += 4;
      return v;
    }
    if (b === 129) {
      this.need(8);
      const v = buf.readBigUInt64BE(this.pos);
      this.pos += 8;
      if (v > MAX_SAFE2) giveUp();
      return Number(v);
    }
    return giveUp();
  }
  len() {
    const n = this.lenRaw();
    if (this.encoded) giveUp();
    return n;
  }
  /** Count of items of at least minBytes each, checked against what is left. */
  count(minBytes = 1) {
    const n = this.len();
    if (this.total !== void 0 && n * minBytes > this.total - (this.base + this.pos)) giveUp();
    return n;
  }
  lenBig() {
    if (this.pos < this.buf.length && this.buf[this.pos] === 129) {
      this.need(9);
      this.pos += 9;
      return;
    }
    this.len();
  }
  checkLength(n) {
    if (n > this.maxString) giveUp();
    if (this.total !== void 0 && n > this.total - (this.base + this.pos)) giveUp();
  }
  /** Skips a string (validating LZF); returns nothing. */
  skipString() {
    const n = this.lenRaw();
    if (!this.encoded) {
      this.checkLength(n);
      this.need(n);
      this.pos += n;
      return;
    }
    this.encodedBody(n, false);
  }
  /** Skips a string by its lengths only (LZF data is not checked: shallow mode). */
  skipRaw() {
    const n = this.lenRaw();
    if (!this.encoded) this.skip(n);
    else if (n === 3) {
      const clen = this.len();
      this.len();
      this.skip(clen);
    } else if (n <= 2) this.skip(1 << n);
    else giveUp();
  }
  /** Reads a string: a view for plain strings (valid until the window moves), or decoded bytes. */
  string() {
    const n = this.lenRaw();
    if (!this.encoded) {
      this.checkLength(n);
      this.need(n);
      const p = this.pos;
      this.pos = p + n;
      return this.buf.subarray(p, p + n);
    }
    return this.encodedBody(n, true);
  }
  /** Bytes of the last `stringRange()`: rbuf[rs..re). */
  rbuf = this.buf;
  rs = 0;
  re = 0;
  /** Reused output of `stringRange(true)` for LZF strings. */
  scratch = Buffer.allocUnsafe(1 << 16);
  /**
   * Reads a string without making a view: sets rbuf/rs/re. With `transient`, an LZF string is
   * decompressed into a scratch buffer the next such call overwrites (for containers checked on
   * the spot).
   */
  stringRange(transient = false) {
    const n = this.lenRaw();
    if (!this.encoded) {
      this.checkLength(n);
      this.need(n);
      this.rbuf = this.buf;
      this.rs = this.pos;
      this.pos += n;
      this.re = this.pos;
      return;
    }
    if (transient && n === 3) {
      const clen = this.len();
      const ulen = this.len();
      this.lzfBounds(clen, ulen);
      if (ulen > this.scratch.length)
        this.scratch = Buffer.allocUnsafe(Math.max(ulen, this.scratch.length * 2));
      const p = this.pos;
      this.pos = p + clen;
      try {
        lzfDecompressInto(this.buf, p, p + clen, this.scratch, ulen);
      } catch {
        giveUp();
      }
      this.rbuf = this.scratch;
      this.rs = 0;
      this.re = ulen;
      return;
    }
    const b = this.encodedBody(n, true);
    this.rbuf = b;
    this.rs = 0;
    this.re = b.length;
  }
  /** Checks an LZF string's lengths and that its compressed bytes are buffered. */
  lzfBounds(clen, ulen) {
    this.checkLength(clen);
    if (ulen > this.maxString) giveUp();
    if (ulen > clen * 90 + 64 || (ulen > 0 && clen === 0)) giveUp();
    this.need(clen);
  }
  encodedBody(n, want) {
    const buf = this.buf;
    switch (n) {
      case 0: {
        this.need(1);
        const v = buf.readInt8(this.pos);
        this.pos += 1;
        return want ? Buffer.from(String(v)) : void 0;
      }
      case 1: {
        this.need(2);
        const v = buf.readInt16LE(this.pos);
        this.pos += 2;
        return want ? Buffer.from(String(v)) : void 0;
      }
      case 2: {
        this.need(4);
        const v = buf.readInt32LE(this.pos);
        this.pos += 4;
        return want ? Buffer.from(String(v)) : void 0;
      }
      case 3: {
        const clen = this.len();
        const ulen = this.len();
        this.lzfBounds(clen, ulen);
        const p = this.pos;
        this.pos = p + clen;
        if (!want) {
          if (!lzfCheck(buf, ulen, p, p + clen)) giveUp();
          return void 0;
        }
        const out = Buffer.allocUnsafe(ulen);
        try {
          lzfDecompressInto(buf, p, p + clen, out, ulen);
        } catch {
          return giveUp();
        }
        return out;
      }
      default:
        return giveUp();
    }
  }
  skip(n) {
    this.need(n);
    this.pos += n;
  }
};
function backlenSize2(l) {
  if (l <= 127) return 1;
  if (l < 16383) return 2;
  if (l < 2097151) return 3;
  if (l < 268435455) return 4;
  return 5;
}
function scoreTextOk(buf, a, b) {
  let i = a;
  if (i < b && buf[i] === 45) i++;
  const intStart = i;
  while (i < b && buf[i] >= 48 && buf[i] <= 57) i++;
  if (i > intStart) {
    if (i === b) return true;
    if (buf[i] === 46) {
      const fracStart = ++i;
      while (i < b && buf[i] >= 48 && buf[i] <= 57) i++;
      if (i === b && i > fracStart) return true;
    }
  }
  const s = buf.toString('latin1', a, b);
  const v = Number(s);
  if (Number.isNaN(v) || (v === 0 && s.trim() === ''))
    return !Number.isNaN(parseScoreText2(buf.subarray(a, b)));
  return true;
}
function checkListpack(blob, start, end, scores) {
  const len = end - start;
  if (len < 7) giveUp();
  if (blob.readUInt32LE(start) !== len) giveUp();
  const declared = blob.readUInt16LE(start + 4);
  const last = end - 1;
  let p = start + 6;
  let count = 0;
  for (;;) {
    if (p >= end) giveUp();
    const b = blob[p];
    if (b === 255) {
      if (p !== last) giveUp();
      break;
    }
    const from = p;
    if ((b & 128) === 0) p += 1;
    else if ((b & 192) === 128) {
      const slen = b & 63;
      if (p + 1 + slen > last) giveUp();
      if (scores && count & 1 && !scoreTextOk(blob, p + 1, p + 1 + slen)) giveUp();
      p += 1 + slen;
    } else if ((b & 224) === 192) {
      if (p + 2 > last) giveUp();
      p += 2;
    } else if ((b & 240) === 224) {
      if (p + 2 > last) giveUp();
      const slen = ((b & 15) << 8) | blob[p + 1];
      if (p + 2 + slen > last) giveUp();
      if (scores && count & 1 && !scoreTextOk(blob, p + 2, p + 2 + slen)) giveUp();
      p += 2 + slen;
    } else if (b === 241) {
      if (p + 3 > last) giveUp();
      p += 3;
    } else if (b === 242) {
      if (p + 4 > last) giveUp();
      p += 4;
    } else if (b === 243) {
      if (p + 5 > last) giveUp();
      p += 5;
    } else if (b === 244) {
      if (p + 9 > last) giveUp();
      p += 9;
    } else if (b === 240) {
      if (p + 5 > last) giveUp();
      const slen = blob.readUInt32LE(p + 1);
      if (p + 5 + slen > last) giveUp();
      if (scores && count & 1 && !scoreTextOk(blob, p + 5, p + 5 + slen)) giveUp();
      p += 5 + slen;
    } else giveUp();
    const entryLen = p - from;
    const bl = backlenSize2(entryLen);
    if (p + bl > last) giveUp();
    let decoded = 0;
    let shift = 0;
    for (let i = p + bl - 1; i >= p; i--) {
      decoded += (blob[i] & 127) * 2 ** shift;
      shift += 7;
    }
    if (decoded !== entryLen) giveUp();
    p += bl;
    count++;
  }
  if (declared !== 65535 && declared !== count) giveUp();
  return count;
}
function checkIntset(blob, start, end) {
  const len = end - start;
  if (len < 8) giveUp();
  const width = blob.readUInt32LE(start);
  const count = blob.readUInt32LE(start + 4);
  if (width !== 2 && width !== 4 && width !== 8) giveUp();
  if (8 + count * width !== len) giveUp();
  const at = start + 8;
  if (width === 8) {
    for (let i = 1; i < count; i++) {
      if (!(blob.readBigInt64LE(at + i * 8) > blob.readBigInt64LE(at + (i - 1) * 8))) giveUp();
    }
  } else if (width === 4) {
    for (let i = 1; i < count; i++) {
      if (!(blob.readInt32LE(at + i * 4) > blob.readInt32LE(at + (i - 1) * 4))) giveUp();
    }
  } else {
    for (let i = 1; i < count; i++) {
      if (!(blob.readInt16LE(at + i * 2) > blob.readInt16LE(at + (i - 1) * 2))) giveUp();
    }
  }
  return count;
}
function walkValue(w, type) {
  switch (type) {
    case RdbType.STRING:
      w.skipString();
      return;
    case RdbType.LIST:
    case RdbType.SET: {
      const n = w.count();
      if (n === 0) giveUp();
      for (let i = 0; i < n; i++) w.skipString();
      return;
    }
    case RdbType.ZSET:
    case RdbType.ZSET_2: {
      const n = w.count(2);
      if (n === 0) giveUp();
      for (let i = 0; i < n; i++) {
        w.skipString();
        if (type === RdbType.ZSET_2) {
          w.need(8);
          const v = w.buf.readDoubleLE(w.pos);
          w.pos += 8;
          if (Number.isNaN(v)) giveUp();
        } else {
          const l = w.u8();
          if (l < 253) {
            w.need(l);
            const v = parseScoreText2(w.buf.subarray(w.pos, w.pos + l));
            w.pos += l;
            if (Number.isNaN(v)) giveUp();
          } else if (l === 253) giveUp();
        }
      }
      return;
    }
    case RdbType.HASH: {
      const n = w.count(2);
      if (n === 0) giveUp();
      for (let i = 0; i < n; i++) {
        w.skipString();
        w.skipString();
      }
      return;
    }
    case RdbType.HASH_ZIPMAP:
      if (parseZipmap(w.string(), failContainer).length === 0) giveUp();
      return;
    case RdbType.LIST_ZIPLIST:
      if (parseZiplist(w.string(), failContainer).length === 0) giveUp();
      return;
    case RdbType.SET_INTSET:
      w.stringRange(true);
      if (checkIntset(w.rbuf, w.rs, w.re) === 0) giveUp();
      return;
    case RdbType.SET_LISTPACK:
      w.stringRange(true);
      if (checkListpack(w.rbuf, w.rs, w.re, false) === 0) giveUp();
      return;
    case RdbType.ZSET_LISTPACK: {
      w.stringRange(true);
      const n = checkListpack(w.rbuf, w.rs, w.re, true);
      if (n === 0 || n % 2) giveUp();
      return;
    }
    case RdbType.HASH_LISTPACK: {
      w.stringRange(true);
      const n = checkListpack(w.rbuf, w.rs, w.re, false);
      if (n === 0 || n % 2) giveUp();
      return;
    }
    case RdbType.ZSET_ZIPLIST: {
      const vals = parseZiplist(w.string(), failContainer);
      if (vals.length === 0 || vals.length % 2) giveUp();
      for (let i = 1; i < vals.length; i += 2) {
        const s = vals[i];
        const score = typeof s === 'object' ? parseScoreText2(s) : Number(s);
        if (Number.isNaN(score)) giveUp();
      }
      return;
    }
    case RdbType.HASH_ZIPLIST: {
      const vals = parseZiplist(w.string(), failContainer);
      if (vals.length === 0 || vals.length % 2) giveUp();
      return;
    }
    case RdbType.LIST_QUICKLIST:
    case RdbType.LIST_QUICKLIST_2: {
      const v2 = type === RdbType.LIST_QUICKLIST_2;
      const nodes = w.count(v2 ? 2 : 1);
      let items = 0;
      for (let i = 0; i < nodes; i++) {
        const container = v2 ? w.len() : 2;
        if (container === 1) {
          w.skipString();
          items++;
        } else if (container === 2) {
          if (v2) {
            w.stringRange(true);
            items += checkListpack(w.rbuf, w.rs, w.re, false);
          } else items += parseZiplist(w.string(), failContainer).length;
        } else giveUp();
      }
      if (items === 0) giveUp();
      return;
    }
    case RdbType.STREAM_LISTPACKS:
    case RdbType.STREAM_LISTPACKS_2:
    case RdbType.STREAM_LISTPACKS_3:
      walkStream(w, type);
      return;
    default:
      giveUp();
  }
}
function streamInt(v) {
  if (v === void 0) return giveUp();
  if (typeof v === 'object') {
    const s = v.toString('latin1');
    if (!INT_TEXT.test(s)) giveUp();
    return Number(s);
  }
  return Number(v);
}
function checkStreamNode(vals) {
  let i = 0;
  const count = streamInt(vals[i++]);
  const deleted = streamInt(vals[i++]);
  const numFields = streamInt(vals[i++]);
  if (numFields < 0 || numFields > vals.length) giveUp();
  if (i + numFields > vals.length) giveUp();
  i += numFields;
  if (streamInt(vals[i++]) !== 0) giveUp();
  let live = 0;
  let dead = 0;
  const n = vals.length;
  while (i < n) {
    const flags = streamInt(vals[i++]);
    streamInt(vals[i++]);
    streamInt(vals[i++]);
    let lpCount;
    if (flags & 2) {
      if (i + numFields > n) giveUp();
      i += numFields;
      lpCount = numFields + 3;
    } else {
      const nf = streamInt(vals[i++]);
      if (nf < 0 || nf * 2 > n - i) giveUp();
      i += nf * 2;
      lpCount = nf * 2 + 4;
    }
    if (streamInt(vals[i++]) !== lpCount) giveUp();
    if (flags & 1) dead++;
    else live++;
  }
  if (live !== count || dead !== deleted) giveUp();
}
function walkStream(w, type) {
  const v2 = type >= RdbType.STREAM_LISTPACKS_2;
  const v3 = type >= RdbType.STREAM_LISTPACKS_3;
  const nodes = w.count(2);
  for (let i = 0; i < nodes; i++) {
    if (w.string().length !== 16) giveUp();
    const vals = parseListpack(w.string(), failContainer);
    if (vals.length === 0) giveUp();
    checkStreamNode(vals);
  }
  w.lenBig();
  w.lenBig();
  w.lenBig();
  if (v2) {
    for (let k = 0; k < 5; k++) w.lenBig();
  }
  const groups = w.count(3);
  for (let g = 0; g < groups; g++) {
    w.skipString();
    w.lenBig();
    w.lenBig();
    if (v2) w.lenBig();
    const pel = w.count(25);
    const owned = /* @__PURE__ */ new Map();
    for (let p = 0; p < pel; p++) {
      w.need(16);
      const id = w.buf.toString('latin1', w.pos, w.pos + 16);
      if (owned.has(id)) giveUp();
      owned.set(id, false);
      w.pos += 16;
      w.skip(8);
      w.len();
    }
    const consumers = w.count(10);
    for (let c = 0; c < consumers; c++) {
      w.skipString();
      w.skip(v3 ? 16 : 8);
      const cpel = w.count(16);
      for (let p = 0; p < cpel; p++) {
        w.need(16);
        const id = w.buf.toString('latin1', w.pos, w.pos + 16);
        w.pos += 16;
        if (!owned.has(id)) giveUp();
        owned.set(id, true);
      }
    }
    for (const v of owned.values()) if (!v) giveUp();
  }
}
function skipValue(w, type) {
  switch (type) {
    case RdbType.STRING:
    case RdbType.HASH_ZIPMAP:
    case RdbType.LIST_ZIPLIST:
    case RdbType.SET_INTSET:
    case RdbType.SET_LISTPACK:
    case RdbType.ZSET_LISTPACK:
    case RdbType.HASH_LISTPACK:
    case RdbType.ZSET_ZIPLIST:
    case RdbType.HASH_ZIPLIST:
      w.skipRaw();
      return;
    case RdbType.LIST:
    case RdbType.SET: {
      const n = w.len();
      for (let i = 0; i < n; i++) w.skipRaw();
      return;
    }
    case RdbType.ZSET:
    case RdbType.ZSET_2: {
      const n = w.len();
      for (let i = 0; i < n; i++) {
        w.skipRaw();
        if (type === RdbType.ZSET_2) w.skip(8);
        else {
          const l = w.u8();
          if (l < 253) w.skip(l);
        }
      }
      return;
    }
    case RdbType.HASH: {
      const n = w.len();
      for (let i = 0; i < 2 * n; i++) w.skipRaw();
      return;
    }
    case RdbType.LIST_QUICKLIST:
    case RdbType.LIST_QUICKLIST_2: {
      const v2 = type === RdbType.LIST_QUICKLIST_2;
      const nodes = w.len();
      for (let i = 0; i < nodes; i++) {
        if (v2) w.len();
        w.skipRaw();
      }
      return;
    }
    case RdbType.STREAM_LISTPACKS:
    case RdbType.STREAM_LISTPACKS_2:
    case RdbType.STREAM_LISTPACKS_3: {
      const v2 = type >= RdbType.STREAM_LISTPACKS_2;
      const nodes = w.len();
      for (let i = 0; i < 2 * nodes; i++) w.skipRaw();
      for (let k = 0; k < (v2 ? 8 : 3); k++) w.lenBig();
      const groups = w.len();
      for (let g = 0; g < groups; g++) {
        w.skipRaw();
        for (let k = 0; k < (v2 ? 3 : 2); k++) w.lenBig();
        const pel = w.len();
        for (let p = 0; p < pel; p++) {
          w.skip(24);
          w.len();
        }
        const consumers = w.len();
        for (let c = 0; c < consumers; c++) {
          w.skipRaw();
          w.skip(type >= RdbType.STREAM_LISTPACKS_3 ? 16 : 8);
          w.skip(16 * w.len());
        }
      }
      return;
    }
    default:
      giveUp();
  }
}
var FAST_TYPES = /* @__PURE__ */ new Set([
  0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
]);
async function fastVerify(input, total, options = {}) {
  const w = new Walker(options.maxStringBytes ?? 1 << 30);
  w.total = total;
  const maxRecord = options.maxRecordBytes ?? 64 << 20;
  const crc = options.checksum === false || options.externalCrc ? null : new Crc64();
  const progressEvery = options.onProgress ? Math.max(1, options.progressEvery ?? 1e4) : 0;
  let crcMark = 0;
  let keys = 0;
  const read = typeof input === 'function' ? input : null;
  let win = Buffer.allocUnsafe(read ? 1 << 20 : 0);
  if (!read) {
    const bytes = input;
    w.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    w.atEnd = true;
  }
  let callbackError;
  const refill = async (keepFrom, want) => {
    if (crc && keepFrom > crcMark) crc.update(w.buf, crcMark, keepFrom);
    let have = w.buf.length - keepFrom;
    if (read && !w.atEnd) {
      if (want > win.length) {
        const bigger = Buffer.allocUnsafe(Math.max(want, win.length * 2));
        w.buf.copy(bigger, 0, keepFrom);
        win = bigger;
      } else if (have > 0) w.buf.copy(win, 0, keepFrom);
      while (have < want) {
        const n = await read(win, have, win.length - have);
        if (n === 0) {
          w.atEnd = true;
          break;
        }
        have += n;
      }
      w.buf = win.subarray(0, have);
    } else {
      w.atEnd = true;
      w.buf = w.buf.subarray(keepFrom);
    }
    w.base += keepFrom;
    w.pos = 0;
    crcMark = 0;
  };
  try {
    if (read) await refill(0, 9);
    if (w.buf.length < 9) return null;
    const head = w.buf.toString('latin1', 0, 9);
    let magic;
    let digits2;
    if (head.startsWith('REDIS')) {
      magic = 'REDIS';
      digits2 = head.slice(5);
    } else if (head.startsWith('VALKEY')) {
      magic = 'VALKEY';
      digits2 = head.slice(6);
    } else return null;
    if (!/^\d+$/.test(digits2)) return null;
    const version = Number(digits2);
    const known =
      magic === 'REDIS' ? version >= 1 && version <= KNOWN_REDIS_VERSION : version === 80 || version === 81;
    if (!known && !options.allowUnknownVersion) return null;
    w.version = version;
    w.flavor = magic === 'VALKEY' ? 'valkey' : 'redis';
    w.pos = 9;
    const onKey = options.onKey;
    let functions = 0;
    let db = 0;
    let expiresAt;
    let lruIdle;
    let lfuFreq;
    const value = options.shallow ? skipValue : walkValue;
    const span = {
      db: 0,
      type: 0,
      keyBuf: w.buf,
      keyStart: 0,
      keyEnd: 0,
      buf: w.buf,
      valueStart: 0,
      valueEnd: 0,
      expiresAt: void 0,
      lruIdle: void 0,
      lfuFreq: void 0,
    };
    for (;;) {
      const start = w.pos;
      try {
        const op = w.u8();
        if (op <= 25) {
          if (!FAST_TYPES.has(op)) return null;
          if (onKey) {
            w.stringRange();
            span.keyBuf = w.rbuf;
            span.keyStart = w.rs;
            span.keyEnd = w.re;
            span.valueStart = w.pos;
            value(w, op);
            span.db = db;
            span.type = op;
            span.buf = w.buf;
            span.valueEnd = w.pos;
            span.expiresAt = expiresAt;
            span.lruIdle = lruIdle;
            span.lfuFreq = lfuFreq;
            try {
              const wait = onKey(span);
              if (wait) await wait;
            } catch (err) {
              callbackError = { err };
              throw err;
            }
            expiresAt = lruIdle = lfuFreq = void 0;
          } else {
            w.skipString();
            value(w, op);
          }
          keys++;
          if (progressEvery && keys % progressEvery === 0) {
            options.onProgress({
              keys,
              bytes: w.base + w.pos,
              ...(total !== void 0 ? { totalBytes: total } : {}),
            });
          }
          continue;
        }
        switch (op) {
          case RdbOpcode.EOF: {
            let checksum = options.checksum === false ? 'unchecked' : 'absent';
            if (version >= 5) w.need(8);
            if (crc) crc.update(w.buf, crcMark, w.pos);
            crcMark = w.pos;
            if (version >= 5) {
              w.need(8);
              const lo = w.buf.readUInt32LE(w.pos);
              const hi = w.buf.readUInt32LE(w.pos + 4);
              w.pos += 8;
              if (lo === 0 && hi === 0) {
                if (checksum !== 'unchecked') checksum = 'disabled';
              } else if (crc || (options.externalCrc && options.checksum !== false)) {
                const d = crc ? crc.digestBytes() : await options.externalCrc;
                if (!d || d.readUInt32LE(0) !== lo || d.readUInt32LE(4) !== hi) return null;
                checksum = 'ok';
              }
            }
            const bytes = w.base + w.pos;
            if (w.pos < w.buf.length) return null;
            if (total !== void 0 ? bytes < total : !w.atEnd) {
              if (total !== void 0 || !read || (await read(Buffer.alloc(1), 0, 1)) > 0) return null;
            }
            if (progressEvery) {
              options.onProgress({ keys, bytes, ...(total !== void 0 ? { totalBytes: total } : {}) });
            }
            return { magic, version, keys, bytes, checksum, functions };
          }
          case RdbOpcode.SELECTDB:
            db = w.len();
            break;
          case RdbOpcode.RESIZEDB:
            w.len();
            w.len();
            break;
          case RdbOpcode.AUX:
            w.skipString();
            w.skipString();
            break;
          case RdbOpcode.EXPIRETIME_MS:
            w.need(8);
            expiresAt = Number(w.buf.readBigInt64LE(w.pos));
            w.pos += 8;
            break;
          case RdbOpcode.EXPIRETIME:
            w.need(4);
            expiresAt = w.buf.readInt32LE(w.pos) * 1e3;
            w.pos += 4;
            break;
          case RdbOpcode.IDLE:
            lruIdle = w.len();
            break;
          case RdbOpcode.FREQ:
            lfuFreq = w.u8();
            break;
          case RdbOpcode.FUNCTION2:
            if (options.onFunction) {
              try {
                const wait = options.onFunction(w.string());
                if (wait) await wait;
              } catch (err) {
                callbackError = { err };
                throw err;
              }
            } else w.skipString();
            functions++;
            break;
          case RdbOpcode.SLOT_INFO:
            if (version < 12) return null;
            w.len();
            w.len();
            w.len();
            break;
          default:
            return null;
        }
      } catch (err) {
        if (err !== NEED_MORE) throw err;
        const size = w.buf.length - start;
        if (size >= maxRecord) return null;
        await refill(start, Math.max(size + 1, Math.min(maxRecord, Math.max(1 << 20, size * 2))));
      }
    }
  } catch {
    if (callbackError) throw callbackError.err;
    return null;
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/rdb/inspect.ts
async function open(source) {
  if (typeof source !== 'string') return { input: source };
  const { size } = await stat(source);
  return { input: createReadStream2(source, { highWaterMark: 256 * 1024 }), totalBytes: size, file: source };
}
function warningInfo(w) {
  return {
    code: w.code,
    message: w.message,
    offset: w.offset,
    ...(w.db !== void 0 ? { db: w.db } : {}),
    ...(w.key ? { key: displayBytes(w.key) } : {}),
  };
}
var SCAN_CHUNKS = { elements: 4096, bytes: 1 << 20, pieceBytes: 1 << 20 };
async function verifyRdb(source, options = {}) {
  const fast = await fastVerifySource(source, options);
  if (fast) {
    const { magic, version, keys, bytes, checksum } = fast;
    return { ok: true, magic, version, keys, bytes, checksum, warnings: [] };
  }
  return verifyRdbWithReader(source, options);
}
async function verifyRdbWithReader(source, options = {}) {
  const warnings = [];
  const result = { ok: false, keys: 0, bytes: 0, checksum: 'unchecked', warnings };
  try {
    const { input, ...where2 } = await open(source);
    for await (const { record, offset } of readRdbWithOffsets(input, {
      ...options,
      ...where2,
      chunked: SCAN_CHUNKS,
      onWarning: (w) => {
        if (warnings.length < 100) warnings.push(warningInfo(w));
      },
    })) {
      result.bytes = offset;
      if (record.kind === 'header') {
        result.magic = record.magic;
        result.version = record.version;
      } else if (record.kind === 'key' || record.kind === 'key-begin') result.keys++;
      else if (record.kind === 'end') {
        result.checksum =
          options.checksum === false
            ? 'unchecked'
            : (result.version ?? 0) < 5
              ? 'absent'
              : record.checksum === null
                ? 'disabled'
                : 'ok';
      }
    }
    result.ok = true;
  } catch (err) {
    if (RdbError.isRdbError(err)) {
      result.error = {
        code: err.code,
        message: err.message,
        ...(typeof err.details.offset === 'number' ? { offset: err.details.offset } : {}),
        ...(typeof err.details.key === 'string' ? { key: err.details.key } : {}),
      };
    } else {
      const e = err;
      result.error = { code: e.code ?? 'ERR_IO', message: e.message };
    }
  }
  return result;
}
async function fastVerifySource(source, options) {
  if (source instanceof Uint8Array) return fastVerify(source, source.byteLength, options);
  if (typeof source !== 'string') return null;
  let fh;
  try {
    fh = await openFile(source, 'r');
  } catch {
    return null;
  }
  let worker;
  try {
    const { size } = await fh.stat();
    let externalCrc;
    if (options.checksum !== false && size > 1 << 20) {
      worker = crc64InWorker(source, size - 8);
      if (worker) externalCrc = workerResult(worker);
    }
    return await fastVerify(
      async (into, offset, length) => (await fh.read(into, offset, length, null)).bytesRead,
      size,
      externalCrc ? { ...options, externalCrc } : options,
    );
  } catch {
    return null;
  } finally {
    void worker?.terminate();
    await fh.close();
  }
}
var CRC_WORKER = new URL('./crc64-worker.js', import.meta.url);
function crc64InWorker(path, end) {
  if (CRC_WORKER.protocol !== 'file:' || !existsSync(CRC_WORKER)) return void 0;
  return new Worker(CRC_WORKER, { workerData: { path, end } });
}
function workerResult(worker) {
  return new Promise((resolve) => {
    worker.once('message', (m) => resolve(m ? Buffer.from(m) : null));
    worker.once('error', () => resolve(null));
    worker.once('exit', () => resolve(null));
  });
}
var TopN = class {
  constructor(n) {
    this.n = n;
  }
  n;
  items = [];
  offer(item) {
    if (this.n <= 0) return;
    const items = this.items;
    if (items.length === this.n && items[items.length - 1].bytes >= item.bytes) return;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (items[mid].bytes >= item.bytes) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, item);
    if (items.length > this.n) items.pop();
  }
};
async function inspectRdb(source, options = {}) {
  const now = options.now ?? Date.now();
  const top = new TopN(options.top ?? 10);
  const warnings = [];
  const report = {
    magic: 'REDIS',
    version: 0,
    flavor: 'redis',
    aux: {},
    modules: [],
    functions: [],
    databases: [],
    keys: 0,
    expires: 0,
    expired: 0,
    encodings: {},
    withLruIdle: 0,
    withLfuFreq: 0,
    fieldsWithTtl: 0,
    emptyKeysSkipped: 0,
    biggestKeys: top.items,
    checksum: null,
    bytes: 0,
    warnings,
  };
  const dbs = /* @__PURE__ */ new Map();
  const dbOf = (db) => {
    let s = dbs.get(db);
    if (!s) {
      s = { db, keys: 0, expires: 0, types: {}, bytes: 0 };
      dbs.set(db, s);
    }
    return s;
  };
  let lastDb = 0;
  let prevOffset = 0;
  let open_ = null;
  const { input, ...where2 } = await open(source);
  const countKey = (db, type, encoding, expiresAt, lru, lfu) => {
    const d = dbOf(db);
    d.keys++;
    d.types[type] = (d.types[type] ?? 0) + 1;
    report.keys++;
    report.encodings[encoding] = (report.encodings[encoding] ?? 0) + 1;
    if (expiresAt !== void 0) {
      d.expires++;
      report.expires++;
      if (expiresAt <= now) report.expired++;
    }
    if (lru !== void 0) report.withLruIdle++;
    if (lfu !== void 0) report.withLfuFreq++;
  };
  for await (const { record: r, offset } of readRdbWithOffsets(input, {
    ...options,
    ...where2,
    chunked: SCAN_CHUNKS,
    onWarning: (w) => {
      if (w.code === 'empty-key') report.emptyKeysSkipped++;
      if (warnings.length < 100) warnings.push(warningInfo(w));
    },
  })) {
    const size = offset - prevOffset;
    prevOffset = offset;
    report.bytes = offset;
    switch (r.kind) {
      case 'header':
        report.magic = r.magic;
        report.version = r.version;
        report.flavor = r.flavor;
        break;
      case 'aux':
        report.aux[displayBytes(r.key)] = displayBytes(r.value, 1e3);
        break;
      case 'module-aux':
        if (!report.modules.includes(r.moduleName)) report.modules.push(r.moduleName);
        break;
      case 'function': {
        const m = /^#!\w+\s+name=(\S+)/.exec(r.code.toString('utf8'));
        report.functions.push(m?.[1] ?? '(unnamed)');
        break;
      }
      case 'select-db':
        lastDb = r.db;
        dbOf(r.db);
        break;
      case 'resize-db':
        dbOf(lastDb).resize = { dbSize: r.dbSize, expiresSize: r.expiresSize };
        break;
      case 'key': {
        countKey(r.db, r.value.type, r.encoding, r.expiresAt, r.lruIdle, r.lfuFreq);
        dbOf(r.db).bytes += size;
        if (r.value.type === 'module' && !report.modules.includes(r.value.moduleName))
          report.modules.push(r.value.moduleName);
        if (r.value.type === 'hash') {
          for (const e of r.value.entries) if (e.expiresAt !== void 0) report.fieldsWithTtl++;
        }
        const n = r.value.type === 'string' ? r.value.value.length : valueSize(r.value);
        top.offer({
          db: r.db,
          key: displayBytes(r.key),
          type: r.value.type,
          encoding: r.encoding,
          bytes: size,
          elements: Math.max(n, 0),
        });
        break;
      }
      case 'key-begin':
        countKey(r.db, r.type, r.encoding, r.expiresAt, r.lruIdle, r.lfuFreq);
        open_ = {
          big: {
            db: r.db,
            key: displayBytes(r.key),
            type: r.type,
            encoding: r.encoding,
            bytes: 0,
            elements: 0,
          },
          start: offset - size,
        };
        break;
      case 'key-part':
        if (open_) {
          if (r.value.type === 'hash') {
            for (const e of r.value.entries) if (e.expiresAt !== void 0) report.fieldsWithTtl++;
          }
        }
        break;
      case 'key-end':
        if (open_) {
          open_.big.bytes = offset - open_.start;
          open_.big.elements = r.size;
          dbOf(r.db).bytes += open_.big.bytes;
          top.offer(open_.big);
          open_ = null;
        }
        break;
      case 'end':
        report.checksum = r.checksum === null ? null : r.checksum.toString(16).padStart(16, '0');
        break;
      default:
        break;
    }
  }
  report.databases = [...dbs.values()].filter((d) => d.keys > 0 || d.resize).sort((a, b) => a.db - b.db);
  return report;
}

// ../../tmp/vd-bench/after/packages/backup/src/live/connect.ts
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseConnectionUrl, parseServerVersion, redactUrl, toClientOptions } from '@valkey-tools/core';
import { Cluster, Redis } from 'iovalkey';
function pem(value, what) {
  if (value === void 0 || Buffer.isBuffer(value) || value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value);
  } catch (err) {
    throw new BackupError('ERR_INVALID_OPTION', `cannot read the TLS ${what} file "${value}"`, {
      cause: err,
      details: { path: value },
      hint: `Pass tls.${what} as a readable PEM file path or as PEM text`,
    });
  }
}
function parseTarget(url) {
  return parseConnectionUrl(url);
}
function tlsConnectionOptions(target, tls) {
  if (!target.tls && !tls) return void 0;
  const out = {};
  const servername = tls?.servername ?? (isIP(target.host) ? void 0 : target.host);
  if (servername !== void 0) out.servername = servername;
  const ca = pem(tls?.ca, 'ca');
  const cert = pem(tls?.cert, 'cert');
  const key = pem(tls?.key, 'key');
  if (ca !== void 0) out.ca = ca;
  if (cert !== void 0) out.cert = cert;
  if (key !== void 0) out.key = key;
  if (tls?.rejectUnauthorized !== void 0) out.rejectUnauthorized = tls.rejectUnauthorized;
  return out;
}
function clientOptions(target, options) {
  const opts = toClientOptions(target);
  const tls = tlsConnectionOptions(target, options.tls);
  if (tls) opts.tls = tls;
  else delete opts.tls;
  return {
    ...opts,
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 1e4,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    retryStrategy: () => null,
  };
}
function parseInfo(text2) {
  const out = {};
  for (const line of text2.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
function connectionError(where2, err, action) {
  const message = redactUrl(err instanceof Error ? err.message : String(err)).replace(/\.$/, '');
  const auth = /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(message);
  return new BackupError('ERR_CONNECTION', `${action} ${where2} failed: ${message}`, {
    cause: err,
    details: { url: where2 },
    hint: auth
      ? 'Check the user name and password in the URL (redis://user:password@host:port)'
      : /certificate|SSL|TLS|self.signed/i.test(message)
        ? 'Check the TLS options: tls.ca must be the CA that signed the server certificate; servers with tls-auth-clients need tls.cert and tls.key'
        : 'Check that the server is running and reachable, and the URL (host, port, rediss:// for TLS)',
  });
}
async function connectServer(url, options = {}) {
  const target = parseTarget(url);
  const where2 = redactUrl(url);
  const opts = clientOptions(target, options);
  const client = new Redis(opts);
  let cause;
  client.on('error', (e) => {
    cause ??= e;
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw connectionError(where2, cause ?? err, 'Connecting to');
  }
  let info;
  try {
    info = parseInfo(String(await client.call('INFO', 'server')));
    const clusterInfo = parseInfo(String(await client.call('INFO', 'cluster')));
    if (clusterInfo.cluster_enabled === '1') info.cluster_enabled = '1';
  } catch (err) {
    client.disconnect();
    throw connectionError(where2, cause ?? err, 'Talking to');
  }
  const conn = {
    client,
    target,
    where: where2,
    info,
    close: async () => {
      client.disconnect();
      conn.cluster?.disconnect();
    },
  };
  if (info.cluster_enabled === '1') {
    const { host, port, db: _db, ...redisOptions } = opts;
    const cluster = new Cluster([{ host, port }], {
      lazyConnect: true,
      redisOptions: { ...redisOptions, lazyConnect: false },
      enableOfflineQueue: true,
      maxRedirections: 32,
      retryDelayOnMoved: 0,
      clusterRetryStrategy: () => null,
    });
    cluster.on('error', () => {});
    try {
      await cluster.connect();
    } catch (err) {
      cluster.disconnect();
      client.disconnect();
      throw connectionError(where2, err, 'Connecting to the cluster at');
    }
    conn.cluster = cluster;
  }
  return conn;
}
function serverVersion(info) {
  if (info.valkey_version) return { flavor: 'valkey', version: info.valkey_version };
  if (info.server_name === 'valkey') return { flavor: 'valkey', version: info.redis_version ?? '0.0.0' };
  return { flavor: 'redis', version: info.redis_version ?? '0.0.0' };
}
function dumpVersionFor(info) {
  const { flavor, version } = serverVersion(info);
  const v = parseServerVersion(`${flavor} v=${version}`);
  if (flavor === 'valkey') return v.major >= 9 ? 80 : 11;
  if (v.major > 7 || (v.major === 7 && v.minor >= 2)) return 11;
  if (v.major === 7) return 10;
  return 9;
}

// ../../tmp/vd-bench/after/packages/backup/src/live/replication.ts
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
var SocketReader = class {
  constructor(socket, idleMs, where2) {
    this.socket = socket;
    this.idleMs = idleMs;
    this.where = where2;
    this.it = socket[Symbol.asyncIterator]();
  }
  socket;
  idleMs;
  where;
  buf = Buffer.alloc(0);
  it;
  /** Next chunk from the socket (after any buffered bytes), or null at end of stream. */
  async chunk() {
    if (this.buf.length > 0) {
      const b = this.buf;
      this.buf = Buffer.alloc(0);
      return b;
    }
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new BackupError(
              'ERR_REPLICATION',
              `${this.where} sent nothing for ${this.idleMs} ms during the sync`,
              {
                details: { url: this.where },
                hint: 'The server may be busy or blocked; raise idleTimeoutMs or use mode: "scan"',
              },
            ),
          ),
        this.idleMs,
      );
    });
    try {
      const r = await Promise.race([this.it.next(), timeout]);
      return r.done ? null : r.value;
    } finally {
      clearTimeout(timer);
    }
  }
  unshift(b) {
    if (b.length > 0) this.buf = this.buf.length ? Buffer.concat([b, this.buf]) : b;
  }
  /** Reads one `\r\n`-terminated line (without it). Lone `\n` keep-alives are skipped when asked. */
  async line(skipKeepAlive) {
    let acc = Buffer.alloc(0);
    while (true) {
      const c = await this.chunk();
      if (c === null) {
        throw new BackupError(
          'ERR_REPLICATION',
          `${this.where} closed the connection during the replication handshake`,
          {
            details: { url: this.where },
            hint: 'The server may refuse replicas (managed services often do): use mode: "scan"',
          },
        );
      }
      acc = acc.length ? Buffer.concat([acc, c]) : c;
      if (skipKeepAlive) {
        let i = 0;
        while (i < acc.length && acc[i] === 10) i++;
        acc = acc.subarray(i);
      }
      const nl = acc.indexOf(10);
      if (nl !== -1) {
        this.unshift(acc.subarray(nl + 1));
        return acc.toString('latin1', 0, nl).replace(/\r$/, '');
      }
      if (acc.length > 64 * 1024) {
        throw new BackupError(
          'ERR_REPLICATION',
          `${this.where} sent an unexpected reply during the handshake`,
          {
            details: { url: this.where },
          },
        );
      }
    }
  }
};
function openSocket(target, tls) {
  return new Promise((resolve, reject) => {
    const tlsOpts = tlsConnectionOptions(target, tls);
    const base = target.scheme === 'unix' ? { path: target.path } : { host: target.host, port: target.port };
    const sock = tlsOpts ? tlsConnect({ ...base, ...tlsOpts }) : netConnect(base);
    const ready = tlsOpts ? 'secureConnect' : 'connect';
    sock.once(ready, () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}
async function* syncRdb(target, options = {}) {
  const where2 = options.where ?? `${target.host}:${target.port}`;
  let sock;
  try {
    sock = await openSocket(target, options.tls);
  } catch (err) {
    throw new BackupError('ERR_CONNECTION', `connecting to ${where2} failed: ${err.message}`, {
      cause: err,
      details: { url: where2 },
      hint: 'Check that the server is running and reachable, and the URL (host, port, rediss:// for TLS)',
    });
  }
  const abort = () => sock.destroy(new BackupError('ERR_ABORTED', `backup of ${where2} was aborted`));
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  const reader2 = new SocketReader(sock, options.idleTimeoutMs ?? 6e4, where2);
  const ask = async (args) => {
    sock.write(encodeCommand(args));
    return reader2.line(false);
  };
  try {
    if (target.password !== void 0) {
      const args =
        target.username !== void 0 ? ['AUTH', target.username, target.password] : ['AUTH', target.password];
      const r = await ask(args);
      if (!r.startsWith('+')) {
        throw new BackupError('ERR_CONNECTION', `authentication to ${where2} failed: ${r.slice(1)}`, {
          details: { url: where2 },
          hint: 'Check the user name and password in the URL (redis://user:password@host:port)',
        });
      }
    }
    const ping = await ask(['PING']);
    if (ping.startsWith('-')) {
      throw new BackupError('ERR_CONNECTION', `${where2} refused PING: ${ping.slice(1)}`, {
        details: { url: where2 },
        ...(/NOAUTH/.test(ping)
          ? { hint: 'The server needs a password: put it in the URL (redis://:password@host:port)' }
          : {}),
      });
    }
    await ask(['REPLCONF', 'capa', 'eof', 'capa', 'psync2']);
    await ask(['REPLCONF', 'rdb-only', '1']);
    sock.write(encodeCommand(['SYNC']));
    const head = await reader2.line(true);
    if (head.startsWith('-')) {
      throw new BackupError('ERR_REPLICATION', `${where2} refused to sync: ${head.slice(1)}`, {
        details: { url: where2, reply: head },
        hint: /NOPERM|no permissions/i.test(head)
          ? 'The ACL user needs +sync +replconf (or +@admin); or use mode: "scan"'
          : 'The server refuses replication (managed services often do): use mode: "scan"',
      });
    }
    if (!head.startsWith('$')) {
      throw new BackupError(
        'ERR_REPLICATION',
        `${where2} sent an unexpected sync reply: ${head.slice(0, 80)}`,
        {
          details: { url: where2, reply: head.slice(0, 200) },
        },
      );
    }
    let received = 0;
    if (head.startsWith('$EOF:')) {
      const mark = Buffer.from(head.slice(5), 'latin1');
      if (mark.length !== 40) {
        throw new BackupError(
          'ERR_REPLICATION',
          `${where2} sent a bad EOF mark (${mark.length} bytes, expected 40)`,
          {
            details: { url: where2 },
          },
        );
      }
      options.onStart?.({ framing: 'eof' });
      let held = Buffer.alloc(0);
      while (true) {
        const c = await reader2.chunk();
        if (c === null) {
          throw new BackupError(
            'ERR_REPLICATION',
            `${where2} closed the connection before the end of the RDB (${received} bytes received)`,
            {
              details: { url: where2, received },
              hint: 'The server may have failed to produce the snapshot (check its log), or the network dropped',
            },
          );
        }
        const data = held.length ? Buffer.concat([held, c]) : c;
        const at = data.indexOf(mark);
        if (at !== -1) {
          if (at > 0) {
            received += at;
            options.onBytes?.(received);
            yield data.subarray(0, at);
          }
          return;
        }
        const keep = Math.min(data.length, mark.length - 1);
        const out = data.subarray(0, data.length - keep);
        held = Buffer.from(data.subarray(data.length - keep));
        if (out.length > 0) {
          received += out.length;
          options.onBytes?.(received);
          yield out;
        }
      }
    }
    const size = Number(head.slice(1));
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new BackupError('ERR_REPLICATION', `${where2} announced a bad RDB size "${head.slice(1, 40)}"`, {
        details: { url: where2 },
      });
    }
    options.onStart?.({ framing: 'length', size });
    while (received < size) {
      const c = await reader2.chunk();
      if (c === null) {
        throw new BackupError(
          'ERR_REPLICATION',
          `${where2} closed the connection after ${received} of ${size} RDB bytes`,
          {
            details: { url: where2, received, size },
            hint: 'The network dropped or the server stopped; run the backup again',
          },
        );
      }
      const take = Math.min(c.length, size - received);
      received += take;
      options.onBytes?.(received);
      yield take === c.length ? c : c.subarray(0, take);
    }
  } finally {
    options.signal?.removeEventListener('abort', abort);
    sock.destroy();
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/live/scan.ts
async function nonEmptyDbs(client) {
  const info = parseInfo(String(await client.call('INFO', 'keyspace')));
  const out = [];
  for (const [name, value] of Object.entries(info)) {
    const m = /^db(\d+)$/.exec(name);
    if (m) out.push({ db: Number(m[1]), keys: Number(/keys=(\d+)/.exec(value)?.[1] ?? 0) });
  }
  return out.sort((a, b) => a.db - b.db);
}
async function listFunctionCode(client) {
  let reply;
  try {
    reply = await client.callBuffer('FUNCTION', 'LIST', 'WITHCODE');
  } catch (err) {
    if (/unknown command|unknown subcommand/i.test(err.message)) return [];
    throw err;
  }
  const out = [];
  for (const lib of reply ?? []) {
    const fields = lib;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i].toString() === 'library_code') out.push(fields[i + 1]);
    }
  }
  return out;
}
async function* scanNode(client, node, dbs, options, counts) {
  const count = options.count ?? 500;
  const types = options.type === void 0 ? [] : Array.isArray(options.type) ? options.type : [options.type];
  let expireCommand = 'PEXPIRETIME';
  for (const db of dbs) {
    if (dbs.length > 1 || db !== 0) await client.select(db);
    options.onDb?.({ node, db, keys: counts.get(db) ?? 0 });
    let cursor = '0';
    do {
      const args = [cursor];
      if (options.match !== void 0) args.push('MATCH', options.match);
      args.push('COUNT', count);
      if (types.length === 1 && types[0] !== 'module') args.push('TYPE', types[0]);
      const [next, keys] = await client.callBuffer('SCAN', ...args);
      cursor = next.toString();
      if (keys.length === 0) continue;
      const readAll = async () => {
        const pipe = client.pipeline();
        const readAt2 = Date.now();
        for (const k of keys) {
          pipe.callBuffer('DUMP', k);
          pipe.call(expireCommand, k);
        }
        return { results: (await pipe.exec()) ?? [], readAt: readAt2 };
      };
      let { results, readAt } = await readAll();
      if (
        expireCommand === 'PEXPIRETIME' &&
        results[1]?.[0] &&
        /unknown command/i.test(String(results[1][0]))
      ) {
        expireCommand = 'PTTL';
        ({ results, readAt } = await readAll());
      }
      for (let i = 0; i < keys.length; i++) {
        const [dumpErr, payload] = results[2 * i];
        const [ttlErr, ttl] = results[2 * i + 1];
        const key = keys[i];
        if (dumpErr || ttlErr) {
          const e = dumpErr ?? ttlErr;
          throw new BackupError(
            'ERR_SERVER_REPLY',
            `reading key "${key.toString('latin1')}" (db ${db}) from ${node} failed: ${e.message}`,
            {
              cause: e,
              details: { node, db, key: key.toString('latin1') },
              hint: /NOPERM/.test(e.message)
                ? 'The ACL user needs +scan +dump +pexpiretime (+pttl)'
                : 'Run the backup again',
            },
          );
        }
        if (payload === null) continue;
        const t2 = Number(ttl);
        if (t2 === -2) continue;
        const buf = payload;
        const vt = dumpPayloadType(buf);
        if (vt !== void 0 && !options.filter.type(vt)) continue;
        if (!options.filter.key(key)) continue;
        const out = { kind: 'dump', db, key, payload: buf, node };
        if (t2 >= 0) out.expiresAt = expireCommand === 'PEXPIRETIME' ? t2 : readAt + t2;
        yield out;
      }
    } while (cursor !== '0');
  }
}
async function* scanServer(conn, options) {
  const nodes = conn.cluster
    ? conn.cluster.nodes('master').map((n) => ({ client: n, name: `${n.options.host}:${n.options.port}` }))
    : [{ client: conn.client, name: `${conn.target.host}:${conn.target.port}` }];
  for (const code of await listFunctionCode(nodes[0].client)) yield { kind: 'function', code };
  for (const { client, name } of nodes) {
    try {
      const present = await nonEmptyDbs(client);
      const counts = new Map(present.map((d) => [d.db, d.keys]));
      let dbs = present.map((d) => d.db).filter((db) => options.filter.db(db));
      if (options.db !== void 0) dbs = dbs.filter((d) => d === options.db);
      yield* scanNode(client, name, dbs, options, counts);
    } catch (err) {
      if (BackupError.isInstance(err)) throw err;
      throw connectionError(name, err, 'Scanning');
    }
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/live/backup.ts
async function dumpToRecord(d) {
  const r = await decodeDump(d.payload, d.key, d.db);
  if (d.expiresAt !== void 0) r.expiresAt = d.expiresAt;
  else delete r.expiresAt;
  return r;
}
async function backup(options) {
  const started = Date.now();
  const format = options.format
    ? checkOutputFormat(options.format)
    : formatFromPath(options.output, 'output');
  if (format === 'aof') throw new BackupError('ERR_FORMAT', 'AOF is not an output format');
  const mode = options.mode ?? 'replication';
  if (mode !== 'replication' && mode !== 'scan') {
    throw new BackupError('ERR_INVALID_OPTION', `mode must be "replication" or "scan", got "${mode}"`);
  }
  const filter = compileFilter(options);
  const conn = await connectServer(options.url, options.tls ? { tls: options.tls } : {});
  const nodes = [];
  let keys = 0;
  let rawSnapshot = false;
  let bytesWritten = 0;
  let lastProgress = 0;
  const interval = options.progressIntervalMs ?? 250;
  const state = {
    phase: mode === 'scan' ? 'scan' : 'sync',
    node: '',
    bytesReceived: 0,
  };
  const progress = (done) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!done && now - lastProgress < interval) return;
    lastProgress = now;
    options.onProgress({ ...state, keys, bytesWritten, elapsedMs: now - started, done });
  };
  const { flavor, version } = serverVersion(conn.info);
  const header = {
    tool: '@valkey-tools/backup',
    created: new Date(started).toISOString(),
    source: conn.where,
    server: `${flavor} ${version}`,
    mode,
  };
  try {
    let chunks;
    if (mode === 'scan') chunks = scanChunks(conn, options, format, header);
    else chunks = replicationChunks(conn, options, format, header);
    bytesWritten = await writeFileAtomically(options.output, chunks, (n) => {
      bytesWritten = n;
      progress(false);
    });
  } finally {
    await conn.close();
  }
  if (rawSnapshot) {
    const v = await verifyRdb(options.output);
    if (v.error) {
      await rm(options.output, { force: true });
      throw new BackupError(
        'ERR_REPLICATION',
        `the snapshot ${conn.where} sent is not a valid RDB file: ${v.error.message}`,
        { details: { url: conn.where, ...v.error }, hint: 'Nothing was kept; run the backup again' },
      );
    }
    keys = v.keys;
  }
  progress(true);
  return { output: options.output, format, mode, nodes, keys, bytesWritten, elapsedMs: Date.now() - started };
  function primaries2() {
    return conn.cluster
      ? conn.cluster.nodes('master').map((n) => ({ client: n, name: `${n.options.host}:${n.options.port}` }))
      : [{ client: conn.client, name: `${conn.target.host}:${conn.target.port}` }];
  }
  async function* scanChunks(c, o, f, h) {
    for (const p of primaries2()) nodes.push(p.name);
    const source = scanServer(c, {
      filter,
      ...(o.db === void 0 ? {} : { db: o.db }),
      ...(o.match === void 0 ? {} : { match: o.match }),
      ...(o.type === void 0 ? {} : { type: o.type }),
      ...(o.count === void 0 ? {} : { count: o.count }),
      onDb: (info) => {
        state.node = info.node;
        state.totalKeys = (state.totalKeys ?? 0) + info.keys;
      },
    });
    const checkAbort = () => {
      if (o.signal?.aborted) {
        throw new BackupError('ERR_ABORTED', `backup of ${c.where} was aborted`, {
          details: { url: c.where, keys },
          hint: 'Nothing was written to the output; run the backup again',
        });
      }
    };
    const rawDump = (f === 'resp' || f === 'readable') && (o.values ?? 'dump') === 'dump';
    if (rawDump) {
      async function* cmds() {
        let db = -1;
        for await (const item of source) {
          checkAbort();
          if (item.kind === 'function') {
            yield command('FUNCTION', 'LOAD', 'REPLACE', item.code);
            continue;
          }
          if (item.db !== db) {
            yield command('SELECT', item.db);
            db = item.db;
          }
          keys++;
          yield item.expiresAt === void 0
            ? command('RESTORE', item.key, 0, item.payload)
            : command('RESTORE', item.key, item.expiresAt, item.payload, 'ABSTTL');
        }
      }
      yield* f === 'resp' ? commandsToResp(cmds(), { header: h }) : commandsToReadable(cmds(), { header: h });
      return;
    }
    async function* records() {
      for await (const item of source) {
        checkAbort();
        if (item.kind === 'function') yield { kind: 'function', code: item.code };
        else {
          keys++;
          yield await dumpToRecord(item);
        }
      }
    }
    yield* encodeRecords(records(), f, {
      header: h,
      ...(o.batchSize === void 0 ? {} : { batchSize: o.batchSize }),
    });
  }
  async function* replicationChunks(c, o, f, h) {
    const list = primaries2();
    const sync = (p) => {
      nodes.push(p.name);
      state.node = p.name;
      const target = {
        ...c.target,
        host: String(p.client.options.host),
        port: Number(p.client.options.port),
      };
      return syncRdb(target, {
        where: c.cluster ? p.name : c.where,
        ...(o.tls ? { tls: o.tls } : {}),
        ...(o.idleTimeoutMs === void 0 ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
        ...(o.signal ? { signal: o.signal } : {}),
        onStart: (s) => {
          if (s.size !== void 0) state.snapshotBytes = (state.snapshotBytes ?? 0) + s.size;
        },
        onBytes: () => {},
      });
    };
    let received = 0;
    async function* counting(src) {
      for await (const b of src) {
        received += b.length;
        state.bytesReceived = received;
        progress(false);
        yield b;
      }
    }
    if (f === 'rdb' && list.length === 1 && !filter.any) {
      rawSnapshot = true;
      yield* counting(sync(list[0]));
      return;
    }
    async function* records() {
      let headerSeen = false;
      for (const p of list) {
        for await (const r of readRdbRecords(counting(sync(p)), { file: `${p.name} (replication)` })) {
          if (r.kind === 'key') {
            if (!(filter.db(r.db) && filter.key(r.key) && filter.type(r.value.type))) continue;
            keys++;
            yield r;
          } else if (r.kind === 'function') {
            if (p === list[0]) yield r;
          } else if (r.kind === 'header' || r.kind === 'aux' || r.kind === 'module-aux') {
            if (!headerSeen || r.kind !== 'header') {
              if (p === list[0]) yield r;
            }
            if (r.kind === 'header') headerSeen = true;
          } else if (r.kind === 'end') {
            if (p === list[list.length - 1]) yield r;
          } else if (r.kind === 'select-db') yield r;
        }
      }
    }
    yield* encodeRecords(records(), f, {
      header: h,
      ...(o.batchSize === void 0 ? {} : { batchSize: o.batchSize }),
    });
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/restore/restore.ts
import { redactUrl as redactUrl2 } from '@valkey-tools/core';

// ../../tmp/vd-bench/after/packages/backup/src/convert/input.ts
import { createReadStream as createReadStream4 } from 'node:fs';
import { stat as stat3 } from 'node:fs/promises';

// ../../tmp/vd-bench/after/packages/backup/src/aof/read-aof.ts
import { createReadStream as createReadStream3 } from 'node:fs';
import { open as open2, readdir, readFile, stat as stat2 } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

// ../../tmp/vd-bench/after/packages/backup/src/aof/manifest.ts
var TYPES2 = { b: 'base', i: 'incr', h: 'history' };
function parseAofManifest(text2, source = 'manifest') {
  const out = [];
  const lines = text2.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fail = (problem) => {
      throw new BackupError('ERR_AOF_MANIFEST', `${source}:${i + 1}: ${problem}`, {
        details: { file: source, line: i + 1 },
        hint: 'The manifest lists "file <name> seq <n> type <b|i|h>" per line; repair it or restore from a copy',
      });
    };
    const parts = parseCommandLine(line, { line: i + 1, source }).map((b) => b.toString('utf8'));
    const fields = {};
    for (let j = 0; j + 1 < parts.length; j += 2) fields[parts[j]] = parts[j + 1];
    if (parts.length % 2 !== 0) fail('odd number of fields');
    const file = fields.file;
    const seq = fields.seq;
    const type = fields.type;
    if (!file) fail('missing "file"');
    if (!seq || !/^\d+$/.test(seq)) fail('missing or bad "seq"');
    if (!type || !TYPES2[type]) fail(`missing or unknown "type" ${type ?? ''}`);
    if (file.includes('/')) fail(`file name "${file}" must not contain a path`);
    out.push({ file, seq: Number(seq), type: TYPES2[type] });
  }
  const bases = out.filter((e) => e.type === 'base');
  if (bases.length > 1) {
    throw new BackupError('ERR_AOF_MANIFEST', `${source}: more than one BASE file`, {
      details: { file: source },
    });
  }
  return out;
}
function aofLoadOrder(entries) {
  const base = entries.filter((e) => e.type === 'base');
  const incr = entries.filter((e) => e.type === 'incr');
  return [...base, ...incr];
}

// ../../tmp/vd-bench/after/packages/backup/src/aof/read-aof.ts
async function startsWithRdbMagic(path) {
  const fh = await open2(path, 'r');
  try {
    const buf = Buffer.alloc(6);
    const { bytesRead } = await fh.read(buf, 0, 6, 0);
    const head = buf.subarray(0, bytesRead).toString('latin1');
    return head.startsWith('REDIS') || head.startsWith('VALKEY');
  } finally {
    await fh.close();
  }
}
async function* fileSegments(path, last, options) {
  let respStart = 0;
  if (await startsWithRdbMagic(path)) {
    let tail = -1;
    yield {
      kind: 'records',
      file: path,
      records: readRdbRecords(path, { file: path, onTrailingData: (offset) => (tail = offset) }),
    };
    if (tail === -1) return;
    respStart = tail;
  }
  const { size } = await stat2(path);
  if (respStart >= size) return;
  yield {
    kind: 'commands',
    file: path,
    batches: parseRespCommandBatches(
      createReadStream3(path, { start: respStart, highWaterMark: 256 * 1024 }),
      {
        source: path,
        truncated: last ? (options.truncated ?? 'error') : 'error',
        onTruncated: (t2) => options.onTruncated?.({ ...t2, offset: t2.offset + respStart, file: path }),
      },
    ),
  };
}
async function findManifest(dir) {
  let names;
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new BackupError('ERR_AOF_MANIFEST', `cannot read the AOF directory ${dir}`, {
      cause: err,
      details: { dir },
    });
  }
  const manifests = names.filter((n) => n.endsWith('.manifest'));
  if (manifests.length !== 1) {
    throw new BackupError(
      'ERR_AOF_MANIFEST',
      manifests.length === 0
        ? `no *.manifest file in the AOF directory ${dir}`
        : `several manifests in ${dir}: ${manifests.join(', ')}`,
      {
        details: { dir },
        hint: 'Point at the appenddirname directory of a Valkey 7.0+ server (it holds appendonly.aof.manifest), or at the manifest file',
      },
    );
  }
  return join(dir, manifests[0]);
}
async function* readAof(path, options = {}) {
  let info;
  try {
    info = await stat2(path);
  } catch (err) {
    throw new BackupError('ERR_FORMAT', `cannot open the AOF ${path}`, {
      cause: err,
      details: { file: path },
    });
  }
  let manifestPath;
  if (info.isDirectory()) manifestPath = await findManifest(path);
  else if (path.endsWith('.manifest')) manifestPath = path;
  if (!manifestPath) {
    yield* fileSegments(path, true, options);
    return;
  }
  const dir = dirname(manifestPath);
  const entries = aofLoadOrder(
    parseAofManifest(await readFile(manifestPath, 'utf8'), basename(manifestPath)),
  );
  for (const e of entries) {
    try {
      await stat2(join(dir, e.file));
    } catch {
      throw new BackupError(
        'ERR_AOF_MANIFEST',
        `the manifest ${manifestPath} names ${e.file}, which does not exist`,
        {
          details: { file: manifestPath, missing: e.file },
          hint: 'The AOF directory is incomplete; copy the whole directory while the server is not rewriting',
        },
      );
    }
  }
  for (let i = 0; i < entries.length; i++) {
    yield* fileSegments(join(dir, entries[i].file), i === entries.length - 1, options);
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/convert/input.ts
async function* counted(stream, onBytes) {
  for await (const chunk of stream) {
    onBytes?.(chunk.length);
    yield chunk;
  }
}
async function respSegment(source, batches) {
  const it = batches[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? void 0 : first.value[0];
  const header = head ? parseHeaderCommand(head) : null;
  const grouped = header !== null && header.replay !== 'raw';
  async function* all() {
    if (first.done) return;
    yield first.value;
    while (true) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  return { kind: 'commands', source, batches: all(), grouped };
}
async function* mapArgs(parsed) {
  for await (const batch of parsed) yield batch.map((c) => c.args);
}
async function* single(commands) {
  for await (const c of commands) yield [c];
}
async function* flattenBatches(batches) {
  for await (const b of batches) yield* b;
}
async function inputFormat(path, from) {
  let isDir = false;
  try {
    isDir = (await stat3(path)).isDirectory();
  } catch (err) {
    throw new BackupError('ERR_FORMAT', `cannot open the input ${path}: ${err.message}`, {
      cause: err,
      details: { path },
    });
  }
  return from ?? (isDir ? 'aof' : formatFromPath(path, 'input'));
}
async function* openInput(path, options = {}) {
  const format = await inputFormat(path, options.from);
  const stream = () => counted(createReadStream4(path, { highWaterMark: 256 * 1024 }), options.onBytes);
  const onTruncated = (t2, source) => options.onTruncated?.({ source, offset: t2.offset, bytes: t2.bytes });
  switch (format) {
    case 'rdb':
      yield {
        kind: 'records',
        source: path,
        records: readRdbRecords(stream(), { file: path, chunked: options.chunked === true }),
      };
      return;
    case 'jsonl':
      yield { kind: 'records', source: path, records: jsonlToRecordStream(stream()) };
      return;
    case 'resp': {
      const parsed = parseRespCommandBatches(stream(), {
        source: path,
        truncated: options.truncated ?? 'error',
        onTruncated: (t2) => onTruncated(t2, path),
      });
      yield await respSegment(path, mapArgs(parsed));
      return;
    }
    case 'readable':
      yield await respSegment(path, single(readableToCommands(stream(), { source: path })));
      return;
    case 'aof':
      for await (const seg of readAof(path, {
        truncated: options.truncated ?? 'error',
        onTruncated: (t2) => onTruncated(t2, t2.file),
      })) {
        if (seg.kind === 'records') yield { kind: 'records', source: seg.file, records: seg.records };
        else yield { kind: 'commands', source: seg.file, batches: mapArgs(seg.batches), grouped: false };
      }
      return;
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/restore/items.ts
var upper = (b) => (b ? b.toString('latin1').toUpperCase() : '');
function keyIndex(args, name) {
  switch (name) {
    case 'SET':
    case 'APPEND':
    case 'RPUSH':
    case 'SADD':
    case 'ZADD':
    case 'HSET':
    case 'HMSET':
    case 'XADD':
    case 'XSETID':
    case 'XCLAIM':
    case 'PEXPIREAT':
    case 'HPEXPIREAT':
    case 'RESTORE':
      return args.length > 1 ? 1 : -1;
    case 'XGROUP': {
      const sub = upper(args[1]);
      return (sub === 'CREATE' || sub === 'CREATECONSUMER' || sub === 'SETID') && args.length > 2 ? 2 : -1;
    }
    default:
      return -1;
  }
}
function restoreFallback(args, db) {
  return async () => {
    const key = args[1];
    const record = await decodeDump(args[3], key, db);
    const ttl = Number(args[2].toString('latin1'));
    const abs = args.slice(4).some((a) => upper(a) === 'ABSTTL');
    if (ttl > 0) record.expiresAt = abs ? ttl : Date.now() + ttl;
    return keyRecordToCommands(record);
  };
}
var ItemGrouper = class {
  constructor(options) {
    this.options = options;
    this.db = options.db ?? 0;
  }
  options;
  db;
  current = null;
  /** The db the commands pushed next go to. */
  get currentDb() {
    return this.db;
  }
  push(args, out) {
    const name = upper(args[0]);
    if (name === 'SELECT' && args.length === 2) {
      this.end(out);
      this.db = Number(args[1].toString('latin1'));
      return;
    }
    if (name === 'ECHO' && parseHeaderCommand(args)) return;
    if (name === 'FUNCTION' && upper(args[1]) === 'LOAD') {
      this.end(out);
      out.push({ kind: 'function', code: args[args.length - 1], bytes: encodedLength(args) });
      return;
    }
    const ki = this.options.grouped ? keyIndex(args, name) : -1;
    if (ki === -1) {
      this.end(out);
      out.push({ kind: 'raw', db: this.db, command: args, bytes: encodedLength(args) });
      return;
    }
    const key = args[ki];
    const cur = this.current;
    if (cur && cur.db === this.db && cur.key.equals(key)) {
      cur.commands.push(args);
      cur.bytes += encodedLength(args);
    } else {
      this.end(out);
      const next = {
        kind: 'key',
        db: this.db,
        key,
        commands: [args],
        bytes: encodedLength(args),
      };
      if (name === 'RESTORE' && args.length >= 4) next.fallback = restoreFallback(args, this.db);
      this.current = next;
    }
  }
  /** Flushes the key being built. */
  end(out) {
    if (this.current) out.push(this.current);
    this.current = null;
  }
};
async function* commandsToItems(commands, options) {
  const grouper = new ItemGrouper(options);
  const out = [];
  for await (const args of commands) {
    grouper.push(args, out);
    if (out.length > 0) yield* out.splice(0);
  }
  grouper.end(out);
  yield* out;
}
async function* commandBatchesToItems(batches, options) {
  const grouper = new ItemGrouper(options);
  for await (const batch of batches) {
    const out2 = [];
    for (const args of batch) grouper.push(args, out2);
    if (out2.length > 0) yield out2;
  }
  const out = [];
  grouper.end(out);
  if (out.length > 0) yield out;
}
function restoreCommand(key, payload, attrs) {
  const args = command('RESTORE', key, attrs.expiresAt ?? 0, payload);
  if (attrs.expiresAt !== void 0) args.push(Buffer.from('ABSTTL'));
  if (attrs.lfuFreq !== void 0) args.push(Buffer.from('FREQ'), Buffer.from(String(attrs.lfuFreq)));
  else if (attrs.lruIdle !== void 0) args.push(Buffer.from('IDLETIME'), Buffer.from(String(attrs.lruIdle)));
  return args;
}
function recordToItem(r, options = {}) {
  if (r.kind === 'function') {
    const c = command('FUNCTION', 'LOAD', 'REPLACE', r.code);
    return { kind: 'function', code: r.code, bytes: encodedLength(c) };
  }
  if (r.kind !== 'key') return void 0;
  const plain = () => keyRecordToCommands(r, options);
  let payload;
  try {
    payload = options.encodeDump?.(r);
  } catch {
    payload = void 0;
  }
  if (payload) {
    const args = restoreCommand(r.key, payload, r);
    return {
      kind: 'key',
      db: r.db,
      key: r.key,
      commands: [args],
      fallback: plain,
      bytes: encodedLength(args),
    };
  }
  const cmds = plain();
  return {
    kind: 'key',
    db: r.db,
    key: r.key,
    commands: cmds,
    bytes: cmds.reduce((n, c) => n + encodedLength(c), 0),
  };
}
async function* recordsToItems(records, options = {}) {
  for await (const r of records) {
    const item = recordToItem(r, options);
    if (item) yield item;
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/restore/collection-payload.ts
var CollectionPayload = class {
  /** The RDB type byte of the last encoded value. */
  type = 0;
  /** The RDB value bytes: `body[start, <what encode() returned>)`. */
  body = Buffer.allocUnsafe(16 * 1024);
  /** Argument offsets in the command: [start, end) of argument i at 2i, 2i+1. */
  args = new Int32Array(2 * 1030);
  /** The listpack being built: lp[LP_AT, lpPos) (lp is body: the value ends up in place). */
  lp = this.body;
  lpPos = 0;
  /** Where the value starts in `body` (`body[start, length)`). */
  start = 0;
  ints = new Float64Array(512);
  scores = new Float64Array(128);
  order = [];
  /**
   * Encodes the command at `buf[start, end)` (the name is `name`, upper case); returns where the
   * value ends in `body` (it starts at `start`), or -1 when the command does not become a compact
   * value this way.
   */
  encode(buf, start, end, name) {
    const argc = this.scan(buf, start, end);
    if (argc < 3) return -1;
    switch (name) {
      case 'RPUSH':
        return this.list(buf, argc);
      case 'SADD':
        return this.set(buf, argc);
      case 'HSET':
      case 'HMSET':
        return this.hash(buf, argc);
      case 'ZADD':
        return this.zset(buf, argc);
      default:
        return -1;
    }
  }
  /** Finds every argument of the command; returns argc (0 when it is not one whole command). */
  scan(buf, start, end) {
    let p = start;
    if (buf[p] !== 42) return 0;
    let argc = 0;
    p++;
    while (p < end && buf[p] !== 13) argc = argc * 10 + buf[p++] - 48;
    p += 2;
    if (argc < 1 || 2 * argc > this.args.length) return 0;
    for (let i = 0; i < argc; i++) {
      if (p >= end || buf[p] !== 36) return 0;
      p++;
      let n = 0;
      while (p < end && buf[p] !== 13) n = n * 10 + buf[p++] - 48;
      p += 2;
      this.args[2 * i] = p;
      this.args[2 * i + 1] = p + n;
      p += n + 2;
    }
    return p === end ? argc : 0;
  }
  len(i) {
    return this.args[2 * i + 1] - this.args[2 * i];
  }
  same(buf, i, j) {
    const a = this.args[2 * i];
    const b = this.args[2 * j];
    const n = this.args[2 * i + 1] - a;
    if (n !== this.args[2 * j + 1] - b) return false;
    for (let k = n - 1; k >= 0; k--) if (buf[a + k] !== buf[b + k]) return false;
    return true;
  }
  /** True when arguments first, first+step, ... (up to argc) hold the same bytes twice. */
  hasDuplicates(buf, first, argc, step) {
    const n = (argc - first) / step;
    if (n <= 24) {
      for (let i = first; i < argc; i += step)
        for (let j = i + step; j < argc; j += step) if (this.same(buf, i, j)) return true;
      return false;
    }
    const seen = /* @__PURE__ */ new Set();
    for (let i = first; i < argc; i += step) {
      const s = buf.toString('latin1', this.args[2 * i], this.args[2 * i + 1]);
      if (seen.has(s)) return true;
      seen.add(s);
    }
    return false;
  }
  /** The integer in argument i when it is one the server keeps as an integer (no sign games, 15 digits at most); NaN otherwise. */
  int(buf, i) {
    const a = this.args[2 * i];
    const b = this.args[2 * i + 1];
    let p = a;
    const neg = buf[p] === 45;
    if (neg) p++;
    const digits2 = b - p;
    if (digits2 < 1 || digits2 > 15 || (buf[p] === 48 && (digits2 > 1 || neg))) return Number.NaN;
    let v = 0;
    for (; p < b; p++) {
      const c = buf[p] - 48;
      if (c < 0 || c > 9) return Number.NaN;
      v = v * 10 + c;
    }
    return neg ? -v : v;
  }
  // ---- listpack ---------------------------------------------------------------------------
  lpStart() {
    this.lp = this.body;
    this.lpPos = LP_AT + 6;
  }
  room(n) {
    if (this.lpPos + n + 16 <= this.lp.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.lp.length * 2, this.lpPos + n + 16));
    this.lp.copy(bigger, 0, 0, this.lpPos);
    this.lp = this.body = bigger;
  }
  lpInt(v) {
    this.room(10);
    const lp = this.lp;
    const at = this.lpPos;
    let p = at;
    if (v >= 0 && v <= 127) lp[p++] = v;
    else if (v >= -4096 && v <= 4095) {
      const u = v < 0 ? v + 8192 : v;
      lp[p++] = 192 | (u >> 8);
      lp[p++] = u & 255;
    } else if (v >= -32768 && v <= 32767) {
      lp[p++] = 241;
      p = lp.writeInt16LE(v, p);
    } else if (v >= -8388608 && v <= 8388607) {
      lp[p++] = 242;
      p = lp.writeIntLE(v, p, 3);
    } else if (v >= -2147483648 && v <= 2147483647) {
      lp[p++] = 243;
      p = lp.writeInt32LE(v, p);
    } else {
      lp[p++] = 244;
      p = writeInt64(lp, v, p);
    }
    this.lpPos = p;
    this.lpPos += writeBacklen(this.lp, this.lpPos, p - at);
  }
  lpString(src, a, b) {
    const l = b - a;
    this.room(l + 10);
    const lp = this.lp;
    const at = this.lpPos;
    let p = at;
    if (l < 64) lp[p++] = 128 | l;
    else if (l < 4096) {
      lp[p++] = 224 | (l >> 8);
      lp[p++] = l & 255;
    } else {
      lp[p++] = 240;
      p = lp.writeUInt32LE(l, p);
    }
    if (l <= 32) for (let k = a; k < b; k++) lp[p++] = src[k];
    else p += src.copy(lp, p, a, b);
    this.lpPos = p;
    this.lpPos += writeBacklen(this.lp, this.lpPos, p - at);
  }
  /** Argument i as the server would store it: an integer entry when it is one, else a string. */
  lpArg(buf, i) {
    const v = this.int(buf, i);
    if (!Number.isNaN(v)) {
      this.lpInt(v);
      return;
    }
    const big2 = this.bigInt(buf, i);
    if (big2 === null) {
      this.lpString(buf, this.args[2 * i], this.args[2 * i + 1]);
      return;
    }
    this.room(10);
    const at = this.lpPos;
    this.lp[at] = 244;
    this.lpPos = this.lp.writeBigInt64LE(big2, at + 1);
    this.lpPos += writeBacklen(this.lp, this.lpPos, 9);
  }
  lpText(s) {
    const l = s.length;
    this.room(l + 10);
    const lp = this.lp;
    const at = this.lpPos;
    lp[this.lpPos++] = 128 | l;
    this.lpPos += lp.write(s, this.lpPos, 'latin1');
    this.lpPos += writeBacklen(lp, this.lpPos, this.lpPos - at);
  }
  /**
   * Finishes the listpack of `count` entries as an RDB string, with `before` bytes (the quicklist
   * header) ahead of its length; sets `start`; returns the end of the value in `body`.
   */
  lpFinish(count, before) {
    const lp = this.lp;
    lp[this.lpPos++] = 255;
    const total = this.lpPos - LP_AT;
    lp.writeUInt32LE(total, LP_AT);
    lp.writeUInt16LE(count, LP_AT + 4);
    let p = LP_AT - rdbLengthSize(total);
    writeRdbLength(lp, p, total);
    if (before === 2) {
      lp[--p] = 2;
      lp[--p] = 1;
    }
    this.start = p;
    return this.lpPos;
  }
  // ---- types ------------------------------------------------------------------------------
  list(buf, argc) {
    this.lpStart();
    for (let i = 2; i < argc; i++) {
      this.lpArg(buf, i);
      if (this.lpPos > 8 * 1024) return -1;
    }
    this.type = RdbType.LIST_QUICKLIST_2;
    return this.lpFinish(argc - 2, 2);
  }
  /** Starts an intset of n integers of `width` bytes as an RDB string in body; returns where its integers go. */
  intsetHeader(width, n) {
    const size = 8 + n * width;
    if (this.body.length < 5 + size) this.body = Buffer.allocUnsafe(2 * (5 + size));
    const body = this.body;
    let p = writeRdbLength(body, 0, size);
    p = body.writeUInt32LE(width, p);
    this.type = RdbType.SET_INTSET;
    this.start = 0;
    return body.writeUInt32LE(n, p);
  }
  /** Argument i as an int64 the server would integer-encode, when it has more than 15 digits; else null. */
  bigInt(buf, i) {
    const a = this.args[2 * i];
    const b = this.args[2 * i + 1];
    if (b - a < 16 || b - a > 20) return null;
    return parseCanonicalInt64(buf.subarray(a, b));
  }
  set(buf, argc) {
    const n = argc - 2;
    const L = DEFAULT_ENCODING_LIMITS;
    let allInts = n <= L.setMaxIntsetEntries;
    let bigs = null;
    for (let i = 2; allInts && i < argc; i++) {
      const v = this.int(buf, i);
      if (!Number.isNaN(v)) {
        if (bigs) bigs.push(BigInt(v));
        else this.ints[i - 2] = v;
        continue;
      }
      const b = this.bigInt(buf, i);
      if (b === null) allInts = false;
      else {
        bigs ??= Array.from(this.ints.subarray(0, i - 2), (x) => BigInt(x));
        bigs.push(b);
      }
    }
    if (allInts && bigs) {
      bigs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (let i = 1; i < n; i++) if (bigs[i] === bigs[i - 1]) return -1;
      let p = this.intsetHeader(8, n);
      for (const x of bigs) p = this.body.writeBigInt64LE(x, p);
      return p;
    }
    if (allInts) {
      const ints = this.ints.subarray(0, n).sort();
      let width = 2;
      for (let i = 0; i < n; i++) {
        const x = ints[i];
        if (i > 0 && x === ints[i - 1]) return -1;
        if (x < -2147483648 || x > 2147483647) width = 8;
        else if ((x < -32768 || x > 32767) && width < 4) width = 4;
      }
      let p = this.intsetHeader(width, n);
      const body = this.body;
      for (let i = 0; i < n; i++) {
        const x = ints[i];
        if (width === 2) p = body.writeInt16LE(x, p);
        else if (width === 4) p = body.writeInt32LE(x, p);
        else p = writeInt64(body, x, p);
      }
      return p;
    }
    if (n > L.setMaxListpackEntries) return -1;
    for (let i = 2; i < argc; i++) if (this.len(i) > L.setMaxListpackValue) return -1;
    if (this.hasDuplicates(buf, 2, argc, 1)) return -1;
    this.lpStart();
    for (let i = 2; i < argc; i++) this.lpArg(buf, i);
    this.type = RdbType.SET_LISTPACK;
    return this.lpFinish(n, 0);
  }
  hash(buf, argc) {
    const L = DEFAULT_ENCODING_LIMITS;
    if ((argc - 2) % 2 !== 0 || (argc - 2) / 2 > L.hashMaxListpackEntries) return -1;
    for (let i = 2; i < argc; i++) if (this.len(i) > L.hashMaxListpackValue) return -1;
    if (this.hasDuplicates(buf, 2, argc, 2)) return -1;
    this.lpStart();
    for (let i = 2; i < argc; i++) this.lpArg(buf, i);
    this.type = RdbType.HASH_LISTPACK;
    return this.lpFinish(argc - 2, 0);
  }
  zset(buf, argc) {
    const L = DEFAULT_ENCODING_LIMITS;
    const n = (argc - 2) / 2;
    if ((argc - 2) % 2 !== 0 || n > L.zsetMaxListpackEntries) return -1;
    const order = this.order;
    order.length = 0;
    for (let k = 0; k < n; k++) {
      const si = 2 + 2 * k;
      if (this.len(si + 1) > L.zsetMaxListpackValue) return -1;
      const s = this.score(buf, si);
      if (Number.isNaN(s)) return -1;
      this.scores[k] = s === 0 ? 0 : s;
      order.push(k);
    }
    if (this.hasDuplicates(buf, 3, argc, 2)) return -1;
    const args = this.args;
    order.sort((x, y) => {
      const a = this.scores[x];
      const b = this.scores[y];
      if (a !== b) return a < b ? -1 : 1;
      const mx = 2 * (3 + 2 * x);
      const my = 2 * (3 + 2 * y);
      return buf.compare(buf, args[my], args[my + 1], args[mx], args[mx + 1]);
    });
    this.lpStart();
    for (const k of order) {
      this.lpArg(buf, 3 + 2 * k);
      const s = this.scores[k];
      const si = 2 + 2 * k;
      if (Number.isSafeInteger(s) && !Object.is(s, -0)) this.lpInt(s);
      else if (Number.isFinite(s) && this.len(si) <= 64)
        this.lpString(buf, this.args[2 * si], this.args[2 * si + 1]);
      else this.lpText(scoreText(s));
    }
    this.type = RdbType.ZSET_LISTPACK;
    return this.lpFinish(2 * n, 0);
  }
  /** The score in argument i, as ZADD reads it (decimal or inf); NaN for anything else (flags too). */
  score(buf, i) {
    const a = this.args[2 * i];
    const b = this.args[2 * i + 1];
    let p = a;
    const neg = buf[p] === 45;
    if (neg) p++;
    let v = 0;
    let digits2 = 0;
    let frac = -1;
    for (; p < b; p++) {
      const c = buf[p];
      if (c === 46 && frac < 0) frac = 0;
      else if (c >= 48 && c <= 57) {
        v = v * 10 + c - 48;
        digits2++;
        if (frac >= 0) frac++;
      } else break;
    }
    if (p === b && digits2 > 0 && digits2 <= 15 && frac !== 0) {
      const x = frac > 0 ? v / POW10[frac] : v;
      return neg ? -x : x;
    }
    const t2 = buf.toString('latin1', a, b);
    if (SCORE.test(t2)) return Number(t2);
    if (INF.test(t2)) return t2.charCodeAt(0) === 45 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    return Number.NaN;
  }
};
function rdbLengthSize(n) {
  return n < 64 ? 1 : n < 16384 ? 2 : 5;
}
function writeRdbLength(out, at, n) {
  if (n < 64) {
    out[at] = n;
    return at + 1;
  }
  if (n < 16384) {
    out[at] = 64 | (n >> 8);
    out[at + 1] = n & 255;
    return at + 2;
  }
  out[at] = 128;
  return out.writeUInt32BE(n, at + 1);
}
function writeInt64(out, v, at) {
  const hi = Math.floor(v / 4294967296);
  return out.writeInt32LE(hi, out.writeUInt32LE(v - hi * 4294967296, at));
}
var LP_AT = 8;
var POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);
var SCORE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
var INF = /^[+-]?inf(?:inity)?$/i;

// ../../tmp/vd-bench/after/packages/backup/src/restore/mset-batch.ts
var MSET_BATCH_KEYS = 64;
var MSET_BATCH_BYTES = 64 * 1024;
var MSET_ROOM = MSET_BATCH_BYTES + 64;
var MSET = Buffer.from('$4\r\nMSET\r\n');
var MsetBatch = class {
  constructor(target, errors, onSend) {
    this.target = target;
    this.errors = errors;
    this.onSend = onSend;
  }
  target;
  errors;
  onSend;
  buf = Buffer.allocUnsafe(MSET_BATCH_BYTES);
  len = 0;
  count = 0;
  db = 0;
  encode = (into, at) => {
    let p = writeHeader(into, at, 42, this.count * 2 + 1);
    p += MSET.copy(into, p);
    return p + this.buf.copy(into, p, 0, this.len);
  };
  /** Makes room for a pair of `size` bytes in `db` (sending what is gathered when it must); false when the pair is too big for a batch. */
  begin(db, size) {
    if (size > MSET_BATCH_BYTES) return false;
    if (
      this.count > 0 &&
      (db !== this.db || this.count === MSET_BATCH_KEYS || this.len + size > MSET_BATCH_BYTES)
    )
      this.flush();
    this.db = db;
    return true;
  }
  /** The pair written since `begin()` ends at `end`. */
  commit(end) {
    this.len = end;
    this.count++;
  }
  /** Sends what is gathered (the window must have `MSET_ROOM`). */
  flush() {
    if (this.count === 0) return;
    const bytes = 3 + digits(this.count * 2 + 1) + MSET.length + this.len;
    this.target.sendEncoded(bytes, this.db, this.encode, this.errors, this.db);
    this.count = 0;
    this.len = 0;
    this.onSend(bytes);
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/restore/raw-rdb.ts
import { open as open3, stat as stat4 } from 'node:fs/promises';
var STOP_RAW_RESTORE = new Error('raw restore stopped');
function reader(fh) {
  let pos = 0;
  return async (into, offset, length) => {
    const { bytesRead } = await fh.read(into, offset, length, pos);
    pos += bytesRead;
    return bytesRead;
  };
}
var ascii = (s) => Buffer.from(s, 'latin1');
var RESTORE = ascii('$7\r\nRESTORE\r\n');
var TTL_ZERO = ascii('$1\r\n0\r\n');
var REPLACE = ascii('$7\r\nREPLACE\r\n');
var ABSTTL = ascii('$6\r\nABSTTL\r\n');
var FREQ = ascii('$4\r\nFREQ\r\n');
var IDLETIME = ascii('$8\r\nIDLETIME\r\n');
function putBulkText(into, at, text2) {
  let p = writeHeader(into, at, 36, text2.length);
  p += into.write(text2, p, 'latin1');
  into[p++] = 13;
  into[p++] = 10;
  return p;
}
var RestoreEncoder = class {
  constructor(version, replace) {
    this.version = version;
    this.replace = replace;
  }
  version;
  replace;
  span;
  ttl = '';
  extra = '';
  crc = new Crc64();
  measure(span) {
    this.span = span;
    const keyLen = span.keyEnd - span.keyStart;
    const valueLen = span.valueEnd - span.valueStart;
    let argc = 4;
    let n = RESTORE.length + bulkSize(keyLen) + bulkSize(1 + valueLen + 10);
    this.ttl = span.expiresAt === void 0 ? '' : String(span.expiresAt);
    n += this.ttl === '' ? TTL_ZERO.length : bulkSize(this.ttl.length);
    if (this.replace) {
      argc++;
      n += REPLACE.length;
    }
    if (span.expiresAt !== void 0) {
      argc++;
      n += ABSTTL.length;
    }
    this.extra = '';
    if (span.lfuFreq !== void 0) {
      this.extra = String(span.lfuFreq);
      argc += 2;
      n += FREQ.length + bulkSize(this.extra.length);
    } else if (span.lruIdle !== void 0) {
      this.extra = String(span.lruIdle);
      argc += 2;
      n += IDLETIME.length + bulkSize(this.extra.length);
    }
    return n + 3 + (argc < 10 ? 1 : 2);
  }
  encode = (into, at) => {
    const s = this.span;
    const argc =
      4 +
      (this.replace ? 1 : 0) +
      (s.expiresAt !== void 0 ? 1 : 0) +
      (s.lfuFreq !== void 0 || s.lruIdle !== void 0 ? 2 : 0);
    let p = writeHeader(into, at, 42, argc);
    p += RESTORE.copy(into, p);
    p = writeHeader(into, p, 36, s.keyEnd - s.keyStart);
    p += s.keyBuf.copy(into, p, s.keyStart, s.keyEnd);
    into[p++] = 13;
    into[p++] = 10;
    p = this.ttl === '' ? p + TTL_ZERO.copy(into, p) : putBulkText(into, p, this.ttl);
    const valueLen = s.valueEnd - s.valueStart;
    p = writeHeader(into, p, 36, 1 + valueLen + 10);
    const payload = p;
    into[p++] = s.type;
    p += s.buf.copy(into, p, s.valueStart, s.valueEnd);
    into.writeUInt16LE(this.version, p);
    p += 2;
    this.crc.reset().update(into, payload, p).writeDigest(into, p);
    p += 8;
    into[p++] = 13;
    into[p++] = 10;
    if (this.replace) p += REPLACE.copy(into, p);
    if (s.expiresAt !== void 0) p += ABSTTL.copy(into, p);
    if (s.lfuFreq !== void 0) p = putBulkText(into, p + FREQ.copy(into, p), this.extra);
    else if (s.lruIdle !== void 0) p = putBulkText(into, p + IDLETIME.copy(into, p), this.extra);
    return p;
  };
};
var lenEnd = 0;
function rdbLength(buf, p) {
  const t2 = buf[p];
  switch (t2 >> 6) {
    case 0:
      lenEnd = p + 1;
      return t2 & 63;
    case 1:
      lenEnd = p + 2;
      return ((t2 & 63) << 8) | buf[p + 1];
    default:
      if (t2 === 128) {
        lenEnd = p + 5;
        return buf.readUInt32BE(p + 1);
      }
      if (t2 === 129) {
        lenEnd = p + 9;
        return Number(buf.readBigUInt64BE(p + 1));
      }
      return -1;
  }
}
function batchRdbString(batch, db, span) {
  const b = span.buf;
  const t2 = b[span.valueStart];
  const keyLen = span.keyEnd - span.keyStart;
  let valueLen;
  let at = 0;
  let text2 = '';
  let lzfEnd = 0;
  if (t2 >> 6 !== 3) {
    valueLen = rdbLength(b, span.valueStart);
    at = lenEnd;
  } else if ((t2 & 63) <= 2) {
    const p2 = span.valueStart + 1;
    text2 = String(
      (t2 & 63) === 0 ? b.readInt8(p2) : (t2 & 63) === 1 ? b.readInt16LE(p2) : b.readInt32LE(p2),
    );
    valueLen = text2.length;
  } else if ((t2 & 63) === 3) {
    const clen = rdbLength(b, span.valueStart + 1);
    valueLen = rdbLength(b, lenEnd);
    at = lenEnd;
    lzfEnd = at + clen;
  } else return false;
  if (valueLen < 0 || !batch.begin(db, bulkSize(keyLen) + bulkSize(valueLen))) return false;
  const out = batch.buf;
  let p = writeHeader(out, batch.len, 36, keyLen);
  p += span.keyBuf.copy(out, p, span.keyStart, span.keyEnd);
  out[p++] = 13;
  out[p++] = 10;
  p = writeHeader(out, p, 36, valueLen);
  if (text2 !== '') p += out.write(text2, p, 'latin1');
  else if (lzfEnd > 0) {
    lzfDecompressInto(b, at, lzfEnd, out.subarray(p, p + valueLen), valueLen);
    p += valueLen;
  } else p += b.copy(out, p, at, at + valueLen);
  out[p++] = 13;
  out[p++] = 10;
  batch.commit(p);
  return true;
}
async function restoreRawRdb(path, options) {
  let fh;
  try {
    fh = await open3(path, 'r');
  } catch {
    return false;
  }
  try {
    return await restoreFrom(fh, path, options);
  } finally {
    await fh.close();
  }
}
var sameFile = (a, b) => a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
async function restoreFrom(fh, path, options) {
  const changed = () =>
    new BackupError('ERR_RESTORE', `${path} changed while it was being restored`, {
      details: { path },
      hint: 'Restore from a file nothing writes to (copy it first), with replace: true to converge',
    });
  const opened = await fh.stat();
  const checked = await fastVerifySource(path, {});
  if (!sameFile(opened, await stat4(path))) throw changed();
  if (!checked) {
    const full = await verifyRdbWithReader(path);
    if (full.error) {
      throw new BackupError('ERR_RESTORE', `${path} is not a valid RDB file: ${full.error.message}`, {
        details: { path, ...full.error },
        hint: 'Nothing was written. `valkey-tools verify` shows the damage; restore from a good copy',
      });
    }
    await options.onVerified?.();
    return false;
  }
  await options.onVerified?.();
  const fits =
    checked.version <= options.payloadVersion &&
    (checked.version <= 11 || (checked.magic === 'VALKEY' && options.targetIsValkey));
  if (!fits) return false;
  const version = checked.version;
  let walked;
  try {
    walked = await fastVerify(reader(fh), opened.size, {
      checksum: false,
      shallow: true,
      onKey: (span) => options.onKey(span, version),
      onFunction: options.onFunction,
      ...(options.onBytes ? { onProgress: (p) => options.onBytes(p.bytes), progressEvery: 1e3 } : {}),
    });
  } catch (err) {
    if (err === STOP_RAW_RESTORE) return true;
    throw err;
  }
  if (!walked || walked.keys !== checked.keys || walked.bytes !== checked.bytes) throw changed();
  if (!sameFile(opened, await fh.stat())) throw changed();
  return true;
}

// ../../tmp/vd-bench/after/packages/backup/src/restore/pass-through.ts
import { createReadStream as createReadStream5 } from 'node:fs';
async function passThroughResp(path, options) {
  const parser = new RespCommandParser({ source: path });
  const split = [];
  let declined = null;
  const visit = (span) => {
    if (options.onSpan(span)) return true;
    declined = span;
    return false;
  };
  for await (const chunk of createReadStream5(path, { highWaterMark: 256 * 1024 })) {
    options.onBytes?.(chunk.length);
    let i = 0;
    while (i < chunk.length) {
      i = parser.scan(chunk, i, visit, split);
      if (declined) {
        const span = declined;
        declined = null;
        if (!(await options.onSpanAsync(span))) return;
      }
      if (split.length > 0) {
        const c = split.pop();
        if (!(await options.onCommand(c))) return;
      }
    }
  }
  await options.onEnd?.();
  const t2 = parser.tail();
  if (t2) {
    if (options.truncated !== 'drop') throw truncatedError(path, t2);
    options.onTruncated?.({ source: path, offset: t2.offset, bytes: t2.bytes });
  }
}
function nameIs(buf, start, end, name) {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((buf[start + i] & 223) !== name.charCodeAt(i)) return false;
  return true;
}
function spanKeyIndex(span) {
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

// ../../tmp/vd-bench/after/packages/backup/src/restore/check-input.ts
import { createReadStream as createReadStream6 } from 'node:fs';

// ../../tmp/vd-bench/after/packages/backup/src/restore/data-commands.ts
var t = (keys, type) => (type ? { keys, type } : { keys });
var DATA_COMMANDS = {
  // strings (and bitmaps, HyperLogLogs: strings too)
  SET: t('first', 'string'),
  SETNX: t('first', 'string'),
  SETEX: t('first', 'string'),
  PSETEX: t('first', 'string'),
  GETSET: t('first', 'string'),
  GETDEL: t('first', 'string'),
  GETEX: t('first', 'string'),
  APPEND: t('first', 'string'),
  SETRANGE: t('first', 'string'),
  INCR: t('first', 'string'),
  DECR: t('first', 'string'),
  INCRBY: t('first', 'string'),
  DECRBY: t('first', 'string'),
  INCRBYFLOAT: t('first', 'string'),
  SETBIT: t('first', 'string'),
  BITFIELD: t('first', 'string'),
  PFADD: t('first', 'string'),
  MSET: t('pairs', 'string'),
  // lists
  RPUSH: t('first', 'list'),
  LPUSH: t('first', 'list'),
  RPUSHX: t('first', 'list'),
  LPUSHX: t('first', 'list'),
  LPOP: t('first', 'list'),
  RPOP: t('first', 'list'),
  LSET: t('first', 'list'),
  LINSERT: t('first', 'list'),
  LREM: t('first', 'list'),
  LTRIM: t('first', 'list'),
  // hashes
  HSET: t('first', 'hash'),
  HMSET: t('first', 'hash'),
  HSETNX: t('first', 'hash'),
  HDEL: t('first', 'hash'),
  HINCRBY: t('first', 'hash'),
  HINCRBYFLOAT: t('first', 'hash'),
  HPEXPIREAT: t('first', 'hash'),
  HPERSIST: t('first', 'hash'),
  // sets
  SADD: t('first', 'set'),
  SREM: t('first', 'set'),
  SPOP: t('first', 'set'),
  // sorted sets
  ZADD: t('first', 'zset'),
  ZINCRBY: t('first', 'zset'),
  ZREM: t('first', 'zset'),
  ZREMRANGEBYSCORE: t('first', 'zset'),
  ZREMRANGEBYRANK: t('first', 'zset'),
  ZREMRANGEBYLEX: t('first', 'zset'),
  ZPOPMIN: t('first', 'zset'),
  ZPOPMAX: t('first', 'zset'),
  GEOADD: t('first', 'zset'),
  // streams
  XADD: t('first', 'stream'),
  XDEL: t('first', 'stream'),
  XTRIM: t('first', 'stream'),
  XSETID: t('first', 'stream'),
  XCLAIM: t('first', 'stream'),
  XAUTOCLAIM: t('first', 'stream'),
  XACK: t('first', 'stream'),
  XGROUP: t('group', 'stream'),
  // any type
  DEL: t('all'),
  UNLINK: t('all'),
  EXPIRE: t('first'),
  PEXPIRE: t('first'),
  EXPIREAT: t('first'),
  PEXPIREAT: t('first'),
  PERSIST: t('first'),
  RESTORE: t('first'),
  // data commands that span keys
  RENAME: t('cross'),
  RENAMENX: t('cross'),
  COPY: t('cross'),
  MOVE: t('cross'),
  SWAPDB: t('cross'),
  MSETNX: t('cross', 'string'),
  BITOP: t('cross', 'string'),
  PFMERGE: t('cross', 'string'),
  RPOPLPUSH: t('cross', 'list'),
  LMOVE: t('cross', 'list'),
  LMPOP: t('cross', 'list'),
  SMOVE: t('cross', 'set'),
  SINTERSTORE: t('cross', 'set'),
  SUNIONSTORE: t('cross', 'set'),
  SDIFFSTORE: t('cross', 'set'),
  ZUNIONSTORE: t('cross', 'zset'),
  ZINTERSTORE: t('cross', 'zset'),
  ZDIFFSTORE: t('cross', 'zset'),
  ZRANGESTORE: t('cross', 'zset'),
  ZMPOP: t('cross', 'zset'),
  GEOSEARCHSTORE: t('cross', 'zset'),
  SORT: t('cross'),
};
var XGROUP_SUBCOMMANDS = /* @__PURE__ */ new Set([
  'CREATE',
  'SETID',
  'CREATECONSUMER',
  'DELCONSUMER',
  'DESTROY',
]);
var GROUPED_KEY_COMMANDS = /* @__PURE__ */ new Set([
  'SET',
  'APPEND',
  'RPUSH',
  'SADD',
  'ZADD',
  'HSET',
  'HMSET',
  'XADD',
  'XSETID',
  'XCLAIM',
  'PEXPIREAT',
  'HPEXPIREAT',
  'RESTORE',
  'XGROUP',
]);
function dataCommand(name, args) {
  const c = DATA_COMMANDS[name];
  if (!c) return void 0;
  if (c.keys === 'group' && !XGROUP_SUBCOMMANDS.has(args[1]?.toString('latin1').toUpperCase() ?? ''))
    return void 0;
  return c;
}
function commandKeys(c, args) {
  switch (c.keys) {
    case 'first':
      return args.length > 1 ? [args[1]] : [];
    case 'group':
      return args.length > 2 ? [args[2]] : [];
    case 'all':
      return args.slice(1);
    case 'pairs': {
      const keys = [];
      for (let i = 1; i < args.length; i += 2) keys.push(args[i]);
      return keys;
    }
    case 'cross':
      return [];
  }
}
function splitPerKey(c, args) {
  if (c.keys === 'all' && args.length > 2) return args.slice(1).map((k) => [args[0], k]);
  if (c.keys === 'pairs' && args.length > 3) {
    const set = Buffer.from('SET');
    const out = [];
    for (let i = 1; i + 1 < args.length; i += 2) out.push([set, args[i], args[i + 1]]);
    return out;
  }
  return [args];
}

// ../../tmp/vd-bench/after/packages/backup/src/restore/check-input.ts
var KeySet = class {
  dbs = /* @__PURE__ */ new Map();
  size = 0;
  add(db, key) {
    let s = this.dbs.get(db);
    if (!s) this.dbs.set(db, (s = /* @__PURE__ */ new Set()));
    const k = key.toString('latin1');
    if (!s.has(k)) {
      s.add(k);
      this.size++;
    }
  }
  has(db, key) {
    return this.size > 0 && this.dbs.get(db)?.has(key.toString('latin1')) === true;
  }
  /** Removes the key; true when it was there. */
  delete(db, key) {
    if (this.size === 0 || this.dbs.get(db)?.delete(key.toString('latin1')) !== true) return false;
    this.size--;
    return true;
  }
  *entries() {
    for (const [db, s] of this.dbs) for (const k of s) yield [db, Buffer.from(k, 'latin1')];
  }
};
var MAX_MULTI_KEYS_SHOWN = 3;
var where = (c) => `${c.source}: command #${c.index + 1}${c.offset === void 0 ? '' : ` at byte ${c.offset}`}`;
var SegmentChecker = class {
  constructor(options, keys, alwaysReplay, onReplay) {
    this.options = options;
    this.keys = keys;
    this.alwaysReplay = alwaysReplay;
    this.onReplay = onReplay;
  }
  options;
  keys;
  alwaysReplay;
  onReplay;
  db = 0;
  grouped = false;
  started = false;
  /** Keys of the open MULTI block (latin1), and where it began. */
  multi = null;
  refuse(c, why, hint) {
    throw new BackupError('ERR_REFUSED_COMMAND', `${where(c)}: ${why}; nothing was sent`, {
      details: { source: c.source, command: c.index, offset: c.offset, name: c.name },
      hint,
    });
  }
  /**
   * The common case without building anything: a command our files build keys with (SET, RPUSH,
   * HSET, ... as `spanKeyIndex` knows them: data, one key as first argument, allowed in grouped
   * files too), outside a MULTI block. False when `check` must look.
   */
  quick(span) {
    if (!this.started || this.multi !== null || spanKeyIndex(span) !== 1) return false;
    if (this.grouped || this.options.verbatim || this.keys === null) return true;
    if (this.options.filter.any) return false;
    this.keys.add(this.db, span.buf.subarray(span.a1Start, span.a1End));
    return true;
  }
  check(c) {
    if (!this.started) {
      this.started = true;
      const header = c.name === 'ECHO' && !this.alwaysReplay ? parseHeaderCommand(c.args()) : null;
      this.grouped = header !== null && header.replay !== 'raw';
      if (!this.grouped) this.onReplay();
      if (header) return;
    }
    const o = this.options;
    if (c.name === 'SELECT') {
      const db = Number(c.a1()?.toString('latin1'));
      if (c.argc !== 2 || !Number.isInteger(db) || db < 0)
        this.refuse(c, 'SELECT needs one db number', 'Fix or remove the command');
      this.db = db;
      return;
    }
    if (c.name === 'FUNCTION') {
      const sub = c.a1()?.toString('latin1').toUpperCase();
      if (sub !== 'LOAD' || c.argc < 3) {
        if (!o.verbatim)
          this.refuse(c, `FUNCTION ${sub ?? ''} is not data (only FUNCTION LOAD is replayed)`, VERBATIM_HINT);
      }
      return;
    }
    if (c.name === 'MULTI' || c.name === 'EXEC') {
      if (o.verbatim) return;
      if (this.grouped) this.refuse(c, `${c.name} does not belong in a .valkey file`, VERBATIM_HINT);
      if (c.name === 'MULTI') {
        if (this.multi) this.refuse(c, 'MULTI inside a MULTI block', 'Fix the file: it is damaged');
        this.multi = { keys: /* @__PURE__ */ new Set(), at: where(c) };
      } else {
        if (!this.multi) this.refuse(c, 'EXEC without MULTI', 'Fix the file: it is damaged');
        this.multi = null;
      }
      return;
    }
    const data = dataCommand(c.name, c.name === 'XGROUP' ? c.args() : []);
    if (!data) {
      if (o.verbatim) return;
      this.refuse(
        c,
        `${c.name} is not a command that writes data (a restore replays only data: ${DATA_HINT})`,
        VERBATIM_HINT,
      );
    }
    if (this.grouped && !o.verbatim && !GROUPED_KEY_COMMANDS.has(c.name)) {
      this.refuse(
        c,
        `${c.name} is not a command .valkey files build keys with (the file's header says each key's commands make it from nothing)`,
        'Remove the header (the first ECHO command) to replay the file command by command, or fix the file',
      );
    }
    if (data.keys === 'cross') {
      if (o.verbatim) return;
      this.refuse(
        c,
        `${c.name} reads or moves data between keys, so a restore cannot keep, skip or replace each key on its own`,
        VERBATIM_HINT,
      );
    }
    if (c.name === 'RESTORE' && o.checkPayload) {
      const args = c.args();
      if (args.length < 4) this.refuse(c, 'RESTORE needs a key, a ttl and a payload', 'Fix the file');
      o.checkPayload(args[3], `${where(c)} (RESTORE of key "${displayBytes(args[1])}")`);
    }
    this.noteKeys(c, data);
  }
  noteKeys(c, data) {
    const o = this.options;
    const multi = this.multi && !o.verbatim ? this.multi : null;
    const keys = this.grouped ? null : this.keys;
    if (!multi && !keys) return;
    const named = data.keys === 'first' ? (c.argc > 1 ? [c.a1()] : []) : commandKeys(data, c.args());
    for (const key of named) {
      if (multi) {
        multi.keys.add(key.toString('latin1'));
        if (multi.keys.size > 1) {
          const shown = [...multi.keys]
            .slice(0, MAX_MULTI_KEYS_SHOWN)
            .map((k) => `"${displayBytes(Buffer.from(k, 'latin1'))}"`);
          this.refuse(
            c,
            `the MULTI block begun at ${multi.at} spans keys (${shown.join(', ')}), so a restore cannot keep, skip or replace each key on its own`,
            VERBATIM_HINT,
          );
        }
      }
      if (
        keys &&
        o.filter.db(this.db) &&
        o.filter.key(key) &&
        (data.type === void 0 || o.filter.type(data.type))
      )
        keys.add(this.db, key);
    }
  }
  end() {
    if (this.multi && !this.options.verbatim) {
      this.multi = null;
    }
  }
};
var DATA_HINT = 'strings, lists, hashes, sets, sorted sets, streams, expiries, DEL, SELECT, FUNCTION LOAD';
var VERBATIM_HINT =
  'Remove the command from the file; or, if you trust the file and want every command run as it is (existing keys may then be changed or merged into), pass verbatim: true (--verbatim)';
function spanView(span, source) {
  let decoded;
  return {
    name: span.buf.toString('latin1', span.nameStart, span.nameEnd).toUpperCase(),
    argc: span.argc,
    args: () => (decoded ??= decodeCommandAt(span.buf, span.start)),
    a1: () => (span.a1Start === -1 ? void 0 : span.buf.subarray(span.a1Start, span.a1End)),
    source,
    index: span.index,
    offset: span.offset,
  };
}
function parsedView(c, source) {
  return {
    name: (c.args[0]?.toString('latin1') ?? '').toUpperCase(),
    argc: c.args.length,
    args: () => c.args,
    a1: () => c.args[1],
    source,
    index: c.index,
    offset: c.offset,
  };
}
async function scanRespFile(path, start, checker, options) {
  const parser = new RespCommandParser({ source: path });
  const split = [];
  let n = 0;
  const visit = (span) => {
    n++;
    if (!checker.quick(span)) checker.check(spanView(span, path));
    return true;
  };
  for await (const chunk of createReadStream6(path, {
    start,
    highWaterMark: 256 * 1024,
  })) {
    options.onBytes?.(chunk.length);
    let i = 0;
    while (i < chunk.length) {
      i = parser.scan(chunk, i, visit, split);
      for (const c of split.splice(0)) {
        n++;
        checker.check(parsedView({ ...c, offset: c.offset + start }, path));
      }
    }
  }
  const t2 = parser.tail();
  if (t2 && options.truncated !== 'drop') throw truncatedError(path, t2);
  checker.end();
  return n;
}
async function checkInput(path, options) {
  const keys = options.collectKeys ? new KeySet() : null;
  const result = { replay: false, keys, items: 0 };
  const onReplay = () => {
    result.replay = true;
  };
  switch (options.format) {
    case 'rdb':
      return result;
    case 'jsonl': {
      const stream = createReadStream6(path, { highWaterMark: 256 * 1024 });
      for await (const r of jsonlToRecordStream(countBytes(stream, options.onBytes))) {
        void r;
        result.items++;
      }
      return result;
    }
    case 'resp': {
      const checker = new SegmentChecker(options, keys, false, onReplay);
      result.items = await scanRespFile(path, 0, checker, options);
      return result;
    }
    case 'readable': {
      const checker = new SegmentChecker(options, keys, false, onReplay);
      const stream = createReadStream6(path, { highWaterMark: 256 * 1024 });
      let index = 0;
      for await (const args of readableToCommands(countBytes(stream, options.onBytes), { source: path })) {
        checker.check(parsedView({ args, index: index++ }, path));
      }
      checker.end();
      result.items = index;
      return result;
    }
    case 'aof': {
      for await (const seg of readAof(path, { truncated: options.truncated })) {
        if (seg.kind === 'records') {
          for await (const r of seg.records) {
            result.items++;
            if (keys && r.kind === 'key' && options.filter.db(r.db) && options.filter.key(r.key))
              keys.add(r.db, r.key);
          }
          continue;
        }
        const checker = new SegmentChecker(options, keys, true, onReplay);
        for await (const batch of seg.batches)
          for (const c of batch) {
            result.items++;
            checker.check(parsedView(c, seg.file));
          }
        checker.end();
      }
      return result;
    }
  }
}
async function* countBytes(stream, onBytes) {
  for await (const chunk of stream) {
    onBytes?.(chunk.length);
    yield chunk;
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/restore/target.ts
import { Command as IoCommand } from 'iovalkey';

// ../../tmp/vd-bench/after/packages/backup/src/cluster/slot.ts
var TABLE2 = (() => {
  const t2 = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 32768 ? ((c << 1) ^ 4129) & 65535 : (c << 1) & 65535;
    t2[i] = c;
  }
  return t2;
})();
function crc16(data) {
  let crc = 0;
  for (const byte of data) crc = ((crc << 8) & 65535) ^ TABLE2[((crc >> 8) ^ byte) & 255];
  return crc;
}
function keySlot(key) {
  const open4 = key.indexOf(123);
  if (open4 !== -1) {
    const close = key.indexOf(125, open4 + 1);
    if (close > open4 + 1) return crc16(key.subarray(open4 + 1, close)) & 16383;
  }
  return crc16(key) & 16383;
}

// ../../tmp/vd-bench/after/packages/backup/src/restore/target.ts
var ReplyQueue = class {
  handlers = new Array(1024);
  ctxs = new Array(1024);
  /** The command, or the buffer it was encoded into (at `starts[i]`): decoded only if needed. */
  cmds = new Array(1024);
  sizes = new Float64Array(1024);
  starts = new Float64Array(1024);
  head = 0;
  length = 0;
  push(handler, ctx, args, bytes, start = 0) {
    if (this.length === this.sizes.length) this.grow();
    const i = (this.head + this.length) % this.sizes.length;
    this.handlers[i] = handler;
    this.ctxs[i] = ctx;
    this.cmds[i] = handler ? args : void 0;
    this.sizes[i] = bytes;
    this.starts[i] = start;
    this.length++;
  }
  /** Removes the oldest entry and settles it; returns its size in bytes. */
  settle(reply, err) {
    const i = this.head;
    const handler = this.handlers[i];
    const ctx = this.ctxs[i];
    const args = this.cmds[i];
    const bytes = this.sizes[i];
    this.handlers[i] = void 0;
    this.ctxs[i] = void 0;
    this.cmds[i] = void 0;
    this.head = (i + 1) % this.sizes.length;
    this.length--;
    if (handler && args) {
      const f = err ? handler.error : handler.reply;
      if (f) {
        const cmd = Buffer.isBuffer(args) ? decodeCommandAt(args, this.starts[i]) : args;
        if (err) handler.error(ctx, cmd, err);
        else handler.reply(ctx, cmd, reply);
      }
    }
    return bytes;
  }
  grow() {
    const n = this.sizes.length;
    const order = (a) => [...a.slice(this.head), ...a.slice(0, this.head), ...new Array(n)];
    this.handlers = order(this.handlers);
    this.ctxs = order(this.ctxs);
    this.cmds = order(this.cmds);
    const reorder = (a) => {
      const out = new Float64Array(n * 2);
      out.set(a.subarray(this.head));
      out.set(a.subarray(0, this.head), n - this.head);
      return out;
    };
    this.sizes = reorder(this.sizes);
    this.starts = reorder(this.starts);
    this.head = 0;
  }
};
var CHUNK = 256 * 1024;
function checkSize(wrote, bytes) {
  if (wrote !== bytes) throw new Error(`internal error: a command of ${bytes} bytes was encoded as ${wrote}`);
}
var RestoreTarget = class {
  constructor(conn, limits) {
    this.conn = conn;
    this.limits = limits;
    this.isCluster = conn.cluster !== void 0;
  }
  conn;
  limits;
  queue = new ReplyQueue();
  inflightBytes = 0;
  waiters = [];
  db = -1;
  isCluster;
  /** The answer sink iovalkey settles for each command written by this target (standalone). */
  sink = {
    name: 'restore',
    args: [],
    inTransaction: false,
    resolve: (reply) => this.release(this.queue.settle(reply, void 0)),
    reject: (err) => this.release(this.queue.settle(void 0, err)),
  };
  entries = /* @__PURE__ */ new Map();
  chunk = Buffer.allocUnsafe(0);
  /** Encoded but not yet written: `chunk[flushed, pos)`. */
  flushed = 0;
  pos = 0;
  flushScheduled = false;
  /** The buffer the last `write` went to. */
  lastBuf = this.chunk;
  /** `encodeArgs` encodes this command (set just before; avoids a closure per command). */
  pendingArgs = [];
  encodeArgs = (into, at) => encodeCommandInto(into, at, this.pendingArgs);
  release(bytes) {
    this.inflightBytes -= bytes;
    if (
      this.waiters.length > 0 &&
      (this.queue.length === 0 ||
        (this.queue.length <= (this.limits.commands * 3) >> 2 &&
          this.inflightBytes <= (this.limits.bytes * 3) / 4))
    ) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }
  /** True when a command of `bytes` fits in the window now. */
  hasRoom(bytes) {
    const n = this.queue.length;
    return n === 0 || (n < this.limits.commands && this.inflightBytes + bytes <= this.limits.bytes);
  }
  /** Waits until the window has room for a command of `bytes`. */
  async room(bytes) {
    while (!this.hasRoom(bytes)) {
      this.flush();
      await new Promise((r) => this.waiters.push(r));
    }
  }
  /** Waits until every sent command is answered. */
  async idle() {
    this.flush();
    while (this.queue.length > 0) await new Promise((r) => this.waiters.push(r));
  }
  /** Writes what is encoded and not yet written to the socket. */
  flush() {
    if (this.pos === this.flushed) return;
    const stream = this.conn.client.stream;
    const bytes = this.chunk.subarray(this.flushed, this.pos);
    this.flushed = this.pos;
    if (stream?.writable) stream.write(bytes);
  }
  scheduleFlush() {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }
  /**
   * Encodes a command of `bytes` after what is pending, in the current chunk (or alone, when
   * large); returns the offset it went to, in `this.lastBuf`.
   */
  write(bytes, encode) {
    if (bytes > CHUNK / 4) {
      this.flush();
      const own = this.encodeAlone(bytes, encode);
      const stream = this.conn.client.stream;
      if (stream?.writable) stream.write(own);
      this.lastBuf = own;
      return 0;
    }
    if (this.pos + bytes > this.chunk.length) {
      this.flush();
      this.chunk = Buffer.allocUnsafe(CHUNK);
      this.pos = this.flushed = 0;
    }
    const at = this.pos;
    this.pos = encode(this.chunk, at);
    checkSize(this.pos - at, bytes);
    if (this.pos - this.flushed >= CHUNK / 2) this.flush();
    else this.scheduleFlush();
    this.lastBuf = this.chunk;
    return at;
  }
  queueEntry(db) {
    let e = this.entries.get(db);
    if (!e) {
      e = { command: this.sink, stream: void 0, select: db };
      this.entries.set(db, e);
    }
    return e;
  }
  /**
   * Sends one command in `db` (standalone: a SELECT goes first when the db changes); the server's
   * answer goes to `handler` with `ctx`. `bytes` is the command's encoded length. Call `room()`
   * first to respect the window.
   */
  send(args, bytes, db, key, handler, ctx) {
    if (this.conn.cluster) {
      this.sendCluster(args, bytes, key, handler, ctx);
      return;
    }
    this.pendingArgs = args;
    this.sendStandalone(encodedLength(args), db, this.encodeArgs, handler, ctx, args);
    this.pendingArgs = [];
  }
  /**
   * Sends one command that `encode` writes straight into the output (exactly `bytes` bytes): no
   * argument buffers are made for it. Its handler gets the command decoded from those bytes.
   */
  sendEncoded(bytes, db, encode, handler, ctx) {
    if (this.conn.cluster) {
      const wire = this.encodeAlone(bytes, encode);
      const args = decodeCommandAt(wire, 0);
      this.sendCluster(args, bytes, args[1], handler, ctx, wire);
      return;
    }
    this.sendStandalone(bytes, db, encode, handler, ctx);
  }
  sendStandalone(bytes, db, encode, handler, ctx, args) {
    const client = this.conn.client;
    if (client.status !== 'ready') {
      if (handler?.error) {
        const cmd = args ?? decodeCommandAt(this.encodeAlone(bytes, encode), 0);
        handler.error(ctx, cmd, new Error('Connection is closed.'));
      }
      return;
    }
    if (db !== this.db) {
      const select = [Buffer.from('SELECT'), Buffer.from(String(db))];
      this.queue.push(void 0, void 0, select, 0);
      client.commandQueue.push(this.queueEntry(db));
      this.pendingArgs = select;
      this.write(encodedLength(select), this.encodeArgs);
      this.pendingArgs = args ?? [];
      this.db = db;
    }
    const at = this.write(bytes, encode);
    this.queue.push(handler, ctx, args ?? this.lastBuf, bytes, at);
    this.inflightBytes += bytes;
    client.commandQueue.push(this.queueEntry(db));
  }
  encodeAlone(bytes, encode) {
    const own = Buffer.allocUnsafe(bytes);
    checkSize(encode(own, 0), bytes);
    return own;
  }
  sendCluster(args, bytes, key, handler, ctx, encoded) {
    const name = args[0].toString('latin1').toLowerCase();
    const cmd = new IoCommand(name, args.slice(1), { replyEncoding: null });
    const wire = encoded ?? Buffer.allocUnsafe(encodedLength(args));
    if (!encoded) encodeCommandInto(wire, 0, args);
    cmd.toWritable = () => wire;
    if (key !== void 0) cmd.slot = keySlot(key);
    this.queue.push(void 0, void 0, args, 0);
    this.inflightBytes += bytes;
    cmd.promise.then(
      (reply) => {
        this.release(this.queue.settle(void 0, void 0) + bytes);
        handler?.reply?.(ctx, args, reply);
      },
      (err) => {
        this.release(this.queue.settle(void 0, void 0) + bytes);
        handler?.error?.(ctx, args, err);
      },
    );
    this.conn.cluster.sendCommand(cmd);
  }
  /** Sends a command to every primary (FUNCTION LOAD, FLUSHALL, INFO) and waits for all replies. */
  async sendToPrimaries(args) {
    this.flush();
    const name = args[0].toString('latin1').toLowerCase();
    const nodes = this.conn.cluster ? this.conn.cluster.nodes('master') : [this.conn.client];
    return Promise.all(
      nodes.map((n) => {
        const cmd = new IoCommand(name, args.slice(1), { replyEncoding: null });
        n.sendCommand(cmd);
        return cmd.promise;
      }),
    );
  }
  /** The keys the target holds, over every db (and every primary of a cluster). */
  async keyCount() {
    const replies = await this.sendToPrimaries([Buffer.from('INFO'), Buffer.from('keyspace')]);
    let n = 0;
    for (const r of replies) for (const m of String(r).matchAll(/^db\d+:keys=(\d+)/gm)) n += Number(m[1]);
    return n;
  }
  /** The code of a loaded function library (from the first primary), or undefined. */
  async libraryCode(name) {
    this.flush();
    const node = this.conn.cluster ? this.conn.cluster.nodes('master')[0] : this.conn.client;
    const reply = await node.callBuffer('FUNCTION', 'LIST', 'LIBRARYNAME', name, 'WITHCODE');
    for (const lib of reply ?? []) {
      for (let i = 0; i < lib.length; i += 2) {
        if (lib[i].toString() === 'library_name' && lib[i + 1].toString() !== name) break;
        if (lib[i].toString() === 'library_code') return lib[i + 1];
      }
    }
    return void 0;
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/restore/restore.ts
var CONVERGE_HINT =
  'Fix the cause, then run the same restore again with --replace (replace: true): it converges to the input';
var RESUME_HINT = 'Run the same restore again with --replace (replace: true): it converges to the input';
var display = (b) => b.toString('latin1');
var COLLECTION_COMMANDS = ['HSET', 'SADD', 'ZADD', 'RPUSH', 'HMSET'];
function isName(b, name) {
  if (!b || b.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((b[i] & 223) !== name.charCodeAt(i)) return false;
  return true;
}
var PAYLOAD_REFUSED = /payload version or checksum are wrong|Bad data format/i;
async function* recordItemBatches(records, f, options, loadedAt, onExpired, size = 64) {
  let batch = [];
  for await (const r of records) {
    if (f.any && r.kind === 'key' && !(f.db(r.db) && f.key(r.key) && f.type(r.value.type))) continue;
    if (r.kind === 'key' && isEmptyCollection(r.value)) continue;
    if (r.kind === 'key' && r.expiresAt !== void 0 && r.expiresAt <= loadedAt) {
      onExpired();
      continue;
    }
    const item = recordToItem(r, options);
    if (!item) continue;
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
function keepItem(item, f) {
  if (item.kind === 'function') return true;
  if (item.kind === 'raw') return f.db(item.db);
  if (!(f.db(item.db) && f.key(item.key))) return false;
  const t2 = commandValueType(item.commands[0]);
  return t2 === void 0 || f.type(t2);
}
async function* filterItemBatches(batches, f) {
  for await (const batch of batches) yield f.any ? batch.filter((i) => keepItem(i, f)) : batch;
}
async function restore(options) {
  const started = Date.now();
  const filter = compileFilter(options);
  const onError = options.onError ?? 'stop';
  const replace = options.replace ?? false;
  if (options.targetDb !== void 0 && (!Number.isInteger(options.targetDb) || options.targetDb < 0)) {
    throw new BackupError(
      'ERR_INVALID_OPTION',
      `targetDb must be a non-negative integer, got ${options.targetDb}`,
    );
  }
  const conn = await connectServer(options.url, options.tls ? { tls: options.tls } : {});
  const target = new RestoreTarget(conn, {
    commands: options.maxInFlight ?? 5e3,
    bytes: options.maxInFlightBytes ?? 16 * 1024 * 1024,
  });
  const inputName = typeof options.input === 'string' ? options.input : options.input.source;
  const payloadVersion = dumpVersionFor(conn.info);
  const supportsPxat =
    serverVersion(conn.info).flavor === 'valkey' ||
    payloadVersion >= 10 ||
    /^6\.2\./.test(serverVersion(conn.info).version);
  const stats = { keys: 0, functions: 0, commands: 0, bytes: 0, inputBytes: 0, expired: 0 };
  const loadedAt = Date.now();
  const errors = [];
  let errorCount = 0;
  let stopped = null;
  let restoreRefused = options.useRestore === 'never';
  let targetEmpty = false;
  let usedRestore = false;
  let rawReplay = false;
  let fellBack = false;
  const dropped = [];
  const pendingFallbacks = [];
  let lastProgress = 0;
  const interval = options.progressIntervalMs ?? 250;
  let phase = 'restoring';
  const verbatim = options.verbatim === true;
  let skipped = 0;
  let existing = null;
  let inputKeys = null;
  const keptAsTheyWere = new KeySet();
  const progress = (done) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!done && now - lastProgress < interval) return;
    lastProgress = now;
    const elapsedMs = now - started;
    const secs = Math.max(elapsedMs, 1) / 1e3;
    options.onProgress({
      ...stats,
      phase,
      errors: errorCount,
      elapsedMs,
      keysPerSecond: stats.keys / secs,
      bytesPerSecond: stats.bytes / secs,
      done,
    });
  };
  const fail = (f) => {
    errorCount++;
    if (f.message.startsWith('BUSYKEY')) skipped++;
    if (errors.length < 1e3) errors.push(f);
    if (onError === 'stop' && !stopped) stopped = f;
  };
  const dbOf = (db) => {
    const d = options.targetDb ?? db;
    if (target.isCluster && d !== 0) {
      throw new BackupError(
        'ERR_UNSUPPORTED',
        `the input has keys in db ${db}, but a cluster only has db 0`,
        {
          details: { db, url: conn.where },
          hint: 'Pass db to restore one source db, and targetDb: 0 to write it into the cluster',
        },
      );
    }
    return d;
  };
  const sendAll = async (item, cmds, db) => {
    for (const c of cmds) {
      const bytes = encodedLength(c);
      if (!target.hasRoom(bytes)) await target.room(bytes);
      stats.commands++;
      stats.bytes += bytes;
      target.send(c, bytes, db, item.key, keyErrors, item);
    }
    stats.keys++;
    progress(false);
  };
  const plainCommands = async (item, fromFallback) => {
    const cmds = fromFallback ? await item.fallback() : item.commands;
    return replace ? [command('DEL', item.key), ...cmds] : cmds;
  };
  const onKeyError = (item, c, db, err) => {
    const name = display(c[0]).toUpperCase();
    if (name === 'RESTORE' && item.fallback && PAYLOAD_REFUSED.test(err.message)) {
      restoreRefused = true;
      fellBack = true;
      stats.keys--;
      pendingFallbacks.push(
        plainCommands(item, true).then(
          (cmds) => sendAll(item, cmds, db),
          (e) =>
            fail({
              key: display(item.key),
              keyBytes: item.key,
              db,
              command: 'RESTORE',
              message: `${err.message}; decoding the payload failed too: ${e.message}`,
            }),
        ),
      );
      return;
    }
    if (item.commands.length === 1) stats.keys--;
    fail({ key: display(item.key), keyBytes: item.key, db, command: name, message: err.message });
  };
  const keyErrors = {
    error: (item, c, err) => onKeyError(item, c, dbOf(item.db), err),
  };
  const setReply = {
    reply: (item, _c, reply) => {
      if (reply !== null) return;
      stats.keys--;
      fail({
        key: display(item.key),
        keyBytes: item.key,
        db: dbOf(item.db),
        command: 'SET',
        message: 'BUSYKEY Target key name already exists.',
      });
    },
    error: keyErrors.error,
  };
  const existsReply = {
    reply: (resolve, _c, r) => resolve(Number(r) > 0),
    error: (resolve) => resolve(false),
  };
  const rawErrors = {
    error: (item, c, err) =>
      fail({
        key: c[1] ? display(c[1]) : '',
        ...(c[1] ? { keyBytes: c[1] } : {}),
        db: dbOf(item.db),
        command: display(c[0]).toUpperCase(),
        message: err.message,
      }),
  };
  const pending = [];
  const drainPending = async (keep) => {
    while (pending.length > keep && !stopped) {
      const { item, db, exists } = pending.shift();
      if (await exists) {
        fail({
          key: display(item.key),
          keyBytes: item.key,
          db,
          command: display(item.commands[0][0]).toUpperCase(),
          message: 'BUSYKEY Target key name already exists.',
        });
      } else await sendAll(item, item.commands, db);
    }
  };
  const flushPending = () => drainPending(0);
  const queueChecked = async (item, db) => {
    await target.room(32);
    const exists = new Promise((resolve) =>
      target.send(command('EXISTS', item.key), 32, db, item.key, existsReply, resolve),
    );
    pending.push({ item, db, exists });
    if (pending.length >= 512) await drainPending(256);
  };
  const asSingleSet = (item) => {
    const [set, expire, ...more] = item.commands;
    if (!set || more.length > 0 || set.length !== 3 || !isName(set[0], 'SET')) return null;
    const out = [...set];
    if (!replace) out.push(Buffer.from('NX'));
    if (expire) {
      if (!supportsPxat || expire.length !== 3 || !isName(expire[0], 'PEXPIREAT')) return null;
      out.push(Buffer.from('PXAT'), expire[2]);
    }
    return out;
  };
  const sendSet = async (item, args, db) => {
    const bytes = encodedLength(args);
    if (!target.hasRoom(bytes)) await target.room(bytes);
    stats.commands++;
    stats.bytes += bytes;
    target.send(args, bytes, db, item.key, setReply, item);
    stats.keys++;
    progress(false);
  };
  const decide = (db, key) => {
    if (existing === null) return 'send';
    if (keptAsTheyWere.has(db, key)) return 'skip';
    if (!existing.delete(db, key)) return 'send';
    if (replace) return 'replace';
    keptAsTheyWere.add(db, key);
    fail({
      key: display(key),
      keyBytes: key,
      db: dbOf(db),
      command: 'EXISTS',
      message: 'BUSYKEY Target key name already exists.',
    });
    return 'skip';
  };
  const handleKey = async (item) => {
    if (existing !== null && decide(item.db, item.key) === 'skip') return;
    const db = dbOf(item.db);
    const first = item.commands[0];
    const isRestore = item.commands.length === 1 && isName(first[0], 'RESTORE');
    if (isRestore && !(restoreRefused && item.fallback)) {
      usedRestore = true;
      const args =
        replace && !first.some((a) => isName(a, 'REPLACE')) ? [...first, Buffer.from('REPLACE')] : first;
      await sendAll(item, [args], db);
      return;
    }
    if (isRestore) {
      fellBack = true;
      await sendAll(item, await plainCommands(item, true), db);
      return;
    }
    const single2 = asSingleSet(item);
    if (single2) {
      await sendSet(item, single2, db);
      return;
    }
    if (replace || targetEmpty) {
      await sendAll(item, await plainCommands(item, false), db);
      return;
    }
    await queueChecked(item, db);
  };
  const handleFunction = async (code) => {
    await flushPending();
    await target.idle();
    const args = replace ? command('FUNCTION', 'LOAD', 'REPLACE', code) : command('FUNCTION', 'LOAD', code);
    stats.commands++;
    stats.bytes += encodedLength(args);
    const name = /^#!\S+\s+name=(\S+)/.exec(code.toString('utf8'))?.[1] ?? 'library';
    try {
      await target.sendToPrimaries(args);
      stats.functions++;
    } catch (err) {
      if (/already exists/.test(err.message) && (await target.libraryCode(name))?.equals(code)) {
        stats.functions++;
        return;
      }
      fail({ key: `library ${name}`, db: 0, command: 'FUNCTION LOAD', message: err.message });
    }
  };
  const sendRaw = async (item, args, bytes, db) => {
    await target.room(bytes);
    stats.commands++;
    stats.bytes += bytes;
    target.send(args, bytes, db, void 0, rawErrors, item);
    progress(false);
  };
  const handleRaw = async (item) => {
    await flushPending();
    const name = display(item.command[0]).toUpperCase();
    if (target.isCluster && (name === 'MULTI' || name === 'EXEC')) return;
    const db = dbOf(item.db);
    const data = verbatim ? void 0 : dataCommand(name, item.command);
    if (data && data.keys !== 'cross' && (existing !== null || filter.any)) {
      for (const args of splitPerKey(data, item.command)) {
        const key = args[data.keys === 'group' ? 2 : 1];
        if (!key) continue;
        if (filter.any && !(filter.key(key) && (data.type === void 0 || filter.type(data.type)))) continue;
        const what = decide(item.db, key);
        if (what === 'skip') continue;
        if (what === 'replace') {
          const del = command('DEL', key);
          await sendRaw(item, del, encodedLength(del), db);
        }
        await sendRaw(item, args, args === item.command ? item.bytes : encodedLength(args), db);
      }
      return;
    }
    await sendRaw(item, item.command, item.bytes, db);
  };
  const partial = () =>
    stats.keys === 0
      ? stats.commands === 0
        ? 'nothing was written'
        : 'no key was written'
      : `${stats.keys} key${stats.keys === 1 ? ' was' : 's were'} written before it stopped: the target now holds part of the input`;
  const checkAborted = () => {
    if (options.signal?.aborted) {
      throw new BackupError('ERR_ABORTED', `restore into ${conn.where} was aborted`, {
        details: { url: conn.where, keys: stats.keys },
      });
    }
  };
  const handleItem = async (item) => {
    if (stopped) return false;
    checkAborted();
    if (item.kind === 'key') await handleKey(item);
    else if (item.kind === 'function') await handleFunction(item.code);
    else await handleRaw(item);
    return true;
  };
  let format = null;
  let flushed = false;
  const inputChecked = async () => {
    if (!options.flush || flushed) return;
    flushed = true;
    await target.sendToPrimaries(command('FLUSHALL'));
  };
  let rdbVerified = false;
  const rawKeyItem = (args, db) => ({
    kind: 'key',
    db,
    key: args[1],
    commands: [args],
    fallback: restoreFallback(args, db),
    bytes: encodedLength(args),
  });
  const rawKeyErrors = {
    error: (db, c, err) => onKeyError(rawKeyItem(c, db), c, dbOf(db), err),
  };
  const msetErrors = {
    error: (db, c, err) => {
      for (let i = 1; i < c.length; i += 2) {
        stats.keys--;
        fail({ key: display(c[i]), keyBytes: c[i], db, command: 'MSET', message: err.message });
      }
    },
  };
  const msetSent = (bytes) => {
    stats.commands++;
    stats.bytes += bytes;
    progress(false);
  };
  const restoredRaw = async () => {
    const input = options.input;
    if (typeof input !== 'string' || options.useRestore === 'never' || restoreRefused) return false;
    if (format !== 'rdb') return false;
    let encoder;
    const sendEncoded = (bytes, db, fileDb) => {
      stats.commands++;
      stats.bytes += bytes;
      target.sendEncoded(bytes, db, encoder.encode, rawKeyErrors, fileDb);
      stats.keys++;
      usedRestore = true;
      progress(false);
    };
    const sendRestore = (span, version, db) => {
      encoder ??= new RestoreEncoder(version, replace);
      const bytes = encoder.measure(span);
      if (target.hasRoom(bytes)) sendEncoded(bytes, db, span.db);
      else return target.room(bytes).then(() => sendEncoded(bytes, db, span.db));
    };
    const batch =
      !target.isCluster && (targetEmpty || replace) ? new MsetBatch(target, msetErrors, msetSent) : null;
    const batchString = (span, db) => {
      if (!batchRdbString(batch, db, span)) return false;
      stats.keys++;
      return true;
    };
    const plainString = (span) =>
      batch !== null &&
      span.type === RdbType.STRING &&
      span.expiresAt === void 0 &&
      span.lruIdle === void 0 &&
      span.lfuFreq === void 0;
    const done = await restoreRawRdb(input, {
      onVerified: async () => {
        rdbVerified = true;
        await inputChecked();
      },
      payloadVersion,
      targetIsValkey: serverVersion(conn.info).flavor === 'valkey',
      onBytes: (n) => {
        stats.inputBytes = n;
      },
      onFunction: async (code) => {
        if (!(await handleItem({ kind: 'function', code: Buffer.from(code), bytes: code.length })))
          throw STOP_RAW_RESTORE;
      },
      onKey: (span, version) => {
        if (stopped) throw STOP_RAW_RESTORE;
        checkAborted();
        if (span.expiresAt !== void 0 && span.expiresAt <= loadedAt) {
          stats.expired++;
          return;
        }
        if (filter.any) {
          if (!filter.db(span.db) || !filter.key(span.keyBuf.subarray(span.keyStart, span.keyEnd))) return;
          const type = rdbTypeValueType(span.type);
          if (type !== void 0 && !filter.type(type)) return;
        }
        if (restoreRefused) {
          const key = Buffer.from(span.keyBuf.subarray(span.keyStart, span.keyEnd));
          const payload = dumpPayload(span.type, span.buf.subarray(span.valueStart, span.valueEnd), version);
          return handleItem(rawKeyItem(restoreCommand(key, payload, span), span.db)).then((going) => {
            if (!going) throw STOP_RAW_RESTORE;
          });
        }
        const db = dbOf(span.db);
        if (plainString(span)) {
          if (!target.hasRoom(MSET_ROOM))
            return target.room(MSET_ROOM).then(() => {
              if (!batchString(span, db)) return sendRestore(span, version, db);
            });
          if (batchString(span, db)) return;
        }
        return sendRestore(span, version, db);
      },
    });
    if (batch && batch.count > 0 && !stopped) {
      await target.room(MSET_ROOM);
      batch.flush();
    }
    return done;
  };
  const restoredPassThrough = async () => {
    const input = options.input;
    if (typeof input !== 'string' || target.isCluster || !targetEmpty || replace || filter.any) return false;
    if (options.targetDb !== void 0 || format !== 'resp') return false;
    let grouper = null;
    let grouped = false;
    let prevKey = null;
    let prevStart = 0;
    let prevEnd = 0;
    let prevDb = -1;
    const firstOfKey = (db, buf, start, end) => {
      if (!grouped) return 0;
      if (
        prevKey !== null &&
        db === prevDb &&
        end - start === prevEnd - prevStart &&
        buf.compare(prevKey, prevStart, prevEnd, start, end) === 0
      )
        return 0;
      prevKey = buf;
      prevStart = start;
      prevEnd = end;
      prevDb = db;
      stats.keys++;
      return 1;
    };
    const passErrors = {
      error: (ctx, c, err) => {
        const name = display(c[0]).toUpperCase();
        const key = c[keyIndex(c, name)] ?? c[1];
        if (ctx & 1) stats.keys--;
        fail({
          key: display(key),
          keyBytes: key,
          db: Math.floor(ctx / 2),
          command: name,
          message: err.message,
        });
      },
    };
    let cur;
    const copySpan = (into, at) => at + cur.buf.copy(into, at, cur.start, cur.end);
    const none = Buffer.alloc(0);
    const held = {
      on: false,
      /** The command's name, upper case: SET, or a collection command CollectionPayload takes. */
      name: '',
      /** The command: buf[start, end); its key: buf[keyStart, keyEnd). */
      buf: none,
      start: 0,
      end: 0,
      keyStart: 0,
      keyEnd: 0,
      db: 0,
      first: 0,
      /** The PXAT time: tBuf[tStart, tEnd). */
      tBuf: none,
      tStart: 0,
      tEnd: 0,
    };
    const mergeSets = supportsPxat;
    const convertCollections = payloadVersion >= 11 && options.useRestore !== 'never';
    const PXAT = Buffer.from('$4\r\nPXAT\r\n');
    const heldArgs = () => held.buf.indexOf(36, held.start);
    const mergedSet = (into, at) => {
      let p = writeHeader(into, at, 42, 5);
      p += held.buf.copy(into, p, heldArgs(), held.end);
      p += PXAT.copy(into, p);
      p = writeHeader(into, p, 36, held.tEnd - held.tStart);
      p += held.tBuf.copy(into, p, held.tStart, held.tEnd);
      into[p++] = 13;
      into[p++] = 10;
      return p;
    };
    const batch = new MsetBatch(target, msetErrors, msetSent);
    const sendHeldAsIs = () => {
      const bytes = held.end - held.start;
      stats.commands++;
      stats.bytes += bytes;
      cur = held;
      target.sendEncoded(bytes, held.db, copySpan, passErrors, held.db * 2 + held.first);
      progress(false);
    };
    const batchHeldSet = () => {
      const start = heldArgs() + 9;
      if (held.first === 0 || !batch.begin(held.db, held.end - start)) return sendHeldAsIs();
      batch.commit(batch.len + held.buf.copy(batch.buf, batch.len, start, held.end));
    };
    const collection = new CollectionPayload();
    const restoreEncoder = new RestoreEncoder(payloadVersion, false);
    const restoreSpan = {
      db: 0,
      type: 0,
      keyBuf: none,
      keyStart: 0,
      keyEnd: 0,
      buf: none,
      valueStart: 0,
      valueEnd: 0,
      expiresAt: void 0,
      lruIdle: void 0,
      lfuFreq: void 0,
    };
    const restoreHeld = (expire) => {
      if (restoreRefused) return false;
      let expiresAt;
      if (expire) {
        const t2 = expire.buf.toString('latin1', expire.a2Start, expire.a2End);
        if (!/^\d{1,15}$/.test(t2)) return false;
        expiresAt = Number(t2);
      }
      const n = collection.encode(held.buf, held.start, held.end, held.name);
      if (n < 0) return false;
      const span = restoreSpan;
      span.db = held.db;
      span.type = collection.type;
      span.keyBuf = held.buf;
      span.keyStart = held.keyStart;
      span.keyEnd = held.keyEnd;
      span.buf = collection.body;
      span.valueStart = collection.start;
      span.valueEnd = n;
      span.expiresAt = expiresAt;
      const bytes = restoreEncoder.measure(span);
      stats.commands++;
      stats.bytes += bytes;
      usedRestore = true;
      target.sendEncoded(bytes, held.db, restoreEncoder.encode, rawKeyErrors, held.db);
      progress(false);
      return true;
    };
    const releaseHeld = (expire) => {
      held.on = false;
      if (held.name === 'SET') {
        if (!expire) return batchHeldSet();
        held.tBuf = expire.buf;
        held.tStart = expire.a2Start;
        held.tEnd = expire.a2End;
        const bytes = 4 + (held.end - heldArgs()) + PXAT.length + bulkSize(held.tEnd - held.tStart);
        stats.commands++;
        stats.bytes += bytes;
        target.sendEncoded(bytes, held.db, mergedSet, passErrors, held.db * 2 + held.first);
        progress(false);
        return;
      }
      if (restoreHeld(expire)) return;
      sendHeldAsIs();
      if (expire) sendSpan(expire, 1);
    };
    const flushHeld = async () => {
      if (!held.on && batch.count === 0) return;
      await target.room(2 * (held.end - held.start) + batch.len + 256);
      if (held.on) releaseHeld(null);
      batch.flush();
    };
    const HOLD_MAX = 64 * 1024;
    const needed = (span) =>
      span.end - span.start + (held.on ? 2 * (held.end - held.start) + 256 : 0) + MSET_ROOM;
    const onHeldKey = (span, ki, db) => {
      const s = ki === 1 ? span.a1Start : span.a2Start;
      const e = ki === 1 ? span.a1End : span.a2End;
      return (
        held.db === db &&
        e - s === held.keyEnd - held.keyStart &&
        span.buf.compare(held.buf, held.keyStart, held.keyEnd, s, e) === 0
      );
    };
    const holdName = (span) => {
      if (!grouped || span.end - span.start > HOLD_MAX) return '';
      const { buf, nameStart: s, nameEnd: e } = span;
      if (e - s === 3) return mergeSets && span.argc === 3 && nameIs(buf, s, e, 'SET') ? 'SET' : '';
      if (!convertCollections || span.argc < 3) return '';
      for (const name of COLLECTION_COMMANDS) if (nameIs(buf, s, e, name)) return name;
      return '';
    };
    const takeSpan = (span, ki) => {
      const db = grouper.currentDb;
      if (held.on) {
        const same = onHeldKey(span, ki, db);
        if (same && span.argc === 3 && nameIs(span.buf, span.nameStart, span.nameEnd, 'PEXPIREAT')) {
          releaseHeld(span);
          return;
        }
        if (same) {
          held.on = false;
          sendHeldAsIs();
        } else releaseHeld(null);
      }
      const name = holdName(span);
      if (name !== '') {
        const first = firstOfKey(db, span.buf, span.a1Start, span.a1End);
        if (first === 1) {
          held.on = true;
          held.name = name;
          held.buf = span.buf;
          held.start = span.start;
          held.end = span.end;
          held.db = db;
          held.keyStart = span.a1Start;
          held.keyEnd = span.a1End;
          held.first = first;
          return;
        }
        sendSpan(span, ki, first);
        return;
      }
      sendSpan(span, ki);
    };
    const sendSpan = (span, ki, first) => {
      const db = grouper.currentDb;
      const starts =
        first ??
        (ki === 1
          ? firstOfKey(db, span.buf, span.a1Start, span.a1End)
          : firstOfKey(db, span.buf, span.a2Start, span.a2End));
      const bytes = span.end - span.start;
      stats.commands++;
      stats.bytes += bytes;
      cur = span;
      target.sendEncoded(bytes, db, copySpan, passErrors, db * 2 + starts);
      progress(false);
    };
    const viaItems = async (args) => {
      await flushHeld();
      if (!grouper) {
        const header = parseHeaderCommand(args);
        grouped = header !== null && header.replay !== 'raw';
        grouper = new ItemGrouper({ grouped });
      }
      const ki = args[0] && !isName(args[0], 'RESTORE') ? keyIndex(args, upper(args[0])) : -1;
      if (ki !== -1) {
        const bytes = encodedLength(args);
        await target.room(bytes);
        if (stopped) return false;
        const db = grouper.currentDb;
        const first = firstOfKey(db, args[ki], 0, args[ki].length);
        stats.commands++;
        stats.bytes += bytes;
        target.send(args, bytes, db, args[ki], passErrors, db * 2 + first);
        progress(false);
        return true;
      }
      prevKey = null;
      const items = [];
      grouper.push(args, items);
      grouper.end(items);
      for (const item of items) if (!(await handleItem(item))) return false;
      return true;
    };
    await passThroughResp(input, {
      truncated: options.truncated ?? 'error',
      onTruncated: (t2) => dropped.push(t2),
      onBytes: (n) => {
        stats.inputBytes += n;
      },
      onSpan: (span) => {
        if (stopped || !grouper) return false;
        const ki = spanKeyIndex(span);
        if (ki === -1 || !target.hasRoom(needed(span))) return false;
        checkAborted();
        takeSpan(span, ki);
        return true;
      },
      onSpanAsync: async (span) => {
        if (stopped) return false;
        const ki = grouper ? spanKeyIndex(span) : -1;
        if (ki === -1) return viaItems(decodeCommandAt(span.buf, span.start));
        checkAborted();
        await target.room(needed(span));
        if (stopped) return false;
        takeSpan(span, ki);
        return true;
      },
      onEnd: flushHeld,
      onCommand: (c) => {
        if (stopped) return Promise.resolve(false);
        checkAborted();
        return viaItems(c.args);
      },
    });
    if (!grouped) rawReplay = true;
    return true;
  };
  const itemsOf = (seg) => {
    if (seg.kind === 'records') {
      const useDump = rdbAvailable && options.useRestore !== 'never';
      const encode = (r) => encodeDump(r, payloadVersion);
      return recordItemBatches(
        seg.records,
        filter,
        {
          ...(options.batchSize === void 0 ? {} : { batchSize: options.batchSize }),
          ...(useDump ? { encodeDump: encode } : {}),
          dumpPayload: encode,
        },
        loadedAt,
        () => stats.expired++,
      );
    }
    if (!seg.grouped) rawReplay = true;
    return filterItemBatches(commandBatchesToItems(seg.batches, { grouped: seg.grouped }), filter);
  };
  const existingKeys = async (keys) => {
    const found = new KeySet();
    const onReply = {
      reply: ([db, key], _c, r) => {
        if (Number(r) > 0) found.add(db, key);
      },
    };
    for (const [db, key] of keys.entries()) {
      const args = command('EXISTS', key);
      const bytes = encodedLength(args);
      if (!target.hasRoom(bytes)) await target.room(bytes);
      target.send(args, bytes, dbOf(db), key, onReply, [db, key]);
    }
    await target.idle();
    return found;
  };
  const checkWhole = async (input) => {
    if (format === 'rdb') return;
    phase = 'checking';
    const check = await checkInput(input, {
      format,
      filter,
      truncated: options.truncated ?? 'error',
      verbatim,
      collectKeys: !targetEmpty && !verbatim,
      onBytes: (n) => {
        checkAborted();
        stats.inputBytes += n;
        progress(false);
      },
    });
    phase = 'restoring';
    stats.inputBytes = 0;
    if (check.replay && check.keys) {
      inputKeys = check.keys;
      existing = await existingKeys(check.keys);
      if (existing.size > 0 && !replace && onError === 'stop') {
        const [db, key] = existing.entries().next().value;
        throw new BackupError(
          'ERR_RESTORE',
          `${existing.size} of the keys in ${input} already exist on ${conn.where} (the first: "${keyToText(key)}" in db ${dbOf(db)}); nothing was written`,
          {
            details: {
              url: conn.where,
              input,
              key: display(key),
              db: dbOf(db),
              existing: existing.size,
              keysRestored: 0,
            },
            hint: 'Pass --replace (replace: true) to make those keys exactly what the file says, --on-error continue (onError: "continue") to leave them as they are and restore the rest, or --flush (flush: true) to empty the target first',
          },
        );
      }
    }
    await inputChecked();
  };
  let keysBefore = 0;
  try {
    keysBefore = options.flush === true ? 0 : await target.keyCount();
    targetEmpty = keysBefore === 0;
    const input = options.input;
    if (typeof input === 'string') {
      format = await inputFormat(input, options.from);
      await checkWhole(input);
    } else await inputChecked();
    const segments =
      typeof input === 'string'
        ? openInput(input, {
            ...(options.from === void 0 ? {} : { from: options.from }),
            truncated: options.truncated ?? 'error',
            onTruncated: (t2) => dropped.push(t2),
            onBytes: (n) => (stats.inputBytes += n),
          })
        : [{ kind: 'records', source: input.source, records: input.records }];
    if (!(await restoredRaw()) && !(await restoredPassThrough())) {
      if (format === 'rdb' && !rdbVerified) {
        const v = await verifyRdb(input);
        if (v.error) {
          throw new BackupError('ERR_RESTORE', `${input} is not a valid RDB file: ${v.error.message}`, {
            details: { path: input, ...v.error },
            hint: 'Nothing was written. `valkey-tools verify` shows the damage; restore from a good copy',
          });
        }
        await inputChecked();
      }
      outer: for await (const seg of segments) {
        for await (const batch of itemsOf(seg))
          for (const item of batch) if (!(await handleItem(item))) break outer;
      }
    }
    if (!stopped) await flushPending();
    await target.idle();
    await Promise.all(pendingFallbacks);
    await target.idle();
    if (targetEmpty && !rawReplay && !stopped && !verbatim) {
      stats.keys = Math.max(0, (await target.keyCount()) - keysBefore);
    }
    if (rawReplay && !stopped) {
      if (inputKeys !== null) {
        const kept = inputKeys;
        for (const [db, key] of keptAsTheyWere.entries()) kept.delete(db, key);
        stats.keys = (await existingKeys(kept)).size;
      } else stats.keys = Math.max(0, (await target.keyCount()) - keysBefore);
    }
  } catch (err) {
    await target.idle().catch(() => {});
    const written = stats.commands > 0;
    if (written && targetEmpty && !verbatim) {
      stats.keys = await target.keyCount().then(
        (n) => Math.max(0, n - keysBefore),
        () => stats.keys,
      );
    }
    await conn.close();
    if (BackupError.isInstance(err)) {
      if (!written && err.code !== 'ERR_ABORTED') throw err;
      throw new BackupError(err.code, `${err.message}; ${partial()}`, {
        cause: err,
        details: { ...err.details, keysRestored: stats.keys },
        hint: !written
          ? 'Nothing was written; run the restore again'
          : err.code === 'ERR_ABORTED'
            ? RESUME_HINT
            : CONVERGE_HINT,
      });
    }
    throw new BackupError(
      'ERR_RESTORE',
      `restore into ${conn.where} failed: ${redactUrl2(String(err.message ?? err))}${written ? `; ${partial()}` : '; nothing was written'}`,
      {
        cause: err,
        details: { url: conn.where, input: inputName, keys: stats.keys, keysRestored: stats.keys },
        ...(written ? { hint: CONVERGE_HINT } : {}),
      },
    );
  }
  await conn.close();
  progress(true);
  if (stopped) {
    const s = stopped;
    throw new BackupError(
      'ERR_RESTORE',
      `restore into ${conn.where} stopped at key "${s.keyBytes ? keyToText(s.keyBytes) : s.key}" (db ${s.db}): ${s.command} failed: ${s.message.replace(/\.$/, '')}; ${partial()}`,
      {
        details: {
          url: conn.where,
          input: inputName,
          key: s.key,
          db: s.db,
          keysRestored: stats.keys,
          errors,
        },
        hint: /BUSYKEY/.test(s.message)
          ? 'The key already exists: pass --replace (replace: true) to overwrite, --flush (flush: true) to empty the target first, or --on-error continue (onError: "continue") to leave existing keys as they are'
          : `Pass --on-error continue (onError: "continue") to restore the other keys and collect every failure. ${CONVERGE_HINT}`,
      },
    );
  }
  return {
    ...stats,
    skipped,
    errors,
    errorCount,
    elapsedMs: Date.now() - started,
    usedRestore,
    fellBack,
    dropped,
  };
}

// ../../tmp/vd-bench/after/packages/backup/src/memory/config.ts
var DEFAULT_MEMORY_MODEL_CONFIG = DEFAULT_ENCODING_LIMITS;
function quicklistNodeByteLimit(fill) {
  if (fill >= 0) return 8192;
  const level = Math.min(Math.max(-fill, 1), 5);
  return 4096 * 2 ** (level - 1);
}

// ../../tmp/vd-bench/after/packages/backup/src/memory/jemalloc.ts
function jemallocSize(bytes) {
  if (bytes <= 8) return 8;
  if (bytes <= 128) return Math.ceil(bytes / 16) * 16;
  const base = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = base / 4;
  return Math.ceil(bytes / step) * step;
}

// ../../tmp/vd-bench/after/packages/backup/src/memory/sizes.ts
var SIZEOF = {
  robj: 16,
  dict: 56,
  dictEntry: 24,
  /** A set member whose bucket is taken gets a `{key, next}` entry (keys are stored in the bucket otherwise). */
  dictEntryNoValue: 16,
  bucket: 8,
  quicklist: 40,
  quicklistNode: 40,
  zset: 16,
  zskiplist: 32,
  /** `zskiplistNode` without its level array (ele, score, backward). */
  zskiplistNodeBase: 24,
  zskiplistLevel: 16,
  zskiplistMaxLevel: 32,
  stream: 80,
  streamId: 16,
  streamCG: 40,
  streamConsumer: 32,
  streamNack: 24,
  /** `sizeof(raxNode)` plus the fixed 30 words object.c charges per rax node. */
  raxNodeCharge: 4 + 8 * 30,
  /** Main-dict entry header with an embedded key: value pointer, next pointer, key header size byte. */
  embeddedEntryHeader: 17,
  /** Entry of the `expires` dict: key pointer, expiry, next pointer. */
  expiresEntry: 24,
};
function sdsHeaderSize(len, allowType5 = true) {
  if (len < 32 && allowType5 && len > 0) return 1;
  if (len < 256) return 3;
  if (len < 65536) return 5;
  if (len < 2 ** 32) return 9;
  return 17;
}
function sdsAllocSize(len) {
  return jemallocSize(sdsHeaderSize(len) + len + 1);
}
function embeddedKeyEntrySize(keyLen, loaded = true) {
  return jemallocSize(SIZEOF.embeddedEntryHeader + sdsHeaderSize(keyLen, loaded) + keyLen + 1);
}
function dictBuckets(n) {
  let size = 4;
  while (size < n) size *= 2;
  return size;
}
var MAX_INT64 = 9223372036854775807n;
var MIN_INT64 = -9223372036854775808n;
function strictInt64(b) {
  const len = b.length;
  if (len === 0 || len > 20) return null;
  let i = 0;
  const negative = b[0] === 45;
  if (negative) {
    i = 1;
    if (len === 1) return null;
  }
  const first = b[i];
  if (first === 48) return len === 1 ? 0n : null;
  if (first < 49 || first > 57) return null;
  for (let j = i + 1; j < len; j++) {
    const c = b[j];
    if (c < 48 || c > 57) return null;
  }
  let text2 = '';
  for (let j = 0; j < len; j++) text2 += String.fromCharCode(b[j]);
  const v = BigInt(text2);
  if (v > MAX_INT64 || v < MIN_INT64) return null;
  return v;
}
function listpackBacklen(l) {
  if (l < 128) return 1;
  if (l < 16384) return 2;
  if (l < 2097152) return 3;
  if (l < 268435456) return 4;
  return 5;
}
function listpackIntEntrySize(v) {
  const n = typeof v === 'bigint' ? v : BigInt(v);
  let enc;
  if (n >= 0n && n <= 127n) enc = 1;
  else if (n >= -4096n && n <= 4095n) enc = 2;
  else if (n >= -32768n && n <= 32767n) enc = 3;
  else if (n >= -8388608n && n <= 8388607n) enc = 4;
  else if (n >= -2147483648n && n <= 2147483647n) enc = 5;
  else enc = 9;
  return enc + listpackBacklen(enc);
}
function listpackEntrySize(b) {
  const asInt = b.length <= 20 ? strictInt64(b) : null;
  if (asInt !== null) return listpackIntEntrySize(asInt);
  const len = b.length;
  const enc = len < 64 ? 1 + len : len < 4096 ? 2 + len : 5 + len;
  return enc + listpackBacklen(enc);
}
var LISTPACK_OVERHEAD = 7;
function intsetWidth(min, max) {
  if (min >= -32768n && max <= 32767n) return 2;
  if (min >= -2147483648n && max <= 2147483647n) return 4;
  return 8;
}
function intsetAllocSize(n, width) {
  return jemallocSize(8 + n * width);
}
function scoreToBytes(score, format = 'shortest') {
  if (Number.isNaN(score)) return Buffer.from('nan');
  if (score === Number.POSITIVE_INFINITY) return Buffer.from('inf');
  if (score === Number.NEGATIVE_INFINITY) return Buffer.from('-inf');
  if (score === 0) return Buffer.from(Object.is(score, -0) ? '-0' : '0');
  if (format === 'legacy') {
    if (Number.isInteger(score) && Math.abs(score) < 2 ** 52) return Buffer.from(score.toFixed(0));
    return Buffer.from(formatG17(score));
  }
  if (Number.isInteger(score) && Math.abs(score) < 2 ** 62) return Buffer.from(BigInt(score).toString());
  return Buffer.from(formatFpconv(score));
}
function formatFpconv(x) {
  const neg = x < 0;
  const [mantissa, expText] = Math.abs(x).toExponential().split('e');
  const digits2 = mantissa.replace('.', '');
  const nd = digits2.length;
  const k = Number(expText) - (nd - 1);
  const exp = Math.abs(k + nd - 1);
  const sign = neg ? '-' : '';
  if (k >= 0 && exp < nd + 7) return sign + digits2 + '0'.repeat(k);
  if (k < 0 && (k > -7 || exp < 4)) {
    const offset = nd + k;
    if (offset <= 0) return `${sign}0.${'0'.repeat(-offset)}${digits2}`;
    return `${sign}${digits2.slice(0, offset)}.${digits2.slice(offset)}`;
  }
  const kept = Math.min(nd, 18 - (neg ? 1 : 0));
  const frac = kept > 1 ? `.${digits2.slice(1, kept)}` : '';
  return `${sign}${digits2[0]}${frac}e${k + nd - 1 < 0 ? '-' : '+'}${exp}`;
}
function formatG17(x) {
  const [mantissa, expText] = x.toExponential(16).split('e');
  const exp = Number(expText);
  const strip = (digits2) =>
    digits2.includes('.') ? digits2.replace(/0+$/, '').replace(/\.$/, '') : digits2;
  if (exp < -4 || exp >= 17) {
    const e = Math.abs(exp);
    return `${strip(mantissa)}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  return strip(x.toFixed(16 - exp));
}
var EXPECTED_SKIPLIST_NODE_SIZE = (() => {
  let expected = 0;
  let p = 0.75;
  let remaining = 1;
  for (let level = 1; level <= SIZEOF.zskiplistMaxLevel; level++) {
    const prob = level === SIZEOF.zskiplistMaxLevel ? remaining : remaining * p;
    expected += prob * jemallocSize(SIZEOF.zskiplistNodeBase + SIZEOF.zskiplistLevel * level);
    remaining -= prob;
    p = 0.75;
  }
  return expected;
})();
var SKIPLIST_HEADER_SIZE = jemallocSize(
  SIZEOF.zskiplistNodeBase + SIZEOF.zskiplistLevel * SIZEOF.zskiplistMaxLevel,
);
function expectedChainedEntries(n, buckets) {
  const nonEmpty = buckets * (1 - (1 - 1 / buckets) ** n);
  return Math.max(0, n - nonEmpty);
}

// ../../tmp/vd-bench/after/packages/backup/src/memory/rax.ts
function streamIdKey(id) {
  const b = Buffer.allocUnsafe(16);
  b.writeBigUInt64BE(BigInt.asUintN(64, id.ms), 0);
  b.writeBigUInt64BE(BigInt.asUintN(64, id.seq), 8);
  return b;
}
function raxNodeCount(keys) {
  if (keys.length === 0) return 1;
  return countFrom(keys, 0, keys.length, 0);
}
function countFrom(keys, lo, hi, depth) {
  const keyLen = keys[lo].length;
  if (depth >= keyLen) return 1;
  if (isBranching(keys, lo, hi, depth)) return 1 + countChildren(keys, lo, hi, depth);
  let end = depth + 1;
  while (end < keyLen && !isBranching(keys, lo, hi, end)) end++;
  if (end >= keyLen) return 2;
  return 2 + countChildren(keys, lo, hi, end);
}
function isBranching(keys, lo, hi, depth) {
  return keys[lo][depth] !== keys[hi - 1][depth];
}
function countChildren(keys, lo, hi, depth) {
  let total = 0;
  let start = lo;
  for (let i = lo + 1; i <= hi; i++) {
    if (i === hi || keys[i][depth] !== keys[start][depth]) {
      total += countFrom(keys, start, i, depth + 1);
      start = i;
    }
  }
  return total;
}
function streamRaxCharge(keys) {
  return keys.length * SIZEOF.streamId + raxNodeCount(keys) * SIZEOF.raxNodeCharge;
}
function sortedIdKeys(ids) {
  const keys = [...ids].map(streamIdKey).sort(Buffer.compare);
  const out = [];
  for (const k of keys) if (out.length === 0 || !out[out.length - 1].equals(k)) out.push(k);
  return out;
}

// ../../tmp/vd-bench/after/packages/backup/src/memory/estimate.ts
function estimateKeyMemory(record, options = {}) {
  const estimator = new KeyMemoryEstimator(record.value.type, options);
  estimator.add(record.value);
  return estimator.finish(record);
}
function listpackEstimate(lpBytes, elements, largest) {
  return {
    encoding: 'listpack',
    bytes: SIZEOF.robj + jemallocSize(lpBytes),
    elements,
    largestElement: largest,
  };
}
var KeyMemoryEstimator = class {
  type;
  sizer;
  written;
  constructor(type, options = {}) {
    const config = options.config
      ? { ...DEFAULT_MEMORY_MODEL_CONFIG, ...options.config }
      : DEFAULT_MEMORY_MODEL_CONFIG;
    this.type = type;
    this.written = options.state === 'written';
    this.sizer = createSizer(type, config, this.written, options.scoreFormat ?? 'shortest');
  }
  /** Adds a whole value or one batch of its elements; its type must be the key's type. */
  add(value) {
    if (value.type !== this.type) {
      throw new TypeError(`a ${value.type} batch was added to the estimate of a ${this.type} key`);
    }
    this.sizer.add(value);
  }
  /** The estimate once every element was added; `stream` carries the groups when they came apart. */
  finish(meta) {
    const stream = meta.stream ?? (meta.value?.type === 'stream' ? meta.value : NO_STREAM);
    const value = this.sizer.result(stream);
    const result = {
      db: meta.db,
      key: meta.key,
      type: this.type,
      encoding: value.encoding,
      bytes: Math.round(value.bytes + embeddedKeyEntrySize(meta.key.length, !this.written)),
      expiryBytes: meta.expiresAt === void 0 ? 0 : SIZEOF.expiresEntry,
      elements: value.elements,
      largestElement: value.largestElement,
    };
    if (meta.expiresAt !== void 0) result.expiresAt = meta.expiresAt;
    return result;
  }
};
var NO_STREAM = { groups: [] };
function createSizer(type, config, written, scoreFormat) {
  switch (type) {
    case 'string':
      return new StringSizer();
    case 'list':
      return new ListSizer(config);
    case 'set':
      return new SetSizer(config);
    case 'zset':
      return new ZsetSizer(config, scoreFormat);
    case 'hash':
      return new HashSizer(config);
    case 'stream':
      return new StreamSizer(config, written);
    case 'module':
      return new ModuleSizer();
  }
}
var StringSizer = class {
  length = 0;
  /** The bytes while they could still be an integer (20 bytes at most). */
  head = [];
  add(value) {
    if (value.type !== 'string') return;
    this.length += value.value.length;
    if (this.length <= 20) this.head.push(value.value);
    else this.head = [];
  }
  result() {
    const len = this.length;
    if (len <= 20 && strictInt64(Buffer.concat(this.head)) !== null) {
      return { encoding: 'int', bytes: SIZEOF.robj, elements: 1, largestElement: len };
    }
    if (len <= 44) {
      return {
        encoding: 'embstr',
        bytes: jemallocSize(SIZEOF.robj + 3 + len + 1),
        elements: 1,
        largestElement: len,
      };
    }
    return { encoding: 'raw', bytes: SIZEOF.robj + sdsAllocSize(len), elements: 1, largestElement: len };
  }
};
var ListSizer = class {
  byteLimit;
  countLimit;
  nodes = 0;
  packedNodes = 0;
  nodeBytes = 0;
  lastListpack = 0;
  curSize = -1;
  curCount = 0;
  elements = 0;
  largest = 0;
  constructor(config) {
    const fill = config.listMaxListpackSize;
    this.byteLimit = quicklistNodeByteLimit(fill);
    this.countLimit = fill > 0 ? fill : Number.POSITIVE_INFINITY;
  }
  add(value) {
    if (value.type !== 'list') return;
    for (const item of value.items) {
      this.elements++;
      if (item.length > this.largest) this.largest = item.length;
      if (item.length > this.byteLimit) {
        this.closeNode();
        this.nodes++;
        this.nodeBytes += jemallocSize(item.length);
        continue;
      }
      if (
        this.curSize >= 0 &&
        (this.curSize + item.length + 8 > this.byteLimit || this.curCount + 1 > this.countLimit)
      ) {
        this.closeNode();
      }
      if (this.curSize < 0) this.curSize = LISTPACK_OVERHEAD;
      this.curSize += listpackEntrySize(item);
      this.curCount++;
    }
  }
  closeNode() {
    if (this.curSize >= 0) {
      this.nodes++;
      this.packedNodes++;
      this.nodeBytes += jemallocSize(this.curSize);
      this.lastListpack = this.curSize;
    }
    this.curSize = -1;
    this.curCount = 0;
  }
  result() {
    this.closeNode();
    const { elements, largest } = this;
    if (this.nodes <= 1 && this.packedNodes === this.nodes) {
      const lp = this.nodes === 0 ? LISTPACK_OVERHEAD : this.lastListpack;
      return listpackEstimate(lp, elements, largest);
    }
    return {
      encoding: 'quicklist',
      bytes: SIZEOF.robj + SIZEOF.quicklist + this.nodes * SIZEOF.quicklistNode + this.nodeBytes,
      elements,
      largestElement: largest,
    };
  }
};
var SetSizer = class {
  constructor(config) {
    this.config = config;
  }
  config;
  n = 0;
  largest = 0;
  allInts = true;
  min = 0n;
  max = 0n;
  lpSize = LISTPACK_OVERHEAD;
  sdsBytes = 0;
  add(value) {
    if (value.type !== 'set') return;
    for (const m of value.members) {
      this.n++;
      if (m.length > this.largest) this.largest = m.length;
      if (this.allInts) {
        const asInt = strictInt64(m);
        if (asInt === null) this.allInts = false;
        else {
          if (asInt < this.min) this.min = asInt;
          if (asInt > this.max) this.max = asInt;
        }
      }
      this.lpSize += listpackEntrySize(m);
      this.sdsBytes += sdsAllocSize(m.length);
    }
  }
  result() {
    const { n, largest, config } = this;
    if (this.allInts && n <= config.setMaxIntsetEntries) {
      const bytes2 = SIZEOF.robj + intsetAllocSize(n, intsetWidth(this.min, this.max));
      return { encoding: 'intset', bytes: bytes2, elements: n, largestElement: largest };
    }
    if (n <= config.setMaxListpackEntries && largest <= config.setMaxListpackValue) {
      return listpackEstimate(this.lpSize, n, largest);
    }
    const buckets = dictBuckets(n);
    const bytes =
      SIZEOF.robj +
      SIZEOF.dict +
      SIZEOF.bucket * buckets +
      this.sdsBytes +
      SIZEOF.dictEntryNoValue * expectedChainedEntries(n, buckets);
    return { encoding: 'hashtable', bytes, elements: n, largestElement: largest };
  }
};
var ZsetSizer = class {
  constructor(config, scoreFormat) {
    this.config = config;
    this.scoreFormat = scoreFormat;
  }
  config;
  scoreFormat;
  n = 0;
  largest = 0;
  lpSize = LISTPACK_OVERHEAD;
  sdsBytes = 0;
  add(value) {
    if (value.type !== 'zset') return;
    for (const e of value.entries) {
      this.n++;
      if (e.member.length > this.largest) this.largest = e.member.length;
      this.lpSize += listpackEntrySize(e.member) + listpackEntrySize(scoreToBytes(e.score, this.scoreFormat));
      this.sdsBytes += sdsAllocSize(e.member.length);
    }
  }
  result() {
    const { n, largest, config } = this;
    if (n <= config.zsetMaxListpackEntries && largest <= config.zsetMaxListpackValue) {
      return listpackEstimate(this.lpSize, n, largest);
    }
    const bytes =
      SIZEOF.robj +
      SIZEOF.zset +
      SIZEOF.zskiplist +
      SIZEOF.dict +
      SIZEOF.bucket * dictBuckets(n) +
      SKIPLIST_HEADER_SIZE +
      this.sdsBytes +
      n * (SIZEOF.dictEntry + EXPECTED_SKIPLIST_NODE_SIZE);
    return { encoding: 'skiplist', bytes, elements: n, largestElement: largest };
  }
};
var HashSizer = class {
  constructor(config) {
    this.config = config;
  }
  config;
  n = 0;
  largest = 0;
  lpSize = LISTPACK_OVERHEAD;
  sdsBytes = 0;
  add(value) {
    if (value.type !== 'hash') return;
    for (const e of value.entries) {
      this.n++;
      const longer = Math.max(e.field.length, e.value.length);
      if (longer > this.largest) this.largest = longer;
      this.lpSize += listpackEntrySize(e.field) + listpackEntrySize(e.value);
      this.sdsBytes += sdsAllocSize(e.field.length) + sdsAllocSize(e.value.length);
    }
  }
  result() {
    const { n, largest, config } = this;
    if (n <= config.hashMaxListpackEntries && largest <= config.hashMaxListpackValue) {
      return listpackEstimate(this.lpSize, n, largest);
    }
    const bytes =
      SIZEOF.robj + SIZEOF.dict + SIZEOF.bucket * dictBuckets(n) + this.sdsBytes + n * SIZEOF.dictEntry;
    return { encoding: 'hashtable', bytes, elements: n, largestElement: largest };
  }
};
var STREAM_LISTPACK_PREALLOC = 4096;
var StreamSizer = class {
  constructor(config, written) {
    this.written = written;
    this.maxBytes = config.streamNodeMaxBytes > 0 ? config.streamNodeMaxBytes : Number.POSITIVE_INFINITY;
    this.maxEntries =
      config.streamNodeMaxEntries > 0 ? config.streamNodeMaxEntries : Number.POSITIVE_INFINITY;
  }
  written;
  maxBytes;
  maxEntries;
  nodeKeys = [];
  listpacks = 0;
  largest = 0;
  elements = 0;
  master = null;
  count = 0;
  size = 0;
  /** Listpack bytes of the current node with its master count patched to the final value. */
  finalSize() {
    return this.size - listpackIntEntrySize(1) + listpackIntEntrySize(this.count);
  }
  closeNode() {
    if (this.master) this.listpacks += jemallocSize(this.finalSize());
    this.master = null;
  }
  add(value) {
    if (value.type !== 'stream') return;
    for (const entry of value.entries) {
      this.elements++;
      let rawLen = 0;
      for (const [f, v] of entry.fields) {
        rawLen += f.length + v.length;
        if (f.length > this.largest) this.largest = f.length;
        if (v.length > this.largest) this.largest = v.length;
      }
      if (this.master && (this.size + rawLen >= this.maxBytes || this.count >= this.maxEntries))
        this.closeNode();
      let master = this.master;
      if (!master) {
        master = { ms: entry.id.ms, seq: entry.id.seq, fields: entry.fields.map(([f]) => f) };
        this.master = master;
        this.nodeKeys.push(streamIdKey(entry.id));
        this.count = 0;
        let size2 = LISTPACK_OVERHEAD + listpackIntEntrySize(1) + listpackIntEntrySize(0);
        size2 += listpackIntEntrySize(master.fields.length);
        for (const f of master.fields) size2 += listpackEntrySize(f);
        this.size = size2 + listpackIntEntrySize(0);
      }
      const masterFields = master.fields;
      const sameFields =
        entry.fields.length === masterFields.length &&
        entry.fields.every(([f], i) => f.equals(masterFields[i]));
      let size = listpackIntEntrySize(sameFields ? 2 : 0);
      size += listpackIntEntrySize(BigInt.asIntN(64, entry.id.ms - master.ms));
      size += listpackIntEntrySize(BigInt.asIntN(64, entry.id.seq - master.seq));
      if (!sameFields) size += listpackIntEntrySize(entry.fields.length);
      for (const [f, v] of entry.fields) {
        if (!sameFields) size += listpackEntrySize(f);
        size += listpackEntrySize(v);
      }
      size += listpackIntEntrySize(3 + entry.fields.length + (sameFields ? 0 : entry.fields.length + 1));
      this.size += size;
      this.count++;
    }
  }
  result(stream) {
    let tail = 0;
    if (this.master && this.written) {
      const prealloc = Math.min(STREAM_LISTPACK_PREALLOC, this.maxBytes);
      if (this.finalSize() <= prealloc) {
        tail = jemallocSize(prealloc);
        this.master = null;
      }
    }
    this.closeNode();
    const tombstones = deletedInPlace(stream);
    const spread = this.elements > 0 ? (this.elements + tombstones) / this.elements : 1;
    let bytes =
      SIZEOF.robj + SIZEOF.stream + (streamRaxCharge(this.nodeKeys) + this.listpacks) * spread + tail;
    for (const group of stream.groups) {
      bytes += SIZEOF.streamCG;
      bytes += streamRaxCharge(sortedIdKeys(group.pending.map((p) => p.id)));
      bytes += SIZEOF.streamNack * group.pending.length;
      for (const consumer of group.consumers) {
        bytes += SIZEOF.streamConsumer + consumer.name.length;
        bytes += streamRaxCharge(sortedIdKeys(consumer.pending));
      }
    }
    return { encoding: 'stream', bytes, elements: this.elements, largestElement: this.largest };
  }
};
function deletedInPlace(s) {
  const { entriesAdded, length, firstId, maxDeletedId } = s;
  if (entriesAdded === void 0 || length === void 0 || !firstId || !maxDeletedId) return 0;
  const before =
    maxDeletedId.ms < firstId.ms || (maxDeletedId.ms === firstId.ms && maxDeletedId.seq < firstId.seq);
  if (before) return 0;
  const deleted = entriesAdded - length;
  return deleted > 0n ? Number(deleted) : 0;
}
var ModuleSizer = class {
  length = 0;
  add(value) {
    if (value.type === 'module') this.length += value.raw.length;
  }
  result() {
    return { encoding: 'module', bytes: SIZEOF.robj + this.length, elements: 1, largestElement: this.length };
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/memory/analyze.ts
import { once } from 'node:events';

// ../../tmp/vd-bench/after/packages/backup/src/memory/csv.ts
var MEMORY_CSV_HEADER = 'database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry';
function csvField(text2) {
  return /[",\r\n]/.test(text2) || /^\s|\s$/.test(text2) ? `"${text2.replace(/"/g, '""')}"` : text2;
}
function keyMemoryToCsvLine(k) {
  const expiry = k.expiresAt === void 0 ? '' : new Date(k.expiresAt).toISOString();
  return [
    k.db,
    k.type,
    csvField(keyToText(k.key)),
    k.bytes,
    k.encoding,
    k.elements,
    k.largestElement,
    expiry,
  ].join(',');
}
async function* memoryRowsToCsv(rows) {
  yield `${MEMORY_CSV_HEADER}
`;
  for await (const row of rows)
    yield `${keyMemoryToCsvLine(row)}
`;
}

// ../../tmp/vd-bench/after/packages/backup/src/memory/errors.ts
import { ValkeyToolsError as ValkeyToolsError3 } from '@valkey-tools/core';
var MemoryError = class extends ValkeyToolsError3 {
  name = 'MemoryError';
  constructor(code, message, options) {
    super(code, message, options);
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/memory/prefix-tree.ts
var PrefixTree = class {
  constructor(separators, maxNodes, maxDepth) {
    this.maxNodes = maxNodes;
    this.maxDepth = maxDepth;
    this.separators = [...separators].sort((a, b) => b.length - a.length);
    this.firstUnits = new Set(separators.map((s) => s.charCodeAt(0)));
  }
  maxNodes;
  maxDepth;
  root = {
    name: '',
    keys: 0,
    bytes: 0,
    children: null,
    parent: null,
    folded: 0,
  };
  nodes = 0;
  separators;
  /** First UTF-16 unit of each separator, to skip positions quickly. */
  firstUnits;
  /** The key's prefixes, each with its trailing separator: `a:b:c` gives `a:` and `b:`. */
  segments(key) {
    const out = [];
    let start = 0;
    for (let i = 0; i < key.length && out.length < this.maxDepth; i++) {
      if (!this.firstUnits.has(key.charCodeAt(i))) continue;
      const sep = this.separators.find((s) => key.startsWith(s, i));
      if (!sep) continue;
      const end = i + sep.length;
      out.push(key.slice(start, end));
      start = end;
      i = end - 1;
    }
    return out;
  }
  add(key, bytes) {
    let node = this.root;
    node.keys++;
    node.bytes += bytes;
    for (const segment of this.segments(key)) {
      node.children ??= /* @__PURE__ */ new Map();
      let child = node.children.get(segment);
      if (!child) {
        child = { name: segment, keys: 0, bytes: 0, children: null, parent: node, folded: 0 };
        node.children.set(segment, child);
        this.nodes++;
      }
      child.keys++;
      child.bytes += bytes;
      node = child;
    }
    if (this.nodes > this.maxNodes) this.prune();
  }
  /** Folds the smallest leaves until a quarter of the budget is free again. */
  prune() {
    const target = Math.floor(this.maxNodes * 0.75);
    while (this.nodes > target) {
      const leaves = [];
      const walk = (n) => {
        if (!n.children || n.children.size === 0) {
          if (n !== this.root) leaves.push(n);
          return;
        }
        for (const c of n.children.values()) walk(c);
      };
      walk(this.root);
      leaves.sort((a, b) => a.bytes - b.bytes);
      for (const leaf of leaves) {
        if (this.nodes <= target) break;
        const parent = leaf.parent;
        parent.children.delete(leaf.name);
        parent.folded++;
        this.nodes--;
      }
    }
  }
  /** The tree as plain data, children largest first. */
  toJSON() {
    const convert2 = (n, prefix) => {
      const children = n.children
        ? [...n.children.values()].sort((a, b) => b.bytes - a.bytes).map((c) => convert2(c, prefix + c.name))
        : [];
      return { prefix, keys: n.keys, bytes: n.bytes, children, foldedChildren: n.folded };
    };
    return convert2(this.root, '');
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/memory/analyze.ts
var EXPIRY_BUCKETS = ['none', 'expired', 'under-1h', 'under-1d', 'under-7d', 'later'];
var HOUR = 36e5;
function ranksBelow(a, bytes, key) {
  return a.bytes < bytes || (a.bytes === bytes && a.key > key);
}
var TopRows = class {
  constructor(capacity) {
    this.capacity = capacity;
  }
  capacity;
  heap = [];
  /** True when a key of `bytes` named `key` would make it into the top. */
  wants(bytes, key) {
    if (this.capacity === 0) return false;
    return this.heap.length < this.capacity || ranksBelow(this.heap[0], bytes, key);
  }
  push(row) {
    const h = this.heap;
    const below = (a, b) => ranksBelow(a, b.bytes, b.key);
    if (h.length < this.capacity) {
      h.push(row);
      let i2 = h.length - 1;
      while (i2 > 0) {
        const p = (i2 - 1) >> 1;
        if (!below(h[i2], h[p])) break;
        [h[p], h[i2]] = [h[i2], h[p]];
        i2 = p;
      }
      return;
    }
    h[0] = row;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && below(h[l], h[m])) m = l;
      if (r < h.length && below(h[r], h[m])) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
  sorted() {
    return [...this.heap].sort((a, b) => b.bytes - a.bytes || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
};
function toRow(k) {
  return {
    db: k.db,
    key: keyToText(k.key),
    type: k.type,
    encoding: k.encoding,
    bytes: k.bytes,
    expiryBytes: k.expiryBytes,
    elements: k.elements,
    largestElement: k.largestElement,
    expiresAt: k.expiresAt ?? null,
  };
}
function positiveInt(name, value, fallback, min = 1) {
  if (value === void 0) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new MemoryError(
      'ERR_MEMORY_OPTION',
      `${name} must be an integer of at least ${min}, got ${String(value)}`,
      {
        details: { option: name, value },
      },
    );
  }
  return value;
}
var MemoryAnalyzer = class {
  top;
  prefixes;
  totals = {
    keys: 0,
    bytes: 0,
    expiryBytes: 0,
    elements: 0,
    keysWithExpiry: 0,
  };
  byDb = /* @__PURE__ */ new Map();
  byType = /* @__PURE__ */ new Map();
  byEncoding = /* @__PURE__ */ new Map();
  expiry = /* @__PURE__ */ new Map();
  biggest = /* @__PURE__ */ new Map();
  snapshot = { aux: {} };
  options;
  now;
  source;
  constructor(options = {}) {
    const separators =
      options.separators === void 0
        ? [':', '/']
        : typeof options.separators === 'string'
          ? [options.separators]
          : [...options.separators];
    if (separators.length === 0 || separators.some((s) => typeof s !== 'string' || s.length === 0)) {
      throw new MemoryError(
        'ERR_MEMORY_OPTION',
        `separators must be non-empty strings, got ${JSON.stringify(options.separators)}`,
        {
          details: { option: 'separators' },
          hint: "Pass e.g. [':'] or [':', '/']",
        },
      );
    }
    this.options = {
      top: positiveInt('top', options.top, 100, 0),
      separators,
      maxPrefixNodes: positiveInt('maxPrefixNodes', options.maxPrefixNodes, 2e3),
      prefixDepth: positiveInt('prefixDepth', options.prefixDepth, 4),
      state: options.state ?? 'loaded',
    };
    this.top = new TopRows(this.options.top);
    this.prefixes = new PrefixTree(separators, this.options.maxPrefixNodes, this.options.prefixDepth);
    this.now = options.now ?? Date.now();
    this.source = options.source;
    for (const b of EXPIRY_BUCKETS) this.expiry.set(b, { keys: 0, bytes: 0 });
  }
  /** Keys counted so far. */
  get keys() {
    return this.totals.keys;
  }
  /** Their estimated memory so far. */
  get bytes() {
    return this.totals.bytes;
  }
  /** Records what the snapshot says about itself (header, aux fields). */
  noteRecord(record) {
    if (record.kind === 'header') {
      this.snapshot.magic = record.magic;
      this.snapshot.rdbVersion = record.version;
    } else if (record.kind === 'aux') {
      this.snapshot.aux[keyToText(record.key)] = keyToText(record.value);
    }
  }
  add(k) {
    const t2 = this.totals;
    t2.keys++;
    t2.bytes += k.bytes;
    t2.expiryBytes += k.expiryBytes;
    t2.elements += k.elements;
    if (k.expiresAt !== void 0) t2.keysWithExpiry++;
    const bump = (g) => {
      g.keys++;
      g.bytes += k.bytes;
      g.elements += k.elements;
    };
    bump(this.byDb.get(k.db) ?? this.byDb.set(k.db, { keys: 0, bytes: 0, elements: 0 }).get(k.db));
    bump(this.byType.get(k.type) ?? this.byType.set(k.type, { keys: 0, bytes: 0, elements: 0 }).get(k.type));
    const encKey = `${k.type}/${k.encoding}`;
    let enc = this.byEncoding.get(encKey);
    if (!enc) {
      enc = { type: k.type, encoding: k.encoding, keys: 0, bytes: 0, elements: 0 };
      this.byEncoding.set(encKey, enc);
    }
    bump(enc);
    const bucket = this.expiry.get(this.expiryBucket(k.expiresAt));
    bucket.keys++;
    bucket.bytes += k.bytes;
    const text2 = keyToText(k.key);
    this.prefixes.add(text2, k.bytes);
    if (this.top.wants(k.bytes, text2)) this.top.push({ ...toRow(k), key: text2 });
    const big2 = this.biggest.get(k.type);
    if (
      !big2 ||
      k.elements > big2.elements ||
      (k.elements === big2.elements && (k.bytes > big2.bytes || (k.bytes === big2.bytes && text2 < big2.key)))
    ) {
      this.biggest.set(k.type, { ...toRow(k), key: text2 });
    }
  }
  expiryBucket(expiresAt) {
    if (expiresAt === void 0) return 'none';
    const left = expiresAt - this.now;
    if (left <= 0) return 'expired';
    if (left < HOUR) return 'under-1h';
    if (left < 24 * HOUR) return 'under-1d';
    if (left < 7 * 24 * HOUR) return 'under-7d';
    return 'later';
  }
  report() {
    const bySize = (a, b) => b.bytes - a.bytes;
    const report = {
      version: 1,
      generatedAt: /* @__PURE__ */ new Date().toISOString(),
      now: this.now,
      snapshot: { ...this.snapshot, aux: { ...this.snapshot.aux } },
      options: { ...this.options, separators: [...this.options.separators] },
      totals: { ...this.totals },
      byDb: [...this.byDb].map(([db, g]) => ({ db, ...g })).sort((a, b) => a.db - b.db),
      byType: [...this.byType].map(([type, g]) => ({ type, ...g })).sort(bySize),
      byEncoding: [...this.byEncoding.values()].map((g) => ({ ...g })).sort(bySize),
      expiry: EXPIRY_BUCKETS.map((bucket) => ({ bucket, ...this.expiry.get(bucket) })),
      topKeys: this.top.sorted(),
      biggestByType: [...this.biggest.values()].sort(bySize),
      prefixes: this.prefixes.toJSON(),
    };
    if (this.source !== void 0) report.source = this.source;
    return report;
  }
};
async function analyzeMemory(records, options = {}) {
  const analyzer = new MemoryAnalyzer(options);
  const estimateOptions = { state: analyzer.options.state };
  if (options.config) estimateOptions.config = options.config;
  if (options.scoreFormat) estimateOptions.scoreFormat = options.scoreFormat;
  const progressEvery = positiveInt('progressEvery', options.progressEvery, 1e4);
  const { csv, onKey, onProgress, signal } = options;
  if (csv)
    await write(
      csv,
      `${MEMORY_CSV_HEADER}
`,
    );
  const estimator = new RecordEstimator(estimateOptions, (r) => analyzer.noteRecord(r));
  for await (const record of records) {
    signal?.throwIfAborted();
    const k = estimator.push(record);
    if (!k) continue;
    analyzer.add(k);
    if (csv)
      await write(
        csv,
        `${keyMemoryToCsvLine(k)}
`,
      );
    if (onKey) await onKey(k);
    if (onProgress && analyzer.keys % progressEvery === 0) {
      onProgress({ keys: analyzer.keys, bytes: analyzer.bytes, done: false });
    }
  }
  estimator.end();
  const report = analyzer.report();
  onProgress?.({ keys: report.totals.keys, bytes: report.totals.bytes, done: true });
  return report;
}
function outOfOrder(key, what) {
  return new MemoryError(
    'ERR_MEMORY_RECORDS',
    `unexpected ${what} for key ${JSON.stringify(keyToText(key))}`,
    {
      details: { key: keyToText(key) },
      hint: 'Pass the records of one RDB reader in the order it yields them',
    },
  );
}
async function write(stream, chunk) {
  if (!stream.write(chunk)) await once(stream, 'drain');
}
async function* estimateRecords(records, options = {}) {
  const { onOtherRecord, signal, ...estimateOptions } = options;
  const estimator = new RecordEstimator(estimateOptions, onOtherRecord);
  for await (const record of records) {
    signal?.throwIfAborted();
    const k = estimator.push(record);
    if (k) yield k;
  }
  estimator.end();
}
var RecordEstimator = class {
  constructor(options, onOtherRecord) {
    this.options = options;
    this.onOtherRecord = onOtherRecord;
    this.legacyOptions = { ...options, scoreFormat: 'legacy' };
  }
  options;
  onOtherRecord;
  pending = null;
  legacyScores = false;
  legacyOptions;
  /** A zset kept as a listpack keeps the score text its writer printed; Redis <= 7.0 used %.17g. */
  optionsFor(type, encoding) {
    return this.legacyScores && type === 'zset' && (encoding === 'listpack' || encoding === 'ziplist')
      ? this.legacyOptions
      : this.options;
  }
  /** The key's estimate when `record` completes one, else undefined. */
  push(record) {
    switch (record.kind) {
      case 'key': {
        const estimator = new KeyMemoryEstimator(
          record.value.type,
          this.optionsFor(record.value.type, record.encoding),
        );
        estimator.add(record.value);
        return estimator.finish(record);
      }
      case 'key-begin': {
        if (this.pending) throw outOfOrder(record.key, 'key-begin');
        this.pending = {
          estimator: new KeyMemoryEstimator(record.type, this.optionsFor(record.type, record.encoding)),
          db: record.db,
          key: record.key,
        };
        if (record.expiresAt !== void 0) this.pending.expiresAt = record.expiresAt;
        return void 0;
      }
      case 'key-part': {
        if (!this.pending?.key.equals(record.key)) throw outOfOrder(record.key, 'key-part');
        this.pending.estimator.add(record.value);
        return void 0;
      }
      case 'key-end': {
        const pending = this.pending;
        if (!pending?.key.equals(record.key)) throw outOfOrder(record.key, 'key-end');
        const meta = { db: pending.db, key: pending.key };
        if (pending.expiresAt !== void 0) meta.expiresAt = pending.expiresAt;
        if (record.stream) meta.stream = record.stream;
        this.pending = null;
        return pending.estimator.finish(meta);
      }
      default:
        if (record.kind === 'header') this.legacyScores = record.magic === 'REDIS' && record.version <= 10;
        this.onOtherRecord?.(record);
        return void 0;
    }
  }
  /** Checks that no key was left half read. */
  end() {
    if (this.pending) throw outOfOrder(this.pending.key, 'end of records');
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/memory/sources.ts
import { createReadStream as createReadStream7 } from 'node:fs';
import { stat as stat5 } from 'node:fs/promises';
import { basename as basename2 } from 'node:path';
import { parseConnectionUrl as parseConnectionUrl2, redactUrl as redactUrl3 } from '@valkey-tools/core';
async function fileSize(path) {
  let info;
  try {
    info = await stat5(path);
  } catch (err) {
    const code = err.code;
    throw new MemoryError('ERR_MEMORY_INPUT', `cannot open the snapshot ${path}: ${code ?? String(err)}`, {
      cause: err,
      details: { file: path, errno: code },
      hint:
        code === 'ENOENT'
          ? 'Check the path (the server writes dump.rdb in its `dir`)'
          : 'Check the path and its permissions',
    });
  }
  if (!info.isFile()) {
    throw new MemoryError('ERR_MEMORY_INPUT', `the snapshot ${path} is not a file`, {
      details: { file: path },
      hint: 'Pass the path of an .rdb file',
    });
  }
  return info.size;
}
function readerOptions(read) {
  return { chunked: true, ...read };
}
async function analyzeRdbFile(path, options = {}) {
  const { read, onProgress, ...analyze } = options;
  const size = await fileSize(path);
  let readBytes = 0;
  async function* counted2() {
    for await (const chunk of createReadStream7(path, { highWaterMark: 256 * 1024 })) {
      readBytes += chunk.length;
      yield chunk;
    }
  }
  const records = readRdb(counted2(), { ...readerOptions(read), file: path, totalBytes: size });
  const withBytes = onProgress && ((p) => onProgress({ ...p, readBytes, totalBytes: size }));
  return analyzeMemory(records, {
    source: basename2(path),
    ...analyze,
    ...(withBytes ? { onProgress: withBytes } : {}),
  });
}
async function analyzeServerMemory(url, options = {}) {
  const { read, sync, tls, mode = 'replication', scanCount, onProgress, ...analyze } = options;
  const where2 = redactUrl3(url);
  if (mode === 'scan') {
    const conn = await connectServer(url, tls ? { tls } : {});
    try {
      async function* records2() {
        const scan = scanServer(conn, {
          filter: compileFilter({}),
          ...(scanCount ? { count: scanCount } : {}),
        });
        for await (const item of scan) {
          if (item.kind !== 'dump') continue;
          const { value, encoding } = await decodeDumpPayload(item.payload);
          const record = { kind: 'key', db: item.db, key: item.key, encoding, value };
          if (item.expiresAt !== void 0) record.expiresAt = item.expiresAt;
          yield record;
        }
      }
      return await analyzeMemory(records2(), {
        source: conn.where,
        state: 'written',
        ...analyze,
        ...(onProgress ? { onProgress } : {}),
      });
    } finally {
      await conn.close();
    }
  }
  const target = parseConnectionUrl2(url);
  let readBytes = 0;
  let totalBytes;
  const syncOptions = {
    ...sync,
    where: where2,
    onStart: (info) => {
      totalBytes = info.size;
      sync?.onStart?.(info);
    },
    onBytes: (received) => {
      readBytes = received;
      sync?.onBytes?.(received);
    },
  };
  if (tls) syncOptions.tls = tls;
  if (analyze.signal) syncOptions.signal = analyze.signal;
  const records = readRdb(syncRdb(target, syncOptions), readerOptions(read));
  const withBytes =
    onProgress && ((p) => onProgress({ ...p, readBytes, ...(totalBytes === void 0 ? {} : { totalBytes }) }));
  return analyzeMemory(records, {
    source: where2,
    state: 'written',
    ...analyze,
    ...(withBytes ? { onProgress: withBytes } : {}),
  });
}

// ../../tmp/vd-bench/after/packages/backup/src/memory/html.ts
function embedJson(value) {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
function escapeHtml(text2) {
  return text2.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
function memoryReportToHtml(report, options = {}) {
  const title = options.title ?? 'Valkey memory report';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="@valkey-tools/backup">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(title)}</h1>
  <p id="meta" class="muted"></p>
</header>
<main>
  <section id="summary" class="cards" aria-label="Summary"></section>
  <section class="panel">
    <div class="panel-head"><h2>Memory by key prefix</h2><nav id="crumbs" aria-label="Prefix path"></nav></div>
    <p class="muted small">Area is estimated memory; each prefix shows its largest sub-prefixes inside. Click to zoom in, hover for numbers. <em>Keys directly under</em> covers keys with no deeper prefix and small prefixes folded to keep the report bounded.</p>
    <svg id="treemap" role="img" aria-label="Treemap of key prefixes by memory"></svg>
  </section>
  <section class="grid">
    <div class="panel"><h2>By type</h2><svg id="chart-type" class="bars" role="img" aria-label="Memory by type"></svg></div>
    <div class="panel"><h2>By encoding</h2><svg id="chart-encoding" class="bars" role="img" aria-label="Memory by encoding"></svg></div>
    <div class="panel"><h2>By database</h2><svg id="chart-db" class="bars" role="img" aria-label="Memory by database"></svg></div>
    <div class="panel"><h2>By time to live</h2><svg id="chart-expiry" class="bars" role="img" aria-label="Memory by time to live"></svg></div>
  </section>
  <section class="panel">
    <div class="panel-head"><h2>Largest keys</h2>
      <input id="search" type="search" placeholder="Filter keys, types, encodings\u2026" aria-label="Filter the largest keys" autocomplete="off">
    </div>
    <p id="count" class="muted small"></p>
    <div class="table-wrap"><table id="top-keys">
      <thead><tr>
        <th data-sort="db" class="num">db</th><th data-sort="key">key</th><th data-sort="type">type</th>
        <th data-sort="encoding">encoding</th><th data-sort="bytes" class="num">memory</th>
        <th data-sort="elements" class="num">elements</th><th data-sort="largestElement" class="num">largest element</th>
        <th data-sort="expiresAt">expires</th>
      </tr></thead>
      <tbody></tbody>
    </table></div>
  </section>
  <section class="panel">
    <h2>Biggest key of each type (by elements)</h2>
    <div class="table-wrap"><table id="biggest"><thead><tr><th>type</th><th>key</th><th class="num">elements</th><th class="num">memory</th></tr></thead><tbody></tbody></table></div>
  </section>
</main>
<footer class="muted small">Estimates model valkey 8.0's <code>MEMORY USAGE key SAMPLES 0</code>: jemalloc size classes and the encodings the server picks, for keys <span id="state"></span>. Prefixes split on <span id="separators"></span>. Generated by @valkey-tools/backup.</footer>
<script type="application/json" id="report-data">${embedJson(report)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
var STYLE = `
:root{--bg:#f6f7f9;--panel:#fff;--text:#1d2330;--muted:#667085;--line:#e4e7ec;--accent:#2f6fed}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;background:var(--bg);color:var(--text)}
header{padding:20px 28px 4px}
h1{margin:0;font-size:22px}
h2{margin:0 0 10px;font-size:15px}
main{padding:8px 28px 20px;display:flex;flex-direction:column;gap:16px}
footer{padding:0 28px 24px}
.muted{color:var(--muted)}.small{font-size:12px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card .v{font-size:20px;font-weight:600}.card .l{color:var(--muted);font-size:12px}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.panel-head{display:flex;align-items:center;justify-content:space-between;gap:12px;flex-wrap:wrap}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
#treemap{width:100%;height:440px;display:block}
#treemap rect{stroke:#fff;stroke-width:1.5px;cursor:pointer}
#treemap rect.inner{stroke:rgba(255,255,255,.7);stroke-width:1px}
#treemap rect.leaf{cursor:default}
#treemap text{pointer-events:none;fill:#fff;font-size:12px}
#treemap text.sub{font-size:11px;fill:rgba(255,255,255,.85)}
#crumbs button{border:0;background:none;color:var(--accent);cursor:pointer;padding:0 2px;font:inherit}
#crumbs span.sep{color:var(--muted)}
svg.bars{width:100%;display:block}
svg.bars text{font-size:12px;fill:var(--text)}
svg.bars text.val{fill:var(--muted)}
input[type=search]{padding:6px 10px;border:1px solid var(--line);border-radius:8px;min-width:280px;font:inherit}
.table-wrap{overflow:auto;max-height:560px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th{position:sticky;top:0;background:var(--panel);cursor:pointer;user-select:none;font-weight:600}
th[data-dir=asc]::after{content:" \u25B2"}th[data-dir=desc]::after{content:" \u25BC"}
td.key{white-space:normal;word-break:break-all;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}
.num{text-align:right}
.chip{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
`;
var SCRIPT = `
(function () {
  'use strict';
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var SVG = 'http://www.w3.org/2000/svg';
  var TYPE_COLORS = { string: '#4e79a7', list: '#f28e2b', set: '#e15759', zset: '#76b7b2', hash: '#59a14f', stream: '#b6992d', module: '#b07aa1' };
  var PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#b6992d', '#b07aa1', '#ff9da7', '#9c755f', '#6b8fb8', '#d37295', '#499894'];
  var EXPIRY_LABELS = { none: 'no expiry', expired: 'already expired', 'under-1h': 'under 1 hour', 'under-1d': 'under 1 day', 'under-7d': 'under 7 days', later: '7 days or more' };

  function fmtBytes(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)) + ' ' + units[i];
  }
  function fmtInt(n) { return Number(n).toLocaleString('en-US'); }
  function pct(part, whole) { return whole > 0 ? (100 * part / whole).toFixed(1) + '%' : '0%'; }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // Header and summary.
  var meta = [];
  if (report.source) meta.push(report.source);
  var aux = report.snapshot.aux || {};
  if (aux['valkey-ver']) meta.push('valkey ' + aux['valkey-ver']);
  else if (aux['redis-ver']) meta.push('redis ' + aux['redis-ver']);
  if (report.snapshot.rdbVersion !== undefined) meta.push((report.snapshot.magic || 'RDB') + ' v' + report.snapshot.rdbVersion);
  if (aux.ctime && /^[0-9]+$/.test(aux.ctime)) meta.push('saved ' + new Date(Number(aux.ctime) * 1000).toISOString().replace('.000Z', 'Z'));
  meta.push('report ' + report.generatedAt.replace(/\\.[0-9]+Z$/, 'Z'));
  document.getElementById('meta').textContent = meta.join(' \xB7 ');
  document.getElementById('state').textContent = report.options.state === 'written' ? 'as clients wrote them into a running server' : 'as a server holds them after loading the snapshot';
  document.getElementById('separators').textContent = report.options.separators.map(function (x) { return JSON.stringify(x); }).join(' ');

  var t = report.totals;
  var cards = [
    [fmtBytes(t.bytes), 'estimated memory of keys'],
    [fmtInt(t.keys), 'keys'],
    [t.keys ? fmtBytes(t.bytes / t.keys) : '0 B', 'average per key'],
    [fmtInt(t.elements), 'elements'],
    [fmtInt(t.keysWithExpiry) + ' (' + pct(t.keysWithExpiry, t.keys) + ')', 'keys with a TTL'],
    [fmtBytes(t.expiryBytes), 'expires-dict overhead'],
  ];
  if (aux['used-mem'] && /^[0-9]+$/.test(aux['used-mem'])) cards.push([fmtBytes(Number(aux['used-mem'])), 'used_memory when saved']);
  var summary = document.getElementById('summary');
  cards.forEach(function (c) {
    var card = el('div', { class: 'card' });
    card.appendChild(el('div', { class: 'v' }, c[0]));
    card.appendChild(el('div', { class: 'l' }, c[1]));
    summary.appendChild(card);
  });

  // Treemap of prefixes (squarified).
  function squarify(items, x, y, w, h) {
    var out = [];
    var total = items.reduce(function (s, it) { return s + it.value; }, 0);
    if (total <= 0 || w <= 0 || h <= 0) return out;
    var scale = (w * h) / total;
    var rest = items.map(function (it) { return { item: it, area: it.value * scale }; });
    while (rest.length) {
      var short = Math.min(w, h);
      var row = [];
      var best = Infinity;
      while (rest.length) {
        var next = row.concat([rest[0]]);
        var sum = next.reduce(function (s, r) { return s + r.area; }, 0);
        var maxA = Math.max.apply(null, next.map(function (r) { return r.area; }));
        var minA = Math.min.apply(null, next.map(function (r) { return r.area; }));
        var worst = Math.max((short * short * maxA) / (sum * sum), (sum * sum) / (short * short * minA));
        if (row.length && worst > best) break;
        best = worst;
        row = next;
        rest.shift();
      }
      var rowSum = row.reduce(function (s, r) { return s + r.area; }, 0);
      var thick = rowSum / short;
      var offset = 0;
      row.forEach(function (r) {
        var len = r.area / thick;
        if (w >= h) out.push({ item: r.item, x: x, y: y + offset, w: thick, h: len });
        else out.push({ item: r.item, x: x + offset, y: y, w: len, h: thick });
        offset += len;
      });
      if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
    }
    return out;
  }

  var path = [report.prefixes];
  var treemap = document.getElementById('treemap');
  // The cells of one prefix: its sub-prefixes plus the keys directly under it (and folded prefixes).
  function cellsOf(node, color) {
    var items = node.children.map(function (c, i) {
      return { node: c, label: c.prefix, value: c.bytes, keys: c.keys, color: color || PALETTE[i % PALETTE.length] };
    });
    var direct = node.bytes - node.children.reduce(function (s, c) { return s + c.bytes; }, 0);
    var directKeys = node.keys - node.children.reduce(function (s, c) { return s + c.keys; }, 0);
    if (direct > 0) items.push({ node: null, label: (node.prefix || '') + '(keys directly under)', value: direct, keys: directKeys, color: color || '#98a2b3' });
    return items.sort(function (a, b) { return b.value - a.value; });
  }
  function tooltip(item) {
    return item.label + '\\n' + fmtBytes(item.value) + ' (' + pct(item.value, report.totals.bytes) + ' of all) \xB7 ' + fmtInt(item.keys) + ' keys';
  }
  function label(g, text, x, y, w, cls) {
    var maxChars = Math.floor((w - 8) / 7);
    if (maxChars < 3) return;
    var shown = text.length > maxChars ? text.slice(0, maxChars - 1) + '\u2026' : text;
    g.appendChild(svgEl('text', cls ? { x: x, y: y, class: cls } : { x: x, y: y }, shown));
  }
  function zoomTo(node) {
    if (!node || !node.children.length) return;
    path.push(node);
    drawTreemap();
  }
  function drawTreemap() {
    var node = path[path.length - 1];
    clear(treemap);
    var width = treemap.clientWidth || 960;
    var height = treemap.clientHeight || 440;
    treemap.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    var rects = squarify(cellsOf(node, null), 0, 0, width, height);
    if (!rects.length) treemap.appendChild(svgEl('text', { x: 12, y: 24, fill: '#667085' }, 'No keys'));
    rects.forEach(function (r) {
      var item = r.item;
      var g = svgEl('g', { class: 'cell' });
      var rect = svgEl('rect', { x: r.x, y: r.y, width: Math.max(0, r.w), height: Math.max(0, r.h), fill: item.color, class: item.node && item.node.children.length ? 'zoom' : 'leaf' });
      rect.appendChild(svgEl('title', null, tooltip(item)));
      rect.addEventListener('click', function () { zoomTo(item.node); });
      g.appendChild(rect);
      var nested = item.node && item.node.children.length && r.w > 90 && r.h > 70;
      if (r.w > 50 && r.h > 20) label(g, item.label, r.x + 5, r.y + 15, r.w);
      if (nested) {
        // One level deeper inside the cell, lighter, under a header line.
        var inner = squarify(cellsOf(item.node, item.color), r.x + 3, r.y + 21, r.w - 6, r.h - 24);
        inner.forEach(function (c) {
          var sub = svgEl('rect', { x: c.x, y: c.y, width: Math.max(0, c.w), height: Math.max(0, c.h), fill: '#ffffff', 'fill-opacity': c.item.node ? 0.22 : 0.1, class: 'inner' });
          sub.appendChild(svgEl('title', null, tooltip(c.item)));
          sub.addEventListener('click', function () { if (c.item.node && c.item.node.children.length) zoomTo(c.item.node); else zoomTo(item.node); });
          g.appendChild(sub);
          if (c.w > 60 && c.h > 30) {
            label(g, c.item.label.slice(item.node.prefix.length) || c.item.label, c.x + 4, c.y + 14, c.w, 'sub');
            if (c.h > 44) label(g, fmtBytes(c.item.value), c.x + 4, c.y + 28, c.w, 'sub');
          }
        });
      } else if (r.h > 38 && r.w > 50) {
        label(g, fmtBytes(item.value) + ' \xB7 ' + fmtInt(item.keys) + ' keys', r.x + 5, r.y + 31, r.w, 'sub');
      }
      treemap.appendChild(g);
    });
    var crumbs = document.getElementById('crumbs');
    clear(crumbs);
    path.forEach(function (p, i) {
      if (i) crumbs.appendChild(el('span', { class: 'sep' }, ' \u203A '));
      var b = el('button', { type: 'button' }, i === 0 ? 'all keys' : p.prefix);
      b.addEventListener('click', function () { path = path.slice(0, i + 1); drawTreemap(); });
      crumbs.appendChild(b);
    });
  }
  drawTreemap();
  var resizeTimer = null;
  window.addEventListener('resize', function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(drawTreemap, 100); });

  // Horizontal bar charts.
  function bars(id, rows) {
    var svg = document.getElementById(id);
    var width = 520, labelW = 150, valueW = 170, rowH = 26;
    var height = Math.max(1, rows.length) * rowH + 6;
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    svg.setAttribute('height', String(height));
    var max = rows.reduce(function (m, r) { return Math.max(m, r.value); }, 0);
    if (!rows.length) svg.appendChild(svgEl('text', { x: 0, y: 18 }, 'No keys'));
    rows.forEach(function (r, i) {
      var y = i * rowH + 4;
      var w = max > 0 ? Math.max(2, (width - labelW - valueW) * r.value / max) : 2;
      svg.appendChild(svgEl('text', { x: 0, y: y + 15 }, r.label));
      var bar = svgEl('rect', { x: labelW, y: y + 3, width: w, height: rowH - 10, rx: 3, fill: r.color });
      bar.appendChild(svgEl('title', null, r.label + ': ' + fmtBytes(r.value) + ', ' + fmtInt(r.keys) + ' keys'));
      svg.appendChild(bar);
      svg.appendChild(svgEl('text', { x: labelW + w + 6, y: y + 15, class: 'val' }, fmtBytes(r.value) + ' \xB7 ' + fmtInt(r.keys) + ' keys'));
    });
  }
  bars('chart-type', report.byType.map(function (g) { return { label: g.type, value: g.bytes, keys: g.keys, color: TYPE_COLORS[g.type] || '#888' }; }));
  bars('chart-encoding', report.byEncoding.map(function (g) { return { label: g.type + ' / ' + g.encoding, value: g.bytes, keys: g.keys, color: TYPE_COLORS[g.type] || '#888' }; }));
  bars('chart-db', report.byDb.map(function (g, i) { return { label: 'db ' + g.db, value: g.bytes, keys: g.keys, color: PALETTE[i % PALETTE.length] }; }));
  bars('chart-expiry', report.expiry.map(function (g, i) { return { label: EXPIRY_LABELS[g.bucket] || g.bucket, value: g.bytes, keys: g.keys, color: ['#98a2b3', '#e15759', '#f28e2b', '#edc948', '#76b7b2', '#4e79a7'][i % 6] }; }));

  // Largest keys: filter and sort.
  function fmtExpiry(ms) {
    if (ms === null || ms === undefined) return '';
    var left = ms - report.now;
    var when = new Date(ms).toISOString().replace('.000Z', 'Z');
    if (left <= 0) return when + ' (expired)';
    var h = left / 3600000;
    return when + ' (in ' + (h < 1 ? Math.ceil(left / 60000) + ' min' : h < 48 ? h.toFixed(1) + ' h' : Math.round(h / 24) + ' d') + ')';
  }
  var rows = report.topKeys.slice();
  var sortKey = 'bytes', sortDir = 'desc';
  var search = document.getElementById('search');
  var tbody = document.querySelector('#top-keys tbody');
  function cell(tr, text, cls) { tr.appendChild(el('td', cls ? { class: cls } : null, text)); }
  function drawTable() {
    var q = search.value.trim().toLowerCase();
    var shown = rows.filter(function (r) {
      return !q || r.key.toLowerCase().indexOf(q) >= 0 || r.type.indexOf(q) >= 0 || r.encoding.indexOf(q) >= 0;
    });
    shown.sort(function (a, b) {
      var x = a[sortKey], y = b[sortKey];
      if (x === null) x = Infinity;
      if (y === null) y = Infinity;
      var c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return sortDir === 'asc' ? c : -c;
    });
    clear(tbody);
    var frag = document.createDocumentFragment();
    shown.forEach(function (r) {
      var tr = el('tr');
      cell(tr, String(r.db), 'num');
      cell(tr, r.key, 'key');
      var typeTd = el('td');
      typeTd.appendChild(el('span', { class: 'chip', style: 'background:' + (TYPE_COLORS[r.type] || '#888') }));
      typeTd.appendChild(document.createTextNode(r.type));
      tr.appendChild(typeTd);
      cell(tr, r.encoding);
      cell(tr, fmtBytes(r.bytes), 'num');
      cell(tr, fmtInt(r.elements), 'num');
      cell(tr, fmtBytes(r.largestElement), 'num');
      cell(tr, fmtExpiry(r.expiresAt));
      frag.appendChild(tr);
    });
    tbody.appendChild(frag);
    document.getElementById('count').textContent = 'Showing ' + fmtInt(shown.length) + ' of the ' + fmtInt(rows.length) + ' largest keys (of ' + fmtInt(report.totals.keys) + ' in total).';
    document.querySelectorAll('#top-keys th').forEach(function (th) {
      if (th.getAttribute('data-sort') === sortKey) th.setAttribute('data-dir', sortDir); else th.removeAttribute('data-dir');
    });
  }
  search.addEventListener('input', drawTable);
  document.querySelectorAll('#top-keys th').forEach(function (th) {
    th.addEventListener('click', function () {
      var k = th.getAttribute('data-sort');
      if (k === sortKey) sortDir = sortDir === 'asc' ? 'desc' : 'asc';
      else { sortKey = k; sortDir = k === 'key' || k === 'type' || k === 'encoding' ? 'asc' : 'desc'; }
      drawTable();
    });
  });
  drawTable();

  var biggest = document.querySelector('#biggest tbody');
  report.biggestByType.forEach(function (r) {
    var tr = el('tr');
    cell(tr, r.type);
    cell(tr, r.key, 'key');
    cell(tr, fmtInt(r.elements), 'num');
    cell(tr, fmtBytes(r.bytes), 'num');
    biggest.appendChild(tr);
  });
})();
`;

// ../../tmp/vd-bench/after/packages/backup/src/convert/convert.ts
import { statSync as statSync2 } from 'node:fs';

// ../../tmp/vd-bench/after/packages/backup/src/convert/commands-to-records.ts
var text = (b) => (b ? b.toString('latin1') : '');
var upper2 = (b) => text(b).toUpperCase();
function parseId(raw, fail) {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text(raw));
  if (!m) fail(`bad stream id "${text(raw)}"`);
  return { ms: BigInt(m[1]), seq: BigInt(m[2] ?? 0) };
}
function parseScore(raw, fail) {
  const s = text(raw).toLowerCase();
  if (s === 'inf' || s === '+inf' || s === 'infinity' || s === '+infinity') return Number.POSITIVE_INFINITY;
  if (s === '-inf' || s === '-infinity') return Number.NEGATIVE_INFINITY;
  const n = Number(s);
  if (s.trim() === '' || Number.isNaN(n)) fail(`bad score "${text(raw)}"`);
  return n;
}
function int(raw, fail) {
  const s = text(raw);
  if (!/^-?\d+$/.test(s)) fail(`"${s}" is not an integer`);
  return Number(s);
}
var cmpId = (a, b) => (a.ms === b.ms ? (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0) : a.ms < b.ms ? -1 : 1);
async function* commandsToRecords(commands, options = {}) {
  const source = options.source ?? 'input';
  const seen = options.seen ?? /* @__PURE__ */ new Set();
  let db = options.db ?? 0;
  let index = -1;
  let cur = null;
  let name = '';
  const fail = (m) => {
    throw new BackupError('ERR_UNSUPPORTED_COMMAND', `${source}: command #${index + 1} (${name}): ${m}`, {
      details: { source, command: index, name },
      hint: 'Only the commands that create keys can be converted offline; replay this file into a server with restore() and back that up instead',
    });
  };
  const id = (k) => `${db}:${k.toString('latin1')}`;
  const begin = (key, value) => {
    if (seen.has(id(key))) fail(`key "${text(key)}" was already written earlier in the input`);
    return { kind: 'key', db, key, encoding: 'resp', value };
  };
  const stream = () => {
    if (cur?.value.type !== 'stream') fail('no stream is being built for this key');
    return cur.value;
  };
  const group = (s, g) => {
    const found = s.groups.find((x) => x.name.equals(g));
    if (!found) fail(`no consumer group "${text(g)}"`);
    return found;
  };
  const consumer = (g, c, time) => {
    let found = g.consumers.find((x) => x.name.equals(c));
    if (!found) {
      found = { name: c, seenTime: time, activeTime: time, pending: [] };
      g.consumers.push(found);
    }
    return found;
  };
  const finish = () => {
    const done2 = cur;
    if (done2) {
      seen.add(id(done2.key));
      if (done2.value.type === 'stream') {
        const s = done2.value;
        s.length = BigInt(s.entries.length);
        s.firstId ??= s.entries[0]?.id ?? { ms: 0n, seq: 0n };
        s.maxDeletedId ??= { ms: 0n, seq: 0n };
        s.entriesAdded ??= BigInt(s.entries.length);
      }
    }
    cur = null;
    return done2;
  };
  for await (const args of commands) {
    index++;
    name = upper2(args[0]);
    if (name === 'ECHO' && parseHeaderCommand(args)) continue;
    if (name === 'MULTI' || name === 'EXEC') continue;
    if (name === 'SELECT') {
      const done2 = finish();
      if (done2) yield done2;
      db = int(args[1], fail);
      continue;
    }
    if (name === 'FUNCTION') {
      if (upper2(args[1]) !== 'LOAD') fail('only FUNCTION LOAD can be converted');
      const done2 = finish();
      if (done2) yield done2;
      yield { kind: 'function', code: args[args.length - 1] };
      continue;
    }
    const keyPos = name === 'XGROUP' ? 2 : 1;
    const key = args[keyPos];
    if (!key) fail('missing key');
    if (cur && !cur.key.equals(key)) {
      const done2 = finish();
      if (done2) yield done2;
    }
    const creating = cur === null;
    switch (name) {
      case 'SET':
        if (args.length !== 3) fail('only SET key value can be converted');
        if (!creating) fail('SET on a key already being built');
        cur = begin(key, { type: 'string', value: args[2] });
        break;
      case 'RPUSH':
      case 'SADD':
      case 'HSET':
      case 'HMSET':
      case 'ZADD': {
        const type = name === 'RPUSH' ? 'list' : name === 'SADD' ? 'set' : name === 'ZADD' ? 'zset' : 'hash';
        if (creating) {
          cur =
            type === 'list'
              ? begin(key, { type, items: [] })
              : type === 'set'
                ? begin(key, { type, members: [] })
                : type === 'zset'
                  ? begin(key, { type, entries: [] })
                  : begin(key, { type: 'hash', entries: [] });
        }
        const v = cur.value;
        if (v.type !== type) fail(`${name} on a ${v.type}`);
        const rest = args.slice(2);
        if (v.type === 'list') v.items.push(...rest);
        else if (v.type === 'set') v.members.push(...rest);
        else if (v.type === 'zset') {
          if (rest.length % 2 !== 0 || /^(NX|XX|GT|LT|CH|INCR)$/i.test(text(rest[0])))
            fail('only ZADD key score member ... can be converted');
          for (let i = 0; i < rest.length; i += 2)
            v.entries.push({ score: parseScore(rest[i], fail), member: rest[i + 1] });
        } else if (v.type === 'hash') {
          if (rest.length % 2 !== 0) fail('odd number of field/value arguments');
          for (let i = 0; i < rest.length; i += 2) v.entries.push({ field: rest[i], value: rest[i + 1] });
        }
        break;
      }
      case 'XADD': {
        if (creating) {
          cur = begin(key, {
            type: 'stream',
            entries: [],
            length: 0n,
            lastId: { ms: 0n, seq: 0n },
            groups: [],
          });
        }
        const s = stream();
        let i = 2;
        let trimAll = false;
        if (upper2(args[i]) === 'MAXLEN') {
          if (text(args[i + 1]) !== '0') fail('only XADD key MAXLEN 0 (an empty stream) can be converted');
          trimAll = true;
          i += 2;
        }
        const eid = parseId(args[i], fail);
        if (trimAll) {
          s.lastId = eid;
          s.entriesAdded = (s.entriesAdded ?? 0n) + 1n;
          break;
        }
        const fields = [];
        for (let j = i + 1; j + 1 < args.length; j += 2) fields.push([args[j], args[j + 1]]);
        s.entries.push({ id: eid, fields });
        s.lastId = eid;
        s.entriesAdded = (s.entriesAdded ?? 0n) + 1n;
        break;
      }
      case 'XSETID': {
        const s = stream();
        s.lastId = parseId(args[2], fail);
        for (let i = 3; i + 1 < args.length; i += 2) {
          const opt = upper2(args[i]);
          if (opt === 'ENTRIESADDED') s.entriesAdded = BigInt(int(args[i + 1], fail));
          else if (opt === 'MAXDELETEDID') s.maxDeletedId = parseId(args[i + 1], fail);
          else fail(`unknown XSETID option ${opt}`);
        }
        break;
      }
      case 'XGROUP': {
        const sub = upper2(args[1]);
        if (sub === 'CREATE') {
          if (creating) {
            if (!args.slice(5).some((a) => upper2(a) === 'MKSTREAM'))
              fail('XGROUP CREATE on a missing stream');
            cur = begin(key, {
              type: 'stream',
              entries: [],
              length: 0n,
              lastId: { ms: 0n, seq: 0n },
              groups: [],
            });
          }
          const s = stream();
          const g = {
            name: args[3],
            lastId: text(args[4]) === '$' ? s.lastId : parseId(args[4], fail),
            pending: [],
            consumers: [],
          };
          for (let i = 5; i < args.length; i++) {
            if (upper2(args[i]) === 'ENTRIESREAD') g.entriesRead = BigInt(int(args[++i], fail));
          }
          s.groups.push(g);
        } else if (sub === 'CREATECONSUMER') {
          consumer(group(stream(), args[3]), args[4], Date.now());
        } else fail(`XGROUP ${sub} cannot be converted`);
        break;
      }
      case 'XCLAIM': {
        const s = stream();
        const g = group(s, args[2]);
        const owner = args[3];
        const ids = [];
        let i = 5;
        while (i < args.length && /^\d+(-\d+)?$/.test(text(args[i]))) ids.push(parseId(args[i++], fail));
        let time = Date.now();
        let count = 0;
        for (; i < args.length; i++) {
          const opt = upper2(args[i]);
          if (opt === 'TIME') time = int(args[++i], fail);
          else if (opt === 'RETRYCOUNT') count = int(args[++i], fail);
          else if (opt === 'IDLE') time = Date.now() - int(args[++i], fail);
        }
        const c = consumer(g, owner, time);
        for (const pid of ids) {
          if (!s.entries.some((e) => cmpId(e.id, pid) === 0)) continue;
          g.pending.push({ id: pid, deliveryTime: time, deliveryCount: count, consumer: owner });
          c.pending.push(pid);
        }
        g.pending.sort((a, b) => cmpId(a.id, b.id));
        break;
      }
      case 'PEXPIREAT':
        if (creating) fail('PEXPIREAT on a key not built by the previous commands');
        cur.expiresAt = int(args[2], fail);
        break;
      case 'HPEXPIREAT': {
        if (creating || cur.value.type !== 'hash') fail('HPEXPIREAT on a key not built as a hash');
        const v = cur.value;
        const at = int(args[2], fail);
        if (upper2(args[3]) !== 'FIELDS') fail('expected FIELDS');
        const n = int(args[4], fail);
        for (const f of args.slice(5, 5 + n)) {
          const e = v.entries.find((x) => x.field.equals(f));
          if (e) e.expiresAt = at;
        }
        break;
      }
      case 'RESTORE': {
        if (!creating) fail('RESTORE on a key already being built');
        const ttl = int(args[2], fail);
        const abs = args.slice(4).some((a) => upper2(a) === 'ABSTTL');
        const rec = await decodeDump(args[3], key, db);
        const r = begin(key, rec.value);
        r.encoding = rec.encoding;
        if (ttl > 0) r.expiresAt = abs ? ttl : Date.now() + ttl;
        for (let i = 4; i < args.length; i++) {
          const opt = upper2(args[i]);
          if (opt === 'IDLETIME') r.lruIdle = int(args[++i], fail);
          else if (opt === 'FREQ') r.lfuFreq = int(args[++i], fail);
        }
        cur = r;
        break;
      }
      default:
        fail('this command cannot be converted offline');
    }
  }
  const done = finish();
  if (done) yield done;
}

// ../../tmp/vd-bench/after/packages/backup/src/convert/convert.ts
async function* filterRecords(records, f, count) {
  let skipping = false;
  for await (const r of records) {
    if (r.kind === 'key') {
      if (!(f.db(r.db) && f.key(r.key) && f.type(r.value.type)) || isEmptyCollection(r.value)) continue;
      count();
    } else if (r.kind === 'key-begin') {
      skipping =
        !(f.db(r.db) && f.key(r.key) && f.type(r.type)) ||
        (r.elements === 0 && r.type !== 'stream' && r.type !== 'string');
      if (skipping) continue;
      count();
    } else if (r.kind === 'key-part' || r.kind === 'key-end') {
      if (skipping) continue;
    }
    yield r;
  }
}
async function convert(options) {
  const started = Date.now();
  const to = checkOutputFormat(options.to ?? formatFromPath(options.output, 'output'));
  const filter = compileFilter(options);
  const dropped = [];
  let keys = 0;
  let bytesRead = 0;
  let bytesWritten = 0;
  let last = 0;
  const interval = options.progressIntervalMs ?? 250;
  const progress = (done) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!done && now - last < interval) return;
    last = now;
    options.onProgress({ keys, bytesRead, bytesWritten, elapsedMs: now - started, done });
  };
  let from = options.from;
  const segments = openInput(options.input, {
    ...(options.from === void 0 ? {} : { from: options.from }),
    truncated: options.truncated ?? 'error',
    onTruncated: (t2) => dropped.push(t2),
    // Huge keys stream through in parts: memory stays bounded by one batch, not one key.
    chunked: true,
    onBytes: (n) => {
      bytesRead += n;
      progress(false);
    },
  });
  const countKey = () => {
    keys++;
  };
  const batch = options.batchSize === void 0 ? {} : { batchSize: options.batchSize };
  const header = {
    tool: '@valkey-tools/backup',
    created: new Date(started).toISOString(),
    source: options.input,
  };
  const aofInput = from === 'aof' || (from === void 0 && isAofPath(options.input));
  if (aofInput) header.replay = 'raw';
  async function* allRecords() {
    const seen = /* @__PURE__ */ new Set();
    for await (const seg of segments) {
      if (seg.kind === 'records') {
        for await (const r of filterRecords(seg.records, filter, countKey)) {
          if (aofInput && (r.kind === 'key' || r.kind === 'key-begin'))
            seen.add(`${r.db}:${r.key.toString('latin1')}`);
          yield r;
        }
      } else {
        yield* filterRecords(
          commandsToRecords(flattenBatches(seg.batches), { source: seg.source, seen }),
          filter,
          countKey,
        );
      }
    }
  }
  async function* allCommandBatches() {
    let db = -1;
    const cmdOptions = { ...batch, dumpPayload: (r) => encodeDump(r) };
    for await (const seg of segments) {
      if (seg.kind === 'records') {
        const chunked = new ChunkedKeyCommands(cmdOptions);
        let skipping = false;
        for await (const r of seg.records) {
          switch (r.kind) {
            case 'function':
              yield [functionRecordToCommand(r)];
              break;
            case 'key':
            case 'key-begin': {
              const type = r.kind === 'key' ? r.value.type : r.type;
              skipping =
                !(filter.db(r.db) && filter.key(r.key) && filter.type(type)) ||
                (r.kind === 'key'
                  ? isEmptyCollection(r.value)
                  : r.elements === 0 && type !== 'stream' && type !== 'string');
              if (skipping) break;
              keys++;
              const out = [];
              if (r.db !== db) {
                out.push(command('SELECT', r.db));
                db = r.db;
              }
              if (r.kind === 'key') out.push(...keyRecordToCommands(r, cmdOptions));
              else chunked.push(r);
              yield out;
              break;
            }
            case 'key-part':
            case 'key-end':
              if (!skipping) yield chunked.push(r);
              break;
          }
        }
        continue;
      }
      if (!seg.grouped) header.replay = 'raw';
      for await (const item of commandsToItems(flattenBatches(seg.batches), {
        grouped: seg.grouped || filter.any,
      })) {
        if (item.kind === 'function') {
          yield [command('FUNCTION', 'LOAD', 'REPLACE', item.code)];
          continue;
        }
        if (!filter.db(item.db)) continue;
        if (item.kind === 'key') {
          if (!filter.key(item.key)) continue;
          const t2 = commandValueType(item.commands[0]);
          if (t2 !== void 0 && !filter.type(t2)) continue;
          keys++;
        } else if (filter.any && (options.match !== void 0 || options.type !== void 0)) {
          throw new BackupError(
            'ERR_UNSUPPORTED_COMMAND',
            `${seg.source}: "${item.command[0].toString('latin1')}" cannot be filtered by key pattern or type`,
            { hint: 'Convert without match/type, or restore into a server and back up with filters' },
          );
        }
        const out = [];
        if (item.db !== db) {
          out.push(command('SELECT', item.db));
          db = item.db;
        }
        if (item.kind === 'key') out.push(...item.commands);
        else out.push(item.command);
        yield out;
      }
    }
  }
  let chunks;
  switch (to) {
    case 'rdb':
      chunks = writeRdbChunks(allRecords());
      break;
    case 'jsonl':
      chunks = recordsToJsonlChunks(allRecords());
      break;
    case 'resp':
      chunks = commandBatchesToResp(allCommandBatches(), { header, chunkSize: 256 * 1024 });
      break;
    case 'readable':
      chunks = commandsToReadable(flattenBatches(allCommandBatches()), { header });
      break;
  }
  bytesWritten = await writeFileAtomically(options.output, chunks, (n) => {
    bytesWritten = n;
    progress(false);
  });
  from ??= formatFromPathSafe(options.input);
  progress(true);
  return { from, to, keys, bytesRead, bytesWritten, elapsedMs: Date.now() - started, dropped };
}
function formatFromPathSafe(path) {
  try {
    return formatFromPath(path, 'input');
  } catch {
    return 'aof';
  }
}
function isAofPath(path) {
  try {
    return statSync2(path).isDirectory() || formatFromPath(path, 'input') === 'aof';
  } catch {
    return false;
  }
}

// ../../tmp/vd-bench/after/packages/backup/src/live/migrate.ts
function primaries(conn) {
  return conn.cluster
    ? conn.cluster.nodes('master').map((n) => ({ client: n, name: `${n.options.host}:${n.options.port}` }))
    : [{ client: conn.client, name: `${conn.target.host}:${conn.target.port}` }];
}
async function* liveRecords(conn, options) {
  if (options.mode === 'scan') {
    const filter = compileFilter(options);
    for await (const item of scanServer(conn, {
      filter,
      ...(options.db === void 0 ? {} : { db: options.db }),
      ...(options.match === void 0 ? {} : { match: options.match }),
      ...(options.type === void 0 ? {} : { type: options.type }),
    })) {
      if (item.kind === 'function') yield { kind: 'function', code: item.code };
      else {
        const r = await decodeDump(item.payload, item.key, item.db);
        if (item.expiresAt !== void 0) r.expiresAt = item.expiresAt;
        yield r;
      }
    }
    return;
  }
  const nodes = primaries(conn);
  for (const p of nodes) {
    const target = {
      ...conn.target,
      host: String(p.client.options.host),
      port: Number(p.client.options.port),
    };
    const bytes = syncRdb(target, {
      where: conn.cluster ? p.name : conn.where,
      ...(options.fromTls ? { tls: options.fromTls } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    for await (const r of readRdbRecords(bytes, { file: `${p.name} (replication)` })) {
      if (r.kind === 'key' || (r.kind === 'function' && p === nodes[0])) yield r;
    }
  }
}
async function migrate(options) {
  const source = await connectServer(options.from, options.fromTls ? { tls: options.fromTls } : {});
  try {
    const { from: _f, to, fromTls: _ft, toTls, mode: _m, ...rest } = options;
    return await restore({
      ...rest,
      input: { records: liveRecords(source, options), source: source.where },
      url: to,
      ...(toTls ? { tls: toTls } : {}),
    });
  } finally {
    await source.close();
  }
}
export {
  BackupError,
  ChunkedKeyCommands,
  Crc64,
  DEFAULT_ENCODING_LIMITS,
  DEFAULT_MEMORY_MODEL_CONFIG,
  ItemGrouper,
  KeyMemoryEstimator,
  MEMORY_CSV_HEADER,
  MemoryAnalyzer,
  MemoryError,
  RESP_HEADER_PREFIX,
  RdbError,
  RdbOpcode,
  RdbType,
  RespCommandParser,
  ValueEncoder,
  analyzeMemory,
  analyzeRdbFile,
  analyzeServerMemory,
  aofLoadOrder,
  backup,
  bytesToJson,
  bytesToText,
  command,
  commandBatchesToItems,
  commandsToItems,
  commandsToReadable,
  commandsToRecords,
  commandsToResp,
  compileFilter,
  connectServer,
  convert,
  crc16,
  crc64,
  createRdbWriteStream,
  decodeDumpPayload,
  decodeModuleId,
  decodeValue,
  displayBytes,
  dumpPayloadType,
  dumpVersionFor,
  encodeCommand,
  encodeDumpPayload,
  estimateKeyMemory,
  estimateRecords,
  flattenBatches,
  formatCommandLine,
  formatFromPath,
  formatScore,
  formatStreamId,
  functionRecordToCommand,
  globMatch,
  headerCommand,
  inspectRdb,
  jemallocSize,
  jsonlToRecords,
  keyMemoryToCsvLine,
  keyRecordToCommands,
  keyRecordToJson,
  keySlot,
  lzfCompress,
  lzfDecompress,
  memoryReportToHtml,
  memoryRowsToCsv,
  migrate,
  openInput,
  parseAofManifest,
  parseCommandLine,
  parseHeaderCommand,
  parseRespCommandBatches,
  parseRespCommands,
  quoteArg,
  readAof,
  readRdb,
  readRdbFile,
  readRdbWithOffsets,
  readableToCommands,
  recordsToCommands,
  recordsToItems,
  recordsToJsonl,
  restore,
  scanServer,
  syncRdb,
  valueSize,
  verifyRdb,
  writeFileAtomically,
  writeRdb,
  writeRdbFile,
};
