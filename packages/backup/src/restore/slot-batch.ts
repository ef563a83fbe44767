import { copyBytes, digits, writeHeader } from '../resp/encode.js';
import { MSET_BATCH_BYTES, MSET_BATCH_KEYS, MSET_ROOM, type PairBatch } from './mset-batch.js';
import type { CommandEncoder, ReplyHandler } from '../io/pipeline.js';
import type { RestoreTarget } from './target.js';

const SLOTS = 16384;
/** Bytes of pairs each slot gathers before its MSET goes out (all slots: 32 MiB at most). */
export const SLOT_BATCH_BYTES = 2048;

const MSET = Buffer.from('$4\r\nMSET\r\n');

/**
 * Plain string keys into a cluster, gathered into one `MSET` per slot (the keys of one command
 * must share a slot): a slot's MSET goes out when its share of the batch is full, so the keys of
 * a file in any order still go out many to a command, each straight to the primary that owns the
 * slot. Memory is bounded by the number of slots (`SLOT_BATCH_BYTES` each, taken as slots are
 * first used), not by the data. A pair too big for a slot's share goes out alone, at once.
 *
 * Keys that come slot by slot (a cluster node's snapshot, a merged cluster backup) are not held to
 * a slot's share: when two keys in a row share a slot, that slot becomes the hot one and its pairs
 * gather in a batch of their own, as many to an MSET as a standalone server's (`MSET_BATCH_KEYS`).
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
  /** The hot slot's pairs (`hot[0, hotLen)`, `hotCount` of them), or -1 for no hot slot. */
  private hot: Buffer | null = null;
  private hotSlot = -1;
  private hotLen = 0;
  private hotCount = 0;
  /** The slot of the pair before. */
  private lastSlot = -1;
  /** Where the pair being written goes: a slot, -1 (alone) or -2 (the hot batch). */
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
    const last = this.lastSlot;
    this.lastSlot = slot;
    if (size <= SLOT_BATCH_BYTES && (slot === this.hotSlot || slot === last)) {
      if (slot !== this.hotSlot) this.heat(slot);
      else if (this.hotCount === MSET_BATCH_KEYS || this.hotLen + size > MSET_BATCH_BYTES) this.sendHot();
      this.slot = -2;
      this.buf = this.hot!;
      this.len = this.hotLen;
      return true;
    }
    if (size > SLOT_BATCH_BYTES) {
      // What the slot gathered goes first if it holds this key: a key written twice keeps its order.
      this.settle(slot, key, keyStart, keyEnd);
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
    if (slot === -2) {
      this.hotLen = end;
      this.hotCount++;
      this.count++;
      return;
    }
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

  /**
   * Before a command that does not join the batch goes to the key `key[keyStart, keyEnd)` in
   * `slot`: if what the slot gathered may hold that key (its bytes appear there), it goes first (at
   * most one MSET: the window must have `MSET_ROOM`), so the command cannot overtake an earlier one
   * on the same key. Other keys' pairs stay gathered.
   */
  settle(slot: number, key: Buffer, keyStart: number, keyEnd: number): void {
    if (!this.mayHold(slot, key, keyStart, keyEnd)) return;
    if (slot === this.hotSlot) this.sendHot();
    else this.flushSlot(slot);
  }

  mayHold(slot: number, key: Buffer, keyStart: number, keyEnd: number): boolean {
    if (slot === this.hotSlot)
      return this.hotCount > 0 && holds(this.hot!, 0, this.hotLen, key, keyStart, keyEnd);
    if (this.arena === null || this.counts[slot] === 0) return false;
    const start = slot * SLOT_BATCH_BYTES;
    return holds(this.arena, start, start + this.lens[slot]!, key, keyStart, keyEnd);
  }

  async drain(): Promise<void> {
    if (this.hotCount > 0) {
      if (!this.target.hasRoom(MSET_ROOM)) await this.target.room(MSET_ROOM);
      this.sendHot();
    }
    for (let slot = this.used.pop(); slot !== undefined; slot = this.used.pop()) {
      this.inUsed[slot] = 0;
      if (this.counts[slot] === 0) continue;
      if (!this.target.hasRoom(MSET_ROOM)) await this.target.room(MSET_ROOM);
      this.flushSlot(slot);
    }
  }

  /** Sends everything gathered at once (the window may overflow: only at a change of db). */
  private flushAll(): void {
    this.sendHot();
    for (const slot of this.used) {
      this.inUsed[slot] = 0;
      this.flushSlot(slot);
    }
    this.used.length = 0;
  }

  /**
   * Makes `slot` the hot one: the hot slot before sends its MSET (one at most, which the window
   * has room for), and what `slot` gathered in its share moves into the hot batch.
   */
  private heat(slot: number): void {
    this.sendHot();
    this.hot ??= Buffer.allocUnsafe(MSET_BATCH_BYTES);
    this.hotSlot = slot;
    const n = this.counts[slot]!;
    if (n > 0) {
      const start = slot * SLOT_BATCH_BYTES;
      this.hotLen = this.arena!.copy(this.hot, 0, start, start + this.lens[slot]!);
      this.hotCount = n;
      this.lens[slot] = 0;
      this.counts[slot] = 0;
    }
  }

  private sendHot(): void {
    const n = this.hotCount;
    if (n === 0) return;
    this.send(this.hot!, 0, this.hotLen, n, this.hotSlot);
    this.hotLen = 0;
    this.hotCount = 0;
    this.count -= n;
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

/** True when `buf[start, end)` contains the bytes `key[keyStart, keyEnd)` (anywhere: a value too). */
function holds(
  buf: Buffer,
  start: number,
  end: number,
  key: Buffer,
  keyStart: number,
  keyEnd: number,
): boolean {
  return buf.subarray(start, end).indexOf(key.subarray(keyStart, keyEnd)) !== -1;
}
