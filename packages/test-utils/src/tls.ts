import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files of a throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate. */
export interface TestCertificates {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * Makes a test CA and certificates with the system `openssl` (EC P-256 keys: fast), valid for one
 * day, the server one for IP 127.0.0.1, ::1 and DNS localhost. Files go to `dir` (default a temp dir).
 */
export function createTestCertificates(dir = mkdtempSync(join(tmpdir(), 'vt-certs-'))): TestCertificates {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=vt-test-ca',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n');
  for (const who of ['server', 'client']) {
    openssl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`);
    openssl(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${who}.crt`,
      '-days',
      '1',
      '-extfile',
      'san.ext',
    );
  }
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}

/** valkey.conf directives that serve TLS on `tlsPort` with these certificates. */
export function tlsServerConfig(
  certs: TestCertificates,
  tlsPort: number,
  options: { authClients?: boolean; replication?: boolean } = {},
): Record<string, string | number> {
  return {
    'tls-port': tlsPort,
    'tls-cert-file': certs.serverCert,
    'tls-key-file': certs.serverKey,
    'tls-ca-cert-file': certs.caCert,
    'tls-auth-clients': options.authClients === false ? 'no' : 'yes',
    ...(options.replication ? { 'tls-replication': 'yes' } : {}),
  };
}
