/**
 * A byte stream passed on unchanged while the structure walk (`walkRdb`: every check and the
 * CRC-64) reads it as it goes by, so a snapshot received over the network is checked without a
 * second pass over the file written from it.
 */
import { type WalkResult, walkRdb } from './walk.js';

/**
 * Bytes received but not yet walked at which the walk is abandoned (`result` null): the stream is
 * never held back for it (a replication source drops a replica that reads too slowly).
 */
const BEHIND_LIMIT = 64 << 20;

/**
 * `chunks` yields what `src` yields, as fast as `src` gives it; `result` settles once the stream
 * ended: the walk's result, or null when the walk gave up (unusual encodings, warnings, damage)
 * or fell 64 MiB behind: check the file with `verifyRdb` then, which reads everything and says
 * what is wrong.
 */
export function checkingStream(src: AsyncIterable<Buffer>): {
  chunks: AsyncIterable<Buffer>;
  result: Promise<WalkResult | null>;
} {
  const queue: Buffer[] = [];
  let head = 0;
  let queued = 0;
  let ended = false;
  let walked = false;
  let wakeWalk: (() => void) | undefined;
  const wake = () => {
    const w = wakeWalk;
    wakeWalk = undefined;
    w?.();
  };
  let abandoned = false;
  const read = async (into: Buffer, offset: number, length: number): Promise<number> => {
    while (queue.length === 0) {
      if (abandoned) throw new Error('the walk fell behind the stream');
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
    return n;
  };
  const result = walkRdb(read, undefined, {})
    .catch(() => null)
    .finally(() => {
      walked = true;
      queue.length = 0;
    });
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const b of src) {
        if (!walked && !abandoned) {
          if (queued + b.length > BEHIND_LIMIT) {
            abandoned = true;
            queue.length = 0;
          } else {
            queue.push(b);
            queued += b.length;
          }
          wake();
        }
        yield b;
      }
    } finally {
      ended = true;
      wake();
    }
  }
  return { chunks: chunks(), result };
}
