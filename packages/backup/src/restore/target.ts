import { Command as IoCommand, type Redis } from 'iovalkey';
import { keySlot, keySlotOf } from '../cluster/slot.js';
import { keyIndex } from '../io/items.js';
import type { ServerConnection } from '@valkey-tools/core';
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

/** A cluster node's refusal: the command was not run there and goes to another node (or again). */
const REDIRECT = /^(MOVED|ASK|TRYAGAIN) /;

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

/** The parts of an iovalkey client the write path uses. */
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
  ) {
    this.traffic = { node, commands: 0, bytes: 0, redirected: 0 };
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

function encodeAlone(bytes: number, encode: CommandEncoder): Buffer {
  const own = Buffer.allocUnsafe(bytes);
  checkSize(encode(own, 0), bytes);
  return own;
}

/** Where argument `index` of the RESP command at `buf[at]` starts and ends (set by `argAt`). */
let argStart = 0;
let argEnd = 0;
/** Reads the number of the `*<n>\r\n` or `$<n>\r\n` header at `buf[p]`; `numEnd` is set after it. */
let numEnd = 0;
function headerNumber(buf: Buffer, p: number): number {
  let n = 0;
  let q = p + 1;
  for (let c = buf[q]!; c !== 13; c = buf[++q]!) n = n * 10 + c - 48;
  numEnd = q + 2;
  return n;
}
function argAt(buf: Buffer, at: number, index: number): boolean {
  const argc = headerNumber(buf, at);
  if (!(index < argc)) return false;
  let p = numEnd;
  for (let i = 0; ; i++) {
    const len = headerNumber(buf, p);
    if (i === index) {
      argStart = numEnd;
      argEnd = argStart + len;
      return true;
    }
    p = numEnd + len + 2;
  }
}

/** A command a node refused, to send again (after the nodes have answered everything before it). */
interface Refused {
  handler: ReplyHandler | undefined;
  ctx: unknown;
  cmd: Command;
  /** `ASK`: to this node once, after ASKING; `MOVED`: the slot map changed; `TRYAGAIN`: later. */
  kind: 'MOVED' | 'ASK' | 'TRYAGAIN';
  node: string;
  err: Error;
}

/** Rounds of redirections a restore goes through before it gives the refused commands up. */
const MAX_REDIRECT_ROUNDS = 200;

/**
 * Sends a restore's commands to a standalone server or a cluster, with a bounded window (`room()`
 * waits until a command may be sent).
 *
 * Standalone, it is one `Pipeline`. A cluster is one `Pipeline` per primary, on a connection of
 * its own, and a router: each command goes to the node that owns its key's slot in the slot map
 * (CLUSTER SLOTS), and all the nodes are fed at once. A command a node refuses (MOVED/ASK: a slot
 * moved or is moving) is held: the target stops taking commands until every node has answered
 * what it was sent, refreshes the slot map, and sends the refused commands again in the order they
 * were sent (ASK: `ASKING` and the command to the node named), so that a key's commands still run
 * in order and each runs once.
 */
export class RestoreTarget {
  readonly isCluster: boolean;
  private readonly pipes: Pipeline[] = [];
  private readonly byNode = new Map<string, Pipeline>();
  /** The pipeline of each slot's owner (cluster). */
  private readonly slots: Array<Pipeline | undefined> = new Array(16384);
  private refused: Refused[] = [];
  private resolving: Promise<void> | null = null;
  private rounds = 0;
  /** Cluster `sendEncoded`: the command is encoded here first, to find its key's slot. */
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private scratchBytes = 0;
  private readonly copyScratch: CommandEncoder = (into, at) =>
    at + this.scratch.copy(into, at, 0, this.scratchBytes);
  private readonly onRedirect: ReplyQueue['redirect'] = (handler, ctx, cmd, err) => {
    const [kind, , node] = err.message.split(' ') as [Refused['kind'], string, string];
    this.refused.push({ handler, ctx, cmd, kind, node: node ?? '', err });
  };

  private constructor(
    private readonly conn: ServerConnection,
    private readonly limits: WindowLimits,
  ) {
    this.isCluster = conn.cluster !== undefined;
  }

  /** A target for `conn`: a cluster's primaries are connected to and its slot map read. */
  static async open(conn: ServerConnection, limits: WindowLimits): Promise<RestoreTarget> {
    const t = new RestoreTarget(conn, limits);
    if (!t.isCluster) {
      const p = new Pipeline(conn.client, limits, `${conn.target.host}:${conn.target.port}`);
      t.pipes.push(p);
      return t;
    }
    try {
      await t.loadSlots();
    } catch (err) {
      await t.close();
      throw err;
    }
    return t;
  }

  /** Closes the connections the target opened (a cluster's nodes; not `conn`). */
  async close(): Promise<void> {
    if (!this.isCluster) return;
    for (const p of this.pipes) p.client.disconnect();
  }

  /** What each node was sent (one entry for a standalone server). */
  traffic(): NodeTraffic[] {
    return this.pipes.map((p) => ({ ...p.traffic }));
  }

  private async pipeFor(node: string): Promise<Pipeline> {
    let p = this.byNode.get(node);
    if (!p) {
      const i = node.lastIndexOf(':');
      const client = await this.conn.connectNode!(node.slice(0, i), Number(node.slice(i + 1)));
      p = this.byNode.get(node);
      if (p) client.disconnect();
      else {
        p = new Pipeline(client, this.limits, node, this.onRedirect);
        this.byNode.set(node, p);
        this.pipes.push(p);
      }
    }
    return p;
  }

  /** Reads the slot map (CLUSTER SLOTS) from the node the URL names, or from a node we know. */
  private async loadSlots(): Promise<void> {
    const ask = [this.conn.client, ...this.pipes.map((p) => p.client)];
    let reply: unknown[] | undefined;
    let last: unknown;
    for (const c of ask) {
      try {
        reply = (await c.call('CLUSTER', 'SLOTS')) as unknown[];
        break;
      } catch (err) {
        last = err;
      }
    }
    if (!reply) throw last;
    for (const range of reply as Array<[number, number, [string, number]]>) {
      const [from, to, [host, port]] = range;
      const p = await this.pipeFor(`${host || this.conn.target.host}:${port}`);
      for (let s = from; s <= to; s++) this.slots[s] = p;
    }
  }

  private pipeOfSlot(slot: number): Pipeline {
    // A slot no node serves: its commands go to any node, which answers CLUSTERDOWN (reported).
    return this.slots[slot] ?? this.pipes[0]!;
  }

  /** True when a command of `bytes` fits in the window now (every node's, for a cluster). */
  hasRoom(bytes: number): boolean {
    if (this.refused.length > 0 || this.resolving) return false;
    for (const p of this.pipes) if (!p.hasRoom(bytes)) return false;
    return true;
  }

  /** Waits until the window has room for a command of `bytes` (and refused commands went again). */
  async room(bytes: number): Promise<void> {
    for (;;) {
      if (this.refused.length > 0 || this.resolving) {
        await this.resolveRedirects();
        continue;
      }
      const full = this.pipes.find((p) => !p.hasRoom(bytes));
      if (!full) return;
      for (const p of this.pipes) p.flush();
      await full.room(bytes);
    }
  }

  /** Waits until every sent command is answered (refused ones included, once sent again). */
  async idle(): Promise<void> {
    for (;;) {
      await Promise.all(this.pipes.map((p) => p.idle()));
      if (this.refused.length === 0 && !this.resolving) return;
      await this.resolveRedirects();
    }
  }

  private resolveRedirects(): Promise<void> {
    this.resolving ??= this.resendRefused().finally(() => {
      this.resolving = null;
    });
    return this.resolving;
  }

  /** Sends refused commands again, in order, once every node has answered what it was sent. */
  private async resendRefused(): Promise<void> {
    for (;;) {
      await Promise.all(this.pipes.map((p) => p.idle()));
      if (this.refused.length === 0) return;
      const list = this.refused;
      this.refused = [];
      if (++this.rounds > MAX_REDIRECT_ROUNDS) {
        // The cluster keeps refusing: the commands fail (reported like any failed command).
        for (const r of list) r.handler?.error?.(r.ctx, r.cmd, r.err);
        continue;
      }
      if (list.some((r) => r.kind === 'MOVED')) await this.loadSlots();
      if (list.some((r) => r.kind === 'TRYAGAIN')) await new Promise((r) => setTimeout(r, 50));
      const asking = [Buffer.from('ASKING')];
      for (const r of list) {
        if (r.kind === 'ASK') {
          const p = await this.pipeFor(r.node);
          p.send(asking, 0);
          p.send(r.cmd, 0, r.handler, r.ctx);
        } else this.pipeOfSlot(this.slotOf(r.cmd)).send(r.cmd, 0, r.handler, r.ctx);
      }
      for (const p of this.pipes) p.flush();
    }
  }

  /** The slot of a command's key (its first key; a command without one goes to slot 0's owner). */
  private slotOf(args: Command): number {
    const name = args[0] ? args[0].toString('latin1').toUpperCase() : '';
    const i = keyIndex(args, name);
    const key = i > 0 ? args[i] : args[1];
    return key ? keySlot(key) : 0;
  }

  /**
   * Sends one command in `db` (standalone: a SELECT goes first when the db changes); the server's
   * answer goes to `handler` with `ctx`. `key` routes it in a cluster (default: its key
   * argument). Call `room()` first to respect the window.
   */
  send<C>(args: Command, _bytes: number, db: number, key?: Buffer, handler?: ReplyHandler<C>, ctx?: C): void {
    if (!this.isCluster) {
      this.pipes[0]!.send(args, db, handler, ctx);
      return;
    }
    this.pipeOfSlot(key ? keySlot(key) : this.slotOf(args)).send(args, db, handler, ctx);
  }

  /**
   * The cluster slot of the key `buf[start, end)`, to route a `sendEncoded` by; -1 for a
   * standalone server (where there is nothing to route).
   */
  slotOfKey(buf: Buffer, start: number, end: number): number {
    return this.isCluster ? keySlotOf(buf, start, end) : -1;
  }

  /**
   * Sends one command that `encode` writes straight into the output (exactly `bytes` bytes): no
   * argument buffers are made for it. Its handler gets the command decoded from those bytes. In a
   * cluster it goes to the owner of `slot` (from `slotOfKey`), written straight into that node's
   * output; without one, to the owner of its key (the command's first argument), found by
   * encoding it aside first.
   */
  sendEncoded<C>(
    bytes: number,
    db: number,
    encode: CommandEncoder,
    handler?: ReplyHandler<C>,
    ctx?: C,
    slot = -1,
  ): void {
    if (!this.isCluster) {
      this.pipes[0]!.sendEncoded(bytes, db, encode, handler, ctx);
      return;
    }
    if (slot >= 0) {
      this.pipeOfSlot(slot).sendEncoded(bytes, db, encode, handler, ctx);
      return;
    }
    if (this.scratch.length < bytes)
      this.scratch = Buffer.allocUnsafe(Math.max(bytes, this.scratch.length * 2));
    checkSize(encode(this.scratch, 0), bytes);
    this.scratchBytes = bytes;
    const found = argAt(this.scratch, 0, 1) ? keySlotOf(this.scratch, argStart, argEnd) : 0;
    this.pipeOfSlot(found).sendEncoded(bytes, db, this.copyScratch, handler, ctx);
  }

  /** Sends a command to every primary (FUNCTION LOAD, FLUSHALL, INFO) and waits for all replies. */
  async sendToPrimaries(args: Command): Promise<unknown[]> {
    for (const p of this.pipes) p.flush();
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
    let n = 0;
    for (const c of await this.keyCounts()) n += c.keys;
    return n;
  }

  /** The keys each primary holds (over every db). */
  async keyCounts(): Promise<Array<{ node: string; keys: number }>> {
    const nodes = this.conn.cluster ? this.conn.cluster.nodes('master') : [this.conn.client];
    const replies = await this.sendToPrimaries([Buffer.from('INFO'), Buffer.from('keyspace')]);
    return replies.map((r, i) => {
      let keys = 0;
      for (const m of String(r).matchAll(/^db\d+:keys=(\d+)/gm)) keys += Number(m[1]);
      return { node: `${nodes[i]!.options.host}:${nodes[i]!.options.port}`, keys };
    });
  }

  /** The code of a loaded function library (from the first primary), or undefined. */
  async libraryCode(name: string): Promise<Buffer | undefined> {
    for (const p of this.pipes) p.flush();
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
