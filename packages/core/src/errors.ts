const MARKER = Symbol.for('@valkey-tools/error');

export interface ValkeyToolsErrorOptions {
  cause?: unknown;
  /** Structured facts about where the error happened (file, line, offset, key, url...). */
  details?: Record<string, unknown>;
  /** What the user can do about it. Appended to the message. */
  hint?: string;
}

/** A ValkeyToolsError class (the base or a package's subclass). */
type ErrorClass = abstract new (...args: never[]) => ValkeyToolsError;

/**
 * Base class of every error thrown by @valkey-tools packages.
 *
 * `code` is stable and typed per package; `name` is the class's `errorName`. `isInstance` is exact
 * per class (`BinariesError.isInstance(aCoreError)` is false; `ValkeyToolsError.isInstance` takes
 * any of ours) and works when two copies of a package are installed: it checks a global symbol and
 * the name, not the prototype chain.
 */
export class ValkeyToolsError<Code extends string = string> extends Error {
  /** The `name` of this class's errors; each subclass sets its own. */
  static readonly errorName: string = 'ValkeyToolsError';
  readonly [MARKER] = true;
  override readonly name: string;
  readonly code: Code;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;

  constructor(code: Code, message: string, options: ValkeyToolsErrorOptions = {}) {
    // "message. hint", without a second full stop after a message that ends its own sentence.
    const joined = options.hint ? `${message}${/[.?!]$/.test(message) ? '' : '.'} ${options.hint}` : message;
    super(joined, { cause: options.cause });
    this.name = (new.target as unknown as typeof ValkeyToolsError).errorName;
    this.code = code;
    this.details = options.details ?? {};
    this.hint = options.hint;
  }

  /** True when `value` is an error of this class (of any of ours, called on ValkeyToolsError). */
  static isInstance<T extends ErrorClass>(this: T, value: unknown): value is InstanceType<T> {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass the method is called on
    return isErrorOf(this, value);
  }

  /** True when `value` is an error of this class carrying `code`. */
  static hasCode<T extends ErrorClass, C extends string>(
    this: T,
    value: unknown,
    code: C,
  ): value is InstanceType<T> & { code: C } {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass the method is called on
    return isErrorOf(this, value) && (value as ValkeyToolsError).code === code;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.details };
  }
}

function isErrorOf(cls: ErrorClass, value: unknown): boolean {
  if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[MARKER] !== true)
    return false;
  const wanted = (cls as unknown as typeof ValkeyToolsError).errorName;
  return wanted === ValkeyToolsError.errorName || (value as Error).name === wanted;
}

export type CoreErrorCode =
  | 'ERR_INVALID_URL'
  | 'ERR_INVALID_VERSION'
  | 'ERR_UNSUPPORTED_PLATFORM'
  | 'ERR_INVALID_PATH'
  | 'ERR_WRITE_FILE';

/** Errors raised by @valkey-tools/core helpers. */
export class CoreError extends ValkeyToolsError<CoreErrorCode> {
  static override readonly errorName = 'CoreError';
}
