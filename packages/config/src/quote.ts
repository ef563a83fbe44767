/**
 * Quoting and splitting that match the server's own `sdssplitargs()`, which reads every line of
 * valkey.conf. Strings hold text (written as UTF-8); `Uint8Array` values hold raw bytes.
 */

const BARE = /^[A-Za-z0-9_.,:/@%+=*^!~{}[\]<>?|&$;()-]+$/;

const NAMED_ESCAPES: Record<number, string> = {
  10: '\\n',
  13: '\\r',
  9: '\\t',
  8: '\\b',
  7: '\\a',
  34: '\\"',
  92: '\\\\',
};

function hex(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Formats one argument so `sdssplitargs` reads back exactly the same bytes: plain tokens stay bare,
 * everything else is double-quoted with `\n \r \t \b \a \" \\` and `\xHH` escapes. The result never
 * contains a raw newline, so no value can start a second directive.
 */
export function quoteArg(value: string | Uint8Array): string {
  if (typeof value === 'string') {
    if (BARE.test(value)) return value;
    let out = '"';
    for (const ch of value) {
      const code = ch.codePointAt(0)!;
      const named = NAMED_ESCAPES[code];
      if (named) out += named;
      else if (code < 0x20 || code === 0x7f) out += hex(code);
      // Unicode line/paragraph separators are harmless to the server but confuse editors: escape them.
      else if (code === 0x2028 || code === 0x2029 || code === 0x85)
        out += [...Buffer.from(ch, 'utf8')].map(hex).join('');
      else out += ch;
    }
    return `${out}"`;
  }
  const asText = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  if (BARE.test(asText)) return asText;
  let out = '"';
  for (const byte of value) {
    const named = NAMED_ESCAPES[byte];
    if (named) out += named;
    else if (byte < 0x20 || byte >= 0x7f) out += hex(byte);
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

/** Joins arguments into one config line: `name arg1 arg2`. */
export function formatLine(name: string, args: ReadonlyArray<string | Uint8Array>): string {
  return [name, ...args.map(quoteArg)].join(' ');
}

function isHexDigit(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

function isSpace(c: string | undefined): boolean {
  // C isspace() in the "C" locale
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

export type SplitResult = { ok: true; args: string[] } | { ok: false; column: number; reason: string };

/**
 * Splits one line exactly like `sdssplitargs`. Input and output are "binary strings" (one char per
 * byte, latin1), so every byte survives. Returns the column of the problem on unbalanced quotes.
 */
export function splitArgs(line: string): SplitResult {
  const args: string[] = [];
  let p = 0;
  for (;;) {
    while (p < line.length && isSpace(line[p])) p++;
    if (p >= line.length) return { ok: true, args };
    let inq = false;
    let insq = false;
    let current = '';
    const start = p;
    for (;;) {
      const c = line[p];
      if (inq) {
        if (c === undefined) return { ok: false, column: start + 1, reason: 'unbalanced double quotes' };
        if (c === '\\' && line[p + 1] === 'x' && isHexDigit(line[p + 2]) && isHexDigit(line[p + 3])) {
          current += String.fromCharCode(Number.parseInt(line.slice(p + 2, p + 4), 16));
          p += 4;
          continue;
        }
        if (c === '\\' && line[p + 1] !== undefined) {
          const e = line[p + 1]!;
          current +=
            e === 'n'
              ? '\n'
              : e === 'r'
                ? '\r'
                : e === 't'
                  ? '\t'
                  : e === 'b'
                    ? '\b'
                    : e === 'a'
                      ? '\x07'
                      : e;
          p += 2;
          continue;
        }
        if (c === '"') {
          // the closing quote must be followed by a space or the end of the line
          if (p + 1 < line.length && !isSpace(line[p + 1]))
            return { ok: false, column: p + 2, reason: 'closing quote must be followed by a space' };
          p++;
          break;
        }
        current += c;
        p++;
      } else if (insq) {
        if (c === undefined) return { ok: false, column: start + 1, reason: 'unbalanced single quotes' };
        if (c === '\\' && line[p + 1] === "'") {
          current += "'";
          p += 2;
          continue;
        }
        if (c === "'") {
          if (p + 1 < line.length && !isSpace(line[p + 1]))
            return { ok: false, column: p + 2, reason: 'closing quote must be followed by a space' };
          p++;
          break;
        }
        current += c;
        p++;
      } else {
        if (c === undefined || c === ' ' || c === '\n' || c === '\r' || c === '\t') break;
        if (c === '"') inq = true;
        else if (c === "'") insq = true;
        else current += c;
        p++;
      }
    }
    args.push(current);
  }
}
