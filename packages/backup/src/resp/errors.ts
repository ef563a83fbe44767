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
  /** Could not connect / authenticate / talk to the server. */
  | 'ERR_CONNECTION'
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
