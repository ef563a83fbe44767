import { ValkeyToolsError } from '@valkey-tools/core';

export type CliErrorCode =
  | 'ERR_UNKNOWN_COMMAND'
  | 'ERR_UNKNOWN_FLAG'
  | 'ERR_MISSING_ARGUMENT'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_NOT_FOUND'
  | 'ERR_FILE_EXISTS'
  | 'ERR_FILE'
  | 'ERR_INVALID_INPUT'
  | 'ERR_NOT_AVAILABLE'
  | 'ERR_FAILED';

/** Codes that mean "the command line is wrong": exit code 2 and a pointer to --help. */
const USAGE_CODES: ReadonlySet<string> = new Set<CliErrorCode>([
  'ERR_UNKNOWN_COMMAND',
  'ERR_UNKNOWN_FLAG',
  'ERR_MISSING_ARGUMENT',
  'ERR_INVALID_ARGUMENT',
]);

/** Errors raised by the CLI itself (bad command lines, unknown server names, files in the way). */
export class CliError extends ValkeyToolsError<CliErrorCode> {
  static override readonly errorName = 'CliError';
}

/** A wrong command line; `command` is the command whose --help the message points at. */
export function usageError(
  code: Extract<
    CliErrorCode,
    'ERR_UNKNOWN_COMMAND' | 'ERR_UNKNOWN_FLAG' | 'ERR_MISSING_ARGUMENT' | 'ERR_INVALID_ARGUMENT'
  >,
  message: string,
  command?: string,
): CliError {
  return new CliError(code, message, { details: command === undefined ? {} : { command } });
}

export function isUsageError(err: unknown): err is CliError {
  // Only the CLI's own errors: a package may use the same code for a bad API argument.
  return ValkeyToolsError.isInstance(err) && err.name === 'CliError' && USAGE_CODES.has(err.code);
}

export const EXIT_OK = 0;
/** The operation failed or found problems. */
export const EXIT_FAILED = 1;
/** The command line was wrong. */
export const EXIT_USAGE = 2;
/** Interrupted by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** The one place errors become exit codes. */
export function exitCodeFor(err: unknown): number {
  return isUsageError(err) ? EXIT_USAGE : EXIT_FAILED;
}
