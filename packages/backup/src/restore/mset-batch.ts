import { digits, writeHeader } from '../resp/encode.js';
import type { CommandEncoder, ReplyHandler, RestoreTarget } from './target.js';

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
  begin(db: number, size: number): boolean {
    if (size > MSET_BATCH_BYTES) return false;
    if (
      this.count > 0 &&
      (db !== this.db || this.count === MSET_BATCH_KEYS || this.len + size > MSET_BATCH_BYTES)
    )
      this.flush();
    this.db = db;
    return true;
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
