import type { TlsFiles } from '@valkey-tools/backup';

/** TLS options from the --tls-* flags, or undefined when none is given. */
export function tlsFromFlags(flags: {
  'tls-ca'?: string | undefined;
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
  'tls-insecure'?: boolean;
}): TlsFiles | undefined {
  const tls: TlsFiles = {};
  if (flags['tls-ca'] !== undefined) tls.ca = flags['tls-ca'];
  if (flags['tls-cert'] !== undefined) tls.cert = flags['tls-cert'];
  if (flags['tls-key'] !== undefined) tls.key = flags['tls-key'];
  if (flags['tls-insecure']) tls.rejectUnauthorized = false;
  return Object.keys(tls).length > 0 ? tls : undefined;
}
