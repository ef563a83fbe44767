// ../../tmp/vd-bench/after/packages/backup/src/rdb/crc64-worker.ts
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';

// ../../tmp/vd-bench/after/packages/backup/src/rdb/crc64.ts
var TABLE_HI = new Uint32Array(256);
var TABLE_LO = new Uint32Array(256);
{
  const polyHi = 2511115049;
  const polyLo = 2890647989;
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
var SLICE_HI = new Uint32Array(8 * 256);
var SLICE_LO = new Uint32Array(8 * 256);
{
  SLICE_HI.set(TABLE_HI);
  SLICE_LO.set(TABLE_LO);
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const phi = SLICE_HI[(k - 1) * 256 + n];
      const plo = SLICE_LO[(k - 1) * 256 + n];
      const idx = plo & 255;
      SLICE_LO[k * 256 + n] = (((plo >>> 8) | (phi << 24)) ^ TABLE_LO[idx]) >>> 0;
      SLICE_HI[k * 256 + n] = ((phi >>> 8) ^ TABLE_HI[idx]) >>> 0;
    }
  }
}
var Crc64 = class {
  hi = 0;
  lo = 0;
  update(data, start = 0, end2 = data.length) {
    let hi = this.hi;
    let lo = this.lo;
    const thi = TABLE_HI;
    const tlo = TABLE_LO;
    const shi = SLICE_HI;
    const slo = SLICE_LO;
    let i = start;
    const end8 = end2 - 7;
    for (; i < end8; i += 8) {
      const xl = lo ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
      const xh = hi ^ (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24));
      const a = 1792 + (xl & 255);
      const b = 1536 + ((xl >>> 8) & 255);
      const c = 1280 + ((xl >>> 16) & 255);
      const d = 1024 + (xl >>> 24);
      const e = 768 + (xh & 255);
      const f = 512 + ((xh >>> 8) & 255);
      const g = 256 + ((xh >>> 16) & 255);
      const h = xh >>> 24;
      lo = slo[a] ^ slo[b] ^ slo[c] ^ slo[d] ^ slo[e] ^ slo[f] ^ slo[g] ^ slo[h];
      hi = shi[a] ^ shi[b] ^ shi[c] ^ shi[d] ^ shi[e] ^ shi[f] ^ shi[g] ^ shi[h];
    }
    for (; i < end2; i++) {
      const idx = (lo ^ data[i]) & 255;
      lo = ((lo >>> 8) | (hi << 24)) ^ tlo[idx];
      hi = (hi >>> 8) ^ thi[idx];
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }
  /** Starts over (one instance can hash many payloads). */
  reset() {
    this.hi = 0;
    this.lo = 0;
    return this;
  }
  /** Writes the CRC as 8 little-endian bytes into `out` at `at`. */
  writeDigest(out, at) {
    out.writeUInt32LE(this.lo, at);
    out.writeUInt32LE(this.hi, at + 4);
  }
  digest() {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }
  /** The CRC as 8 little-endian bytes, the way RDB trailers and DUMP payloads store it. */
  digestBytes() {
    const out = Buffer.allocUnsafe(8);
    this.writeDigest(out, 0);
    return out;
  }
};

// ../../tmp/vd-bench/after/packages/backup/src/rdb/crc64-worker.ts
var { path, end } = workerData;
var fh = await open(path, 'r');
var buf = Buffer.allocUnsafe(1 << 20);
var crc = new Crc64();
var pos = 0;
try {
  while (pos < end) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (bytesRead === 0) break;
    crc.update(buf, 0, bytesRead);
    pos += bytesRead;
  }
} finally {
  await fh.close();
}
parentPort.postMessage(pos === end ? crc.digestBytes() : null);
