import { ValkeyToolsError, type ValkeyToolsErrorOptions } from '@valkey-tools/core';

export type RdbErrorCode =
  | 'ERR_RDB_BAD_MAGIC'
  | 'ERR_RDB_UNSUPPORTED_VERSION'
  | 'ERR_RDB_TRUNCATED'
  | 'ERR_RDB_BAD_LENGTH'
  | 'ERR_RDB_CHECKSUM'
  | 'ERR_RDB_UNKNOWN_TYPE'
  | 'ERR_RDB_UNKNOWN_OPCODE'
  | 'ERR_RDB_BAD_STRING'
  | 'ERR_RDB_CORRUPT_LZF'
  | 'ERR_RDB_CORRUPT_LISTPACK'
  | 'ERR_RDB_CORRUPT_ZIPLIST'
  | 'ERR_RDB_CORRUPT_INTSET'
  | 'ERR_RDB_CORRUPT_ZIPMAP'
  | 'ERR_RDB_CORRUPT_STREAM'
  | 'ERR_RDB_CORRUPT_MODULE'
  | 'ERR_RDB_CORRUPT_VALUE'
  | 'ERR_RDB_UNSUPPORTED_VALUE'
  | 'ERR_RDB_BAD_PAYLOAD'
  | 'ERR_RDB_BAD_RECORD'
  | 'ERR_RDB_DUPLICATE'
  | 'ERR_JSONL_PARSE';

export interface RdbErrorDetails {
  /** Absolute byte offset in the input where the problem was detected. */
  offset?: number;
  /** The key being read (raw bytes rendered as text, see `displayBytes`). */
  key?: string;
  /** File path, when reading a file. */
  file?: string;
  /** Line number (JSONL). */
  line?: number;
  [extra: string]: unknown;
}

/**
 * Every error raised while reading or writing RDB files, DUMP payloads and JSONL. `details.offset`
 * is the byte offset where the problem was found and `details.key` the key being read.
 */
export class RdbError extends ValkeyToolsError<RdbErrorCode> {
  static override readonly errorName = 'RdbError';
  declare readonly details: RdbErrorDetails;

  constructor(code: RdbErrorCode, message: string, options: ValkeyToolsErrorOptions = {}) {
    super(code, RdbError.decorate(message, options.details), options);
  }

  /** Adds "at offset N (key "k")" to a message, once. */
  private static decorate(message: string, details: Record<string, unknown> | undefined): string {
    if (!details) return message;
    const where: string[] = [];
    if (typeof details.file === 'string') where.push(`in ${details.file}`);
    if (typeof details.offset === 'number') where.push(`at byte offset ${details.offset}`);
    if (typeof details.line === 'number') where.push(`on line ${details.line}`);
    if (typeof details.key === 'string') where.push(`key ${JSON.stringify(details.key)}`);
    return where.length ? `${message} (${where.join(', ')})` : message;
  }

  /** True when `value` is an RdbError (works across duplicated package copies). */
  static isRdbError(value: unknown): value is RdbError {
    return ValkeyToolsError.isInstance(value) && (value as Error).name === 'RdbError';
  }
}
