import { Command as IoCommand, type Redis } from 'iovalkey';
import { keySlot } from '../cluster/slot.js';
import type { ServerConnection } from '../live/connect.js';
import type { Command } from '../resp/encode.js';

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

  private batch: ReturnType<Redis['pipeline']> | null = null;
  private batchSize = 0;

  /**
   * The client writes each command to the socket on its own; gathering the commands of one tick
   * into a pipeline makes them one write (like valkey-cli --pipe's 16 KB chunks). Each command
   * still settles on its own.
   */
  private batchCommand(cmd: IoCommand): void {
    if (!this.batch) {
      this.batch = this.conn.client.pipeline();
      this.batchSize = 0;
      process.nextTick(() => this.flushBatch());
    }
    (this.batch as unknown as { sendCommand(c: IoCommand): void }).sendCommand(cmd);
    if (++this.batchSize >= 1000) this.flushBatch();
  }

  private flushBatch(): void {
    const b = this.batch;
    this.batch = null;
    b?.exec().catch(() => {});
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

  private dispatch(args: Command, bytes: number, key: Buffer | undefined): Promise<unknown> {
    const name = args[0]!.toString('latin1').toLowerCase();
    const cmd = new IoCommand(name, args.slice(1), { replyEncoding: null });
    this.inflight++;
    this.inflightBytes += bytes;
    if (this.conn.cluster) {
      if (key !== undefined) (cmd as unknown as { slot: number }).slot = keySlot(key);
      this.conn.cluster.sendCommand(cmd);
    } else this.batchCommand(cmd);
    const done = () => this.release(bytes);
    cmd.promise.then(done, done);
    return cmd.promise;
  }

  /**
   * Sends one command in `db` (standalone: a SELECT goes first when the db changes). Call
   * `room()` first to respect the window.
   */
  send(args: Command, bytes: number, db: number, key?: Buffer): Promise<unknown> {
    if (!this.conn.cluster && db !== this.db) {
      this.dispatch([Buffer.from('SELECT'), Buffer.from(String(db))], 20, undefined).catch(() => {});
      this.db = db;
    }
    return this.dispatch(args, bytes, key);
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
