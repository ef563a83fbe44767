import { isUtf8 } from 'node:buffer';

/** The bytes as a JS string when they are valid UTF-8, otherwise null. */
export function bytesToText(bytes: Uint8Array): string | null {
  return isUtf8(bytes)
    ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
    : null;
}

const ESCAPED = /[\u0000-\u001f\u007f\\]/g;

/**
 * Bytes (a key, a field, a name) as one unambiguous line of text for messages and reports, the
 * way valkey-cli shows binary keys: valid UTF-8 stays as is except control characters (`\xNN`)
 * and backslashes (`\\`); otherwise printable ASCII stays and every other byte is `\xNN`.
 */
export function keyToText(key: Uint8Array): string {
  const buf = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  if (isPlainAscii(buf)) return buf.toString('latin1');
  if (isUtf8(buf)) {
    return buf
      .toString('utf8')
      .replace(ESCAPED, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  }
  let out = '';
  for (const b of buf) {
    if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Printable ASCII without backslashes: the common case, needing no escaping. */
function isPlainAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x5c) return false;
  }
  return true;
}

/** `keyToText`, truncated to `max` characters (with `...`) for error messages. */
export function displayBytes(bytes: Uint8Array, max = 200): string {
  const out = keyToText(bytes.length > max * 4 ? bytes.subarray(0, max * 4) : bytes);
  return out.length > max || bytes.length > max * 4 ? `${out.slice(0, max)}...` : out;
}
