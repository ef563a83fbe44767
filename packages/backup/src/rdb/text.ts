import { isUtf8 } from 'node:buffer';

/** The bytes as a JS string when they are valid UTF-8, otherwise null. */
export function bytesToText(bytes: Uint8Array): string | null {
  return isUtf8(bytes)
    ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
    : null;
}

/**
 * A readable rendering of raw bytes for messages and reports: the UTF-8 text when valid, else a
 * quoted escape form (`\xNN` for non-printable bytes), truncated to `max` characters.
 */
export function displayBytes(bytes: Uint8Array, max = 200): string {
  const text = bytesToText(bytes);
  let out: string;
  if (text !== null) out = text;
  else {
    out = '';
    for (const b of bytes) {
      if (out.length > max) break;
      out +=
        b >= 0x20 && b < 0x7f && b !== 0x5c
          ? String.fromCharCode(b)
          : `\\x${b.toString(16).padStart(2, '0')}`;
    }
  }
  return out.length > max ? `${out.slice(0, max)}...` : out;
}
