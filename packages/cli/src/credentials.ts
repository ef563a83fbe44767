import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatConnectionUrl, parseConnectionUrl, redactUrl, registerSecret } from '@valkey-tools/core';
import { CliError, usageError } from './errors.js';
import { readSmallInput } from './files.js';
import type { Io, Output } from './output.js';

export const PASSWORD_ENV = 'VALKEY_TOOLS_PASSWORD';
export const USER_ENV = 'VALKEY_TOOLS_USER';
/** The Sentinels' own password and user, for `valkey+sentinel://` URLs. */
export const SENTINEL_PASSWORD_ENV = 'VALKEY_TOOLS_SENTINEL_PASSWORD';
export const SENTINEL_USER_ENV = 'VALKEY_TOOLS_SENTINEL_USER';

export interface CredentialFlags {
  'password-file'?: string | undefined;
  user?: string | undefined;
  'sentinel-password-file'?: string | undefined;
  'sentinel-user'?: string | undefined;
}

/** `valkey+sentinel://`, `redis+sentinel://` and their TLS forms (`valkeys+sentinel://`, `rediss+sentinel://`). */
export function isSentinelUrl(url: string): boolean {
  return /^(?:valkey|redis|valkeys|rediss)\+sentinel:/i.test(url.trim());
}

/** Registers a secret and its decoded spellings (percent-encoding; `+` for a space in a query). */
function registerEncoded(secret: string, query = false): void {
  registerSecret(secret);
  try {
    registerSecret(decodeURIComponent(query ? secret.replace(/\+/g, ' ') : secret));
  } catch {
    // not percent-encoded
  }
}

/**
 * Hides the credentials of a URL as typed (`user:pass@` up to its last `@`, with or without a
 * scheme) in everything printed, even when the URL is too malformed to parse.
 */
export function registerUrlSecrets(url: string): void {
  let rest = url.trim().replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '');
  if (isSentinelUrl(url)) {
    // A Sentinel URL's query holds the Sentinels' password (which may hold an `@`): take it out
    // first, so the server credentials still end at the last `@` before the hosts.
    const query = /\?(?=(?:sentinelUsername|sentinelPassword|db)=)/.exec(rest);
    if (query) {
      for (const [, value] of rest.slice(query.index).matchAll(/[?&]sentinelPassword=([^&]*)/g))
        if (value) registerEncoded(value, true);
      rest = rest.slice(0, query.index);
    }
  }
  const at = rest.lastIndexOf('@');
  if (at === -1) return;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  registerEncoded(colon === -1 ? userinfo : userinfo.slice(colon + 1));
}

/** The first line of a password file (or stdin for `-`), without its line ending. */
async function readPasswordFile(path: string, io: Io, out: Output, env = PASSWORD_ENV): Promise<string> {
  if (path !== '-' && process.platform !== 'win32') {
    try {
      const mode = statSync(resolve(io.cwd, path)).mode;
      if (mode & 0o077)
        out.warn(`${path} can be read by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
    } catch {
      // readSmallInput reports a missing or unreadable file
    }
  }
  const text = (await readSmallInput(path, io, 'the password file')).toString('utf8');
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  if (password === '') {
    throw new CliError(
      'ERR_INVALID_INPUT',
      `the password file ${path} is empty (its first line is the password)`,
      {
        details: { file: path },
        hint: `Write the password on its first line, or pass it with ${env}`,
      },
    );
  }
  return password;
}

/**
 * The URL to connect to, with the credentials from --password-file / --user or the environment
 * folded in. For each of the password and the user: the flag wins, then the URL, then
 * VALKEY_TOOLS_PASSWORD / VALKEY_TOOLS_USER. A Sentinel URL (`valkey+sentinel://`) also takes the
 * Sentinels' own credentials, by the same rules, from --sentinel-password-file / --sentinel-user,
 * its query (`sentinelPassword=`, `sentinelUsername=`) and VALKEY_TOOLS_SENTINEL_PASSWORD /
 * VALKEY_TOOLS_SENTINEL_USER; the two flags with any other URL are a usage error of `command`.
 * Every password seen is registered for redaction. The returned URL holds the passwords: use it
 * to connect, never print it unredacted.
 */
export async function connectionUrl(
  url: string,
  flags: CredentialFlags,
  io: Io,
  out: Output,
  command?: string,
): Promise<string> {
  registerUrlSecrets(url);
  const sentinelUrl = isSentinelUrl(url);
  const sentinelFile = flags['sentinel-password-file'];
  const sentinelFlagUser = flags['sentinel-user'];
  if (!sentinelUrl) assertNoSentinelFlags(flags, command, `${redactUrl(url)} is not one`);
  if (sentinelFile === '-' && flags['password-file'] === '-') {
    throw usageError(
      'ERR_INVALID_ARGUMENT',
      `--password-file and --sentinel-password-file cannot both read stdin (-): give one of them a file${helpOf(command)}`,
      command,
    );
  }
  const envPassword = io.env[PASSWORD_ENV] || undefined;
  if (envPassword !== undefined) registerSecret(envPassword);
  const envSentinelPassword = io.env[SENTINEL_PASSWORD_ENV] || undefined;
  if (envSentinelPassword !== undefined) registerSecret(envSentinelPassword);
  const filePassword =
    flags['password-file'] !== undefined
      ? await readPasswordFile(flags['password-file'], io, out)
      : undefined;
  if (filePassword !== undefined) registerSecret(filePassword);
  const fileSentinelPassword =
    sentinelFile !== undefined
      ? await readPasswordFile(sentinelFile, io, out, SENTINEL_PASSWORD_ENV)
      : undefined;
  if (fileSentinelPassword !== undefined) registerSecret(fileSentinelPassword);
  const envUser = io.env[USER_ENV] || undefined;
  const envSentinelUser = io.env[SENTINEL_USER_ENV] || undefined;
  const sentinelGiven =
    sentinelUrl &&
    (fileSentinelPassword !== undefined ||
      sentinelFlagUser !== undefined ||
      envSentinelPassword !== undefined ||
      envSentinelUser !== undefined);
  if (
    filePassword === undefined &&
    flags.user === undefined &&
    envPassword === undefined &&
    envUser === undefined &&
    !sentinelGiven
  )
    return url;
  const target = parseConnectionUrl(url);
  const password = filePassword ?? target.password ?? envPassword;
  const username = flags.user ?? target.username ?? envUser;
  if (password !== undefined) target.password = password;
  else delete target.password;
  if (username !== undefined) target.username = username;
  if (target.sentinel) {
    const spec = target.sentinel;
    const sentinelPassword = fileSentinelPassword ?? spec.password ?? envSentinelPassword;
    const sentinelUser = sentinelFlagUser ?? spec.username ?? envSentinelUser;
    if (sentinelPassword !== undefined) spec.password = sentinelPassword;
    if (sentinelUser !== undefined) spec.username = sentinelUser;
  }
  return formatConnectionUrl(target);
}

const helpOf = (command: string | undefined) =>
  command === undefined ? '' : `. Run "valkey-tools ${command} --help"`;

/**
 * --sentinel-user and --sentinel-password-file only mean something with a Sentinel URL: given
 * with anything else (`why` says what) they are a usage error rather than silently unused.
 */
export function assertNoSentinelFlags(
  flags: CredentialFlags,
  command: string | undefined,
  why: string,
): void {
  const given = (['sentinel-user', 'sentinel-password-file'] as const).filter((f) => flags[f] !== undefined);
  if (given.length === 0) return;
  throw usageError(
    'ERR_INVALID_ARGUMENT',
    `${given.map((f) => `--${f}`).join(' and ')} ${given.length === 1 ? 'is' : 'are'} only for Sentinel URLs (valkey+sentinel://host:port[,host:port...]/<primary-name>), and ${why}${helpOf(command)}`,
    command,
  );
}
