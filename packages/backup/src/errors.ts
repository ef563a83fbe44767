import { ValkeyToolsError, type ValkeyToolsErrorOptions } from '@valkey-tools/core';

export type BackupErrorCode =
  /** A RESP stream (`.valkey`/`.resp`/AOF) is malformed: details carry file, byte offset, command index. */
  | 'ERR_RESP_SYNTAX'
  /** The stream ended in the middle of a command (an interrupted write, a truncated AOF). */
  | 'ERR_RESP_TRUNCATED'
  /** A readable (one command per line) file has a line that cannot be parsed. */
  | 'ERR_READABLE_SYNTAX'
  /** A command in a RESP/AOF source cannot be turned into records (offline conversion). */
  | 'ERR_UNSUPPORTED_COMMAND'
  /** The input or output format cannot be told from the file name, or the pair is not supported. */
  | 'ERR_FORMAT'
  /** An AOF directory or manifest is missing, malformed or names missing files. */
  | 'ERR_AOF_MANIFEST'
  /** The server refused the replication handshake (e.g. managed services); use mode: 'scan'. */
  | 'ERR_REPLICATION'
  /** The server answered a command with an error. */
  | 'ERR_SERVER_REPLY'
  /** Restore stopped on the first failed key (onError: 'stop'). */
  | 'ERR_RESTORE'
  /** The caller aborted the operation (AbortSignal). */
  | 'ERR_ABORTED'
  /**
   * A restore's input holds a command that is not data (ACL, CONFIG, EVAL, FLUSHALL...) or that
   * spans keys (RENAME, SMOVE...): refused, with its position, before anything was sent.
   */
  | 'ERR_REFUSED_COMMAND'
  /** Bad option combination or value. */
  | 'ERR_INVALID_OPTION'
  /** A value cannot be represented in the target (e.g. multi-db data into a cluster). */
  | 'ERR_UNSUPPORTED';

/** Errors raised by @valkey-tools/backup live backup, restore, RESP/AOF codecs and conversions. */
export class BackupError extends ValkeyToolsError<BackupErrorCode> {
  static override readonly errorName = 'BackupError';
  constructor(code: BackupErrorCode, message: string, options?: ValkeyToolsErrorOptions) {
    super(code, message, options);
  }
}

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
}

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
