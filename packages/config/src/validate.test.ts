import { describe, expect, it } from 'vitest';
import { parseConfig } from './parse.js';
import { PRESET_NAMES, preset } from './presets.js';
import { validateConfig } from './validate.js';

const codes = (text: string) =>
  validateConfig(parseConfig(text, { file: 't.conf' })).map((i) => `${i.severity}:${i.code}:${i.line}`);

describe('validateConfig', () => {
  it('says where a trailing comment went wrong', () => {
    const [issue] = validateConfig(parseConfig('port 6379 # the port\n'));
    expect(issue).toMatchObject({ code: 'wrong-arity', line: 1 });
    expect(issue!.hint).toMatch(/own line/);
  });

  it('warns about settings that do nothing and rejects a replica of itself', () => {
    expect(codes('daemonize yes\n')).toEqual(['warning:conflict:1']);
    expect(codes('daemonize yes\nlogfile /tmp/v.log\n')).toEqual([]);
    expect(codes('unixsocketperm 700\n')).toEqual(['warning:conflict:1']);
    expect(codes('port 7000\nreplicaof 127.0.0.1 7000\n')).toEqual(['error:conflict:2']);
    expect(codes('port 7000\nreplicaof 127.0.0.1 7001\n')).toEqual([]);
    expect(codes('port 0\n')).toEqual(['error:conflict:1']);
    expect(codes('hz 1000\n')).toEqual(['warning:out-of-range:1']);
    expect(codes('tls-port 6380\n')).toEqual(['error:conflict:1', 'error:conflict:1']);
  });

  it('checks ACL users and renamed commands like the server', () => {
    expect(codes('user alice on >pw ~* +@all\nuser bob off\n')).toEqual([]);
    expect(codes('user alice on +@nosuch\n')).toEqual(['error:wrong-type:1']);
    expect(codes('user alice on\nuser alice off\n')).toEqual(['error:duplicate:2']);
    expect(codes('user alice allkeys ~foo\n')).toEqual(['error:wrong-type:1']);
    expect(codes('rename-command CONFIG ""\nrename-command CONFIG x\n')).toEqual(['error:bad-enum:2']);
    expect(codes('rename-command GET SET\n')).toEqual(['error:conflict:1']);
    expect(codes('rename-command flushall wipe\nrename-command wipe gone\n')).toEqual([]);
  });

  it('accepts every preset as it comes', () => {
    for (const name of PRESET_NAMES) {
      const options = name === 'tls' ? { tls: { certFile: '/c.crt', keyFile: '/c.key' } } : {};
      expect([
        name,
        validateConfig(preset(name, { platform: 'linux', logfile: '/tmp/x.log', ...options })),
      ]).toEqual([name, []]);
    }
  });
});
