import type { Redis } from 'iovalkey';
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
  reply?(ctx: C, reply: unknown): void;
  error?(ctx: C, args: Command, err: Error): void;
}

/** Writes a command's bytes into `into` at `at` and returns where they end. */
export type CommandEncoder = (into: Buffer, at: number) => number;

/** A cluster node's refusal: the command was not run there and goes to another node (or again). */
const REDIRECT = /^(MOVED|ASK|TRYAGAIN) /;

/** Commands sent and not yet answered, in the order sent (replies come back in that order). */
export class ReplyQueue {
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
    this.cmds[i] = args;
    this.sizes[i] = bytes;
    this.starts[i] = start;
    this.length++;
  }

  /**
   * Set on a cluster node's pipeline: a command the node refused with MOVED, ASK or TRYAGAIN goes
   * here (with its handler and ctx) instead of to its handler, to be sent again.
   */
  redirect?: (handler: ReplyHandler | undefined, ctx: unknown, cmd: Command, err: Error) => void;

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
    if (err && this.redirect && args && REDIRECT.test(err.message)) {
      this.redirect(handler, ctx, Buffer.isBuffer(args) ? decodeCommandAt(args, this.starts[i]!) : args, err);
    } else if (handler && args) {
      // The command is decoded (from the chunk it was encoded into) only for an error's message.
      if (!err) handler.reply?.(ctx, reply);
      else if (handler.error)
        handler.error(ctx, Buffer.isBuffer(args) ? decodeCommandAt(args, this.starts[i]!) : args, err);
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

/** The parts of an iovalkey client the write path uses. */
interface ClientInternals {
  status: string;
  stream?: { write(chunk: Buffer): boolean; writable: boolean };
  commandQueue: { push(item: unknown): void };
}

const CHUNK = 256 * 1024;

/** A command must fill exactly the bytes it was given: anything else would corrupt the stream. */
export function checkSize(wrote: number, bytes: number): void {
  if (wrote !== bytes) throw new Error(`internal error: a command of ${bytes} bytes was encoded as ${wrote}`);
}

/** What one server (a cluster node) was sent. */
export interface NodeTraffic {
  /** `host:port`. */
  node: string;
  commands: number;
  bytes: number;
  /** Commands the node refused with MOVED/ASK/TRYAGAIN (sent again, to the node that owns the slot). */
  redirected: number;
}

/**
 * Sends commands to one server without waiting for each reply, keeping at most `limits` in flight.
 *
 * Commands are encoded side by side into 256 KiB chunks that go to the connection's socket in one
 * write each (like `valkey-cli --pipe`), and one shared entry per command in the client's reply
 * queue hands the answers back in order: iovalkey still owns the connection (TLS, AUTH, reply
 * parsing, failing what is in flight when the connection drops), without a command object,
 * promise and socket write per command.
 */
export class Pipeline {
  private readonly queue = new ReplyQueue();
  private inflightBytes = 0;
  private waiters: Array<() => void> = [];
  private db = -1;
  readonly traffic: NodeTraffic;
  /** The answer sink iovalkey settles for each command written by this pipeline. */
  private readonly sink = {
    name: 'restore',
    args: [] as unknown[],
    inTransaction: false,
    resolve: (reply: unknown) => this.release(this.queue.settle(reply, undefined)),
    reject: (err: Error) => this.release(this.queue.settle(undefined, err)),
  };
  private readonly entries = new Map<number, object>();
  /** Commands queued and settled so far (`sendEncoded` and `release` count them). */
  private queued = 0;
  private settled = 0;
  /**
   * Chunks that are full, each with the number of commands queued when it was left: once that
   * many are settled, every command in it has been answered (so its bytes went out and nothing
   * will decode them any more) and it goes to `spare`, to be filled again. Fresh memory costs
   * more than writing into memory already touched (a page fault per page).
   */
  private readonly full: Array<{ chunk: Buffer; queued: number }> = [];
  private readonly spare: Buffer[] = [];
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
    readonly client: Redis,
    private readonly limits: WindowLimits,
    node: string,
    redirect?: ReplyQueue['redirect'],
    /** The db the connection is in already (no SELECT before the first command in it). */
    db?: number,
  ) {
    this.traffic = { node, commands: 0, bytes: 0, redirected: 0 };
    if (db !== undefined) this.db = db;
    if (redirect) {
      this.queue.redirect = (handler, ctx, cmd, err) => {
        this.traffic.redirected++;
        redirect(handler, ctx, cmd, err);
      };
    }
  }

  get inFlight(): number {
    return this.queue.length;
  }

  private release(bytes: number): void {
    this.inflightBytes -= bytes;
    this.settled++;
    while (this.full.length > 0 && this.full[0]!.queued <= this.settled)
      this.spare.push(this.full.shift()!.chunk);
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
  flush(): void {
    if (this.pos === this.flushed) return;
    const stream = (this.client as unknown as ClientInternals).stream;
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
      const own = encodeAlone(bytes, encode);
      const stream = (this.client as unknown as ClientInternals).stream;
      if (stream?.writable) stream.write(own);
      this.lastBuf = own;
      return 0;
    }
    if (this.pos + bytes > this.chunk.length) {
      this.flush();
      if (this.chunk.length === CHUNK) this.full.push({ chunk: this.chunk, queued: this.queued });
      this.chunk = this.spare.pop() ?? Buffer.allocUnsafe(CHUNK);
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

  /** Sends one command in `db` (a SELECT goes first when the db changes); see `RestoreTarget.send`. */
  send<C>(args: Command, db: number, handler?: ReplyHandler<C>, ctx?: C): void {
    this.pendingArgs = args;
    this.sendEncoded(encodedLength(args), db, this.encodeArgs, handler, ctx, args);
    this.pendingArgs = [];
  }

  /** Sends one command that `encode` writes straight into the output (exactly `bytes` bytes). */
  sendEncoded<C>(
    bytes: number,
    db: number,
    encode: CommandEncoder,
    handler?: ReplyHandler<C>,
    ctx?: C,
    args?: Command,
  ): void {
    const client = this.client as unknown as ClientInternals;
    if (client.status !== 'ready') {
      if (handler?.error) {
        const cmd = args ?? decodeCommandAt(encodeAlone(bytes, encode), 0);
        handler.error(ctx as C, cmd, new Error('Connection is closed.'));
      }
      return;
    }
    if (db !== this.db) {
      const select = [Buffer.from('SELECT'), Buffer.from(String(db))];
      this.queue.push(undefined, undefined, select, 0);
      this.queued++;
      client.commandQueue.push(this.queueEntry(db));
      const pending = this.pendingArgs;
      this.pendingArgs = select;
      this.write(encodedLength(select), this.encodeArgs);
      this.pendingArgs = pending;
      this.db = db;
    }
    const at = this.write(bytes, encode);
    this.queue.push(handler as ReplyHandler | undefined, ctx, args ?? this.lastBuf, bytes, at);
    this.queued++;
    this.inflightBytes += bytes;
    this.traffic.commands++;
    this.traffic.bytes += bytes;
    client.commandQueue.push(this.queueEntry(db));
  }
}

export function encodeAlone(bytes: number, encode: CommandEncoder): Buffer {
  const own = Buffer.allocUnsafe(bytes);
  checkSize(encode(own, 0), bytes);
  return own;
}
