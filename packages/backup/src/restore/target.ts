import { Command as IoCommand } from 'iovalkey';
import { keySlot } from '../cluster/slot.js';
import type { ServerConnection } from '../live/connect.js';
import { type Command, decodeCommandAt, encodeCommandInto, encodedLength } from '../resp/encode.js';

/** Limits on what is sent but not yet answered: the pipeline window. */
export interface WindowLimits {
  /** Commands in flight (default 5000). */
  commands: number;
  /** Bytes in flight (default 16 MiB). */
  bytes: number;
}

/**
 * What to do with the answer to a command. Handlers are shared objects, called with the `ctx`
 * given to `send` (a key item...): a restore sends millions of commands and allocates nothing per
 * command to hear back from them.
 */
export interface ReplyHandler<C = unknown> {
  reply?(ctx: C, args: Command, reply: unknown): void;
  error?(ctx: C, args: Command, err: Error): void;
}

/** Writes a command's bytes into `into` at `at` and returns where they end. */
export type CommandEncoder = (into: Buffer, at: number) => number;

/** Commands sent and not yet answered, in the order sent (replies come back in that order). */
class ReplyQueue {
  private handlers: Array<ReplyHandler | undefined> = new Array(1024);
  private ctxs: unknown[] = new Array(1024);
  /** The command, or the buffer it was encoded into (at `starts[i]`): decoded only if needed. */
  private cmds: Array<Command | Buffer | undefined> = new Array(1024);
  private sizes = new Float64Array(1024);
  private starts = new Float64Array(1024);
  private head = 0;
  length = 0;

  push(
    handler: ReplyHandler | undefined,
    ctx: unknown,
    args: Command | Buffer,
    bytes: number,
    start = 0,
  ): void {
    if (this.length === this.sizes.length) this.grow();
    const i = (this.head + this.length) % this.sizes.length;
    this.handlers[i] = handler;
    this.ctxs[i] = ctx;
    this.cmds[i] = handler ? args : undefined;
    this.sizes[i] = bytes;
    this.starts[i] = start;
    this.length++;
  }

  /** Removes the oldest entry and settles it; returns its size in bytes. */
  settle(reply: unknown, err: Error | undefined): number {
    const i = this.head;
    const handler = this.handlers[i];
    const ctx = this.ctxs[i];
    const args = this.cmds[i];
    const bytes = this.sizes[i]!;
    this.handlers[i] = undefined;
    this.ctxs[i] = undefined;
    this.cmds[i] = undefined;
    this.head = (i + 1) % this.sizes.length;
    this.length--;
    if (handler && args) {
      const f = err ? handler.error : handler.reply;
      if (f) {
        const cmd = Buffer.isBuffer(args) ? decodeCommandAt(args, this.starts[i]!) : args;
        if (err) handler.error!(ctx, cmd, err);
        else handler.reply!(ctx, cmd, reply);
      }
    }
    return bytes;
  }

  private grow(): void {
    const n = this.sizes.length;
    const order = (a: unknown[]) => [...a.slice(this.head), ...a.slice(0, this.head), ...new Array(n)];
    this.handlers = order(this.handlers) as Array<ReplyHandler | undefined>;
    this.ctxs = order(this.ctxs);
    this.cmds = order(this.cmds) as Array<Command | Buffer | undefined>;
    const reorder = (a: Float64Array) => {
      const out = new Float64Array(n * 2);
      out.set(a.subarray(this.head));
      out.set(a.subarray(0, this.head), n - this.head);
      return out;
    };
    this.sizes = reorder(this.sizes);
    this.starts = reorder(this.starts);
    this.head = 0;
  }
}

/** The parts of an iovalkey client the standalone write path uses. */
interface ClientInternals {
  status: string;
  stream?: { write(chunk: Buffer): boolean; writable: boolean };
  commandQueue: { push(item: unknown): void };
}

const CHUNK = 256 * 1024;

/** A command must fill exactly the bytes it was given: anything else would corrupt the stream. */
function checkSize(wrote: number, bytes: number): void {
  if (wrote !== bytes) throw new Error(`internal error: a command of ${bytes} bytes was encoded as ${wrote}`);
}

/**
 * Sends commands to a standalone server or a cluster without waiting for each reply, keeping at
 * most `limits` in flight; `room()` waits until a command may be sent.
 *
 * Standalone, commands are encoded side by side into 256 KiB chunks that go to the connection's
 * socket in one write each (like `valkey-cli --pipe`), and one shared entry per command in the
 * client's reply queue hands the answers back in order: iovalkey still owns the connection (TLS,
 * AUTH, reply parsing, failing what is in flight when the connection drops), without a command
 * object, promise and socket write per command. Cluster commands go through iovalkey's cluster
 * client, which routes them to the slot owner and follows MOVED/ASK.
 */
export class RestoreTarget {
  private readonly queue = new ReplyQueue();
  private inflightBytes = 0;
  private waiters: Array<() => void> = [];
  private db = -1;
  readonly isCluster: boolean;
  /** The answer sink iovalkey settles for each command written by this target (standalone). */
  private readonly sink = {
    name: 'restore',
    args: [] as unknown[],
    inTransaction: false,
    resolve: (reply: unknown) => this.release(this.queue.settle(reply, undefined)),
    reject: (err: Error) => this.release(this.queue.settle(undefined, err)),
  };
  private readonly entries = new Map<number, object>();
  private chunk: Buffer = Buffer.allocUnsafe(0);
  /** Encoded but not yet written: `chunk[flushed, pos)`. */
  private flushed = 0;
  private pos = 0;
  private flushScheduled = false;
  /** The buffer the last `write` went to. */
  private lastBuf: Buffer = this.chunk;
  /** `encodeArgs` encodes this command (set just before; avoids a closure per command). */
  private pendingArgs: Command = [];
  private readonly encodeArgs: CommandEncoder = (into, at) => encodeCommandInto(into, at, this.pendingArgs);

  constructor(
    private readonly conn: ServerConnection,
    private readonly limits: WindowLimits,
  ) {
    this.isCluster = conn.cluster !== undefined;
  }

  private release(bytes: number): void {
    this.inflightBytes -= bytes;
    // Wake the sender when a quarter of the window is free (or all of it is), so it refills
    // in bursts rather than one command per reply.
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
  hasRoom(bytes: number): boolean {
    const n = this.queue.length;
    return n === 0 || (n < this.limits.commands && this.inflightBytes + bytes <= this.limits.bytes);
  }

  /** Waits until the window has room for a command of `bytes`. */
  async room(bytes: number): Promise<void> {
    while (!this.hasRoom(bytes)) {
      this.flush();
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Waits until every sent command is answered. */
  async idle(): Promise<void> {
    this.flush();
    while (this.queue.length > 0) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Writes what is encoded and not yet written to the socket. */
  private flush(): void {
    if (this.pos === this.flushed) return;
    const stream = (this.conn.client as unknown as ClientInternals).stream;
    const bytes = this.chunk.subarray(this.flushed, this.pos);
    this.flushed = this.pos;
    // A closed connection fails what is queued (iovalkey rejects its reply queue when it closes).
    if (stream?.writable) stream.write(bytes);
  }

  private scheduleFlush(): void {
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
  private write(bytes: number, encode: CommandEncoder): number {
    if (bytes > CHUNK / 4) {
      this.flush();
      const own = this.encodeAlone(bytes, encode);
      const stream = (this.conn.client as unknown as ClientInternals).stream;
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

  private queueEntry(db: number): object {
    let e = this.entries.get(db);
    if (!e) {
      e = { command: this.sink, stream: undefined, select: db };
      this.entries.set(db, e);
    }
    return e;
  }

  /**
   * Sends one command in `db` (standalone: a SELECT goes first when the db changes); the server's
   * answer goes to `handler` with `ctx`. `bytes` is the command's encoded length. Call `room()`
   * first to respect the window.
   */
  send<C>(args: Command, bytes: number, db: number, key?: Buffer, handler?: ReplyHandler<C>, ctx?: C): void {
    if (this.conn.cluster) {
      this.sendCluster(args, bytes, key, handler as ReplyHandler | undefined, ctx);
      return;
    }
    this.pendingArgs = args;
    // `bytes` may be an estimate (window accounting); the write needs the exact size.
    this.sendStandalone(encodedLength(args), db, this.encodeArgs, handler, ctx, args);
    this.pendingArgs = [];
  }

  /**
   * Sends one command that `encode` writes straight into the output (exactly `bytes` bytes): no
   * argument buffers are made for it. Its handler gets the command decoded from those bytes.
   */
  sendEncoded<C>(
    bytes: number,
    db: number,
    encode: CommandEncoder,
    handler?: ReplyHandler<C>,
    ctx?: C,
  ): void {
    if (this.conn.cluster) {
      const wire = this.encodeAlone(bytes, encode);
      const args = decodeCommandAt(wire, 0);
      this.sendCluster(args, bytes, args[1], handler as ReplyHandler | undefined, ctx, wire);
      return;
    }
    this.sendStandalone(bytes, db, encode, handler, ctx);
  }

  private sendStandalone<C>(
    bytes: number,
    db: number,
    encode: CommandEncoder,
    handler: ReplyHandler<C> | undefined,
    ctx: C | undefined,
    args?: Command,
  ): void {
    const client = this.conn.client as unknown as ClientInternals;
    if (client.status !== 'ready') {
      if (handler?.error) {
        const cmd = args ?? decodeCommandAt(this.encodeAlone(bytes, encode), 0);
        handler.error(ctx as C, cmd, new Error('Connection is closed.'));
      }
      return;
    }
    if (db !== this.db) {
      const select = [Buffer.from('SELECT'), Buffer.from(String(db))];
      this.queue.push(undefined, undefined, select, 0);
      client.commandQueue.push(this.queueEntry(db));
      this.pendingArgs = select;
      this.write(encodedLength(select), this.encodeArgs);
      this.pendingArgs = args ?? [];
      this.db = db;
    }
    const at = this.write(bytes, encode);
    this.queue.push(handler as ReplyHandler | undefined, ctx, args ?? this.lastBuf, bytes, at);
    this.inflightBytes += bytes;
    client.commandQueue.push(this.queueEntry(db));
  }

  private encodeAlone(bytes: number, encode: CommandEncoder): Buffer {
    const own = Buffer.allocUnsafe(bytes);
    checkSize(encode(own, 0), bytes);
    return own;
  }

  private sendCluster(
    args: Command,
    bytes: number,
    key: Buffer | undefined,
    handler: ReplyHandler | undefined,
    ctx: unknown,
    encoded?: Buffer,
  ): void {
    const name = args[0]!.toString('latin1').toLowerCase();
    const cmd = new IoCommand(name, args.slice(1), { replyEncoding: null });
    const wire = encoded ?? Buffer.allocUnsafe(encodedLength(args));
    if (!encoded) encodeCommandInto(wire, 0, args);
    (cmd as unknown as { toWritable(): Buffer }).toWritable = () => wire;
    if (key !== undefined) (cmd as unknown as { slot: number }).slot = keySlot(key);
    // Cluster replies can come back out of order across nodes: settle by command, not by queue.
    this.queue.push(undefined, undefined, args, 0);
    this.inflightBytes += bytes;
    cmd.promise.then(
      (reply) => {
        this.release(this.queue.settle(undefined, undefined) + bytes);
        handler?.reply?.(ctx, args, reply);
      },
      (err: Error) => {
        this.release(this.queue.settle(undefined, undefined) + bytes);
        handler?.error?.(ctx, args, err);
      },
    );
    this.conn.cluster!.sendCommand(cmd);
  }

  /** Sends a command to every primary (FUNCTION LOAD, FLUSHALL, INFO) and waits for all replies. */
  async sendToPrimaries(args: Command): Promise<unknown[]> {
    this.flush();
    const name = args[0]!.toString('latin1').toLowerCase();
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
  async keyCount(): Promise<number> {
    const replies = await this.sendToPrimaries([Buffer.from('INFO'), Buffer.from('keyspace')]);
    let n = 0;
    for (const r of replies) for (const m of String(r).matchAll(/^db\d+:keys=(\d+)/gm)) n += Number(m[1]);
    return n;
  }

  /** The code of a loaded function library (from the first primary), or undefined. */
  async libraryCode(name: string): Promise<Buffer | undefined> {
    this.flush();
    const node = this.conn.cluster ? this.conn.cluster.nodes('master')[0]! : this.conn.client;
    const reply = (await node.callBuffer('FUNCTION', 'LIST', 'LIBRARYNAME', name, 'WITHCODE')) as Buffer[][];
    for (const lib of reply ?? []) {
      for (let i = 0; i < lib.length; i += 2) {
        if (lib[i]!.toString() === 'library_name' && lib[i + 1]!.toString() !== name) break;
        if (lib[i]!.toString() === 'library_code') return lib[i + 1];
      }
    }
    return undefined;
  }
}
