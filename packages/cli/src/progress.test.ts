import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatTable } from './output.js';
import { createProgress, nodesDetail, renderProgress } from './progress.js';

describe('progress', () => {
  it('renders bytes with a bar, percent, rate and ETA', () => {
    const line = renderProgress('backup', 'bytes', {
      done: 5 * 1024 * 1024,
      total: 20 * 1024 * 1024,
      elapsed: 2,
    });
    expect(line).toBe('backup [######------------------]  25% 5.00 MB / 20.0 MB  2.50 MB/s  ETA 6s');
  });
  it('renders keys without a total as a count and a rate', () => {
    expect(renderProgress('restore', 'keys', { done: 12345, elapsed: 5 })).toBe(
      'restore 12,345 keys  2,469 keys/s',
    );
  });
  it('shows each node of a cluster after the totals', () => {
    const detail = nodesDetail([
      { node: '127.0.0.1:7000', amount: '1.00 MB' },
      { node: '127.0.0.1:7001', amount: '2.00 MB done' },
    ]);
    expect(detail).toBe(':7000 1.00 MB  :7001 2.00 MB done');
    expect(
      nodesDetail([
        { node: 'a:1', amount: '1' },
        { node: 'b:2', amount: '2' },
      ]),
    ).toBe('a:1 1  b:2 2');
    expect(nodesDetail([{ node: 'a:1', amount: '1' }])).toBeUndefined();
    expect(renderProgress('restore', 'keys', { done: 10, elapsed: 1, detail }, 200)).toBe(
      'restore 10 keys  10 keys/s  :7000 1.00 MB  :7001 2.00 MB done',
    );
  });
  it('fits the terminal width', () => {
    const line = renderProgress('x'.repeat(100), 'keys', { done: 1, total: 2, elapsed: 1 }, 40);
    expect(line.length).toBe(39);
  });
  it('draws only on a TTY, throttled, and clears its line', () => {
    const writes: string[] = [];
    const stream = {
      isTTY: false,
      write: (s: string) => writes.push(s) > 0,
    } as unknown as NodeJS.WritableStream;
    const quiet = createProgress(stream, 'x', 'bytes');
    quiet.update(1, 2);
    quiet.finish();
    expect(writes).toEqual([]);
    let t = 0;
    const tty = Object.assign(stream, { isTTY: true, columns: 80 });
    const bar = createProgress(tty, 'x', 'bytes', { now: () => t });
    bar.update(1, 10);
    t = 50;
    bar.update(2); // throttled
    t = 200;
    bar.update(10); // complete: always drawn
    bar.finish();
    expect(writes).toHaveLength(3);
    expect(writes[1]).toContain('100%');
    expect(writes[2]).toBe('\r\x1b[2K');
  });
  it('draws the whole line on a terminal that reports 0 columns', () => {
    const writes: string[] = [];
    const tty = { isTTY: true, columns: 0, write: (s: string) => writes.push(s) > 0 };
    const bar = createProgress(tty as unknown as NodeJS.WritableStream, 'restoring', 'bytes', {
      now: () => 0,
    });
    bar.update(5, 10);
    expect(writes[0]).toMatch(/ETA \S+$/);
    expect(writes[0]).toBe(
      `\r\x1b[2K${renderProgress('restoring', 'bytes', { done: 5, total: 10, elapsed: 0 })}`,
    );
  });
});

describe('formatting', () => {
  it('formats bytes, durations and tables', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 KB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MB');
    expect(formatDuration(59.6)).toBe('1m00s');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(
      formatTable(
        ['NAME', 'PORT'],
        [
          ['dev', '6379'],
          ['a-long-name', '7000'],
        ],
      ),
    ).toEqual(['NAME         PORT', 'dev          6379', 'a-long-name  7000']);
  });
});
