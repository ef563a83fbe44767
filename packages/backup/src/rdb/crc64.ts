/**
 * CRC-64 "Jones" as used by Valkey/Redis RDB files and DUMP payloads: reflected polynomial
 * 0x95AC9329AC4BC9B5, initial value 0, no final xor. crc64(0, "123456789") = 0xe9c6d914c4b8d9ca.
 * Kept as two 32-bit halves so the hot loop stays in small-integer arithmetic.
 */
const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
{
  const polyHi = 0x95ac9329;
  const polyLo = 0xac4bc9b5;
  for (let n = 0; n < 256; n++) {
    let hi = 0;
    let lo = n;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) {
        hi = (hi ^ polyHi) >>> 0;
        lo = (lo ^ polyLo) >>> 0;
      }
    }
    TABLE_HI[n] = hi;
    TABLE_LO[n] = lo;
  }
}

/**
 * Slicing-by-8 tables: SLICE_HI/LO[k * 256 + n] is the CRC of byte n followed by k zero bytes,
 * so eight input bytes are folded in per step with eight lookups.
 */
const SLICE_HI = new Uint32Array(8 * 256);
const SLICE_LO = new Uint32Array(8 * 256);
{
  SLICE_HI.set(TABLE_HI);
  SLICE_LO.set(TABLE_LO);
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const phi = SLICE_HI[(k - 1) * 256 + n]!;
      const plo = SLICE_LO[(k - 1) * 256 + n]!;
      const idx = plo & 0xff;
      SLICE_LO[k * 256 + n] = (((plo >>> 8) | (phi << 24)) ^ TABLE_LO[idx]!) >>> 0;
      SLICE_HI[k * 256 + n] = ((phi >>> 8) ^ TABLE_HI[idx]!) >>> 0;
    }
  }
}

/** Typed arrays read words in the machine's byte order; the word path needs little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export class Crc64 {
  private hi = 0;
  private lo = 0;

  update(data: Uint8Array, start = 0, end = data.length): this {
    let hi = this.hi;
    let lo = this.lo;
    const thi = TABLE_HI;
    const tlo = TABLE_LO;
    const shi = SLICE_HI;
    const slo = SLICE_LO;
    let i = start;
    if (LITTLE_ENDIAN && end - start >= 32) {
      // Bytes one at a time up to a 4-byte boundary, then eight at a time read as two 32-bit
      // words; the rest (and all of it on a big-endian machine) one byte at a time.
      for (; ((data.byteOffset + i) & 3) !== 0; i++) {
        const idx = (lo ^ data[i]!) & 0xff;
        lo = ((lo >>> 8) | (hi << 24)) ^ tlo[idx]!;
        hi = (hi >>> 8) ^ thi[idx]!;
      }
      const words = ((end - i) >> 3) << 1;
      const w = new Uint32Array(data.buffer, data.byteOffset + i, words);
      for (let j = 0; j < words; j += 2) {
        const xl = lo ^ w[j]!;
        const xh = hi ^ w[j + 1]!;
        const a = 1792 + (xl & 0xff);
        const b = 1536 + ((xl >>> 8) & 0xff);
        const c = 1280 + ((xl >>> 16) & 0xff);
        const d = 1024 + (xl >>> 24);
        const e = 768 + (xh & 0xff);
        const f = 512 + ((xh >>> 8) & 0xff);
        const g = 256 + ((xh >>> 16) & 0xff);
        const h = xh >>> 24;
        lo = slo[a]! ^ slo[b]! ^ slo[c]! ^ slo[d]! ^ slo[e]! ^ slo[f]! ^ slo[g]! ^ slo[h]!;
        hi = shi[a]! ^ shi[b]! ^ shi[c]! ^ shi[d]! ^ shi[e]! ^ shi[f]! ^ shi[g]! ^ shi[h]!;
      }
      i += words * 4;
    }
    for (; i < end; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ tlo[idx]!;
      hi = (hi >>> 8) ^ thi[idx]!;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  /** Starts over (one instance can hash many payloads). */
  reset(): this {
    this.hi = 0;
    this.lo = 0;
    return this;
  }

  /** Writes the CRC as 8 little-endian bytes into `out` at `at`. */
  writeDigest(out: Buffer, at: number): void {
    out.writeUInt32LE(this.lo, at);
    out.writeUInt32LE(this.hi, at + 4);
  }

  digest(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** The CRC as 8 little-endian bytes, the way RDB trailers and DUMP payloads store it. */
  digestBytes(): Buffer {
    const out = Buffer.allocUnsafe(8);
    this.writeDigest(out, 0);
    return out;
  }
}

/** One-shot CRC-64 (Jones) of `data`. */
export function crc64(data: Uint8Array): bigint {
  return new Crc64().update(data).digest();
}

const REFLECTED_POLY = 0x95ac9329ac4bc9b5n;
const MASK64 = (1n << 64n) - 1n;

function gf2Times(mat: bigint[], vec: bigint): bigint {
  let sum = 0n;
  for (let i = 0; vec !== 0n; i++, vec >>= 1n) if (vec & 1n) sum ^= mat[i]!;
  return sum;
}

function gf2Square(mat: bigint[]): bigint[] {
  return mat.map((row) => gf2Times(mat, row));
}

/**
 * The CRC-64 of `A` followed by `B` from the CRCs of each and B's length (the CRC is linear:
 * A's CRC is carried through B's length of zero bytes, as zlib's crc32_combine does), so two
 * threads can each hash their part of a file.
 */
export function crc64Combine(crcA: bigint, crcB: bigint, lengthB: number): bigint {
  if (lengthB <= 0) return crcA ^ crcB;
  // The operator for one zero bit, then for 2 and 4; the loop starts at one byte (8 bits).
  let odd: bigint[] = [REFLECTED_POLY];
  for (let n = 1, row = 1n; n < 64; n++, row <<= 1n) odd.push(row);
  let even = gf2Square(odd);
  odd = gf2Square(even);
  let crc = crcA;
  let len = lengthB;
  for (;;) {
    even = gf2Square(odd);
    if (len % 2 === 1) crc = gf2Times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    odd = gf2Square(even);
    if (len % 2 === 1) crc = gf2Times(odd, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (crc ^ crcB) & MASK64;
}
