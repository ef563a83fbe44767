import { serializeConfig } from '@valkey-tools/config';
import { describe, expect, it } from 'vitest';
import { buildServerConfig } from './server.js';

describe('buildServerConfig', () => {
  it('runs the preset in the foreground, logging to stdout, with our port and pid file', () => {
    const config = buildServerConfig({
      preset: 'spindb-default',
      port: 7001,
      host: '127.0.0.1',
      dir: '/data/s1',
      pidFile: '/data/s1/valkey.pid',
      platform: 'posix',
      config: { port: 1, daemonize: true, maxmemory: '1gb' },
    });
    expect(config).toMatchObject({
      port: 7001,
      bind: '127.0.0.1',
      dir: '/data/s1',
      daemonize: false,
      logfile: '',
      pidfile: '/data/s1/valkey.pid',
      maxmemory: '1gb',
    });
    expect(serializeConfig(config)).toMatch(/^logfile ""$/m);
  });

  it('puts a relative cluster nodes file in the node dir', () => {
    const config = buildServerConfig({
      preset: 'cluster-node',
      port: 7001,
      host: '127.0.0.1',
      dir: '/data/n1',
      pidFile: '/data/n1/valkey.pid',
      platform: 'posix',
      config: { 'cluster-config-file': 'nodes.conf' },
    });
    expect(config['cluster-config-file']).toBe('/data/n1/nodes.conf');
    expect(config['cluster-enabled']).toBe(true);
  });

  it('hands Cygwin paths to a Windows server and never writes daemonize', () => {
    const config = buildServerConfig({
      preset: 'spindb-default',
      port: 6379,
      host: '127.0.0.1',
      dir: 'C:\\Users\\me\\.valkey-tools\\servers\\a',
      pidFile: 'C:\\Users\\me\\.valkey-tools\\servers\\a\\valkey.pid',
      platform: 'win32',
      config: { 'cluster-config-file': 'D:\\nodes\\n.conf' },
    });
    expect(config.dir).toBe('/cygdrive/c/Users/me/.valkey-tools/servers/a');
    expect(config.pidfile).toBe('/cygdrive/c/Users/me/.valkey-tools/servers/a/valkey.pid');
    expect(config['cluster-config-file']).toBe('/cygdrive/d/nodes/n.conf');
    expect('daemonize' in config).toBe(false);
  });
});
