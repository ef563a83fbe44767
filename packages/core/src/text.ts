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

/**
 * Edit distance between two short strings: insertions, deletions, substitutions and swaps of
 * neighbours each cost 1 (`maxmemroy` is 1 from `maxmemory`). For "did you mean" suggestions.
 */
export function editDistance(a: string, b: string): number {
  // Three rolling rows: the swap needs the row before the previous one.
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, before[j - 2]! + 1);
      row.push(best);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The fields of an `INFO` reply (`name:value` lines; `# Section` headers and blank lines skipped).
 * Values are kept as text: `INFO keyspace`'s `db0:keys=1,expires=0` gives `db0` → `keys=1,expires=0`.
 */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/**
 * A flat `[field, value, field, value...]` reply (`SENTINEL REPLICAS` entries, `CLUSTER SHARDS`
 * maps in RESP2) as a record of texts; anything but an array gives `{}`.
 */
export function replyFields(entry: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const list = Array.isArray(entry) ? entry : [];
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = String(list[i + 1]);
  return out;
}
