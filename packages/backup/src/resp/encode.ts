/** One command as data: the command name and its arguments, binary-safe. */
export type Command = Buffer[];

/** An argument as callers may give it: bytes, text (UTF-8) or a number (decimal). */
export type CommandArg = Buffer | string | number | bigint;

export function toArg(arg: CommandArg): Buffer {
  if (Buffer.isBuffer(arg)) return arg;
  return Buffer.from(typeof arg === 'string' ? arg : String(arg));
}

/** Builds a command from mixed arguments. */
export function command(...args: CommandArg[]): Command {
  return args.map(toArg);
}

/** Encodes one command as a RESP2 array of bulk strings (`*<n>\r\n$<len>\r\n<bytes>\r\n...`). */
export function encodeCommand(args: readonly CommandArg[]): Buffer {
  const bufs: Buffer[] = args.every(Buffer.isBuffer) ? (args as Buffer[]) : args.map(toArg);
  const out = Buffer.allocUnsafe(encodedLength(bufs));
  encodeCommandInto(out, 0, bufs);
  return out;
}

export function digits(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  if (n < 1000000) return 6;
  if (n < 10000000) return 7;
  if (n < 100000000) return 8;
  if (n < 1000000000) return 9;
  return String(n).length;
}

/** Encoded size of one bulk string of `n` bytes (`$<n>\r\n<bytes>\r\n`). */
export function bulkSize(n: number): number {
  return 5 + digits(n) + n;
}

/**
 * Copies `src[start, end)` into `into` at `at`; returns the bytes copied. Short runs (keys, small
 * values) go byte by byte: `Buffer.copy` costs more than that below a few dozen bytes.
 */
export function copyBytes(src: Buffer, start: number, end: number, into: Buffer, at: number): number {
  const n = end - start;
  if (n < 32) for (let i = 0; i < n; i++) into[at + i] = src[start + i]!;
  else src.copy(into, at, start, end);
  return n;
}

/** Writes `<prefix><n>\r\n` at `pos`; returns the position after it. */
export function writeHeader(out: Buffer, pos: number, prefix: number, n: number): number {
  out[pos++] = prefix;
  if (n < 10) out[pos++] = 48 + n;
  else if (n < 100) {
    out[pos++] = 48 + ((n / 10) | 0);
    out[pos++] = 48 + (n % 10);
  } else pos = writeDigits(out, pos, n);
  out[pos++] = 13;
  out[pos++] = 10;
  return pos;
}

/**
 * Writes the decimal digits of a non-negative safe integer at `pos` (no string made); returns
 * the position after them.
 */
export function writeDigits(out: Uint8Array, pos: number, n: number): number {
  const end = pos + digits(n);
  let p = end;
  let v = n;
  while (v >= 0x7fffffff) {
    const q = Math.floor(v / 10);
    out[--p] = 48 + (v - q * 10);
    v = q;
  }
  while (v >= 10) {
    const q = (v / 10) | 0;
    out[--p] = 48 + (v - q * 10);
    v = q;
  }
  out[--p] = 48 + v;
  return end;
}

/**
 * Encodes a command into `out` at `pos` (which must have `encodedLength(args)` bytes free);
 * returns the position after it. Lets writers fill one large chunk without per-command buffers.
 */
export function encodeCommandInto(out: Buffer, pos: number, args: readonly Buffer[]): number {
  let p = writeHeader(out, pos, 42, args.length);
  for (const a of args) {
    p = writeHeader(out, p, 36, a.length);
    if (a.length < 32) for (let i = 0; i < a.length; i++) out[p + i] = a[i]!;
    else a.copy(out, p);
    p += a.length;
    out[p++] = 13;
    out[p++] = 10;
  }
  return p;
}

/** Size in bytes of `encodeCommand(args)` without building it. */
export function encodedLength(args: readonly Buffer[]): number {
  let n = 3 + digits(args.length);
  for (const a of args) n += bulkSize(a.length);
  return n;
}

/** Reads the number of a `<type><digits>\r\n` header at `at`; returns [value, next offset]. */
function headerAt(buf: Buffer, at: number): [number, number] {
  const end = buf.indexOf(13, at);
  return [Number(buf.toString('latin1', at + 1, end)), end + 2];
}

/**
 * The command encoded at `at` in `buf` (bytes this package encoded or already parsed: not
 * validated). The arguments are copies.
 */
export function decodeCommandAt(buf: Buffer, at: number): Command {
  let [argc, p] = headerAt(buf, at);
  const args: Command = [];
  while (argc-- > 0) {
    const [len, start] = headerAt(buf, p);
    args.push(Buffer.from(buf.subarray(start, start + len)));
    p = start + len + 2;
  }
  return args;
}
