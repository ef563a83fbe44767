/**
 * Worker thread: the second half of a big RDB file (see `rdb/halves.ts`). It finds the first
 * record boundary at or past `hint` (a walk that only finds where records end), says where
 * (`{ boundary, db }`), then walks from there to the end with every check, converting straight to
 * `.valkey` or JSONL into `split.spillPath` (a new private file) when asked. Ends with `{ done }`
 * (counts, the file's stored checksum and the CRC of the bytes from the boundary on, for the
 * caller to combine with its own), `{ fallback }` (the walk gave up, or a key needs the record
 * reader: the caller reads the whole file that way) or `{ error }`.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { WalkResult } from '../rdb/walk.js';
import type { RdbHeader } from '../rdb/header.js';
import type { SpanEncoder } from '../rdb/direct.js';
import { DirectFallback, type HalfJob, type SplitMessage, type SplitOptions } from '../rdb/halves.js';
import { encodeDump } from '../rdb/dump.js';
import { walkRdbSource } from '../rdb/inspect.js';
import { RdbToJsonl } from '../jsonl/rdb-to-jsonl.js';
import { RdbToResp, type RdbToRespOptions } from '../resp/rdb-to-resp.js';

/** The encoder options `rdbFileToResp` hands over (plain data: `dumpPayload` says "encodeDump"). */
type RespSpec = Omit<RdbToRespOptions, 'commands' | 'header'> & {
  commands: Omit<RdbToRespOptions['commands'], 'dumpPayload'> & { dumpPayload: boolean };
};

const job = workerData as HalfJob;
const post = (m: SplitMessage) => parentPort!.postMessage(m);

function encoderFor(spec: SplitOptions['encoder']): SpanEncoder {
  if (spec.format === 'jsonl') return new RdbToJsonl();
  const options = spec.options as RespSpec;
  const { dumpPayload, ...commands } = options.commands;
  return new RdbToResp({
    ...options,
    commands: { ...commands, ...(dumpPayload ? { dumpPayload: encodeDump } : {}) },
  });
}

const FOUND = new Error('found the boundary');

/**
 * The first record boundary at or past the hint, and the db there, found by a walk from the start
 * that only finds where records end (about 1/6 of a checked walk's time).
 */
async function walkToBoundary(
  onHeader: (header: RdbHeader) => void,
): Promise<{ boundary: number; db: number } | null> {
  let found: { boundary: number; db: number } | null = null;
  try {
    await walkRdbSource(job.path, {
      shallow: true,
      checksum: false,
      onHeader,
      onKey: (span) => {
        const end = span.base + span.valueEnd;
        if (end < job.hint) return;
        found = { boundary: end, db: span.db };
        throw FOUND;
      },
    });
  } catch (err) {
    if (err !== FOUND) throw err;
  }
  return found;
}

async function main(): Promise<void> {
  let header: RdbHeader | undefined;
  const at = await walkToBoundary((h) => {
    header = h;
  });
  if (!at || !header) {
    post({ boundary: null });
    return;
  }
  const { boundary, db } = at;
  // The spill file exists before the boundary is told: the other side may stop there at once
  // and start reading it. One that cannot be made means no split (the other side goes alone).
  let fd: number;
  try {
    fd = openSync(
      job.split.spillPath,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
      0o600,
    );
  } catch {
    post({ boundary: null });
    return;
  }
  post({ boundary, db });
  const resume = { offset: boundary, header, db };
  const done = (result: WalkResult, keys: number) =>
    post({
      done: {
        keys,
        functions: result.functions,
        dbs: result.dbs,
        bytes: result.bytes,
        checksum: result.checksum,
        trailer: result.trailer ?? null,
        crc: result.partialCrc ?? null,
      },
    });

  let read = 0;
  try {
    const enc = encoderFor(job.split.encoder);
    enc.continueInDb?.(db);
    let written = 0;
    const flush = () => {
      const out = enc.out;
      for (let at = 0; at < out.pos; ) at += writeSync(fd, out.buf, at, out.pos - at);
      written += out.pos;
      out.pos = 0;
      post({ progress: { bytes: read, keys: enc.keys, written } });
    };
    const flushAt = 256 << 10;
    const result = await walkRdbSource(job.path, {
      resume,
      keepLzf: true,
      onKey: (span) => {
        const wait = enc.key(span);
        if (wait) return wait.then(() => (enc.out.pos >= flushAt ? flush() : undefined));
        if (enc.out.pos >= flushAt) flush();
        return undefined;
      },
      onFunction: (code) => enc.fn(code),
      onRead: (n) => {
        read = n;
      },
    });
    if (result === null) {
      post({ fallback: 'the walk gave up' });
      return;
    }
    flush();
    done(result, enc.keys);
  } finally {
    closeSync(fd);
  }
}

main().catch((err: unknown) => {
  if (err instanceof DirectFallback) post({ fallback: err.message });
  else {
    const e = err as NodeJS.ErrnoException;
    post({ error: { message: e?.message ?? String(err), ...(e?.code ? { code: e.code } : {}) } });
  }
});
