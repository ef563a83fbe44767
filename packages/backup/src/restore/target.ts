import { Command as IoCommand } from 'iovalkey';
import { keySlot, keySlotOf } from '../cluster/slot.js';
import { keyIndex } from '../io/items.js';
import type { ServerConnection } from '@valkey-tools/core';
import type { Command } from '../resp/encode.js';
import {
  type CommandEncoder,
  checkSize,
  type NodeTraffic,
  Pipeline,
  type ReplyHandler,
  type ReplyQueue,
  type WindowLimits,
} from '../io/pipeline.js';

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
