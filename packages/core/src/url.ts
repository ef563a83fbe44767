import { CoreError } from './errors.js';

export type UrlScheme = 'redis' | 'rediss' | 'unix';

/** A parsed, normalized connection target. */
export interface ConnectionTarget {
  /** `redis` (plain TCP), `rediss` (TLS) or `unix` (socket path). */
  scheme: UrlScheme;
  tls: boolean;
  host: string;
  port: number;
  /** Unix socket path (only for `unix`). */
  path?: string;
  db: number;
  username?: string;
  password?: string;
}

export interface ParseUrlOptions {
  defaultPort?: number;
  defaultHost?: string;
  /** Highest db index accepted (Valkey's `databases` default is 16, so 15). */
  maxDb?: number;
}

const SCHEMES: Record<string, UrlScheme> = {
  'redis:': 'redis',
  'valkey:': 'redis',
  'rediss:': 'rediss',
  'valkeys:': 'rediss',
  'unix:': 'unix',
};

function fail(input: string, part: string, problem: string): never {
  throw new CoreError('ERR_INVALID_URL', `Invalid connection URL "${redactUrl(input)}": ${part} ${problem}`, {
    details: { url: redactUrl(input), part },
    hint: 'Use redis://[user:password@]host[:port][/db], rediss://, valkey://, valkeys://, unix:///path/to.sock, host:port or :port',
  });
}

function parsePort(input: string, raw: string): number {
  if (!/^\d+$/.test(raw)) fail(input, 'port', `"${raw}" is not a number`);
  const port = Number(raw);
  if (port < 1 || port > 65535) fail(input, 'port', `${port} is out of range (1-65535)`);
  return port;
}

function parseDb(input: string, raw: string, maxDb: number): number {
  if (raw === '') return 0;
  if (!/^\d+$/.test(raw)) fail(input, 'db', `"${raw}" is not an integer 0..${maxDb}`);
  const db = Number(raw);
  if (db > maxDb) fail(input, 'db', `${db} is out of range (0..${maxDb})`);
  return db;
}

function decode(input: string, part: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    fail(input, part, 'has a bad percent-encoding');
  }
}

/**
 * Parses `redis://`, `rediss://`, `valkey://`, `valkeys://`, `unix://`/`unix:` URLs and the
 * short forms `host:port`, `host` and `:port`. `valkey(s)` is normalized to `redis(s)`.
 */
export function parseConnectionUrl(input: string, options: ParseUrlOptions = {}): ConnectionTarget {
  const defaultPort = options.defaultPort ?? 6379;
  const defaultHost = options.defaultHost ?? '127.0.0.1';
  const maxDb = options.maxDb ?? 15;
  const trimmed = input.trim();
  if (trimmed === '') fail(input, 'url', 'is empty');

  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(trimmed);
  if (!schemeMatch || (!trimmed.includes('://') && !/^unix:/i.test(trimmed))) {
    return parseShortForm(input, trimmed, defaultHost, defaultPort);
  }
  const scheme = SCHEMES[schemeMatch[1]!.toLowerCase() + ':'];
  if (!scheme)
    fail(input, 'scheme', `"${schemeMatch[1]}" is unknown (use redis, rediss, valkey, valkeys or unix)`);

  if (scheme === 'unix') return parseUnix(input, trimmed.slice(schemeMatch[0].length), maxDb);

  // Validate the port ourselves: URL() rejects a bad one without saying which part was wrong.
  const authority = /^[a-z]+:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/i.exec(trimmed);
  if (authority?.[2] !== undefined && authority[2] !== '') parsePort(input, authority[2]);
  let url: URL;
  try {
    url = new URL(trimmed.replace(/^[a-z]+s?:/i, scheme === 'rediss' ? 'rediss:' : 'redis:'));
  } catch {
    fail(input, 'url', 'cannot be parsed');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || defaultHost;
  const port = url.port === '' ? defaultPort : parsePort(input, url.port);
  const dbPath = url.pathname.replace(/^\//, '');
  const dbFromQuery = url.searchParams.get('db');
  const db = parseDb(input, dbPath !== '' ? dbPath : (dbFromQuery ?? ''), maxDb);
  const target: ConnectionTarget = { scheme, tls: scheme === 'rediss', host, port, db };
  if (url.username) target.username = decode(input, 'username', url.username);
  if (url.password) target.password = decode(input, 'password', url.password);
  return target;
}

function parseShortForm(
  input: string,
  s: string,
  defaultHost: string,
  defaultPort: number,
): ConnectionTarget {
  let host = defaultHost;
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = parsePort(input, bracketed[2]);
  } else {
    const idx = s.lastIndexOf(':');
    if (idx === -1) host = s;
    else {
      if (s.indexOf(':') !== idx)
        fail(input, 'host', 'looks like an IPv6 address: wrap it in brackets, e.g. [::1]:6379');
      if (idx > 0) host = s.slice(0, idx);
      port = parsePort(input, s.slice(idx + 1));
    }
  }
  if (!/^[A-Za-z0-9._:%-]+$/.test(host)) fail(input, 'host', `"${host}" is not a valid host name`);
  return { scheme: 'redis', tls: false, host, port, db: 0 };
}

function parseUnix(input: string, rest: string, maxDb: number): ConnectionTarget {
  // unix:///path/to.sock?db=1, unix:/path/to.sock, unix://user:pass@/path (rare)
  let body = rest.startsWith('//') ? rest.slice(2) : rest;
  let username: string | undefined;
  let password: string | undefined;
  const at = body.indexOf('@');
  if (at !== -1 && !body.startsWith('/')) {
    const cred = body.slice(0, at);
    {
      body = body.slice(at + 1);
      const colon = cred.indexOf(':');
      if (colon === -1) password = decode(input, 'password', cred);
      else {
        if (colon > 0) username = decode(input, 'username', cred.slice(0, colon));
        password = decode(input, 'password', cred.slice(colon + 1));
      }
    }
  }
  const q = body.indexOf('?');
  const pathPart = q === -1 ? body : body.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : body.slice(q + 1));
  const path = decode(input, 'path', pathPart);
  if (!path.startsWith('/'))
    fail(input, 'path', 'must be an absolute socket path (unix:///path/to/valkey.sock)');
  const target: ConnectionTarget = {
    scheme: 'unix',
    tls: false,
    host: 'localhost',
    port: 0,
    path,
    db: parseDb(input, params.get('db') ?? '', maxDb),
  };
  if (username !== undefined) target.username = username;
  if (password !== undefined) target.password = password;
  return target;
}

/** Formats a target back to a canonical URL (`redis://`, `rediss://` or `unix://`). */
export function formatConnectionUrl(target: ConnectionTarget, options: { redact?: boolean } = {}): string {
  const pass =
    target.password === undefined ? undefined : options.redact ? '***' : encodeURIComponent(target.password);
  const user = target.username === undefined ? '' : encodeURIComponent(target.username);
  const cred = pass !== undefined ? `${user}:${pass}@` : user ? `${user}@` : '';
  if (target.scheme === 'unix') {
    return `unix://${cred}${target.path ?? ''}${target.db ? `?db=${target.db}` : ''}`;
  }
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.scheme}://${cred}${host}:${target.port}/${target.db}`;
}

/** Normalizes any accepted form to a canonical client URL (valkey:// → redis://). */
export function normalizeUrl(input: string, options?: ParseUrlOptions): string {
  return formatConnectionUrl(parseConnectionUrl(input, options));
}

/**
 * Replaces the password in anything that looks like a URL (or a whole message holding URLs)
 * with `***`. Never throws: safe to call on user input that may not parse.
 */
export function redactUrl(text: string): string {
  return text
    .replace(
      /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s@]*)@/gi,
      (_m, scheme: string, user: string) => `${scheme}${user}:***@`,
    )
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+)@/gi, (m, scheme: string, user: string) =>
      // user-only credentials with a known "password-only" form (redis://secret@host) are redacted too
      /^(redis|rediss|valkey|valkeys|unix):\/\/$/i.test(scheme) && user !== '' ? `${scheme}***@` : m,
    );
}

/** Options for iovalkey built from a target (host/port or path, db, username, password, tls). */
export function toClientOptions(target: ConnectionTarget): Record<string, unknown> {
  const opts: Record<string, unknown> = { db: target.db };
  if (target.scheme === 'unix') opts.path = target.path;
  else {
    opts.host = target.host;
    opts.port = target.port;
  }
  if (target.username !== undefined) opts.username = target.username;
  if (target.password !== undefined) opts.password = target.password;
  if (target.tls) opts.tls = { servername: target.host };
  return opts;
}
