import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConnectionUrl, redactUrl, registerSecret } from './url.js';

/**
 * Passwords made of the characters that break naive redaction (`@ : / space % #`) and a few
 * letters, never found in the text around them (so a hit can only be a leak).
 */
const SPECIAL = ['@', ':', '/', ' ', '%', '#'];
const password = (chars: string[] = SPECIAL) =>
  fc
    .array(fc.constantFrom(...chars, 'q', 'Z', 'x', '7', 'w'), { minLength: 6, maxLength: 24 })
    .map((a) => a.join(''))
    .filter((p) => p.trim() === p && /[qZxw7]/.test(p) && chars.some((c) => p.includes(c)));
const user = fc.constantFrom('', 'alice', 'backup', 'default');
const host = fc.constantFrom('127.0.0.1', 'db.internal', '[::1]', 'cache-1.example.com');

/** The URL forms a password may arrive in. */
function urlForms(u: string, pw: string, h: string): Array<{ url: string; freeText: boolean }> {
  return [
    { url: `redis://${u}:${pw}@${h}:6379/0`, freeText: true },
    { url: `valkeys://${u}:${pw}@${h}`, freeText: true },
    { url: `rediss://${u}:${encodeURIComponent(pw)}@${h}:6380`, freeText: true },
    { url: `redis://:${pw}@${h}:6379`, freeText: true },
    { url: `unix://${u}:${pw}@/run/valkey.sock?db=1`, freeText: true },
    // Scheme-less: recognized in free text only without spaces (a space could end any token).
    // `user://...` is a URL with scheme `user` whatever was meant: no way to tell.
    ...(pw.startsWith('//')
      ? []
      : [
          { url: `${u}:${pw}@${h}:6379`, freeText: !/\s/.test(pw) },
          { url: `:${pw}@${h}:6379`, freeText: !/\s/.test(pw) },
        ]),
  ];
}

/** Contexts a URL is printed in: alone, in error messages, in pretty JSON, in a multi-line text. */
const contexts: Array<(url: string) => string> = [
  (url) => url,
  (url) => `Invalid connection URL "${url}": port "x" is not a number. Use redis://[user:password@]host`,
  (url) => `Connecting to ${url} failed: connect ECONNREFUSED 127.0.0.1:1`,
  (url) =>
    `Connecting to ${url} failed: WRONGPASS. Check the user name and password in the URL (redis://user:password@host:port)`,
  (url) => `restore into ${url} stopped at key "user:ann@example.com" (db 0): SET failed`,
  (url) => JSON.stringify({ error: { message: `cannot reach ${url}`, details: { url } } }, null, 2),
  (url) => `line one\n  to ${url}\nline three with a@b`,
];

/** Every spelling that gives the password away: raw, percent-encoded, JSON-escaped. */
const spellings = (pw: string) => [pw, encodeURIComponent(pw), JSON.stringify(pw).slice(1, -1)];

describe('redactUrl (property)', () => {
  it('never leaves a password with @ : / space % # in any URL form or context', () => {
    fc.assert(
      fc.property(user, password(), host, (u, pw, h) => {
        for (const { url, freeText } of urlForms(u, pw, h)) {
          for (const [i, context] of contexts.entries()) {
            if (i > 0 && !freeText) continue;
            const text = context(url);
            const out = redactUrl(text);
            for (const s of spellings(pw)) {
              // Only a leak when the surrounding text did not hold it already.
              if (context(url.replace(pw, '').replace(encodeURIComponent(pw), '')).includes(s)) continue;
              expect(out.includes(s), `context ${i}: ${JSON.stringify(text)} -> ${JSON.stringify(out)}`).toBe(
                false,
              );
            }
            expect(out).toContain('***');
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('hides a password-only URL whose password has no colon', () => {
    fc.assert(
      fc.property(password(['@', '/', ' ', '%', '#']), host, (pw, h) => {
        const out = redactUrl(`redis://${pw}@${h}:6379`);
        expect(out).toBe(`redis://***@${h}:6379`);
      }),
    );
  });

  it('keeps the user name, host and port readable', () => {
    fc.assert(
      fc.property(fc.constantFrom('alice', 'backup'), password(), host, (u, pw, h) => {
        expect(redactUrl(`redis://${u}:${pw}@${h}:6379/0`)).toBe(`redis://${u}:***@${h}:6379/0`);
        expect(redactUrl(`cannot connect to "redis://${u}:${pw}@${h}:6379/0"`)).toBe(
          `cannot connect to "redis://${u}:***@${h}:6379/0"`,
        );
        expect(
          redactUrl(`to redis://${u}:${pw}@${h}:6379/0 failed. Check (redis://user:password@host:port)`),
        ).toBe(`to redis://${u}:***@${h}:6379/0 failed. Check (redis://user:***@host:port)`);
      }),
    );
  });

  it('leaves text without credentials alone and never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = redactUrl(s);
        if (!s.includes('@')) expect(out).toBe(s);
      }),
      { numRuns: 500 },
    );
    for (const s of [
      'redis://127.0.0.1:6379/0 stopped at key "a@b"',
      'db 0 key "user:ann@example.com": SET: OOM',
      'mail alice@example.com about user:x@y',
    ])
      expect(redactUrl(s)).toBe(s);
  });
});

describe('parseConnectionUrl with raw special characters in the password', () => {
  it('reads the password up to the last @, and its errors never hold it', () => {
    fc.assert(
      fc.property(fc.constantFrom('', 'alice'), password(), (u, pw) => {
        const t = parseConnectionUrl(`redis://${u}:${pw}@db.internal:6380/2`);
        expect(t.password).toBe(pw.includes('%') ? t.password : pw);
        expect(t).toMatchObject({ host: 'db.internal', port: 6380, db: 2 });
        if (u) expect(t.username).toBe(u);
        expect(parseConnectionUrl(`redis://${u}:${encodeURIComponent(pw)}@h:1`).password).toBe(pw);
        for (const bad of [
          `redis://${u}:${pw}@h:99999`,
          `redis://${u}:${pw}@h:1/77`,
          ...(pw.startsWith('//') ? [] : [`${u}:${pw}@h:6379`]),
        ]) {
          let message = '';
          try {
            parseConnectionUrl(bad);
          } catch (err) {
            message = `${(err as Error).message} ${JSON.stringify((err as { details?: unknown }).details)}`;
          }
          expect(message, bad).not.toBe('');
          for (const s of spellings(pw)) expect(message.includes(s), message).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('takes a % not followed by two hex digits literally', () => {
    expect(parseConnectionUrl('redis://:50%off@h').password).toBe('50%off');
    expect(parseConnectionUrl('redis://:50%25off@h').password).toBe('50%off');
  });

  it('refuses credentials without a scheme, saying how to write them', () => {
    expect(() => parseConnectionUrl('backup:S3cr@t@db:6379')).toThrow(/no scheme: write redis:\/\//);
  });
});

describe('registerSecret', () => {
  it('hides a registered secret in any spelling, anywhere', () => {
    registerSecret('pa ss"w@rd/#');
    expect(redactUrl('user:pa ss"w@rd/#@h said pa ss"w@rd/# and pa%20ss%22w%40rd%2F%23')).not.toMatch(
      /pa.?ss/,
    );
    expect(redactUrl(JSON.stringify({ p: 'pa ss"w@rd/#' }))).toBe('{"p":"***"}');
  });
});
