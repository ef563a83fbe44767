import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseConnectionUrl, redactUrl } from '@valkey-tools/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type CredentialFlags, connectionUrl, registerUrlSecrets } from './credentials.js';
import { type Io, Output } from './output.js';

const dir = mkdtempSync(join(tmpdir(), 'vt-credentials-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(env: NodeJS.ProcessEnv = {}): Io {
  const stdin = new PassThrough();
  stdin.end();
  return { stdin, stdout: new PassThrough(), stderr: new PassThrough(), env, cwd: dir };
}

/** The URL connectionUrl makes, parsed: where each of the four credentials ended up. */
async function resolve(url: string, flags: CredentialFlags, env: NodeJS.ProcessEnv = {}) {
  const streams = io(env);
  const out = new Output(streams, { json: false, verbose: false, noColor: true });
  return parseConnectionUrl(await connectionUrl(url, flags, streams, out, 'backup'));
}

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
};

const SENTINELS = 'valkey+sentinel://s1:26379,s2/mymaster';

describe('Sentinel credentials in connectionUrl', () => {
  it('takes each from the flag, then the URL, then the environment', async () => {
    const env = { VALKEY_TOOLS_SENTINEL_PASSWORD: 'env-sen-pw', VALKEY_TOOLS_SENTINEL_USER: 'env-sen' };
    // The Sentinels' own: environment < URL query < flags.
    const withQuery = `${SENTINELS}?sentinelPassword=url-sen-pw&sentinelUsername=url-sen`;
    expect((await resolve(SENTINELS, {}, env)).sentinel).toMatchObject({
      password: 'env-sen-pw',
      username: 'env-sen',
    });
    expect((await resolve(withQuery, {}, env)).sentinel).toMatchObject({
      password: 'url-sen-pw',
      username: 'url-sen',
    });
    const flags = {
      'sentinel-password-file': file('s.pw', 'file-sen-pw\nignored\n'),
      'sentinel-user': 'flag-sen',
    };
    expect((await resolve(withQuery, flags, env)).sentinel).toMatchObject({
      password: 'file-sen-pw',
      username: 'flag-sen',
    });
    // The servers' credentials keep their own flags and variables.
    const both = await resolve(
      withQuery,
      { 'password-file': file('p.pw', 'file-srv-pw\n') },
      { ...env, VALKEY_TOOLS_PASSWORD: 'env-srv-pw' },
    );
    expect(both).toMatchObject({ password: 'file-srv-pw', sentinel: { password: 'url-sen-pw' } });
  });

  it('refuses the Sentinel flags with another URL, and two password files on stdin', async () => {
    await expect(resolve('redis://127.0.0.1:6379', { 'sentinel-user': 'x' })).rejects.toMatchObject({
      name: 'CliError',
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining('--sentinel-user is only for Sentinel URLs'),
    });
    await expect(
      resolve(SENTINELS, { 'password-file': '-', 'sentinel-password-file': '-' }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    // The environment is ambient: with another URL it is left unused, not an error.
    const plain = await resolve(
      'redis://127.0.0.1:6379',
      {},
      { VALKEY_TOOLS_SENTINEL_PASSWORD: 'ambient-pw' },
    );
    expect(plain.sentinel).toBeUndefined();
  });

  it('registers the Sentinel password of a URL for redaction, and nothing of its hosts', () => {
    registerUrlSecrets(
      'valkey+sentinel://:srv%40pw9@10.9.8.7:26379,10.9.8.6:26380/mymaster?sentinelPassword=se@n+pw7',
    );
    expect(redactUrl('refused se@n pw7 and srv@pw9')).toBe('refused *** and ***');
    expect(redactUrl('asked 10.9.8.7:26379,10.9.8.6:26380/mymaster')).toBe(
      'asked 10.9.8.7:26379,10.9.8.6:26380/mymaster',
    );
  });
});
