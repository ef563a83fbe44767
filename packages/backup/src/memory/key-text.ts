import { isUtf8 } from 'node:buffer';

const ESCAPED = /[\u0000-\u001f\u007f\\]/g;

/**
 * A key as text for reports, one line and unambiguous: valid UTF-8 stays as is except control
 * characters (`\xNN`) and backslashes (`\\`); other bytes print as printable ASCII or `\xNN`, the
 * way valkey-cli shows binary keys.
 */
export function keyToText(key: Uint8Array): string {
  const buf = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
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
