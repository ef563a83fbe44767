import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';

/**
 * RESP for tests: the one place test code encodes commands by hand (files a restore reads,
 * raw connections) and reads raw replies.
 */

export type RespArg = string | number | bigint | Buffer;

/** One command as a RESP2 array of bulk strings (text is UTF-8, numbers decimal). */
export function encodeCommand(args: readonly RespArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Commands one after the other, as a RESP file (a `.resp`/`.valkey` without our header) holds them. */
export function encodeCommands(commands: readonly (readonly RespArg[])[]): Buffer {
  return Buffer.concat(commands.map(encodeCommand));
}

/** Reads the reply at `pos`: its value and where it ends, or undefined while it is incomplete. */
function readReply(s: string, pos: number): { value: unknown; end: number } | undefined {
  const eol = s.indexOf('\r\n', pos);
  if (eol === -1) return undefined;
  const type = s[pos];
  const head = s.slice(pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return { value: head, end: next };
    case '-':
      return { value: new Error(head), end: next };
    case ':':
      return { value: Number(head), end: next };
    case '$': {
      const n = Number(head);
      if (n < 0) return { value: null, end: next };
      if (s.length < next + n + 2) return undefined;
      return { value: s.slice(next, next + n), end: next + n + 2 };
    }
    case '*': {
      const n = Number(head);
      if (n < 0) return { value: null, end: next };
      const items: unknown[] = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const item = readReply(s, at);
        if (!item) return undefined;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`unexpected reply ${JSON.stringify(s.slice(pos, pos + 80))}`);
  }
}

/**
 * Parses one RESP2 reply from a latin1 string (one char per byte, as rawCommand returns it):
 * simple strings and bulk strings as strings, integers as numbers, errors as Error, nil as null.
 */
export function parseReply(s: string): unknown {
  const reply = readReply(s, 0);
  if (!reply) throw new Error(`incomplete reply ${JSON.stringify(s.slice(0, 80))}`);
  return reply.value;
}

/** True once `s` holds a whole reply. */
export function isCompleteReply(s: string): boolean {
  return readReply(s, 0) !== undefined;
}

/**
 * One command over a fresh TCP connection; resolves with the raw reply (latin1 text). The timeout
 * only bounds a server that never answers.
 */
export function rawCommand(
  port: number,
  args: readonly RespArg[],
  host = '127.0.0.1',
  timeoutMs = 60_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply from ${host}:${port} to ${String(args[0])} in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(encodeCommand(args)));
    sock.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (isCompleteReply(data)) {
        clearTimeout(timer);
        sock.end();
        resolve(data);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!isCompleteReply(data))
        reject(new Error(`${host}:${port} closed the connection before replying to ${String(args[0])}`));
    });
  });
}

/**
 * One command with a one-line reply (`+OK`, `:1`, `-ERR ...`), sent synchronously by a child
 * process: this process's event loop stands still until the reply is back, so what the command
 * does (CLIENT KILL, CLIENT PAUSE) has happened at this exact point of the work this process is
 * doing (say, inside a progress callback, with the rest of the work still to come).
 */
export function rawCommandSync(
  port: number,
  args: readonly RespArg[],
  host = '127.0.0.1',
  timeoutMs = 60_000,
  /** Sent first with AUTH (a server with requirepass); the reply returned is the command's. */
  password?: string,
): string {
  const replies = password === undefined ? 1 : 2;
  const script = `const s = require('node:net').connect(${port}, ${JSON.stringify(host)}, () =>
    s.write(Buffer.from(process.argv[1], 'base64')));
  let d = '';
  s.on('data', (c) => {
    d += c.toString('latin1');
    const lines = d.split('\\r\\n');
    if (lines.length > ${replies}) { process.stdout.write(Buffer.from(lines[${replies - 1}] + '\\r\\n', 'latin1')); s.destroy(); }
  });
  s.on('error', (e) => { process.stderr.write(e.message); process.exit(1); });`;
  const payload = Buffer.concat([
    ...(password === undefined ? [] : [encodeCommand(['AUTH', password])]),
    encodeCommand(args),
  ]);
  const child = spawnSync(process.execPath, ['-e', script, payload.toString('base64')], {
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  if (child.status !== 0)
    throw new Error(
      `${String(args[0])} to ${host}:${port} failed: ${child.error?.message ?? child.stderr.toString() ?? child.signal}`,
    );
  return child.stdout.toString('latin1');
}

/**
 * The bytes of a `.valkey` file after its header command (`ECHO "valkey-tools resp 1 {...}"`, which
 * holds the creation time), so two conversions of the same data compare equal; all of them when
 * there is no header.
 */
export function withoutValkeyHeader(file: Buffer): Buffer {
  if (!file.subarray(0, 14).equals(Buffer.from('*2\r\n$4\r\nECHO\r\n'))) return file;
  const eol = file.indexOf('\r\n', 14);
  const n = Number(file.toString('latin1', 15, eol));
  return file.subarray(eol + 2 + n + 2);
}
