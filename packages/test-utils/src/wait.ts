/**
 * Waiting in tests. No test decides anything by the clock: a wait ends on the event it waits for,
 * and its deadline only bounds a hang (generous, so a loaded machine never trips it) and then fails
 * saying what it waited for.
 */

/** What bounds a hang: a minute. */
export const HANG_TIMEOUT_MS = 120_000;

export interface WaitOptions {
  /** When to give up (default HANG_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Time between two checks (default 20 ms). */
  intervalMs?: number;
  /** More to say when it times out (the last state seen, a log tail). */
  detail?: () => string;
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function timeoutMessage(what: string, ms: number, detail?: () => string): string {
  let extra = '';
  try {
    extra = detail ? `: ${detail()}` : '';
  } catch (err) {
    extra = `: (detail failed: ${(err as Error).message})`;
  }
  return `timed out after ${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`} waiting for ${what}${extra}`;
}

/**
 * Checks `check` until it returns a truthy value and resolves with it. Fails when `check` throws, or
 * after the deadline with `timed out after N s waiting for <what>`.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? HANG_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new WaitTimeoutError(timeoutMessage(what, timeoutMs, options.detail));
    await sleep(options.intervalMs ?? 20);
  }
}

/**
 * `promise`, or a failure saying what did not finish once `timeoutMs` (default HANG_TIMEOUT_MS)
 * have passed. `onTimeout` runs first (kill what hangs).
 */
export function withDeadline<T>(
  what: string,
  promise: Promise<T>,
  options: { timeoutMs?: number; detail?: () => string; onTimeout?: () => void } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? HANG_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      options.onTimeout?.();
      reject(new WaitTimeoutError(timeoutMessage(what, timeoutMs, options.detail)));
    }, timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
