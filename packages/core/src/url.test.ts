import { describe, expect, it } from 'vitest';
import { CoreError, ValkeyToolsError } from './errors.js';
import { formatConnectionUrl, normalizeUrl, parseConnectionUrl, redactUrl, toClientOptions } from './url.js';

describe('parseConnectionUrl', () => {
  it('parses redis:// with credentials and db', () => {
    expect(parseConnectionUrl('redis://alice:s3cr%40t@example.com:6380/3')).toEqual({
      scheme: 'redis',
      tls: false,
      host: 'example.com',
      port: 6380,
      db: 3,
      username: 'alice',
      password: 's3cr@t',
    });
  });

  it('normalizes valkey:// to redis:// and valkeys:// to rediss:// with TLS', () => {
    expect(parseConnectionUrl('valkey://h:1').scheme).toBe('redis');
    const t = parseConnectionUrl('valkeys://h');
    expect(t).toMatchObject({ scheme: 'rediss', tls: true, port: 6379, db: 0 });
    expect(parseConnectionUrl('rediss://h:7000/2')).toMatchObject({ tls: true, port: 7000, db: 2 });
    expect(normalizeUrl('VALKEY://u:p@h:1/2')).toBe('redis://u:p@h:1/2');
  });

  it('accepts password-only credentials', () => {
    expect(parseConnectionUrl('redis://:pw@localhost')).toMatchObject({ password: 'pw', host: 'localhost' });
  });

  it('parses IPv6 hosts', () => {
    expect(parseConnectionUrl('redis://[::1]:6390/1')).toMatchObject({ host: '::1', port: 6390, db: 1 });
    expect(parseConnectionUrl('[::1]:7001')).toMatchObject({ host: '::1', port: 7001 });
    expect(formatConnectionUrl(parseConnectionUrl('[::1]:7001'))).toBe('redis://[::1]:7001/0');
  });

  it('parses the short forms host:port, host and :port', () => {
    expect(parseConnectionUrl('localhost:6380')).toMatchObject({
      host: 'localhost',
      port: 6380,
      db: 0,
      scheme: 'redis',
    });
    expect(parseConnectionUrl('cache.internal')).toMatchObject({ host: 'cache.internal', port: 6379 });
    expect(parseConnectionUrl(':7000')).toMatchObject({ host: '127.0.0.1', port: 7000 });
  });

  it('parses unix sockets in both forms with a db', () => {
    expect(parseConnectionUrl('unix:///var/run/valkey.sock')).toMatchObject({
      scheme: 'unix',
      path: '/var/run/valkey.sock',
      db: 0,
    });
    expect(parseConnectionUrl('unix:/tmp/v.sock?db=4')).toMatchObject({
      scheme: 'unix',
      path: '/tmp/v.sock',
      db: 4,
    });
    expect(parseConnectionUrl('unix://:pw@/tmp/v.sock')).toMatchObject({
      path: '/tmp/v.sock',
      password: 'pw',
    });
    expect(toClientOptions(parseConnectionUrl('unix:/tmp/v.sock'))).toEqual({ path: '/tmp/v.sock', db: 0 });
  });

  it('builds client options with TLS', () => {
    expect(toClientOptions(parseConnectionUrl('valkeys://u:p@h:1/2'))).toEqual({
      host: 'h',
      port: 1,
      db: 2,
      username: 'u',
      password: 'p',
      tls: { servername: 'h' },
    });
  });

  const bad: Array<[string, RegExp, string]> = [
    ['redis://h:70000', /port 70000 is out of range/, 'port'],
    ['redis://h:0', /port 0 is out of range/, 'port'],
    ['h:abc', /port "abc" is not a number/, 'port'],
    ['redis://h/abc', /db "abc" is not an integer/, 'db'],
    ['redis://h/99', /db 99 is out of range/, 'db'],
    ['http://h:1', /scheme "http" is unknown/, 'scheme'],
    ['', /is empty/, 'url'],
    ['unix:relative.sock', /absolute socket path/, 'path'],
    ['::1:6379', /IPv6/, 'host'],
  ];
  for (const [input, message, part] of bad) {
    it(`rejects ${JSON.stringify(input)} naming the ${part}`, () => {
      let caught: unknown;
      try {
        parseConnectionUrl(input);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CoreError);
      expect(ValkeyToolsError.isInstance(caught)).toBe(true);
      const err = caught as CoreError;
      expect(err.code).toBe('ERR_INVALID_URL');
      expect(err.message).toMatch(message);
      expect(err.details.part).toBe(part);
    });
  }

  it('never puts the password in an error', () => {
    let caught: unknown;
    try {
      parseConnectionUrl('redis://user:hunter2@h:99999');
    } catch (err) {
      caught = err;
    }
    // Outside the catch: a parser that stops throwing fails here.
    expect(caught).toBeInstanceOf(CoreError);
    const err = caught as CoreError;
    expect(err.message).toMatch(/port/);
    expect(err.message).not.toContain('hunter2');
    expect(JSON.stringify(err)).not.toContain('hunter2');
    expect(JSON.stringify(err.details)).not.toContain('hunter2');
  });

  it('respects maxDb', () => {
    expect(parseConnectionUrl('redis://h/40', { maxDb: 63 }).db).toBe(40);
  });
});

describe('redactUrl', () => {
  it('hides passwords in URLs and in messages holding URLs', () => {
    expect(redactUrl('redis://alice:secret@h:1/0')).toBe('redis://alice:***@h:1/0');
    expect(redactUrl('redis://:secret@h')).toBe('redis://:***@h');
    expect(redactUrl('failed to reach valkeys://u:p%40ss@h:1 and rediss://x:y@z')).toBe(
      'failed to reach valkeys://u:***@h:1 and rediss://x:***@z',
    );
    expect(redactUrl('redis://onlysecret@h')).toBe('redis://***@h');
  });
  it('leaves URLs without a password untouched and never throws on junk', () => {
    expect(redactUrl('redis://h:1/0')).toBe('redis://h:1/0');
    expect(redactUrl('%%%not a url')).toBe('%%%not a url');
  });
  it('formats redacted URLs', () => {
    expect(formatConnectionUrl(parseConnectionUrl('redis://u:p@h:1/2'), { redact: true })).toBe(
      'redis://u:***@h:1/2',
    );
  });
});

describe('Sentinel URLs', () => {
  it('parses the Sentinels, the primary name, the db and the two sets of credentials', () => {
    const t = parseConnectionUrl(
      'valkey+sentinel://app:p%40ss@10.0.0.1:26380,[::1],sentinel-c/mymaster/2?sentinelUsername=watch&sentinelPassword=s%26p',
    );
    expect(t).toEqual({
      scheme: 'redis',
      tls: false,
      host: '10.0.0.1',
      port: 26380,
      db: 2,
      username: 'app',
      password: 'p@ss',
      sentinel: {
        name: 'mymaster',
        nodes: [
          { host: '10.0.0.1', port: 26380 },
          { host: '::1', port: 26379 },
          { host: 'sentinel-c', port: 26379 },
        ],
        username: 'watch',
        password: 's&p',
      },
    });
  });

  it('takes TLS from the scheme, the db from the query, and formats back', () => {
    const t = parseConnectionUrl('rediss+sentinel://h1:1,h2:2/prod?db=3');
    expect(t).toMatchObject({ scheme: 'rediss', tls: true, db: 3, sentinel: { name: 'prod' } });
    expect(parseConnectionUrl('valkeys+sentinel://h/x').tls).toBe(true);
    expect(parseConnectionUrl('redis+sentinel://h/x').tls).toBe(false);
    const round = 'redis+sentinel://u:pw@h1:1,[::1]:2/my%20primary/4?sentinelUsername=s&sentinelPassword=sp';
    expect(formatConnectionUrl(parseConnectionUrl(round))).toBe(round);
    expect(formatConnectionUrl(parseConnectionUrl(round), { redact: true })).toBe(
      'redis+sentinel://u:***@h1:1,[::1]:2/my%20primary/4?sentinelUsername=s&sentinelPassword=***',
    );
  });

  it('reads a + in the query as a plus (passwords hold them) and writes it back encoded', () => {
    const t = parseConnectionUrl('valkey+sentinel://h/m?sentinelPassword=a+b%2Bc&sentinelUsername=w+x');
    expect(t.sentinel).toMatchObject({ password: 'a+b+c', username: 'w+x' });
    expect(parseConnectionUrl(formatConnectionUrl(t)).sentinel).toMatchObject({ password: 'a+b+c' });
  });

  it('keeps a server password holding @ / ? apart from the query', () => {
    const t = parseConnectionUrl('valkey+sentinel://:a@b/c?d@h:1/m?sentinelPassword=x');
    expect(t.password).toBe('a@b/c?d');
    expect(t.sentinel).toMatchObject({ name: 'm', password: 'x', nodes: [{ host: 'h', port: 1 }] });
  });

  const bad: Array<[string, RegExp]> = [
    ['valkey+sentinel://h:1', /primary name is missing/],
    ['valkey+sentinel://h:1/', /primary name is missing/],
    ['valkey+sentinel:///m', /host is missing/],
    ['valkey+sentinel://h:1,,h:2/m', /host is empty/],
    ['valkey+sentinel://h:99999/m', /port 99999 is out of range/],
    ['valkey+sentinel://h/m/99', /db 99 is out of range/],
    ['valkey+sentinel://h/m/1/x', /too many parts/],
    ['valkey+sentinel://h/m?sentinelPasword=x', /parameter "sentinelPasword" is unknown/],
    ['valkey+sentinel://::1/m', /wrap it in brackets/],
  ];
  it.each(bad)('rejects %s', (input, message) => {
    expect(() => parseConnectionUrl(input)).toThrow(message);
  });

  it('hides both passwords in messages', () => {
    const url = 'valkey+sentinel://app:srv-secret@h1:1,h2:2/m?sentinelUsername=w&sentinelPassword=sen-secret';
    for (const text of [url, `restore into ${url} failed`, `"${url}"`]) {
      const out = redactUrl(text);
      expect(out).not.toContain('srv-secret');
      expect(out).not.toContain('sen-secret');
      expect(out).toContain('h1:1,h2:2/m');
    }
    expect(redactUrl('valkey+sentinel://h1:1/m?sentinelPassword=only&db=1')).toBe(
      'valkey+sentinel://h1:1/m?sentinelPassword=***&db=1',
    );
  });
});
