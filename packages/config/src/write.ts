import { writeFileAtomicSync } from '@valkey-tools/core';
import { ConfigError } from './errors.js';
import type { ValkeyConfigInput } from './input.js';
import { type SerializeOptions, serializeConfig } from './serialize.js';

export interface WriteConfigOptions extends SerializeOptions {
  /** File mode (default `0o600`: configs hold passwords). */
  mode?: number;
}

/**
 * Writes a config file atomically: the text goes to a temporary file in the same directory, is
 * flushed to disk, then renamed over `path`, so a crash never leaves a half-written valkey.conf.
 * Created with mode 0600 unless told otherwise (`requirepass`, `masterauth` and ACL users live here).
 */
export function writeConfigFile(
  path: string,
  config: ValkeyConfigInput | string,
  options: WriteConfigOptions = {},
): void {
  const text = typeof config === 'string' ? config : serializeConfig(config, options);
  try {
    writeFileAtomicSync(path, text, { mode: options.mode ?? 0o600 });
  } catch (cause) {
    throw new ConfigError(
      'ERR_CONFIG_WRITE',
      `Cannot write config file ${path}: ${(cause as Error).message}`,
      {
        cause,
        details: { file: path },
        hint: 'Check that the directory exists and is writable',
      },
    );
  }
}
