/**
 * A set of byte strings for the duplicate checks of the structure walk: each member's bytes are
 * copied into one arena and found by hash (open addressing), so checking a collection of a
 * hundred thousand members makes no string or object per member.
 */
export class ByteSet {
  private arena: Buffer = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  private starts = new Int32Array(256);
  private lens = new Int32Array(256);
  private hashes = new Int32Array(256);
  /** Entry index + 1 per slot (0: empty); its length is a power of two at least twice `count`. */
  private table = new Int32Array(512);
  private count = 0;
  private readonly digits = Buffer.allocUnsafe(24);

  /** Empties the set (keeping small buffers for the next collection). */
  clear(): void {
    if (this.table.length > 4096) {
      this.table = new Int32Array(512);
      this.starts = new Int32Array(256);
      this.lens = new Int32Array(256);
      this.hashes = new Int32Array(256);
    } else if (this.count > 0) this.table.fill(0);
    if (this.arena.length > 1 << 20) this.arena = Buffer.allocUnsafe(1 << 16);
    this.count = 0;
    this.used = 0;
  }

  /** Adds `buf[s, e)`; false when the set already holds those bytes. */
  add(buf: Uint8Array, s: number, e: number): boolean {
    const len = e - s;
    let h = 0x811c9dc5 | 0;
    for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const table = this.table;
    const mask = table.length - 1;
    let slot = (h ^ (h >>> 15)) & mask;
    const arena = this.arena;
    for (;;) {
      const at = table[slot]!;
      if (at === 0) break;
      const i = at - 1;
      if (this.hashes[i] === h && this.lens[i] === len) {
        const a = this.starts[i]!;
        let j = 0;
        while (j < len && arena[a + j] === buf[s + j]) j++;
        if (j === len) return false;
      }
      slot = (slot + 1) & mask;
    }
    const n = this.count;
    if (n === this.starts.length) this.growEntries();
    if (this.used + len > this.arena.length) this.growArena(len);
    const a = this.used;
    const dst = this.arena;
    for (let i = 0; i < len; i++) dst[a + i] = buf[s + i]!;
    this.used = a + len;
    this.starts[n] = a;
    this.lens[n] = len;
    this.hashes[n] = h;
    table[slot] = n + 1;
    this.count = n + 1;
    if (2 * this.count > table.length) this.rehash();
    return true;
  }

  /** Adds an integer as its decimal text (how the server compares it with string members). */
  addInt(v: number | bigint): boolean {
    const n = this.digits.write(String(v), 0, 'latin1');
    return this.add(this.digits, 0, n);
  }

  private growEntries(): void {
    const size = this.starts.length * 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(size);
      b.set(a);
      return b;
    };
    this.starts = grow(this.starts);
    this.lens = grow(this.lens);
    this.hashes = grow(this.hashes);
  }

  private growArena(need: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.used + need));
    this.arena.copy(bigger, 0, 0, this.used);
    this.arena = bigger;
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = table.length - 1;
    for (let i = 0; i < this.count; i++) {
      const h = this.hashes[i]!;
      let slot = (h ^ (h >>> 15)) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = i + 1;
    }
    this.table = table;
  }
}
