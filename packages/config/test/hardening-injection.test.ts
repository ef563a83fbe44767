import { realpathSync } from 'node:fs';
import { freePort, startWithConfigFile } from '@valkey-tools/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, serializeConfig, type ValkeyConfigInput, validateConfig } from '../src/index.js';
import { makeDir, removeDir } from './helpers.js';

/**
 * Classic injection payloads in config values (newlines, quotes, escapes, NUL) are written so
 * that a real valkey-server reads exactly that value and nothing else: CONFIG GET shows the
 * value byte for byte and the directives the payload tries to set keep their defaults.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

const PAYLOADS = [
  'x\nenable-debug-command yes',
  'x\r\nprotected-mode no\r\n',
  'x" \nmaxmemory 1mb\n"',
  "x' \nmaxmemory 1mb\n'",
  'x\\" appendonly yes',
  'x\\nappendonly yes',
  '"quoted" \'single\' \\backslash\\',
  ' leading and trailing ',
  '#not a comment',
  'include /etc/passwd',
];

describe('config values cannot inject directives (real server)', () => {
  it('each payload round-trips exactly through serializeConfig -> valkey-server -> CONFIG GET', {
    timeout: 120_000,
  }, async () => {
    const dir = realpathSync(makeDir('vt-config-inject-'));
    dirs.push(dir);
    for (const [i, payload] of PAYLOADS.entries()) {
      const port = await freePort();
      const config: ValkeyConfigInput = {
        port,
        bind: '127.0.0.1',
        dir,
        daemonize: false,
        logfile: '',
        save: '',
        masteruser: payload,
        'syslog-ident': payload,
        primaryauth: `${payload}\0tail`,
      };
      const text = serializeConfig(config);
      // Our own reader sees one directive per key.
      const names = parseConfig(text).directives.map((d) => d.canonical);
      expect(
        names.filter((n) => n === 'primaryuser'),
        `#${i}`,
      ).toHaveLength(1);
      expect(names, `#${i}`).not.toContain('enable-debug-command');
      expect(names, `#${i}`).not.toContain('maxmemory');
      expect(names, `#${i}`).not.toContain('appendonly');
      const server = await startWithConfigFile(text, { dir, port });
      try {
        const live = await server.configGet('*');
        const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
        expect(live.get('primaryuser') ?? live.get('masteruser'), `#${i}`).toBe(latin1(payload));
        expect(live.get('syslog-ident'), `#${i}`).toBe(latin1(payload));
        expect(live.get('primaryauth') ?? live.get('masterauth'), `#${i}`).toBe(latin1(`${payload}\0tail`));
        expect(live.get('enable-debug-command'), `#${i}`).toBe('no');
        expect(live.get('protected-mode'), `#${i}`).toBe('yes');
        expect(live.get('maxmemory'), `#${i}`).toBe('0');
        expect(live.get('appendonly'), `#${i}`).toBe('no');
      } finally {
        await server.stop();
      }
    }
  });

  it('a NUL byte in a text-only directive stays one directive and the validator flags it', () => {
    const parsed = parseConfig(serializeConfig({ requirepass: 'secret\0port 1' }));
    expect(parsed.directives.map((d) => d.canonical)).toEqual(['requirepass']);
    const issues = validateConfig(parsed);
    expect(issues.some((x) => x.directive === 'requirepass' && /NUL/.test(x.message))).toBe(true);
  });
});
