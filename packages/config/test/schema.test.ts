import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReply, startTestServer, type TestServer } from '@valkey-tools/test-utils';
import { existsSync } from 'node:fs';
import {
  DIRECTIVES,
  getDirective,
  parseConfig,
  parseConfigFile,
  SCHEMA_SERVER_VERSION,
  serializeParsed,
  validateConfig,
} from '../src/index.js';
import { makeDir, removeDir, serverAccepts } from './helpers.js';

let server: TestServer;
let live: Map<string, string>;
const dir = makeDir();
beforeAll(async () => {
  server = await startTestServer();
  const list = parseReply(await server.command('CONFIG', 'GET', '*')) as string[];
  live = new Map();
  for (let i = 0; i < list.length; i += 2) live.set(list[i]!, list[i + 1]!);
});
afterAll(async () => {
  await server?.stop();
  removeDir(dir);
});

describe('directive table vs the installed valkey-server', () => {
  it('knows every directive the installed server reports in CONFIG GET *', () => {
    const missing = [...live.keys()].filter((name) => !getDirective(name));
    expect(missing, 'regenerate with: node packages/config/scripts/generate-schema.mjs').toEqual([]);
    expect(live.size).toBeGreaterThan(200);
  });

  it('was generated from the installed server version', async () => {
    const info = parseReply(await server.command('INFO', 'server')) as string;
    expect(/valkey_version:(\S+)/.exec(info)?.[1]).toBe(SCHEMA_SERVER_VERSION);
  });

  it('records the defaults the server reports for directives the harness leaves alone', () => {
    const harness = new Set([
      'port',
      'bind',
      'dir',
      'save',
      'logfile',
      'daemonize',
      'appendonly',
      'enable-debug-command',
    ]);
    const wrong = [...live]
      .filter(([name]) => !harness.has(name))
      .filter(([name, value]) => DIRECTIVES[name]!.default !== value)
      .map(([name, value]) => `${name}: table ${DIRECTIVES[name]!.default}, server ${value}`);
    expect(wrong).toEqual([]);
  });

  it('types the directives users reach for', () => {
    expect(getDirective('maxmemory')).toMatchObject({ type: 'memory', mutable: true });
    expect(getDirective('maxmemory-policy')?.values).toContain('allkeys-lru');
    expect(getDirective('port')).toMatchObject({ type: 'integer', min: '0', max: '65535' });
    expect(getDirective('daemonize')).toMatchObject({ type: 'bool', mutable: false });
    expect(getDirective('SLAVEOF')).toMatchObject({ aliasOf: 'replicaof', type: 'replicaof' });
    expect(getDirective('hash-max-ziplist-entries')?.aliasOf).toBe('hash-max-listpack-entries');
    expect(getDirective('lua-time-limit')?.aliasOf).toBe('busy-reply-threshold');
    expect(getDirective('save')).toMatchObject({ type: 'save', repeatable: true });
    expect(getDirective('dir')).toMatchObject({ protected: true });
  });

  it('the special directives it lists are accepted by the server in the form it writes', async () => {
    const text = [
      'rename-command FLUSHALL ""',
      'user alice on ">pass word" ~* +@all',
      'save 900 1',
      'save 300 10',
      'client-output-buffer-limit pubsub 32mb 8mb 60',
      'slaveof no one',
    ].join('\n');
    expect(await serverAccepts(`${text}\n`, dir)).toEqual({ ok: true, error: '' });
  });

  it('the shipped valkey.conf and redis.conf validate clean and survive parse -> serialize -> parse', () => {
    const files = ['/etc/valkey/valkey.conf', '/etc/redis/redis.conf'].filter((f) => existsSync(f));
    expect(files).toContain('/etc/valkey/valkey.conf');
    for (const file of files) {
      const parsed = parseConfigFile(file, { resolveIncludes: false });
      expect(parsed.directives.length).toBeGreaterThan(50);
      expect(validateConfig(parsed)).toEqual([]);
      const again = parseConfig(serializeParsed(parsed), { file });
      expect(again.directives.map((d) => [d.name, d.args])).toEqual(
        parsed.directives.map((d) => [d.name, d.args]),
      );
    }
  });
});
