/**
 * A byte stream passed on unchanged while the structure walk (`fastVerify`: every check and the
 * CRC-64) reads it as it goes by, so a snapshot received over the network is checked without a
 * second pass over the file written from it.
 */
import { type FastVerifyResult, fastVerify } from './fast-verify.js';

/** Bytes received but not yet walked before the stream waits for the walk. */
const HIGH_WATER = 8 << 20;

/**
 * `chunks` yields what `src` yields; `result` settles once the stream ended: the walk's result,
 * or null when the walk gave up (unusual encodings, warnings, damage: check the file with
 * `verifyRdb` then, which reads everything and says what is wrong).
 */
export function checkingStream(src: AsyncIterable<Buffer>): {
  chunks: AsyncIterable<Buffer>;
  result: Promise<FastVerifyResult | null>;
} {
  const queue: Buffer[] = [];
  let head = 0;
  let queued = 0;
  let ended = false;
  let walked = false;
  let wakeWalk: (() => void) | undefined;
  let wakeSource: (() => void) | undefined;
  const wake = (which: 'walk' | 'source') => {
    const w = which === 'walk' ? wakeWalk : wakeSource;
    if (which === 'walk') wakeWalk = undefined;
    else wakeSource = undefined;
    w?.();
  };
  const read = async (into: Buffer, offset: number, length: number): Promise<number> => {
    while (queue.length === 0) {
      if (ended) return 0;
      await new Promise<void>((resolve) => {
        wakeWalk = resolve;
      });
    }
    let n = 0;
    while (n < length && queue.length > 0) {
      const b = queue[0]!;
      const take = Math.min(length - n, b.length - head);
      b.copy(into, offset + n, head, head + take);
      n += take;
      head += take;
      if (head === b.length) {
        queue.shift();
        head = 0;
      }
    }
    queued -= n;
    if (queued < HIGH_WATER / 2) wake('source');
    return n;
  };
  const result = fastVerify(read, undefined, {})
    .catch(() => null)
    .finally(() => {
      walked = true;
      queue.length = 0;
      wake('source');
    });
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const b of src) {
        if (!walked) {
          queue.push(b);
          queued += b.length;
          wake('walk');
          while (!walked && queued > HIGH_WATER) {
            await new Promise<void>((resolve) => {
              wakeSource = resolve;
            });
          }
        }
        yield b;
      }
    } finally {
      ended = true;
      wake('walk');
    }
  }
  return { chunks: chunks(), result };
}
