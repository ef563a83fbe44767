import { ValkeyToolsError, type ValkeyToolsErrorOptions } from '@valkey-tools/core';

export type MemoryErrorCode =
  /** An option of the memory analysis is out of range or of the wrong kind. */
  | 'ERR_MEMORY_OPTION'
  /** The record stream is not what an RDB reader yields (e.g. a key part without its beginning). */
  | 'ERR_MEMORY_RECORDS'
  /** The snapshot file cannot be opened (missing, a directory, no permission). */
  | 'ERR_MEMORY_INPUT';

/** Errors raised by the memory analysis of snapshots. */
export class MemoryError extends ValkeyToolsError<MemoryErrorCode> {
  static override readonly errorName = 'MemoryError';
  constructor(code: MemoryErrorCode, message: string, options?: ValkeyToolsErrorOptions) {
    super(code, message, options);
  }
}
