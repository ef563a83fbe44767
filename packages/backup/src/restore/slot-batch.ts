import { copyBytes, digits, writeHeader } from '../resp/encode.js';
import { MSET_BATCH_BYTES, MSET_ROOM, type PairBatch } from './mset-batch.js';
import type { CommandEncoder, ReplyHandler, RestoreTarget } from './target.js';

const SLOTS = 16384;
/** Bytes of pairs each slot gathers before its MSET goes out (all slots: 8 MiB at most). */
export const SLOT_BATCH_BYTES = 512;

const MSET = Buffer.from('$4\r\nMSET\r\n');

/**
 * Plain string keys into a cluster, gathered into one `MSET` per slot (the keys of one command
 * must share a slot): a slot's MSET goes out when its share of the batch is full, so the keys of
 * a file in any order still go out many to a command, each straight to the primary that owns the
 * slot. Memory is bounded by the number of slots (`SLOT_BATCH_BYTES` each, taken as slots are
 * first used), not by the data. A pair too big for a slot's share goes out alone, at once.
 *
 * If a node refuses an MSET, `errors` hears it (ctx: the db) once, for all its keys.
 */
export class SlotMsetBatch implements PairBatch {
  /** Every slot's pairs: slot `s` owns `[s * SLOT_BATCH_BYTES, (s + 1) * SLOT_BATCH_BYTES)`. */
  private arena: Buffer | null = null;
  /** For a pair too big for a slot's share. */
  private alone: Buffer | null = null;
  /** Bytes and keys each slot holds. */
  private readonly lens = new Int32Array(SLOTS);
  private readonly counts = new Int32Array(SLOTS);
  /** Slots that have held keys (each once; `inUsed` marks them): what a drain looks at. */
  private readonly used: number[] = [];
  private readonly inUsed = new Uint8Array(SLOTS);
  private db = 0;
  /** Where the pair being written goes: a slot, or -1 (alone). */
  private slot = 0;
  private aloneSlot = 0;
  buf: Buffer = Buffer.alloc(0);
  len = 0;
  count = 0;
  /** What `encode` writes: the MSET header, then `from[start, end)` holding `keys` pairs. */
  private from: Buffer = this.buf;
  private start = 0;
  private end = 0;
  private keys = 0;
  private readonly encode: CommandEncoder = (into, at) => {
    let p = writeHeader(into, at, 42, this.keys * 2 + 1);
    p += copyBytes(MSET, 0, MSET.length, into, p);
    return p + this.from.copy(into, p, this.start, this.end);
  };

  constructor(
    private readonly target: RestoreTarget,
    private readonly errors: ReplyHandler<number>,
    /** Called for each MSET sent, with its size in bytes. */
    private readonly onSend: (bytes: number) => void,
  ) {}

  begin(db: number, size: number, key: Buffer, keyStart: number, keyEnd: number): boolean {
    if (size > MSET_BATCH_BYTES) return false;
    // A cluster has db 0 only; should another come, what is gathered goes first.
    if (db !== this.db && this.count > 0) this.flushAll();
    this.db = db;
    const slot = this.target.slotOfKey(key, keyStart, keyEnd);
    if (size > SLOT_BATCH_BYTES) {
      this.alone ??= Buffer.allocUnsafe(MSET_BATCH_BYTES);
      this.slot = -1;
      this.aloneSlot = slot;
      this.buf = this.alone;
      this.len = 0;
      return true;
    }
    this.arena ??= Buffer.allocUnsafeSlow(SLOTS * SLOT_BATCH_BYTES);
    if (this.lens[slot]! + size > SLOT_BATCH_BYTES) this.flushSlot(slot);
    this.slot = slot;
    this.buf = this.arena;
    this.len = slot * SLOT_BATCH_BYTES + this.lens[slot]!;
    return true;
  }

  commit(end: number): void {
    const slot = this.slot;
    if (slot === -1) {
      this.send(this.alone!, 0, end, 1, this.aloneSlot);
      return;
    }
    if (this.inUsed[slot] === 0) {
      this.inUsed[slot] = 1;
      this.used.push(slot);
    }
    this.lens[slot] = end - slot * SLOT_BATCH_BYTES;
    this.counts[slot]!++;
    this.count++;
  }

  async drain(): Promise<void> {
    for (let slot = this.used.pop(); slot !== undefined; slot = this.used.pop()) {
      this.inUsed[slot] = 0;
      if (this.counts[slot] === 0) continue;
      if (!this.target.hasRoom(MSET_ROOM)) await this.target.room(MSET_ROOM);
      this.flushSlot(slot);
    }
  }

  /** Sends everything gathered at once (the window may overflow: only at a change of db). */
  private flushAll(): void {
    for (const slot of this.used) {
      this.inUsed[slot] = 0;
      this.flushSlot(slot);
    }
    this.used.length = 0;
  }

  private flushSlot(slot: number): void {
    const n = this.counts[slot]!;
    if (n === 0) return;
    const start = slot * SLOT_BATCH_BYTES;
    this.send(this.arena!, start, start + this.lens[slot]!, n, slot);
    this.lens[slot] = 0;
    this.counts[slot] = 0;
    this.count -= n;
  }

  private send(from: Buffer, start: number, end: number, keys: number, slot: number): void {
    this.from = from;
    this.start = start;
    this.end = end;
    this.keys = keys;
    const bytes = 3 + digits(keys * 2 + 1) + MSET.length + (end - start);
    this.target.sendEncoded(bytes, this.db, this.encode, this.errors, this.db, slot);
    this.onSend(bytes);
  }
}
