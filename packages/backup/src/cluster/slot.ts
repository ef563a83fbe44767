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

export function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/**
 * The cluster slot (0..16383) of a key, honouring `{hash tags}` like `keyHashSlot`. A string key
 * is its UTF-8 bytes (as a client sends it).
 */
export function keySlot(key: Buffer | string): number {
  if (typeof key === 'string') key = Buffer.from(key, 'utf8');
  const open = key.indexOf(0x7b);
  if (open !== -1) {
    const close = key.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(key.subarray(open + 1, close)) & 16383;
  }
  return crc16(key) & 16383;
}
