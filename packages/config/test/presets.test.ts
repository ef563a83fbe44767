import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import {
  type ConfigFileServer,
  createTestCertificates,
  freeClusterPorts,
  freePort,
  startWithConfigFile,
} from '@valkey-tools/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import {
  expectedLiveValues,
  inputToDirectives,
  PRESET_NAMES,
  type PresetOptions,
  preset,
  serializeConfig,
  validateConfig,
} from '../src/index.js';
import { makeDir, removeDir } from './helpers.js';

const servers: ConfigFileServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) removeDir(d);
});

function makeCerts(dir: string): { certFile: string; keyFile: string; caCertFile: string } {
  const certs = createTestCertificates(dir);
  return { certFile: certs.serverCert, keyFile: certs.serverKey, caCertFile: certs.caCert };
}

async function startPreset(name: (typeof PRESET_NAMES)[number], extra: PresetOptions = {}) {
  const dir = realpathSync(makeDir());
  dirs.push(dir);
  // A cluster node also listens on port + 10000 (its bus): both must be free and below the ephemeral range.
  const port = name === 'cluster-node' ? await freeClusterPorts(1) : await freePort();
  const options: PresetOptions = { port, dir, daemonize: false, ...extra };
  if (name === 'tls') options.tls = { ...makeCerts(dir), port: await freePort() };
  if (name === 'replica') options.primary = { host: '127.0.0.1', port: 1 };
  const config = preset(name, options);
  // the tls preset turns the plain port off; the test keeps one to ask CONFIG GET over
  if (name === 'tls') config.port = port;
  expect(validateConfig(config).filter((i) => i.severity === 'error')).toEqual([]);
  const server = await startWithConfigFile(serializeConfig(config), { dir, port });
  servers.push(server);
  return { config, server, dir };
}

describe.concurrent('presets on a real valkey-server', () => {
  for (const name of PRESET_NAMES) {
    it(`${name}: CONFIG GET returns the intended value of every directive written`, async () => {
      const { config, server } = await startPreset(name);
      const live = await server.configGet('*');
      const expected = expectedLiveValues(inputToDirectives(config));
      expect(expected.size).toBeGreaterThanOrEqual(Object.keys(config).length - 1);
      for (const [directive, { value }] of expected)
        expect({ directive, value: live.get(directive) }).toEqual({ directive, value });
    });
  }

  it('tls: the server speaks TLS on tls-port and requires a client certificate', async () => {
    const { config } = await startPreset('tls');
    const port = Number(config['tls-port']);
    const ca = readFileSync(String(config['tls-ca-cert-file']));
    const ping = (withCert: boolean) =>
      new Promise<string>((resolve) => {
        const socket = tlsConnect({
          host: '127.0.0.1',
          port,
          ca,
          servername: 'localhost',
          checkServerIdentity: () => undefined,
          ...(withCert
            ? {
                cert: readFileSync(String(config['tls-cert-file'])),
                key: readFileSync(String(config['tls-key-file'])),
              }
            : {}),
        });
        let data = '';
        socket.on('secureConnect', () => socket.write('PING\r\n'));
        socket.on('data', (d) => {
          data += d.toString();
          if (data.includes('\r\n')) socket.end();
        });
        socket.on('error', (err) => resolve(`error: ${err.message}`));
        socket.on('close', () => resolve(data));
      });
    expect(await ping(true)).toBe('+PONG\r\n');
    expect(await ping(false)).not.toBe('+PONG\r\n');
  });

  it('spindb-default daemonizes on Unix and writes its pid and log files', async () => {
    const { server, dir } = await startPreset('spindb-default', { daemonize: true });
    const live = await server.configGet('daemonize');
    expect(live.get('daemonize')).toBe('yes');
    expect(Number(readFileSync(join(dir, 'valkey.pid'), 'utf8'))).toBe(server.pid);
    expect(existsSync(join(dir, 'valkey.log'))).toBe(true);
  });
});
