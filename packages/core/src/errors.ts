const MARKER = Symbol.for('@valkey-tools/error');

export interface ValkeyToolsErrorOptions {
  cause?: unknown;
  /** Structured facts about where the error happened (file, line, offset, key, url...). */
  details?: Record<string, unknown>;
  /** What the user can do about it. Appended to the message. */
  hint?: string;
}

/**
 * Base class of every error thrown by @valkey-tools packages.
 *
 * `code` is stable and typed per package; `name` is stable; `isInstance` works even when
 * two copies of a package are installed (it checks a global symbol, not the prototype chain).
 */
export class ValkeyToolsError<Code extends string = string> extends Error {
  readonly [MARKER] = true;
  override readonly name: string = 'ValkeyToolsError';
  readonly code: Code;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;

  constructor(code: Code, message: string, options: ValkeyToolsErrorOptions = {}) {
    // "message. hint", without a second full stop after a message that ends its own sentence.
    const joined = options.hint ? `${message}${/[.?!]$/.test(message) ? '' : '.'} ${options.hint}` : message;
    super(joined, { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.hint = options.hint;
  }

  static isInstance(value: unknown): value is ValkeyToolsError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }

  /** True when `value` is a ValkeyToolsError carrying `code`. */
  static hasCode<C extends string>(value: unknown, code: C): value is ValkeyToolsError<C> {
    return ValkeyToolsError.isInstance(value) && value.code === code;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.details };
  }
}

export type CoreErrorCode =
  | 'ERR_INVALID_URL'
  | 'ERR_INVALID_VERSION'
  | 'ERR_UNSUPPORTED_PLATFORM'
  | 'ERR_INVALID_PATH'
  | 'ERR_WRITE_FILE';

/** Errors raised by @valkey-tools/core helpers. */
export class CoreError extends ValkeyToolsError<CoreErrorCode> {
  override readonly name = 'CoreError';
}
