import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { untypedDirectives } from './input.js';
import { preset } from './presets.js';
import { serializeConfig } from './serialize.js';

describe('serializeConfig', () => {
  it('writes the spindb-default template line for line', () => {
    const text = serializeConfig(
      preset('spindb-default', { port: 6390, dir: '/data/x', platform: 'linux' }),
      {
        header: false,
      },
    );
    expect(text).toBe(
      [
        'port 6390',
        'bind 127.0.0.1',
        'dir /data/x',
        'daemonize yes',
        'logfile /data/x/valkey.log',
        'pidfile /data/x/valkey.pid',
        'save 900 1',
        'save 300 10',
        'save 60 10000',
        'dbfilename dump.rdb',
        'appendonly no',
        '',
      ].join('\n'),
    );
  });

  it('never writes daemonize on Windows, and honours an override on Unix', () => {
    const win = serializeConfig(preset('spindb-default', { platform: 'win32', dir: 'C:\\data' }));
    expect(win).not.toMatch(/daemonize/);
    // the Windows build of valkey-server is a Cygwin program: paths in /cygdrive form by default
    expect(win).toContain(
      'dir /cygdrive/c/data\nlogfile /cygdrive/c/data/valkey.log\npidfile /cygdrive/c/data/valkey.pid\n',
    );
    const native = serializeConfig(
      preset('spindb-default', { platform: 'win32', dir: 'C:\\data', windowsPaths: 'native' }),
    );
    expect(native).toContain('logfile "C:\\\\data\\\\valkey.log"');
    const fg = serializeConfig(preset('spindb-default', { platform: 'darwin', daemonize: false }));
    expect(fg).toContain('daemonize no');
  });

  it('writes multi-argument and repeatable forms', () => {
    const text = serializeConfig(
      {
        save: '',
        'client-output-buffer-limit': [
          { class: 'replica', hardLimit: '256mb', softLimit: '64mb', softSeconds: 60 },
          ['pubsub', '32mb', '8mb', 60],
        ],
        replicaof: { host: '10.0.0.1', port: 6379 },
        'rename-command': { FLUSHALL: '', CONFIG: 'CONFIG_x' },
        bind: ['127.0.0.1', '::1'],
        user: ['alice on >s3cret ~* +@all', ['bob', 'on', '>pass word']],
        loadmodule: [['/m/a.so', 'arg 1']],
      },
      { header: false },
    );
    expect(text.split('\n')).toEqual([
      'save ""',
      'client-output-buffer-limit replica 256mb 64mb 60',
      'client-output-buffer-limit pubsub 32mb 8mb 60',
      'replicaof 10.0.0.1 6379',
      'rename-command FLUSHALL ""',
      'rename-command CONFIG CONFIG_x',
      'bind 127.0.0.1 ::1',
      'user alice on >s3cret ~* +@all',
      'user bob on ">pass word"',
      'loadmodule /m/a.so "arg 1"',
      '',
    ]);
  });

  it('cannot be tricked into writing a second directive', () => {
    const text = serializeConfig(
      { masterauth: 'x\nrequirepass pwned', logfile: 'a" "b' },
      { header: 'multi\nline' },
    );
    expect(text.split('\n')).toEqual([
      '# multi',
      '# line',
      '',
      'masterauth "x\\nrequirepass pwned"',
      'logfile "a\\" \\"b"',
      '',
    ]);
    expect(() => serializeConfig(untypedDirectives({ 'port 1\nrequirepass x': 1 }))).toThrow(ConfigError);
    expect(() => serializeConfig({ save: [[1, -1]] as never })).toThrow(/save/);
  });
});
