import { describe, expect, it } from 'vitest';
import { selectIndexBackend } from './create-index.js';
import {
  defaultRedisIndexConfig,
  defaultValkeyIndexConfig,
  newRedisIndex,
  resolveIndexAddress,
} from './valkey-index.js';

describe('index config', () => {
  it('has llm-d defaults', () => {
    expect(defaultValkeyIndexConfig()).toEqual({ address: 'valkey://127.0.0.1:6379', backendType: 'valkey' });
    expect(defaultRedisIndexConfig()).toEqual({ address: 'redis://127.0.0.1:6379', backendType: 'redis' });
  });
  it('prefers Valkey over Redis over in-memory', () => {
    expect(selectIndexBackend({ redisConfig: {}, valkeyConfig: {}, inMemoryConfig: {} })).toBe('valkey');
    expect(selectIndexBackend({ redisConfig: {}, inMemoryConfig: {} })).toBe('redis');
    expect(selectIndexBackend({ inMemoryConfig: {} })).toBe('in-memory');
    expect(selectIndexBackend({})).toBe('in-memory');
  });
  it('normalizes every address form', () => {
    expect(resolveIndexAddress('valkey://h:1')).toMatchObject({
      scheme: 'redis',
      host: 'h',
      port: 1,
      tls: false,
    });
    expect(resolveIndexAddress('valkeys://h:2')).toMatchObject({ scheme: 'rediss', tls: true });
    expect(resolveIndexAddress('rediss://h:3')).toMatchObject({ scheme: 'rediss', tls: true });
    expect(resolveIndexAddress('unix:///run/valkey.sock')).toMatchObject({
      scheme: 'unix',
      path: '/run/valkey.sock',
    });
    expect(resolveIndexAddress('10.0.0.5:6380')).toMatchObject({
      scheme: 'redis',
      host: '10.0.0.5',
      port: 6380,
    });
    for (const scheme of ['valkey+sentinel', 'redis+sentinel', 'valkeys+sentinel'])
      expect(resolveIndexAddress(`${scheme}://:pw@s1:26379,s2/mymaster`)).toMatchObject({
        tls: scheme === 'valkeys+sentinel',
        password: 'pw',
        sentinel: {
          name: 'mymaster',
          nodes: [
            { host: 's1', port: 26379 },
            { host: 's2', port: 26379 },
          ],
        },
      });
    expect(() => resolveIndexAddress('')).toThrow(/empty/);
    expect(() => resolveIndexAddress('redis://h:99999')).toThrow(/port/);
  });
  it('validates backendType, enableRDMA, keyPrefix and ttl before connecting', async () => {
    await expect(newRedisIndex({ backendType: 'memcached' as 'redis' })).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
    });
    await expect(newRedisIndex({ enableRDMA: 'yes' as unknown as boolean })).rejects.toThrow(/enableRDMA/);
    await expect(newRedisIndex({ backendType: 'redis', enableRDMA: true })).rejects.toThrow(
      /backendType "valkey"/,
    );
    await expect(newRedisIndex({ keyPrefix: 'a{b}' })).rejects.toThrow(/keyPrefix/);
    await expect(newRedisIndex({ ttlSeconds: 0 })).rejects.toThrow(/ttlSeconds/);
  });
});
