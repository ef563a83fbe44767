import { isIP } from 'node:net';
import { CoreError } from './errors.js';

export type UrlScheme = 'redis' | 'rediss' | 'unix';

/** A Sentinel-managed deployment: where the Sentinels are and which primary they watch. */
export interface SentinelSpec {
  /** The primary's name as the Sentinels know it (`sentinel monitor <name> ...`). */
  name: string;
  /** The Sentinels, asked in this order. */
  nodes: Array<{ host: string; port: number }>;
  /** Credentials for the Sentinels (the URL's user and password are the servers'). */
  username?: string;
  password?: string;
}

/** A parsed, normalized connection target. */
export interface ConnectionTarget {
  /** `redis` (plain TCP), `rediss` (TLS) or `unix` (socket path). */
  scheme: UrlScheme;
  tls: boolean;
  /** For a Sentinel URL: the first Sentinel's (`connect()` resolves the server). */
  host: string;
  port: number;
  /** Unix socket path (only for `unix`). */
  path?: string;
  db: number;
  username?: string;
  password?: string;
  /**
   * Set for `valkey+sentinel://` (and `redis+sentinel://`, `valkeys+sentinel://`,
   * `rediss+sentinel://`) URLs: the server is found by asking these Sentinels.
   */
  sentinel?: SentinelSpec;
}

/** The default port of a Sentinel. */
export const SENTINEL_PORT = 26379;

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

/** `<scheme>+sentinel:` schemes, by the scheme of the servers behind them. */
const SENTINEL_SCHEMES: Record<string, 'redis' | 'rediss'> = {
  'redis+sentinel:': 'redis',
  'valkey+sentinel:': 'redis',
  'rediss+sentinel:': 'rediss',
  'valkeys+sentinel:': 'rediss',
};

/** The query parameters a Sentinel URL takes. */
const SENTINEL_PARAMS = ['sentinelUsername', 'sentinelPassword', 'db'];

function fail(input: string, part: string, problem: string): never {
  throw new CoreError('ERR_INVALID_URL', `Invalid connection URL "${redactUrl(input)}": ${part} ${problem}`, {
    details: { url: redactUrl(input), part },
    hint: 'Use redis://[user:password@]host[:port][/db], rediss://, valkey://, valkeys://, unix:///path/to.sock, host:port, :port, or valkey+sentinel://[user:password@]host[:port][,host[:port]...]/<primary-name>[/db]',
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

/** Percent-decodes; a `%` not followed by two hex digits stands for itself (`50%off`). */
function decode(input: string, part: string, raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/%(?![0-9a-fA-F]{2})/g, '%25'));
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
  const sentinelScheme = SENTINEL_SCHEMES[schemeMatch[1]!.toLowerCase() + ':'];
  if (sentinelScheme)
    return parseSentinel(input, trimmed.slice(schemeMatch[0].length), sentinelScheme, maxDb);
  const scheme = SCHEMES[schemeMatch[1]!.toLowerCase() + ':'];
  if (!scheme)
    fail(
      input,
      'scheme',
      `"${schemeMatch[1]}" is unknown (use redis, rediss, valkey, valkeys, unix or valkey+sentinel)`,
    );

  if (scheme === 'unix') return parseUnix(input, trimmed.slice(schemeMatch[0].length), maxDb);

  // The credentials end at the last `@` (a host never holds one), so a password may hold raw
  // `@ : / ? # %` and spaces: split them off before URL() sees them, which would cut at the first.
  const afterScheme = trimmed.slice(schemeMatch[0].length).replace(/^\/\//, '');
  const at = afterScheme.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : afterScheme.slice(0, at);
  const hostPart = at === -1 ? afterScheme : afterScheme.slice(at + 1);
  // Validate the port ourselves: URL() rejects a bad one without saying which part was wrong.
  const authority = /^(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/.exec(hostPart);
  if (authority?.[2] !== undefined && authority[2] !== '') parsePort(input, authority[2]);
  let url: URL;
  try {
    url = new URL(`${scheme === 'rediss' ? 'rediss' : 'redis'}://${hostPart}`);
  } catch {
    fail(input, 'url', 'cannot be parsed');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || defaultHost;
  const port = url.port === '' ? defaultPort : parsePort(input, url.port);
  const dbPath = url.pathname.replace(/^\//, '');
  const dbFromQuery = url.searchParams.get('db');
  const db = parseDb(input, dbPath !== '' ? dbPath : (dbFromQuery ?? ''), maxDb);
  const target: ConnectionTarget = { scheme, tls: scheme === 'rediss', host, port, db };
  return { ...target, ...splitUserinfo(input, userinfo) };
}

function splitUserinfo(
  input: string,
  userinfo: string | undefined,
): { username?: string; password?: string } {
  const out: { username?: string; password?: string } = {};
  if (userinfo === undefined) return out;
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
  if (user !== '') out.username = decode(input, 'username', user);
  if (colon !== -1 && colon < userinfo.length - 1)
    out.password = decode(input, 'password', userinfo.slice(colon + 1));
  return out;
}

/** One `host[:port]` or `[v6][:port]` of a Sentinel list. */
function parseSentinelHost(input: string, raw: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(raw);
  let host: string;
  let port = SENTINEL_PORT;
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = parsePort(input, bracketed[2]);
  } else {
    const idx = raw.lastIndexOf(':');
    if (idx !== -1 && raw.indexOf(':') !== idx)
      fail(input, 'host', `"${raw}" looks like an IPv6 address: wrap it in brackets, e.g. [::1]:26379`);
    host = idx === -1 ? raw : raw.slice(0, idx);
    if (idx !== -1) port = parsePort(input, raw.slice(idx + 1));
  }
  if (host === '') fail(input, 'host', 'is empty (write host:port for each Sentinel, separated by commas)');
  if (!/^[A-Za-z0-9._:%-]+$/.test(host)) fail(input, 'host', `"${host}" is not a valid host name`);
  return { host, port };
}

/**
 * `valkey+sentinel://[user:password@]host[:port][,host[:port]...]/<primary-name>[/db]` with the
 * optional query `sentinelUsername`, `sentinelPassword`, `db`. The user and password are the
 * servers'; the Sentinels' come from the query (or `connect()` options).
 */
function parseSentinel(
  input: string,
  rest: string,
  scheme: 'redis' | 'rediss',
  maxDb: number,
): ConnectionTarget {
  let body = rest.replace(/^\/\//, '');
  // The query starts at a `?` that names one of our parameters (a server password may hold `?`),
  // or else at a `?name=` after the credentials (a misspelt parameter is then reported).
  let q = new RegExp(`\\?(?=(?:${SENTINEL_PARAMS.join('|')})=)`).exec(body)?.index ?? -1;
  if (q === -1) {
    const afterCredentials = body.lastIndexOf('@') + 1;
    const other = /\?(?=[A-Za-z_]+=)/.exec(body.slice(afterCredentials));
    if (other) q = afterCredentials + other.index;
  }
  // Percent-decoded as in the rest of the URL (a `+` is a plus, not a space: passwords hold them).
  const params = new Map<string, string>();
  for (const pair of q === -1 ? [] : body.slice(q + 1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (!SENTINEL_PARAMS.includes(key))
      fail(input, 'query', `parameter "${key}" is unknown (use ${SENTINEL_PARAMS.join(', ')})`);
    params.set(key, decode(input, key, eq === -1 ? '' : pair.slice(eq + 1)));
  }
  if (q !== -1) body = body.slice(0, q);
  // The credentials end at the last `@` (a host never holds one).
  const at = body.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : body.slice(0, at);
  const afterAt = at === -1 ? body : body.slice(at + 1);
  const slash = afterAt.indexOf('/');
  const hosts = slash === -1 ? afterAt : afterAt.slice(0, slash);
  const path = slash === -1 ? '' : afterAt.slice(slash + 1);
  if (hosts === '') fail(input, 'host', 'is missing: name at least one Sentinel (host:port)');
  const nodes = hosts.split(',').map((h) => parseSentinelHost(input, h));
  const [rawName = '', rawDb, ...extra] = path.split('/');
  if (rawName === '')
    fail(
      input,
      'primary name',
      'is missing: write the name the Sentinels monitor after the hosts (/mymaster)',
    );
  if (extra.length > 0 && extra.some((e) => e !== ''))
    fail(input, 'path', `"/${path}" has too many parts (write /<primary-name>[/db])`);
  const name = decode(input, 'primary name', rawName);
  const dbQuery = params.get('db') ?? null;
  const db = parseDb(input, rawDb !== undefined && rawDb !== '' ? rawDb : (dbQuery ?? ''), maxDb);
  const sentinel: SentinelSpec = { name, nodes };
  const sentinelUser = params.get('sentinelUsername');
  const sentinelPassword = params.get('sentinelPassword');
  if (sentinelUser) sentinel.username = sentinelUser;
  if (sentinelPassword) sentinel.password = sentinelPassword;
  return {
    scheme,
    tls: scheme === 'rediss',
    host: nodes[0]!.host,
    port: nodes[0]!.port,
    db,
    ...splitUserinfo(input, userinfo),
    sentinel,
  };
}

function parseShortForm(
  input: string,
  s: string,
  defaultHost: string,
  defaultPort: number,
): ConnectionTarget {
  if (s.includes('@')) {
    fail(
      input,
      'url',
      'has credentials but no scheme: write redis://user:password@host:port (percent-encode the password), or pass the password separately',
    );
  }
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
  // The credentials end at the last `@/` (the socket path starts with `/`).
  const at = body.lastIndexOf('@/');
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
  const hostPort = (h: string, p: number) => `${h.includes(':') ? `[${h}]` : h}:${p}`;
  const s = target.sentinel;
  if (s) {
    const query: string[] = [];
    if (s.username !== undefined) query.push(`sentinelUsername=${encodeURIComponent(s.username)}`);
    if (s.password !== undefined)
      query.push(`sentinelPassword=${options.redact ? '***' : encodeURIComponent(s.password)}`);
    const q = query.length > 0 ? `?${query.join('&')}` : '';
    const hosts = s.nodes.map((n) => hostPort(n.host, n.port)).join(',');
    return `${target.scheme}+sentinel://${cred}${hosts}/${encodeURIComponent(s.name)}/${target.db}${q}`;
  }
  return `${target.scheme}://${cred}${hostPort(target.host, target.port)}/${target.db}`;
}

/** Normalizes any accepted form to a canonical client URL (valkey:// → redis://). */
export function normalizeUrl(input: string, options?: ParseUrlOptions): string {
  return formatConnectionUrl(parseConnectionUrl(input, options));
}

const SECRETS = new Set<string>();

/** Secrets shorter than this are not searched for in free text (they would blank out common words). */
const MIN_SECRET_LENGTH = 4;

/**
 * Makes `redactUrl` also hide `secret` wherever it appears verbatim, percent-encoded or
 * JSON-escaped: for passwords that reach the process some other way than inside a URL (a
 * password file, an environment variable) or inside a URL too malformed to find in free text.
 */
export function registerSecret(secret: string): void {
  if (secret.length < MIN_SECRET_LENGTH) return;
  SECRETS.add(secret);
  SECRETS.add(encodeURIComponent(secret));
  SECRETS.add(JSON.stringify(secret).slice(1, -1));
}

/** A scheme (`redis://`), a credential-free host (`host:port` follows), or the connection schemes. */
const SCHEME = String.raw`[a-zA-Z][a-zA-Z0-9+.-]*:\/\/`;
/** What may follow the `@` that ends credentials: a host name, `[v6]`, or unix's `/path`. */
const HOST_START = String.raw`(?=[\w\[/.~%-]|$)`;
/** A host, `[v6]` or unix's `/path`, an optional port, path and query: what follows credentials. */
const HOST_TAIL = String.raw`(?:\[[0-9a-fA-F:.]*\]|[\w.~%-]*)(?::\d*)?(?:[/?][^\s@"'<>]*)?`;
/** A whole text that is one URL: everything up to its last `@` is credentials. */
const BARE_SCHEME_URL = new RegExp(`^(${SCHEME})(.*)@(${HOST_TAIL})$`, 's');
/**
 * In free text: credentials run to the last `@` of the line, not past a quote, an angle bracket
 * or the start of another URL (`redis://`... after a space or a bracket).
 */
const NEXT_URL = String.raw`(?<![\w+.-])(?:redis|rediss|valkey|valkeys|unix|https?):\/\/`;
const SCHEME_URL = new RegExp(`(${SCHEME})((?:(?!${NEXT_URL})[^\\n"'<>])*)@${HOST_START}`, 'g');
/** `user:password@host:port` without a scheme, whole text. */
const BARE_SHORT_URL = new RegExp(`^([^\\s:@/]*):(.*)@(${HOST_TAIL})$`, 's');
/** `user:password@host:port` without a scheme in free text (needs the port, no spaces). */
const SHORT_URL =
  /(^|[\s"'(<=,;])((?:[^\s"'@:/<>]+(?=:(?!\/\/)))?):([^\s"'<>]*)@(?=[\w.~-]+:\d+\b|\[[0-9a-fA-F:.]+\]:\d+)/g;

/** A Sentinel password in a URL's query (`?sentinelPassword=...`), up to the next parameter. */
const SENTINEL_PASSWORD_PARAM = /([?&]sentinelPassword=)[^&\s"'<>#]*/gi;

function redactCredentials(scheme: string, userinfo: string): string {
  const colon = userinfo.indexOf(':');
  // A user name holding `@` or a space is more likely the start of a password: hide it all.
  if (colon !== -1 && !/[@\s]/.test(userinfo.slice(0, colon)))
    return `${scheme}${userinfo.slice(0, colon)}:***@`;
  // `redis://secret@host` reads as a user name, but people write passwords there: hide it too.
  return userinfo === '' ? `${scheme}@` : `${scheme}***@`;
}

/**
 * Replaces the password in anything that looks like a connection URL, or a message holding
 * URLs, with `***`: `redis://user:***@host`, `redis://***@host`, `user:***@host:port`,
 * `:***@host:port`. A password may hold raw `@ : / % #` and spaces: in a text that is one URL,
 * everything up to the last `@` is credentials; in free text, up to the last `@` of the line that
 * is followed by a host (so it may hide more than the password, never less), except that a
 * scheme-less URL is only recognized there without spaces. Secrets given to `registerSecret`
 * are hidden wherever they appear. Never throws: safe to call on any text.
 */
export function redactUrl(text: string): string {
  let out: string;
  const trimmed = text.trim();
  const bare = trimmed.includes('\n') ? null : BARE_SCHEME_URL.exec(trimmed);
  const bareShort = bare || trimmed.includes('\n') ? null : BARE_SHORT_URL.exec(trimmed);
  if (bare) {
    out = text.replace(trimmed, `${redactCredentials(bare[1]!, bare[2]!)}${bare[3]}`);
  } else if (bareShort) {
    out = text.replace(trimmed, `${bareShort[1]}:***@${bareShort[3]}`);
  } else {
    out = text
      .replace(SCHEME_URL, (_m, scheme: string, userinfo: string) => redactCredentials(scheme, userinfo))
      .replace(SHORT_URL, (_m, lead: string, user: string) => `${lead}${user}:***@`);
  }
  out = out.replace(SENTINEL_PASSWORD_PARAM, '$1***');
  for (const secret of SECRETS) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
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
  // SNI takes host names only (RFC 6066): an IP address is checked against the certificate without it.
  if (target.tls) opts.tls = isIP(target.host) ? {} : { servername: target.host };
  return opts;
}
