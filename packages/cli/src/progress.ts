import { formatBytes, formatCount, formatDuration } from './output.js';

export type ProgressUnit = 'bytes' | 'keys';

export interface ProgressState {
  done: number;
  total?: number | undefined;
  /** Seconds since the start. */
  elapsed: number;
  /** Shown after the totals (a cluster's nodes, each with its own amount). */
  detail?: string | undefined;
}

export interface ProgressBar {
  /** Records how far the work is (and `detail`, shown after it); redraws at most ~10 times a second. */
  update(done: number, total?: number, detail?: string): void;
  /** Clears the bar (the caller prints the summary). */
  finish(): void;
}

const BAR_WIDTH = 24;

/**
 * One progress line: `label [#####-----]  42% 12.0 MB / 28.6 MB  4.10 MB/s  ETA 4s`.
 * Without a total: `label 12,345 keys  2,100 keys/s`.
 */
export function renderProgress(
  label: string,
  unit: ProgressUnit,
  state: ProgressState,
  columns = 80,
): string {
  const amount = (n: number) => (unit === 'bytes' ? formatBytes(n) : `${formatCount(Math.round(n))} keys`);
  const rateValue = state.elapsed > 0 ? state.done / state.elapsed : 0;
  const rate =
    unit === 'bytes' ? `${formatBytes(rateValue)}/s` : `${formatCount(Math.round(rateValue))} keys/s`;
  let line: string;
  if (state.total !== undefined && state.total > 0) {
    const fraction = Math.min(1, state.done / state.total);
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const eta = rateValue > 0 ? formatDuration((state.total - state.done) / rateValue) : '?';
    line = `${label} ${bar} ${percent} ${amount(state.done)} / ${amount(state.total)}  ${rate}  ETA ${eta}`;
  } else {
    line = `${label} ${amount(state.done)}  ${rate}`;
  }
  if (state.detail) line += `  ${state.detail}`;
  return line.length > columns - 1 ? line.slice(0, columns - 1) : line;
}

/**
 * A progress bar on stderr, drawn only when stderr is a terminal (never in pipes, CI logs or
 * files), so scripts see nothing but the final result.
 */
export function createProgress(
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  label: string,
  unit: ProgressUnit,
  options: { enabled?: boolean; now?: () => number } = {},
): ProgressBar {
  const enabled = options.enabled ?? stderr.isTTY === true;
  if (!enabled) return { update() {}, finish() {} };
  const now = options.now ?? (() => performance.now());
  const start = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  let total: number | undefined;
  return {
    update(done, newTotal, detail) {
      if (newTotal !== undefined) total = newTotal;
      const t = now();
      if (t - lastDraw < 100 && !(total !== undefined && done >= total)) return;
      lastDraw = t;
      drawn = true;
      const line = renderProgress(
        label,
        unit,
        { done, total, elapsed: (t - start) / 1000, detail },
        // A terminal that reports 0 columns (some CI ptys) gets the default width, not a line cut short.
        stderr.columns || 80,
      );
      stderr.write(`\r\x1b[2K${line}`);
    },
    finish() {
      if (drawn) stderr.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

/**
 * A cluster's nodes for a progress line, each with its amount: `:7000 1.20 MB  :7001 1.18 MB`
 * (the host left out when every node has the same one). Undefined for a single node.
 */
export function nodesDetail(nodes: ReadonlyArray<{ node: string; amount: string }>): string | undefined {
  if (nodes.length < 2) return undefined;
  const host = (n: string) => n.slice(0, n.lastIndexOf(':'));
  const sameHost = nodes.every((n) => host(n.node) === host(nodes[0]!.node));
  return nodes
    .map((n) => `${sameHost ? n.node.slice(n.node.lastIndexOf(':')) : n.node} ${n.amount}`)
    .join('  ');
}
