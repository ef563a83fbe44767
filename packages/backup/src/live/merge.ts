import { RdbOpcode } from '../rdb/constants.js';
import { Crc64 } from '../rdb/crc64.js';
import { fastVerify, type KeySpan, readerFromChunks } from '../rdb/fast-verify.js';
import { BackupError } from '../errors.js';
import { copyBytes } from '../resp/encode.js';

/** One primary's snapshot, as its replication stream delivers it. */
export interface SnapshotSource {
  /** `host:port`, for messages. */
  name: string;
  bytes: AsyncIterable<Buffer>;
}

export interface MergeOptions {
  /** AUX fields for the merged file's header (`redis-ver`...). */
  aux?: Record<string, string>;
  /** Told each node's key count as its snapshot ends. */
  onNodeDone?: (index: number, keys: number) => void;
  /** Called when the merge ends early (a failure, or the consumer stopped): closes the sources. */
  abort?: () => void;
}

/** Thrown when a snapshot has what the walk does not take (module values...): merge by records instead. */
export const MERGE_GAVE_UP = new Error('the snapshots need the record reader to be merged');

const CHUNK = 1 << 20;
/** Output bytes waiting for the file before the walks pause. */
const HIGH_WATER = 16 << 20;

/**
 * Merges the snapshots of every primary of a cluster into one RDB file as they arrive, all read at
 * once: each key's value is copied as the snapshot encodes it (never decoded), with its expiry,
 * LRU/LFU and key framed anew. Every snapshot is walked to where each value ends and its CRC-64 checked;
 * the merged file gets its own CRC-64. Function libraries are taken from the first primary (every
 * primary holds the same). Yields the file's bytes; throws `MERGE_GAVE_UP` when a snapshot needs
 * the record reader.
 */
export async function* mergeSnapshots(
  sources: SnapshotSource[],
  options: MergeOptions = {},
): AsyncGenerator<Buffer> {
  // Every snapshot starts with the same magic and version (a cluster runs one server version).
  const iters = sources.map((s) => s.bytes[Symbol.asyncIterator]());
  // Every snapshot is asked for at once (a source connects and sends SYNC when first read): the
  // primaries fork and start sending together, as parallel `valkey-cli --rdb`s would.
  const heads = await Promise.all(
    iters.map(async (it) => {
      let head = Buffer.alloc(0);
      while (head.length < 9) {
        const r = await it.next();
        if (r.done) break;
        head = Buffer.concat([head, r.value]);
      }
      return head;
    }),
  );
  for (const [i, head] of heads.entries()) {
    if (head.length < 9 || !head.subarray(0, 9).equals(heads[0]!.subarray(0, 9))) {
      throw new BackupError(
        'ERR_REPLICATION',
        `the snapshot of ${sources[i]!.name} does not start like the others (${JSON.stringify(head.toString('latin1', 0, 9))})`,
        {
          details: { node: sources[i]!.name },
          hint: 'Run the backup again; every primary must run the same server version',
        },
      );
    }
  }

  const crc = new Crc64();
  const ready: Buffer[] = [];
  let readyBytes = 0;
  let chunk = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  let wake: (() => void) | null = null;
  /** Walks waiting for the file to take what is ready. */
  const paused: Array<() => void> = [];
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const seal = () => {
    if (pos === 0) return;
    const out = chunk.subarray(0, pos);
    crc.update(out);
    ready.push(out);
    readyBytes += pos;
    chunk = Buffer.allocUnsafe(CHUNK);
    pos = 0;
    signal();
  };
  const room = (n: number) => {
    if (pos + n <= chunk.length) return;
    seal();
    if (n > chunk.length) chunk = Buffer.allocUnsafe(n);
  };
  const u8 = (v: number) => {
    chunk[pos++] = v;
  };
  const len = (n: number) => {
    if (n < 64) chunk[pos++] = n;
    else if (n < 16384) {
      chunk[pos++] = 0x40 | (n >> 8);
      chunk[pos++] = n & 0xff;
    } else if (n <= 0xffffffff) {
      chunk[pos++] = 0x80;
      chunk.writeUInt32BE(n, pos);
      pos += 4;
    } else {
      chunk[pos++] = 0x81;
      chunk.writeBigUInt64BE(BigInt(n), pos);
      pos += 8;
    }
  };
  const str = (b: Buffer, start: number, end: number) => {
    len(end - start);
    pos += copyBytes(b, start, end, chunk, pos);
  };
  const text = (s: string) => {
    const b = Buffer.from(s, 'latin1');
    str(b, 0, b.length);
  };

  room(9 + 1024);
  pos += heads[0]!.copy(chunk, 0, 0, 9);
  for (const [k, v] of Object.entries(options.aux ?? {})) {
    u8(RdbOpcode.AUX);
    text(k);
    text(v);
  }
  let db = -1;
  /** A SELECTDB when the records that follow are in another db than the ones before. */
  const select = (to: number) => {
    if (to === db) return;
    u8(RdbOpcode.SELECTDB);
    len(to);
    db = to;
  };
  /** A record framed anew: its expiry, LRU/LFU and key (when its own bytes are gone from the window). */
  const reframe = (span: KeySpan): void => {
    const keyLen = span.keyEnd - span.keyStart;
    room(32 + keyLen + (span.valueEnd - span.valueStart));
    select(span.db);
    if (span.expiresAt !== undefined) {
      u8(RdbOpcode.EXPIRETIME_MS);
      chunk.writeBigInt64LE(BigInt(span.expiresAt), pos);
      pos += 8;
    }
    if (span.lruIdle !== undefined) {
      u8(RdbOpcode.IDLE);
      len(span.lruIdle);
    }
    if (span.lfuFreq !== undefined) {
      u8(RdbOpcode.FREQ);
      u8(span.lfuFreq & 0xff);
    }
    u8(span.type);
    str(span.keyBuf, span.keyStart, span.keyEnd);
    pos += copyBytes(span.buf, span.valueStart, span.valueEnd, chunk, pos);
    if (pos >= CHUNK / 2) seal();
  };
  /**
   * Records that follow each other in one snapshot's window, copied as the snapshot has them
   * (expiry, LRU/LFU, type, key and value at once): `buf[start, end)`, all in `db`. Anything
   * between two records (a `slot-info` AUX field before each slot's keys, a SELECTDB) ends a run
   * and is left out, as before.
   */
  interface Run {
    buf: Buffer | null;
    start: number;
    end: number;
    db: number;
  }
  const RUN_BYTES = CHUNK / 4;
  const flushRun = (run: Run): void => {
    if (run.buf === null) return;
    room(16 + run.end - run.start);
    select(run.db);
    pos += copyBytes(run.buf, run.start, run.end, chunk, pos);
    run.buf = null;
    if (pos >= CHUNK / 2) seal();
  };
  const onKey = (run: Run, span: KeySpan): void | Promise<void> => {
    if (run.buf === span.buf && span.recordStart === run.end && span.db === run.db) run.end = span.valueEnd;
    else {
      flushRun(run);
      if (span.recordStart >= 0) {
        run.buf = span.buf;
        run.start = span.recordStart;
        run.end = span.valueEnd;
        run.db = span.db;
      } else reframe(span);
    }
    if (run.end - run.start >= RUN_BYTES) flushRun(run);
    if (readyBytes > HIGH_WATER) return new Promise<void>((r) => paused.push(r));
  };

  let failure: unknown;
  let complete = false;
  let running = sources.length;
  const walks = iters.map(async (it, i) => {
    async function* chunks(): AsyncGenerator<Buffer> {
      yield heads[i]!;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    }
    const run: Run = { buf: null, start: 0, end: 0, db: 0 };
    try {
      const walked = await fastVerify(readerFromChunks(chunks()), undefined, {
        checksum: true,
        // The server made it and its CRC-64 proves it arrived whole: only find where values end.
        shallow: true,
        onKey: (span) => onKey(run, span),
        // The window is about to be reused: what the run points at goes out first.
        onWindow: () => flushRun(run),
        onFunction: (code) => {
          flushRun(run);
          if (i !== 0) return;
          room(16 + code.length);
          u8(RdbOpcode.FUNCTION2);
          str(code, 0, code.length);
        },
      });
      if (!walked) throw MERGE_GAVE_UP;
      flushRun(run);
      if (walked.checksum === 'ok' || walked.checksum === 'disabled' || walked.checksum === 'absent')
        options.onNodeDone?.(i, walked.keys);
      else throw MERGE_GAVE_UP;
    } catch (err) {
      failure ??= err;
      // The other walks stop at their next read (their sources are closed by the caller).
    } finally {
      running--;
      signal();
    }
  });

  try {
    for (;;) {
      while (ready.length > 0) {
        const b = ready.shift()!;
        readyBytes -= b.length;
        yield b;
      }
      if (failure) throw failure;
      // Everything ready went to the file: the paused walks go on.
      for (const go of paused.splice(0)) go();
      if (running === 0) break;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
    if (failure) throw failure;
    room(1);
    u8(RdbOpcode.EOF);
    seal();
    while (ready.length > 0) yield ready.shift()!;
    yield crc.digestBytes();
    complete = true;
  } finally {
    if (!complete) options.abort?.();
    for (const go of paused.splice(0)) go();
    await Promise.allSettled(walks);
  }
}
