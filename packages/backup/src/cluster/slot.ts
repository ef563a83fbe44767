/** CRC16/XMODEM as used by Valkey Cluster (`crc16.c`), over raw bytes. */
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16(data: Buffer, start = 0, end = data.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ data[i]!) & 0xff]!;
  return crc;
}

/**
 * The cluster slot (0..16383) of a key, honouring `{hash tags}` like `keyHashSlot`. A string key
 * is its UTF-8 bytes (as a client sends it).
 */
export function keySlot(key: Buffer | string): number {
  if (typeof key === 'string') key = Buffer.from(key, 'utf8');
  return keySlotOf(key, 0, key.length);
}

/** The cluster slot of the key `buf[start, end)` (see `keySlot`), without a view of it. */
export function keySlotOf(buf: Buffer, start: number, end: number): number {
  let open = -1;
  for (let i = start; i < end; i++) {
    if (buf[i] === 0x7b) {
      open = i;
      break;
    }
  }
  if (open !== -1) {
    for (let close = open + 1; close < end; close++) {
      if (buf[close] === 0x7d) {
        if (close > open + 1) return crc16(buf, open + 1, close) & 16383;
        break;
      }
    }
  }
  return crc16(buf, start, end) & 16383;
}
