import { ValkeyToolsError, type ValkeyToolsErrorOptions } from '@valkey-tools/core';

export type KvCacheErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_KEY_NOT_FOUND'
  | 'ERR_BACKEND'
  | 'ERR_CONNECTION'
  | 'ERR_CLOSED'
  | 'ERR_MALFORMED_EVENT'
  | 'ERR_BAD_REQUEST'
  | 'ERR_MISSING_DEPENDENCY';

/** Errors raised by @valkey-tools/kvcache-index. */
export class KvCacheError extends ValkeyToolsError<KvCacheErrorCode> {
  static override readonly errorName = 'KvCacheError';

  constructor(code: KvCacheErrorCode, message: string, options?: ValkeyToolsErrorOptions) {
    super(code, message, options);
  }
}

export function invalidArgument(
  message: string,
  details: Record<string, unknown>,
  hint?: string,
): KvCacheError {
  return new KvCacheError(
    'ERR_INVALID_ARGUMENT',
    message,
    hint === undefined ? { details } : { details, hint },
  );
}
