import { styleText } from 'node:util';
import { escapeControl, redactUrl } from '@valkey-tools/core';

/** What a command may touch of the outside world; tests and the bin pass the real process streams. */
export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): Io {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * Whether to colour a stream: FORCE_COLOR wins (0 turns colour off), then NO_COLOR / --no-color,
 * then whether the stream is a terminal (and not TERM=dumb).
 */
export function colorEnabled(
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv,
  noColorFlag = false,
): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (noColorFlag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

type Style = Parameters<typeof styleText>[0];

/** Applies a style when colour is on; plain text otherwise. */
export function paint(enabled: boolean, style: Style, text: string): string {
  return enabled ? styleText(style, text) : text;
}

/**
 * What any text from outside (server replies, key names, URLs) goes through before it is printed:
 * passwords redacted, control characters shown as `\xNN` instead of reaching the terminal.
 */
export function safeText(text: string): string {
  return escapeControl(redactUrl(text));
}

/** DEL and C1 controls, which JSON.stringify leaves raw (it escapes only U+0000 to U+001F). */
const JSON_UNSAFE = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON with bigints as decimal strings and Buffers as UTF-8 text (or base64 when not valid UTF-8);
 * every control character escaped (`\u009b`) and passwords redacted, so it is safe on a terminal.
 */
export function toJson(value: unknown, indent = 2): string {
  return escapeJsonUnsafe(redactUrl(rawJson(value, indent)));
}

function escapeJsonUnsafe(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function rawJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    function replacer(this: unknown, _key, v: unknown) {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Uint8Array) return bufferText(Buffer.from(v));
      if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer') {
        const data = (v as { data?: unknown }).data;
        if (Array.isArray(data)) return bufferText(Buffer.from(data as number[]));
      }
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      return v;
    },
    indent,
  );
}

function bufferText(b: Buffer): string {
  const text = b.toString('utf8');
  return Buffer.from(text, 'utf8').equals(b) ? text : `base64:${b.toString('base64')}`;
}

/** Printing helpers bound to the streams and the colour decision of one run. */
export class Output {
  readonly color: boolean;
  readonly errorColor: boolean;

  constructor(
    readonly io: Io,
    readonly options: { json: boolean; verbose: boolean; noColor: boolean },
  ) {
    this.color = !options.json && colorEnabled(io.stdout, io.env, options.noColor);
    this.errorColor = colorEnabled(io.stderr, io.env, options.noColor);
  }

  get json(): boolean {
    return this.options.json;
  }

  /** Text returned by `style()`, kept as is by `line()` (its inside was made safe by `style()`). */
  private readonly styled = new Set<string>();

  /**
   * A line of human output on stdout (nothing in --json mode: stdout then holds only JSON),
   * made safe (`safeText`) except for the parts `style()` coloured.
   */
  line(text = ''): void {
    if (this.options.json) return;
    const keep = [...this.styled].filter((s) => text.includes(s));
    let out: string;
    if (keep.length === 0) out = safeText(text);
    else {
      const pattern = new RegExp(`(${keep.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`);
      out = text
        .split(pattern)
        .map((part, i) => (i % 2 === 1 ? part : safeText(part)))
        .join('');
    }
    this.io.stdout.write(`${out}\n`);
  }

  /** The JSON result of a command on stdout. */
  printJson(value: unknown): void {
    this.io.stdout.write(`${toJson(value)}\n`);
  }

  /** One JSON line on stdout (JSON-lines output of a long-running command; --json mode only). */
  jsonLine(value: unknown): void {
    if (this.options.json) this.io.stdout.write(`${toJson(value, 0)}\n`);
  }

  /**
   * The one way past redaction, for output the user asked to hold a secret (`url --with-password`):
   * `value` as JSON in --json mode, else `text`; control characters still escaped.
   */
  revealed(value: unknown, text: string): void {
    if (this.options.json) {
      this.io.stdout.write(`${escapeJsonUnsafe(rawJson(value))}\n`);
    } else this.io.stdout.write(`${escapeControl(text)}\n`);
  }

  /** Prints `value` as JSON in --json mode, or calls `human` to print it for people. */
  result(value: unknown, human: () => void): void {
    if (this.options.json) this.printJson(value);
    else human();
  }

  /** A status message on stderr (kept off stdout so pipes carry only data). */
  info(text: string): void {
    this.io.stderr.write(`${safeText(text)}\n`);
  }

  verbose(text: string): void {
    if (this.options.verbose) this.io.stderr.write(`${paint(this.errorColor, 'dim', safeText(text))}\n`);
  }

  warn(text: string): void {
    this.io.stderr.write(`${paint(this.errorColor, 'yellow', 'warning:')} ${safeText(text)}\n`);
  }

  /** `text` made safe and coloured (when colour is on); `line()` prints it as is. */
  style(style: Style, text: string): string {
    const safe = safeText(text);
    if (!this.color) return safe;
    const painted = paint(true, style, safe);
    this.styled.add(painted);
    return painted;
  }

  /** Left-aligned columns, header in bold. */
  table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
    const [head, ...body] = formatTable(header, rows);
    this.line(this.style('bold', head!));
    for (const line of body) this.line(line);
  }
}

export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)];
}

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** `1536` → `1.5 KB` (powers of 1024, as valkey's INFO memory uses). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${value} B`
    : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${BYTE_UNITS[unit]}`;
}

/** `12345` → `12,345` (by hand: the first toLocaleString call costs ~20 ms of ICU start-up). */
export function formatCount(n: number | bigint): string {
  const s = String(n);
  const sign = s.startsWith('-') ? '-' : '';
  const digits = sign ? s.slice(1) : s;
  if (!/^\d+$/.test(digits)) return s;
  return sign + digits.replace(/\B(?=(\d{3})+$)/g, ',');
}

/** Seconds → `45s`, `3m05s`, `2h01m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
