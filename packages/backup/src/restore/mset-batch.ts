import { digits, writeHeader } from '../resp/encode.js';
import type { CommandEncoder, ReplyHandler } from '../io/pipeline.js';
import type { RestoreTarget } from './target.js';

/** An MSET holds at most this many keys and bytes of pairs. */
export const MSET_BATCH_KEYS = 64;
export const MSET_BATCH_BYTES = 64 * 1024;
/**
 * Window room a batch's `begin()` and `commit()` may take: one MSET, and into a cluster the MSET of
 * a slot's share (at most 2 KiB of pairs) that a big pair sends first.
 */
export const MSET_ROOM = MSET_BATCH_BYTES + 4096;

const MSET = Buffer.from('$4\r\nMSET\r\n');

/**
 * Where plain string keys gather into MSETs (`MsetBatch` for one server, `SlotMsetBatch` for a
 * cluster). A caller calls `begin()` with the pair's encoded size and its key, writes the pair in
 * RESP (`$<n>\r\n<key>\r\n$<n>\r\n<value>\r\n`) into `buf` at `len`, then `commit()`s where it
 * ends. `begin()` and `commit()` together send at most one MSET (the window must have `MSET_ROOM`).
 */
export interface PairBatch {
  readonly buf: Buffer;
  readonly len: number;
  /** Keys gathered and not yet sent. */
  readonly count: number;
  /** Makes room for a pair of `size` bytes in `db` for the key `key[keyStart, keyEnd)`; false when it does not fit a batch. */
  begin(db: number, size: number, key: Buffer, keyStart: number, keyEnd: number): boolean;
  commit(end: number): void;
  /**
   * Before a command that does not join the batch goes to the key `key[keyStart, keyEnd)` (in
   * `slot`, into a cluster): sends what was gathered first if it may hold that key (at most one
   * MSET: the window must have `MSET_ROOM`), so the command cannot overtake an earlier one on its
   * key (a file that writes a key twice, apart). Other keys stay gathered.
   */
  settle(slot: number, key: Buffer, keyStart: number, keyEnd: number): void;
  /** Whether what was gathered may hold the key (then `settle` sends an MSET). */
  mayHold(slot: number, key: Buffer, keyStart: number, keyEnd: number): boolean;
  /** Sends everything gathered, waiting for room in the window as it goes. */
  drain(): Promise<void>;
}

/**
 * Plain string keys of one db, gathered into one `MSET` (for a target where nothing is in their
 * way): the server spends less per key on one command with many pairs than on a command each.
 * Callers write each pair in RESP (`$<n>\r\n<key>\r\n$<n>\r\n<value>\r\n`) into `buf` at `len`
 * after `begin()`, then `commit()` it. The MSET goes out when it is full, at another db, or at
 * `flush()`; if the server refuses it, `errors` hears it (ctx: the db) once, for all its keys.
 */
export class MsetBatch implements PairBatch {
  readonly buf = Buffer.allocUnsafe(MSET_BATCH_BYTES);
  len = 0;
  count = 0;
  private db = 0;
  /** A hash of each gathered key (`settle` compares with these; a collision only sends early). */
  private readonly marks = new Int32Array(MSET_BATCH_KEYS);
  private readonly encode: CommandEncoder = (into, at) => {
    let p = writeHeader(into, at, 42, this.count * 2 + 1);
    p += MSET.copy(into, p);
    return p + this.buf.copy(into, p, 0, this.len);
  };

  constructor(
    private readonly target: RestoreTarget,
    private readonly errors: ReplyHandler<number>,
    /** Called for each MSET sent, with its size in bytes. */
    private readonly onSend: (bytes: number) => void,
  ) {}

  /** Makes room for a pair of `size` bytes in `db` (sending what is gathered when it must); false when the pair is too big for a batch. */
  begin(db: number, size: number, key: Buffer, keyStart: number, keyEnd: number): boolean {
    if (size > MSET_BATCH_BYTES) return false;
    if (
      this.count > 0 &&
      (db !== this.db || this.count === MSET_BATCH_KEYS || this.len + size > MSET_BATCH_BYTES)
    )
      this.flush();
    this.db = db;
    this.marks[this.count] = keyHash(key, keyStart, keyEnd);
    return true;
  }

  settle(slot: number, key: Buffer, keyStart: number, keyEnd: number): void {
    if (this.mayHold(slot, key, keyStart, keyEnd)) this.flush();
  }

  mayHold(_slot: number, key: Buffer, keyStart: number, keyEnd: number): boolean {
    if (this.count === 0) return false;
    const h = keyHash(key, keyStart, keyEnd);
    const marks = this.marks;
    for (let i = 0; i < this.count; i++) if (marks[i] === h) return true;
    return false;
  }

  /** The pair written since `begin()` ends at `end`. */
  commit(end: number): void {
    this.len = end;
    this.count++;
  }

  async drain(): Promise<void> {
    if (this.count === 0) return;
    await this.target.room(MSET_ROOM);
    this.flush();
  }

  /** Sends what is gathered (the window must have `MSET_ROOM`). */
  flush(): void {
    if (this.count === 0) return;
    const bytes = 3 + digits(this.count * 2 + 1) + MSET.length + this.len;
    this.target.sendEncoded(bytes, this.db, this.encode, this.errors, this.db);
    this.count = 0;
    this.len = 0;
    this.onSend(bytes);
  }
}

/** FNV-1a of `key[start, end)`. */
function keyHash(key: Buffer, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
  return h | 0;
}
