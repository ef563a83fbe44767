import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BackupError, type TlsFiles } from '@valkey-tools/backup';
import { ValkeyToolsError } from '@valkey-tools/core';

interface TlsFlags {
  'tls-ca'?: string | undefined;
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
  'tls-insecure'?: boolean;
}

/** TLS options from the --tls-* flags, or undefined when none is given. */
export function tlsFromFlags(flags: TlsFlags): TlsFiles | undefined {
  const tls: TlsFiles = {};
  if (flags['tls-ca'] !== undefined) tls.ca = flags['tls-ca'];
  if (flags['tls-cert'] !== undefined) tls.cert = flags['tls-cert'];
  if (flags['tls-key'] !== undefined) tls.key = flags['tls-key'];
  if (flags['tls-insecure']) tls.rejectUnauthorized = false;
  return Object.keys(tls).length > 0 ? tls : undefined;
}

/**
 * node:tls options for an iovalkey client (`{ tls: ... }`) from the --tls-* flags, the files read
 * (paths against `cwd`); undefined when none is given (a rediss:// URL then uses the system CAs).
 */
export function tlsClientOptions(flags: TlsFlags, cwd: string): Record<string, unknown> | undefined {
  const files = tlsFromFlags(flags);
  if (!files) return undefined;
  const read = (path: string | Buffer | undefined) =>
    typeof path === 'string' ? readFileSync(resolve(cwd, path)) : path;
  const tls: Record<string, unknown> = {};
  for (const name of ['ca', 'cert', 'key'] as const)
    if (files[name] !== undefined) tls[name] = read(files[name]);
  if (files.rejectUnauthorized === false) tls.rejectUnauthorized = false;
  return tls;
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

/**
 * The backup package's TLS hint names its API options (tls.ca, tls.cert...); a CLI user needs the
 * flags. Other errors pass through unchanged.
 */
export function withTlsFlagsHint(err: unknown): unknown {
  if (!ValkeyToolsError.isInstance(err) || !err.hint?.includes('tls.ca')) return err;
  const message = err.message.slice(0, err.message.length - err.hint.length).trimEnd();
  return new BackupError(
    err.code as ConstructorParameters<typeof BackupError>[0],
    message.replace(/\.$/, ''),
    {
      cause: err.cause,
      details: err.details,
      hint: TLS_FLAGS_HINT,
    },
  );
}
