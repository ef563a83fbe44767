import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatConnectionUrl, parseConnectionUrl, registerSecret } from '@valkey-tools/core';
import { CliError } from './errors.js';
import { readSmallInput } from './files.js';
import type { Io, Output } from './output.js';

export const PASSWORD_ENV = 'VALKEY_TOOLS_PASSWORD';
export const USER_ENV = 'VALKEY_TOOLS_USER';

export interface CredentialFlags {
  'password-file'?: string | undefined;
  user?: string | undefined;
}

/**
 * Hides the credentials of a URL as typed (`user:pass@` up to its last `@`, with or without a
 * scheme) in everything printed, even when the URL is too malformed to parse.
 */
export function registerUrlSecrets(url: string): void {
  const rest = url.trim().replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '');
  const at = rest.lastIndexOf('@');
  if (at === -1) return;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  const password = colon === -1 ? userinfo : userinfo.slice(colon + 1);
  registerSecret(password);
  try {
    registerSecret(decodeURIComponent(password));
  } catch {
    // not percent-encoded
  }
}

/** The first line of a password file (or stdin for `-`), without its line ending. */
async function readPasswordFile(path: string, io: Io, out: Output): Promise<string> {
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
        hint: 'Write the password on its first line, or pass it with VALKEY_TOOLS_PASSWORD',
      },
    );
  }
  return password;
}

/**
 * The URL to connect to, with the credentials from --password-file / --user or the environment
 * folded in. For each of the password and the user: the flag wins, then the URL, then
 * VALKEY_TOOLS_PASSWORD / VALKEY_TOOLS_USER. Every password seen is registered for redaction.
 * The returned URL holds the password: use it to connect, never print it unredacted.
 */
export async function connectionUrl(
  url: string,
  flags: CredentialFlags,
  io: Io,
  out: Output,
): Promise<string> {
  registerUrlSecrets(url);
  const envPassword = io.env[PASSWORD_ENV] || undefined;
  if (envPassword !== undefined) registerSecret(envPassword);
  const filePassword =
    flags['password-file'] !== undefined
      ? await readPasswordFile(flags['password-file'], io, out)
      : undefined;
  if (filePassword !== undefined) registerSecret(filePassword);
  const envUser = io.env[USER_ENV] || undefined;
  if (
    filePassword === undefined &&
    flags.user === undefined &&
    envPassword === undefined &&
    envUser === undefined
  )
    return url;
  const target = parseConnectionUrl(url);
  const password = filePassword ?? target.password ?? envPassword;
  const username = flags.user ?? target.username ?? envUser;
  if (password !== undefined) target.password = password;
  else delete target.password;
  if (username !== undefined) target.username = username;
  return formatConnectionUrl(target);
}
