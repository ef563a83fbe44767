import { resolve } from 'node:path';
import { ConnectionError, type TlsFiles } from '@valkey-tools/core';

interface TlsFlags {
  'tls-ca'?: string | undefined;
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
  'tls-insecure'?: boolean;
}

/** TLS options from the --tls-* flags (file paths made absolute against `cwd`), or undefined when none is given. */
export function tlsFromFlags(flags: TlsFlags, cwd: string): TlsFiles | undefined {
  const tls: TlsFiles = {};
  if (flags['tls-ca'] !== undefined) tls.ca = resolve(cwd, flags['tls-ca']);
  if (flags['tls-cert'] !== undefined) tls.cert = resolve(cwd, flags['tls-cert']);
  if (flags['tls-key'] !== undefined) tls.key = resolve(cwd, flags['tls-key']);
  if (flags['tls-insecure']) tls.rejectUnauthorized = false;
  return Object.keys(tls).length > 0 ? tls : undefined;
}

/** valkey-cli arguments for the --tls-* flags (paths made absolute against `cwd`). */
export function valkeyCliTlsArgs(flags: TlsFlags, cwd: string): string[] {
  const args: string[] = [];
  if (flags['tls-ca'] !== undefined) args.push('--cacert', resolve(cwd, flags['tls-ca']));
  if (flags['tls-cert'] !== undefined) args.push('--cert', resolve(cwd, flags['tls-cert']));
  if (flags['tls-key'] !== undefined) args.push('--key', resolve(cwd, flags['tls-key']));
  if (flags['tls-insecure']) args.push('--insecure');
  return args;
}

const TLS_FLAGS_HINT =
  'Check the TLS files: --tls-ca must be the CA that signed the server certificate (--tls-insecure skips ' +
  'the check, for testing only); servers with tls-auth-clients need --tls-cert and --tls-key';

const SENTINEL_FLAGS_HINT =
  "Check that the Sentinels are running and reachable, and their password and user: --sentinel-password-file / --sentinel-user, VALKEY_TOOLS_SENTINEL_PASSWORD / VALKEY_TOOLS_SENTINEL_USER, or the URL's sentinelPassword= / sentinelUsername=";

const AUTH_FLAGS_HINT =
  'Check the password and user: --password-file FILE / --user NAME, VALKEY_TOOLS_PASSWORD / VALKEY_TOOLS_USER, or the user and password in the URL (before its @)';

/**
 * A connection error's hint names the API options (tls.ca, tls.cert..., sentinelPassword, the
 * URL's password); a CLI user needs the flags. Other errors pass through unchanged.
 */
export function withFlagsHint(err: unknown): unknown {
  if (!ConnectionError.isInstance(err) || err.hint === undefined) return err;
  const hint = err.hint.includes('tls.ca')
    ? TLS_FLAGS_HINT
    : err.hint.includes('sentinelUsername / sentinelPassword')
      ? SENTINEL_FLAGS_HINT
      : err.hint.startsWith('Check the user name and password')
        ? AUTH_FLAGS_HINT
        : undefined;
  if (hint === undefined) return err;
  const message = err.message.slice(0, err.message.length - err.hint.length).trimEnd();
  return new ConnectionError(err.code, message.replace(/\.$/, ''), {
    cause: err.cause,
    details: err.details,
    hint,
  });
}
