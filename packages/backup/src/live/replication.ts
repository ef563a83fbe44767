import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionTarget } from '@valkey-tools/core';
import { encodeCommand } from '../resp/encode.js';
import { BackupError } from '../errors.js';
import { connectionError, type TlsFiles, tlsConnectionOptions } from '@valkey-tools/core';

export interface ReplicationSyncOptions {
  tls?: TlsFiles;
  /** Give up when the server sends nothing (not even its keep-alive newlines) for this long. Default 60 s. */
  idleTimeoutMs?: number;
  /** Told the transfer framing and the size (when the server announces it). */
  onStart?: (info: { framing: 'length' | 'eof'; size?: number }) => void;
  /** Where to report progress (bytes received so far). */
  onBytes?: (received: number) => void;
  /** The URL with its password hidden, for messages. */
  where?: string;
  signal?: AbortSignal;
}

/** Reads a socket as a pull source of bytes. */
export class SocketReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  constructor(
    readonly socket: Socket,
    private readonly idleMs: number,
    private readonly where: string,
  ) {
    this.it = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Next chunk from the socket (after any buffered bytes), or null at end of stream. */
  async chunk(): Promise<Buffer | null> {
    if (this.buf.length > 0) {
      const b = this.buf;
      this.buf = Buffer.alloc(0);
      return b;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
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

  unshift(b: Buffer): void {
    if (b.length > 0) this.buf = this.buf.length ? Buffer.concat([b, this.buf]) : b;
  }

  /** Reads one `\r\n`-terminated line (without it). Lone `\n` keep-alives are skipped when asked. */
  async line(skipKeepAlive: boolean): Promise<string> {
    let acc: Buffer = Buffer.alloc(0);
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
}

function openSocket(target: ConnectionTarget, tls: TlsFiles | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const tlsOpts = tlsConnectionOptions(target, tls);
    const base = target.scheme === 'unix' ? { path: target.path! } : { host: target.host, port: target.port };
    const sock: Socket = tlsOpts ? tlsConnect({ ...base, ...tlsOpts }) : netConnect(base);
    const ready = tlsOpts ? 'secureConnect' : 'connect';
    sock.once(ready, () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

/** The first `n` bytes of `parts` (laid end to end), as views of them; empty parts left out. */
function cut(parts: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (n <= 0) break;
    const b = p.length <= n ? p : p.subarray(0, n);
    if (b.length > 0) out.push(b);
    n -= b.length;
  }
  return out;
}

/** The first `n` bytes of `parts` left out: views of what follows them. */
function after(parts: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const p of parts) {
    if (n >= p.length) {
      n -= p.length;
      continue;
    }
    out.push(n > 0 ? p.subarray(n) : p);
    n = 0;
  }
  return out;
}

/**
 * A connection to a server as its replica: the handshake (AUTH, PING), then either a snapshot
 * (`SYNC`) or a replication stream (`PSYNC`), read as a pull source of bytes.
 */
export class ReplicaLink {
  private constructor(
    readonly socket: Socket,
    readonly reader: SocketReader,
    readonly where: string,
  ) {}

  /** Connects and authenticates (`AUTH` with the target's credentials), then checks with PING. */
  static async open(target: ConnectionTarget, options: ReplicationSyncOptions = {}): Promise<ReplicaLink> {
    const where = options.where ?? `${target.host}:${target.port}`;
    let sock: Socket;
    try {
      sock = await openSocket(target, options.tls);
    } catch (err) {
      throw connectionError(where, err, 'Connecting to');
    }
    const link = new ReplicaLink(sock, new SocketReader(sock, options.idleTimeoutMs ?? 60_000, where), where);
    try {
      if (target.password !== undefined) {
        const args =
          target.username !== undefined
            ? ['AUTH', target.username, target.password]
            : ['AUTH', target.password];
        const r = await link.ask(args);
        // A server without a password answers AUTH with an error but serves the connection (like
        // valkey-cli and our command connection, carry on).
        const noPassword = /without any password configured|no password is set/i.test(r);
        if (!r.startsWith('+') && !noPassword) {
          throw connectionError(where, new Error(r.slice(1)), 'Authenticating to');
        }
      }
      const ping = await link.ask(['PING']);
      if (ping.startsWith('-')) {
        throw connectionError(where, new Error(ping.slice(1)), 'Sending PING to');
      }
    } catch (err) {
      sock.destroy();
      throw err;
    }
    return link;
  }

  send(args: readonly (string | Buffer)[]): void {
    this.socket.write(encodeCommand(args as string[]));
  }

  /** Sends a command and reads its one-line reply. */
  async ask(args: readonly (string | Buffer)[]): Promise<string> {
    this.send(args);
    return this.reader.line(false);
  }

  /** The error for a refused SYNC/PSYNC reply. */
  refused(head: string): BackupError {
    return new BackupError('ERR_REPLICATION', `${this.where} refused to sync: ${head.slice(1)}`, {
      details: { url: this.where, reply: head },
      hint: /NOPERM|no permissions/i.test(head)
        ? 'The ACL user needs +sync +replconf +psync (or +@admin); or use mode: "scan"'
        : 'The server refuses replication (managed services often do): use mode: "scan"',
    });
  }

  /**
   * Reads the RDB payload that follows a SYNC or a `+FULLRESYNC` (its `$<length>` or
   * `$EOF:<mark>` line first, keep-alive newlines skipped) and yields its bytes; what the server
   * sends after it (the replication stream) stays in the reader.
   */
  async *payload(options: Pick<ReplicationSyncOptions, 'onStart' | 'onBytes'> = {}): AsyncGenerator<Buffer> {
    const { reader, where } = this;
    const head = await reader.line(true);
    if (head.startsWith('-')) throw this.refused(head);
    if (!head.startsWith('$')) {
      throw new BackupError(
        'ERR_REPLICATION',
        `${where} sent an unexpected sync reply: ${head.slice(0, 80)}`,
        {
          details: { url: where, reply: head.slice(0, 200) },
        },
      );
    }
    let received = 0;
    if (head.startsWith('$EOF:')) {
      const mark = Buffer.from(head.slice(5), 'latin1');
      if (mark.length !== 40) {
        throw new BackupError(
          'ERR_REPLICATION',
          `${where} sent a bad EOF mark (${mark.length} bytes, expected 40)`,
          {
            details: { url: where },
          },
        );
      }
      options.onStart?.({ framing: 'eof' });
      // Hold back the last 40 bytes: they may be (part of) the end mark.
      let held: Buffer = Buffer.alloc(0);
      while (true) {
        const c = await reader.chunk();
        if (c === null) {
          throw new BackupError(
            'ERR_REPLICATION',
            `${where} closed the connection before the end of the RDB (${received} bytes received)`,
            {
              details: { url: where, received },
              hint: 'The server may have failed to produce the snapshot (check its log), or the network dropped',
            },
          );
        }
        // A mark that starts in the held bytes ends in the first 39 of this chunk: only those are
        // joined to them (a chunk is not copied to be searched).
        const joined = c.length < mark.length || held.length === 0;
        const data: Buffer = joined
          ? held.length
            ? Buffer.concat([held, c])
            : c
          : Buffer.concat([held, c.subarray(0, mark.length - 1)]);
        let at = data.indexOf(mark);
        let out: Buffer[] = [data];
        if (!joined && at === -1) {
          at = c.indexOf(mark);
          if (at !== -1) at += held.length;
          out = [held, c];
        } else if (!joined) {
          // The mark was found in held + the start of c: what follows it is in c.
          out = [held, c];
        }
        if (at !== -1) {
          for (const b of cut(out, at)) {
            received += b.length;
            options.onBytes?.(received);
            yield b;
          }
          const rest = after(out, at + mark.length);
          if (rest.length > 0) reader.unshift(rest.length === 1 ? rest[0]! : Buffer.concat(rest));
          return;
        }
        const total = joined ? data.length : held.length + c.length;
        const keep = Math.min(total, mark.length - 1);
        const last = out[out.length - 1]!;
        held = Buffer.from(last.subarray(last.length - keep));
        for (const b of cut(out, total - keep)) {
          received += b.length;
          options.onBytes?.(received);
          yield b;
        }
      }
    }
    const size = Number(head.slice(1));
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new BackupError('ERR_REPLICATION', `${where} announced a bad RDB size "${head.slice(1, 40)}"`, {
        details: { url: where },
      });
    }
    options.onStart?.({ framing: 'length', size });
    while (received < size) {
      const c = await reader.chunk();
      if (c === null) {
        throw new BackupError(
          'ERR_REPLICATION',
          `${where} closed the connection after ${received} of ${size} RDB bytes`,
          {
            details: { url: where, received, size },
            hint: 'The network dropped or the server stopped; run the backup again',
          },
        );
      }
      const take = Math.min(c.length, size - received);
      received += take;
      options.onBytes?.(received);
      if (take < c.length) reader.unshift(c.subarray(take));
      yield take === c.length ? c : c.subarray(0, take);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Streams a server's RDB snapshot the way `valkey-cli --rdb` gets it: a replica handshake
 * (AUTH, `REPLCONF capa eof capa psync2`, `REPLCONF rdb-only 1` where supported, `SYNC`), then
 * the payload in either framing: `$<length>` (disk-based) or `$EOF:<40-byte mark>` (diskless),
 * with the server's keep-alive newlines skipped. Yields the raw RDB bytes.
 */
export async function* syncRdb(
  target: ConnectionTarget,
  options: ReplicationSyncOptions = {},
): AsyncGenerator<Buffer> {
  const link = await ReplicaLink.open(target, options);
  const where = link.where;
  const abort = () => link.socket.destroy(new BackupError('ERR_ABORTED', `backup of ${where} was aborted`));
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    // Older servers reject some REPLCONF options; like valkey-cli we carry on without them.
    await link.ask(['REPLCONF', 'capa', 'eof', 'capa', 'psync2']);
    await link.ask(['REPLCONF', 'rdb-only', '1']);
    link.send(['SYNC']);
    yield* link.payload(options);
  } finally {
    options.signal?.removeEventListener('abort', abort);
    link.close();
  }
}
