import { connect } from 'node:net';
import { BinariesError } from './errors.js';

/** A parsed RESP2 reply. Error replies are returned as ReplyError values, not thrown. */
export type Reply = string | number | null | Buffer | ReplyError | Reply[];

/** An error reply from the server (`-ERR ...`), kept apart from transport errors. */
export class ReplyError extends Error {
  override readonly name = 'ReplyError';
}

function encode(args: ReadonlyArray<string | number | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const b = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Parses one reply at `pos`; returns undefined when more bytes are needed. */
export function parseReply(buf: Buffer, pos = 0): { value: Reply; end: number } | undefined {
  const eol = buf.indexOf('\r\n', pos);
  if (eol === -1) return undefined;
  const type = String.fromCharCode(buf[pos]!);
  const line = buf.subarray(pos + 1, eol).toString('utf8');
  const next = eol + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new ReplyError(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      if (buf.length < next + n + 2) return undefined;
      return { value: buf.subarray(next, next + n).toString('utf8'), end: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, at);
        if (!item) return undefined;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new BinariesError('ERR_SERVER_START', `Unexpected RESP reply type "${type}"`);
  }
}

export interface CommandOptions {
  host?: string;
  timeoutMs?: number;
  /** Resolve with null when the server closes the connection without a reply (SHUTDOWN). */
  allowClose?: boolean;
}

/** Sends one command over a fresh connection and resolves with the parsed reply. */
export function sendCommand(
  port: number,
  args: ReadonlyArray<string | number | Buffer>,
  options: CommandOptions = {},
): Promise<Reply> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined, value?: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const timer = setTimeout(
      () => finish(new Error(`no reply from ${host}:${port} to ${String(args[0])} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      const parsed = parseReply(data);
      if (parsed) finish(undefined, parsed.value);
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => {
      if (options.allowClose) finish(undefined, null);
      else finish(new Error(`${host}:${port} closed the connection before replying to ${String(args[0])}`));
    });
  });
}

/** Like sendCommand, but a server error reply is thrown. */
export async function call(
  port: number,
  args: ReadonlyArray<string | number | Buffer>,
  options?: CommandOptions,
): Promise<Reply> {
  const reply = await sendCommand(port, args, options);
  if (reply instanceof ReplyError) throw reply;
  return reply;
}
