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
 * Slicing-by-16 tables: SLICE_HI/LO[k * 256 + n] is the CRC of byte n followed by k zero bytes, so
 * sixteen input bytes are folded in per step with sixteen look-ups (the first eight tables serve
 * the eight-byte steps of short inputs).
 */
const SLICES = 16;
const SLICE_HI = new Uint32Array(SLICES * 256);
const SLICE_LO = new Uint32Array(SLICES * 256);
{
  SLICE_HI.set(TABLE_HI);
  SLICE_LO.set(TABLE_LO);
  for (let k = 1; k < SLICES; k++) {
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
/**
 * Inputs at least this long are read as 32-bit words through a typed-array view, 16 bytes a step
 * (1.5 GB/s here); shorter ones (a DUMP payload, a small record) byte by byte, 8 bytes a step: the
 * view costs more than it saves below a few hundred bytes.
 */
const WORD_PATH_BYTES = 256;

/**
 * The CRC state between the step functions below (two halves; `update` loads and stores it). The
 * loops live in functions of their own: inlined into one method, V8 compiles the word loop a third
 * slower.
 */
let H = 0;
let L = 0;

/** Folds in `data[i, end)` 16 bytes a step, read as 32-bit words; returns where it stopped. */
function wordSteps(data: Uint8Array, start: number, end: number): number {
  // Up to a 4-byte boundary byte by byte (the view must be aligned).
  const i = start + ((4 - ((data.byteOffset + start) & 3)) & 3);
  byteSteps(data, start, i);
  let hi = H;
  let lo = L;
  const shi = SLICE_HI;
  const slo = SLICE_LO;
  const words = ((end - i) >> 4) << 2;
  const w = new Uint32Array(data.buffer, data.byteOffset + i, words);
  for (let j = 0; j < words; j += 4) {
    const x0 = lo ^ w[j]!;
    const x1 = hi ^ w[j + 1]!;
    const y0 = w[j + 2]!;
    const y1 = w[j + 3]!;
    const a = 3840 + (x0 & 0xff);
    const b = 3584 + ((x0 >>> 8) & 0xff);
    const c = 3328 + ((x0 >>> 16) & 0xff);
    const d = 3072 + (x0 >>> 24);
    const e = 2816 + (x1 & 0xff);
    const f = 2560 + ((x1 >>> 8) & 0xff);
    const g = 2304 + ((x1 >>> 16) & 0xff);
    const h = 2048 + (x1 >>> 24);
    const a2 = 1792 + (y0 & 0xff);
    const b2 = 1536 + ((y0 >>> 8) & 0xff);
    const c2 = 1280 + ((y0 >>> 16) & 0xff);
    const d2 = 1024 + (y0 >>> 24);
    const e2 = 768 + (y1 & 0xff);
    const f2 = 512 + ((y1 >>> 8) & 0xff);
    const g2 = 256 + ((y1 >>> 16) & 0xff);
    const h2 = y1 >>> 24;
    lo =
      slo[a]! ^
      slo[b]! ^
      slo[c]! ^
      slo[d]! ^
      slo[e]! ^
      slo[f]! ^
      slo[g]! ^
      slo[h]! ^
      slo[a2]! ^
      slo[b2]! ^
      slo[c2]! ^
      slo[d2]! ^
      slo[e2]! ^
      slo[f2]! ^
      slo[g2]! ^
      slo[h2]!;
    hi =
      shi[a]! ^
      shi[b]! ^
      shi[c]! ^
      shi[d]! ^
      shi[e]! ^
      shi[f]! ^
      shi[g]! ^
      shi[h]! ^
      shi[a2]! ^
      shi[b2]! ^
      shi[c2]! ^
      shi[d2]! ^
      shi[e2]! ^
      shi[f2]! ^
      shi[g2]! ^
      shi[h2]!;
  }
  H = hi;
  L = lo;
  return i + words * 4;
}

/** Folds in `data[i, end)` 8 bytes a step, each read on its own (no view), then the last few. */
function byteSteps(data: Uint8Array, i: number, end: number): void {
  let hi = H;
  let lo = L;
  const shi = SLICE_HI;
  const slo = SLICE_LO;
  for (; i + 8 <= end; i += 8) {
    const xl = lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    const xh = hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24));
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
  for (; i < end; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ TABLE_LO[idx]!;
    hi = (hi >>> 8) ^ TABLE_HI[idx]!;
  }
  H = hi;
  L = lo;
}

export class Crc64 {
  private hi = 0;
  private lo = 0;

  update(data: Uint8Array, start = 0, end = data.length): this {
    H = this.hi;
    L = this.lo;
    let i = start;
    if (LITTLE_ENDIAN && end - start >= WORD_PATH_BYTES) i = wordSteps(data, i, end);
    byteSteps(data, i, end);
    this.hi = H >>> 0;
    this.lo = L >>> 0;
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

/** ZERO_BYTES[k]: the operator that carries a CRC through 2^k zero bytes (built once, as needed). */
const ZERO_BYTES: bigint[][] = [];

function zeroBytes(k: number): bigint[] {
  while (ZERO_BYTES.length <= k) {
    const last = ZERO_BYTES[ZERO_BYTES.length - 1];
    if (last) ZERO_BYTES.push(gf2Square(last));
    else {
      // The operator for one zero bit, squared three times: one zero byte.
      let op: bigint[] = [REFLECTED_POLY];
      for (let n = 1, row = 1n; n < 64; n++, row <<= 1n) op.push(row);
      for (let i = 0; i < 3; i++) op = gf2Square(op);
      ZERO_BYTES.push(op);
    }
  }
  return ZERO_BYTES[k]!;
}

/**
 * The CRC-64 of `A` followed by `B` from the CRCs of each and B's length (the CRC is linear:
 * A's CRC is carried through B's length of zero bytes, as zlib's crc32_combine does, by the
 * operators for 2^k zero bytes of the length's bits), so parts hashed apart (two threads, the
 * snapshots of a cluster's primaries) give the CRC of the whole.
 */
export function crc64Combine(crcA: bigint, crcB: bigint, lengthB: number): bigint {
  let crc = crcA;
  for (let k = 0, len = lengthB; len > 0; k++, len = Math.floor(len / 2)) {
    if (len % 2 === 1) crc = gf2Times(zeroBytes(k), crc);
  }
  return (crc ^ crcB) & MASK64;
}
