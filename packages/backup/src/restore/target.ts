import { Command as IoCommand } from 'iovalkey';
import { keySlot } from '../cluster/slot.js';
import type { ServerConnection } from '../live/connect.js';
import { type Command, encodeCommandInto, encodedLength } from '../resp/encode.js';

/** Limits on what is sent but not yet answered: the pipeline window. */
export interface WindowLimits {
  /** Commands in flight (default 2000). */
  commands: number;
  /** Bytes in flight (default 16 MiB). */
  bytes: number;
}

/**
 * Sends commands to a standalone server or a cluster without waiting for each reply, keeping at
 * most `limits` in flight: `send` resolves its first promise (room) when the command may be
 * written, and the returned reply promise settles with the server's answer. Standalone commands
 * share one connection, so they run in the order sent; cluster commands go to the slot owner
 * (iovalkey follows MOVED/ASK).
 */
export class RestoreTarget {
  private inflight = 0;
  private inflightBytes = 0;
  private waiters: Array<() => void> = [];
  private db = -1;
  readonly isCluster: boolean;

  constructor(
    private readonly conn: ServerConnection,
    private readonly limits: WindowLimits,
  ) {
    this.isCluster = conn.cluster !== undefined;
  }

  private release(bytes: number): void {
    this.inflight--;
    this.inflightBytes -= bytes;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The current encode chunk: commands of one tick are encoded side by side into it. */
  private chunk: Buffer = Buffer.allocUnsafe(0);
  private chunkPos = 0;
  /** The socket corked for this tick (standalone), uncorked on the next tick or when enough is queued. */
  private corked: { uncork(): void } | null = null;
  private corkedBytes = 0;

  /**
   * Encodes a command once, into a shared 256 KiB chunk (a view of it is what iovalkey writes), so
   * the client does not rebuild it from strings and buffers.
   */
  private encode(args: Command): Buffer {
    const bytes = encodedLength(args);
    if (bytes > 65536) {
      const own = Buffer.allocUnsafe(bytes);
      encodeCommandInto(own, 0, args);
      return own;
    }
    if (this.chunkPos + bytes > this.chunk.length) {
      this.chunk = Buffer.allocUnsafe(256 * 1024);
      this.chunkPos = 0;
    }
    const start = this.chunkPos;
    this.chunkPos = encodeCommandInto(this.chunk, start, args);
    return this.chunk.subarray(start, this.chunkPos);
  }

  /**
   * The client writes each command to the socket on its own; corking the socket for the rest of
   * the tick turns the commands of one tick into one vectored write (like valkey-cli --pipe's
   * chunks) without the pipeline's per-command bookkeeping. Each command still settles on its own.
   */
  private cork(bytes: number): void {
    if (!this.corked) {
      const stream = (this.conn.client as unknown as { stream?: { cork(): void; uncork(): void } }).stream;
      if (!stream) return;
      stream.cork();
      this.corked = stream;
      this.corkedBytes = 0;
      process.nextTick(() => this.uncork());
    }
    this.corkedBytes += bytes;
    if (this.corkedBytes >= 1024 * 1024) this.uncork();
  }

  private uncork(): void {
    const s = this.corked;
    this.corked = null;
    s?.uncork();
  }

  /** True when a command of `bytes` fits in the window now. */
  hasRoom(bytes: number): boolean {
    return (
      this.inflight === 0 ||
      (this.inflight < this.limits.commands && this.inflightBytes + bytes <= this.limits.bytes)
    );
  }

  /** Waits until the window has room for a command of `bytes`. */
  async room(bytes: number): Promise<void> {
    while (
      this.inflight > 0 &&
      (this.inflight >= this.limits.commands || this.inflightBytes + bytes > this.limits.bytes)
    ) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Waits until every sent command is answered. */
  async idle(): Promise<void> {
    while (this.inflight > 0) await new Promise<void>((r) => this.waiters.push(r));
  }

  private dispatch(
    args: Command,
    bytes: number,
    key: Buffer | undefined,
    onReply?: (reply: unknown) => void,
    onError?: (err: Error) => void,
  ): void {
    const name = args[0]!.toString('latin1').toLowerCase();
    // iovalkey reads the arguments only to route (cluster), and to track SELECT.
    const cmdArgs = this.conn.cluster || name === 'select' ? args.slice(1) : [];
    const cmd = new IoCommand(name, cmdArgs, { replyEncoding: null });
    const wire = this.encode(args);
    (cmd as unknown as { toWritable(): Buffer }).toWritable = () => wire;
    this.inflight++;
    this.inflightBytes += bytes;
    cmd.promise.then(
      (reply) => {
        this.release(bytes);
        onReply?.(reply);
      },
      (err: Error) => {
        this.release(bytes);
        onError?.(err);
      },
    );
    if (this.conn.cluster) {
      if (key !== undefined) (cmd as unknown as { slot: number }).slot = keySlot(key);
      this.conn.cluster.sendCommand(cmd);
    } else {
      this.cork(bytes);
      this.conn.client.sendCommand(cmd);
    }
  }

  /**
   * Sends one command in `db` (standalone: a SELECT goes first when the db changes) and calls
   * `onReply` or `onError` with the answer (callbacks, not a promise per command: a restore sends
   * millions). Call `room()` first to respect the window.
   */
  send(
    args: Command,
    bytes: number,
    db: number,
    key?: Buffer,
    onReply?: (reply: unknown) => void,
    onError?: (err: Error) => void,
  ): void {
    if (!this.conn.cluster && db !== this.db) {
      this.dispatch([Buffer.from('SELECT'), Buffer.from(String(db))], 20, undefined);
      this.db = db;
    }
    this.dispatch(args, bytes, key, onReply, onError);
  }

  /** Sends a command to every primary (FUNCTION LOAD, FLUSHALL) and waits for all replies. */
  async sendToPrimaries(args: Command): Promise<unknown[]> {
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

  /**
   * True when no primary holds a key in any db (INFO keyspace is empty everywhere): nothing can be
   * in the way of the keys a restore writes, so it need not check for them.
   */
  async isEmpty(): Promise<boolean> {
    const replies = await this.sendToPrimaries([Buffer.from('INFO'), Buffer.from('keyspace')]);
    return replies.every((r) => !/^db\d+:keys=[1-9]/m.test(String(r)));
  }

  /** The code of a loaded function library (from the first primary), or undefined. */
  async libraryCode(name: string): Promise<Buffer | undefined> {
    const node = this.conn.cluster ? this.conn.cluster.nodes('master')[0]! : this.conn.client;
    const reply = (await node.callBuffer('FUNCTION', 'LIST', 'LIBRARYNAME', name, 'WITHCODE')) as Buffer[][];
    for (const lib of reply ?? []) {
      for (let i = 0; i + 1 < lib.length; i += 2) {
        if (lib[i]!.toString() === 'library_name' && lib[i + 1]!.toString() !== name) break;
        if (lib[i]!.toString() === 'library_code') return lib[i + 1];
      }
    }
    return undefined;
  }
}
