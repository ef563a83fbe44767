/** One command as data: the command name and its arguments, binary-safe. */
export type Command = Buffer[];

/** An argument as callers may give it: bytes, text (UTF-8) or a number (decimal). */
export type CommandArg = Buffer | string | number | bigint;

const CRLF = Buffer.from('\r\n');

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
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = toArg(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

/** Size in bytes of `encodeCommand(args)` without building it. */
export function encodedLength(args: readonly Buffer[]): number {
  let n = 3 + String(args.length).length;
  for (const a of args) n += 1 + String(a.length).length + 2 + a.length + 2;
  return n;
}
