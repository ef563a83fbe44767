import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ValkeyConfigInput, untypedDirectives } from './input.js';
import { mergeConfigs, preset } from './presets.js';
import { serializeConfig } from './serialize.js';
import { validateConfig } from './validate.js';

describe('ValkeyConfigInput is typed per directive', () => {
  it('accepts the documented forms', () => {
    const config = {
      maxmemory: '256mb',
      'maxmemory-policy': 'allkeys-lru',
      'maxmemory-clients': '10%',
      appendonly: true,
      'active-expire-effort': 3,
      save: [
        [900, 1],
        [300, 10],
      ],
      replicaof: { host: '10.0.0.1', port: 6379 },
      'client-output-buffer-limit': [
        { class: 'pubsub', hardLimit: '32mb', softLimit: '8mb', softSeconds: 60 },
      ],
      'shutdown-on-sigterm': ['nosave', 'now'],
      'module.option': 'anything',
    } satisfies ValkeyConfigInput;
    expect(validateConfig(config, { allow: ['module.option'] })).toEqual([]);
    expect(serializeConfig(config, { header: false })).toContain('shutdown-on-sigterm nosave now\n');
  });

  it('rejects wrong shapes at compile time, and the validator rejects them at run time', () => {
    // @ts-expect-error not an eviction policy
    const badEnum: ValkeyConfigInput = { 'maxmemory-policy': 'lru' };
    // @ts-expect-error not a memory size
    const badMemory: ValkeyConfigInput = { maxmemory: '1 terabyte' };
    // @ts-expect-error yes/no only
    const badBool: ValkeyConfigInput = { appendonly: 'maybe' };
    expect(validateConfig(badEnum).map((i) => i.code)).toEqual(['bad-enum']);
    expect(validateConfig(badMemory).map((i) => i.code)).toEqual(['wrong-type']);
    expect(validateConfig(badBool).map((i) => i.code)).toEqual(['wrong-type']);
  });

  it('presets compose with overrides; undefined removes a directive', () => {
    const config = mergeConfigs(preset('cache', { port: 7000, platform: 'linux' }), {
      maxmemory: '1gb',
      bind: undefined,
    });
    expect(config).toMatchObject({ port: 7000, maxmemory: '1gb', 'maxmemory-policy': 'allkeys-lru' });
    expect('bind' in config).toBe(false);
    const replica = mergeConfigs(preset('replica', { platform: 'linux' }), {
      slaveof: '10.0.0.9 6379',
      ...untypedDirectives({ MAXMEMORY: '1mb' }),
    });
    expect(replica).not.toHaveProperty('replicaof');
    expect(replica).toMatchObject({ slaveof: '10.0.0.9 6379', MAXMEMORY: '1mb' });
    expect(validateConfig(replica)).toEqual([]);
    expect(validateConfig(config)).toEqual([]);
  });

  it('a misspelled directive fails to compile for a user of the package; module configs and untypedDirectives() are the ways out', async () => {
    const packageDir = fileURLToPath(new URL('..', import.meta.url));
    const dir = mkdtempSync(join(packageDir, '.tsc-probe-'));
    try {
      // Imports the package by its name (its published types), as a user's project would.
      writeFileSync(
        join(dir, 'user.ts'),
        [
          "import { mergeConfigs, preset, untypedDirectives, type ValkeyConfigInput } from '@valkey-tools/config';",
          "export const typo = mergeConfigs(preset('cache'), { maxmemroy: '1gb' });",
          "export const wrongValue: ValkeyConfigInput = { 'maxmemory-policy': 'lru' };",
          "export const moduleConfig: ValkeyConfigInput = { 'search.timeout': 500, maxmemory: '1gb' };",
          "export const newer = mergeConfigs(preset('cache'), untypedDirectives({ 'new-directive': 'yes' }));",
          '',
        ].join('\n'),
      );
      const tsc = join(packageDir, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
      const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
      const result = await promisify(execFile)(process.execPath, [tsc, ...args, join(dir, 'user.ts')], {
        cwd: dir,
      }).then(
        () => ({ stdout: '' }),
        (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
      );
      const errors = result.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
      // Exactly the two mistakes, on their lines; the module config and the escape hatch compile.
      expect(errors, result.stdout).toHaveLength(2);
      expect(errors[0]).toMatch(/user\.ts\(2,\d+\).*'maxmemroy'.*Did you mean.*'maxmemory'/);
      expect(errors[1]).toMatch(/user\.ts\(3,\d+\).*"lru"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
