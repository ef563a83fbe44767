/**
 * C0 controls (but tab and line feed, which callers keep for layout), DEL, C1 controls (U+0080 to
 * U+009F: a terminal in 8-bit mode reads U+009B as CSI) and the bidirectional overrides that
 * reorder what a terminal shows.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_ONE_LINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
}

/**
 * Text from outside (a server's error message, a key name, a file's contents) made safe to write to
 * a terminal: every control character becomes visible as `\xNN` (`\u202e` for bidi overrides), so
 * an escape sequence (`ESC ] 0;title BEL`, `ESC [2J`) is shown, never obeyed. Printable text,
 * including non-ASCII letters, is unchanged. Tab and line feed stay unless `oneLine` is set.
 */
export function escapeControl(text: string, options: { oneLine?: boolean } = {}): string {
  return text.replace(options.oneLine ? UNSAFE_ONE_LINE : UNSAFE, escapeChar);
}
