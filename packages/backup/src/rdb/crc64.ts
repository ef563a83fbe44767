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

export class Crc64 {
  private hi = 0;
  private lo = 0;

  update(data: Uint8Array, start = 0, end = data.length): this {
    let hi = this.hi;
    let lo = this.lo;
    const thi = TABLE_HI;
    const tlo = TABLE_LO;
    for (let i = start; i < end; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ tlo[idx]!;
      hi = (hi >>> 8) ^ thi[idx]!;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  digest(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** The CRC as 8 little-endian bytes, the way RDB trailers and DUMP payloads store it. */
  digestBytes(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32LE(this.lo, 0);
    out.writeUInt32LE(this.hi, 4);
    return out;
  }
}

/** One-shot CRC-64 (Jones) of `data`. */
export function crc64(data: Uint8Array): bigint {
  return new Crc64().update(data).digest();
}
