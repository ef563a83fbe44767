import { ValkeyToolsError } from '@valkey-tools/core';

export type ConfigErrorCode =
  /** A directive name that cannot be written safely (whitespace, quotes, control characters). */
  | 'ERR_CONFIG_INVALID_NAME'
  /** A value the serializer cannot represent for its directive (wrong shape or type). */
  | 'ERR_CONFIG_INVALID_VALUE'
  /** An unknown preset name or bad preset options. */
  | 'ERR_CONFIG_PRESET'
  /** A config file that cannot be read. */
  | 'ERR_CONFIG_READ'
  /** A config file that cannot be written. */
  | 'ERR_CONFIG_WRITE'
  /** validateConfig found errors (thrown by assertValidConfig). */
  | 'ERR_CONFIG_INVALID'
  /** A live server could not be queried. */
  | 'ERR_CONFIG_SERVER';

/** Errors raised by @valkey-tools/config. `details` carries `file`, `line`, `directive` where known. */
export class ConfigError extends ValkeyToolsError<ConfigErrorCode> {
  static override readonly errorName = 'ConfigError';
}
