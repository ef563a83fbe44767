/** Where the package reports what happened (gaps, skipped events, fallbacks). */
export interface Logger {
  debug(message: string, details?: Record<string, unknown>): void;
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

const noop = () => {};

/** Warnings and errors to stderr; debug/info dropped. */
export const defaultLogger: Logger = {
  debug: noop,
  info: noop,
  warn: (message, details) => console.warn(`[kvcache-index] ${message}`, details ?? ''),
  error: (message, details) => console.error(`[kvcache-index] ${message}`, details ?? ''),
};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
