import { open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RdbOpcode } from '../rdb/constants.js';
import { Crc64, crc64, crc64Combine } from '../rdb/crc64.js';
import { readPreamble, type SnapshotPreamble } from '../rdb/walk.js';
import { rdbLengthSize, writeRdbLength } from '../rdb/numbers.js';
import { BackupError } from '../errors.js';

/** One primary's snapshot, as its replication stream delivers it. */
export interface SnapshotSource {
  /** `host:port`, for messages. */
  name: string;
  bytes: AsyncIterable<Buffer>;
}

export interface MergeOptions {
  /** AUX fields for the merged file's header (`redis-ver`...). */
  aux?: Record<string, string>;
  /** Told each node's key count (its RESIZEDB hint) as its snapshot ends, checked. */
  onNodeDone?: (index: number, keys: number) => void;
  /** Called when the merge ends early (a failure, or the consumer stopped): closes the sources. */
  abort?: () => void;
  /**
   * A new path for a snapshot that waits its turn (all but the first are written there as they
   * arrive, then copied into the output). Default: a file in the OS temp folder.
   */
  spillPath?: () => string;
  /** Bytes of the waiting snapshots kept in memory (all together) before they go to spill files. Default 32 MiB. */
  holdBytes?: number;
}

/** Thrown when a snapshot holds what the merge does not take (module AUX data...): merge by records instead. */
export const MERGE_GAVE_UP = new Error('the snapshots need the record reader to be merged');

/** Output bytes waiting for the file before the first snapshot's socket is left unread. */
const HIGH_WATER = 16 << 20;
/** A snapshot's preamble (AUX fields, function libraries) bigger than this is not taken. */
const MAX_PREAMBLE = 64 << 20;
/** Bytes after a snapshot's keys: the EOF opcode and the CRC-64. */
const TRAILER = 9;
const SPILL_READ = 1 << 20;
/** The waiting snapshots' bytes kept in memory (all together); what comes after goes to spill files. */
const HOLD_IN_MEMORY = 32 << 20;
const EOF_CRC = crc64(Buffer.from([RdbOpcode.EOF]));

/**
 * Merges the snapshots of every primary of a cluster into one RDB file, all read at once, without
 * looking at a key: the merged file is a header of its own (the `aux` fields and the first
 * primary's function libraries: every primary holds the same), then each snapshot's keys as the
 * snapshot has them, from its first SELECTDB to its EOF (its RESIZEDB hint and `slot-info` AUX
 * fields come along: hints the server reads wherever they are), then EOF and a CRC-64. The first
 * snapshot goes to the output as it arrives; the others wait in memory (32 MiB for all of them)
 * and beyond that in spill files, and are copied after it. Each snapshot's CRC-64 is checked over
 * its bytes as they arrive (a connection that broke or a server that wrote garbage never passes:
 * `ERR_REPLICATION`) and the merged file's is combined from those (`crc64Combine`): every byte is
 * hashed once. Throws `MERGE_GAVE_UP` when a snapshot holds something before its keys the merge
 * does not take (module AUX data, no RESIZEDB hint). A node's key count is its first db's RESIZEDB
 * hint (a cluster has db 0 only).
 */
export async function* mergeSnapshots(
  sources: SnapshotSource[],
  options: MergeOptions = {},
): AsyncGenerator<Buffer> {
  const iters = sources.map((s) => s.bytes[Symbol.asyncIterator]());
  /** Each waiting snapshot's bytes: in memory while all of them together hold little, then in a file. */
  const spills: Array<{ path: string; file: FileHandle | null; held: Buffer[] }> = [];
  let heldBytes = 0;
  const holdBytes = options.holdBytes ?? HOLD_IN_MEMORY;
  let failure: unknown;
  let complete = false;
  /** The first snapshot's bytes, ready for the output. */
  const ready: Buffer[] = [];
  let readyBytes = 0;
  let wake: (() => void) | null = null;
  let paused: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const pumps: Array<Promise<{ crc: bigint; length: number; keys: number }>> = [];
  try {
    // Every snapshot is asked for at once (a source connects and sends SYNC when first read): the
    // primaries fork and start sending together, as parallel `valkey-cli --rdb`s would.
    const heads = await Promise.all(
      iters.map(async (it) => {
        let head: Buffer = Buffer.alloc(0);
        for (;;) {
          const preamble = readPreamble(head);
          if (preamble !== 'more') return { head, preamble };
          if (head.length > MAX_PREAMBLE) return { head, preamble: null };
          const r = await it.next();
          if (r.done) return { head, preamble: null };
          head = head.length ? Buffer.concat([head, r.value]) : r.value;
        }
      }),
    );
    // Every snapshot starts with the same magic and version (a cluster runs one server version).
    const magic = heads[0]!.head.subarray(0, 9);
    for (const [i, { head }] of heads.entries()) {
      if (head.length < 9 || !head.subarray(0, 9).equals(magic)) {
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
    if (heads.some((h) => h.preamble === null)) throw MERGE_GAVE_UP;

    // The merged file's header.
    const parts: Buffer[] = [Buffer.from(magic)];
    const field = (b: Buffer) => {
      const len = Buffer.allocUnsafe(rdbLengthSize(b.length));
      writeRdbLength(len, 0, b.length);
      parts.push(len, b);
    };
    for (const [k, v] of Object.entries(options.aux ?? {})) {
      parts.push(Buffer.from([RdbOpcode.AUX]));
      field(Buffer.from(k, 'latin1'));
      field(Buffer.from(v, 'latin1'));
    }
    for (const code of (heads[0]!.preamble as SnapshotPreamble).functions) {
      parts.push(Buffer.from([RdbOpcode.FUNCTION2]));
      field(code);
    }
    const prefix = Buffer.concat(parts);

    for (let i = 1; i < sources.length; i++) {
      const path =
        options.spillPath?.() ?? join(tmpdir(), `.vt-merge-${process.pid}-${randomBytes(8).toString('hex')}`);
      spills.push({ path, file: null, held: [] });
    }
    for (const [i, { head, preamble }] of heads.entries()) {
      const p = preamble as SnapshotPreamble;
      pumps.push(
        pump(i, head, p, async (b) => {
          if (i === 0) {
            ready.push(b);
            readyBytes += b.length;
            signal();
            if (readyBytes > HIGH_WATER) await new Promise<void>((r) => (paused = r));
          } else {
            const spill = spills[i - 1]!;
            if (spill.file === null && heldBytes + b.length <= holdBytes) {
              spill.held.push(b);
              heldBytes += b.length;
              return;
            }
            spill.file ??= await open(spill.path, 'wx+', 0o600);
            await spill.file.write(b);
          }
        }),
      );
      pumps[i]!.catch((err) => {
        failure ??= err;
        signal();
      });
    }

    yield prefix;
    // The first snapshot, as it arrives.
    let first = false;
    pumps[0]!.then(
      () => {
        first = true;
        signal();
      },
      () => {},
    );
    for (;;) {
      while (ready.length > 0) {
        const b = ready.shift()!;
        readyBytes -= b.length;
        yield b;
      }
      if (failure) throw failure;
      const go = paused as (() => void) | null;
      paused = null;
      go?.();
      if (first && ready.length === 0) break;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
    // The others, from their spill files.
    for (let i = 1; i < sources.length; i++) {
      await pumps[i];
      const spill = spills[i - 1]!;
      while (spill.held.length > 0) {
        const b = spill.held.shift()!;
        heldBytes -= b.length;
        yield b;
      }
      const file = spill.file;
      spill.file = null;
      if (!file) continue;
      try {
        let at = 0;
        for (;;) {
          const b = Buffer.allocUnsafe(SPILL_READ);
          const { bytesRead } = await file.read(b, 0, SPILL_READ, at);
          if (bytesRead === 0) break;
          at += bytesRead;
          yield b.subarray(0, bytesRead);
        }
      } finally {
        await file.close();
      }
    }
    // The merged file's CRC-64, from its parts'.
    let crc = crc64(prefix);
    for (const p of pumps) {
      const body = await p;
      crc = crc64Combine(crc, body.crc, body.length);
    }
    crc = crc64Combine(crc, EOF_CRC, 1);
    const trailer = Buffer.alloc(TRAILER);
    trailer[0] = RdbOpcode.EOF;
    trailer.writeBigUInt64LE(crc, 1);
    yield trailer;
    complete = true;
  } finally {
    if (!complete) options.abort?.();
    const go = paused as (() => void) | null;
    go?.();
    await Promise.allSettled(pumps);
    for (const spill of spills) {
      await spill.file?.close().catch(() => {});
      await rm(spill.path, { force: true });
    }
  }

  /**
   * Reads snapshot `i` to its end, handing its keys' bytes (from the first SELECTDB to the EOF)
   * to `sink`; checks its CRC-64 and resolves with the CRC and length of those bytes and the key
   * count of its RESIZEDB hint.
   */
  async function pump(
    i: number,
    head: Buffer,
    preamble: SnapshotPreamble,
    sink: (b: Buffer) => Promise<void>,
  ): Promise<{ crc: bigint; length: number; keys: number }> {
    const it = iters[i]!;
    const hash = new Crc64();
    let length = 0;
    /** The last bytes seen: they may be the trailer. */
    let held: Buffer = head.subarray(preamble.bodyStart);
    const take = async (b: Buffer) => {
      if (b.length === 0) return;
      hash.update(b);
      length += b.length;
      await sink(b);
    };
    for (;;) {
      if (failure) throw failure;
      const r = await it.next();
      if (r.done) break;
      const c = r.value;
      if (c.length >= TRAILER) {
        await take(held);
        await take(c.subarray(0, c.length - TRAILER));
        held = c.subarray(c.length - TRAILER);
      } else {
        const joined = Buffer.concat([held, c]);
        const cut = Math.max(0, joined.length - TRAILER);
        await take(joined.subarray(0, cut));
        held = joined.subarray(cut);
      }
    }
    if (held.length > TRAILER) {
      await take(held.subarray(0, held.length - TRAILER));
      held = held.subarray(held.length - TRAILER);
    }
    const name = sources[i]!.name;
    if (held.length !== TRAILER || held[0] !== RdbOpcode.EOF) {
      throw new BackupError('ERR_REPLICATION', `the snapshot of ${name} does not end with an RDB trailer`, {
        details: { node: name },
        hint: 'The server may have failed to produce the snapshot (check its log); run the backup again',
      });
    }
    const stored = held.readBigUInt64LE(1);
    const bodyCrc = hash.digest();
    if (stored !== 0n) {
      const whole = crc64Combine(
        crc64Combine(crc64(head.subarray(0, preamble.bodyStart)), bodyCrc, length),
        EOF_CRC,
        1,
      );
      if (whole !== stored) {
        throw new BackupError(
          'ERR_REPLICATION',
          `the snapshot of ${name} fails its CRC-64 check (stored ${stored.toString(16)}, computed ${whole.toString(16)})`,
          {
            details: { node: name },
            hint: 'The bytes were damaged on the way; run the backup again',
          },
        );
      }
    }
    options.onNodeDone?.(i, preamble.keys);
    return { crc: bodyCrc, length, keys: preamble.keys };
  }
}
