/**
 * Worker thread: the second half of a big RDB file converted straight to `.valkey` or JSONL (see
 * `rdbFileToChunks`). It finds the first record boundary at or past `hint` (a walk that only
 * finds where records end), says where (`{ boundary, db }`), then converts from there to the end
 * with every check the walk makes, writing into `spillPath` (a new private file). Ends with
 * `{ done }` (the file's stored checksum and the CRC of the bytes from the boundary on, for the
 * caller to combine with its own),
 * `{ fallback }` (the walk gave up, or a key needs the record reader: convert the whole file
 * that way) or `{ error }`.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { RdbHeader } from '../rdb/header.js';
import { DirectFallback, type SpanEncoder, type SplitMessage } from '../rdb/direct.js';
import { encodeDump } from '../rdb/dump.js';
import { fastVerifySource } from '../rdb/inspect.js';
import { RdbToJsonl } from '../jsonl/rdb-to-jsonl.js';
import { RdbToResp, type RdbToRespOptions } from '../resp/rdb-to-resp.js';

interface Job {
  path: string;
  hint: number;
  spillPath: string;
  encoder:
    | {
        format: 'resp';
        options: Omit<RdbToRespOptions, 'commands' | 'header'> & {
          commands: Omit<RdbToRespOptions['commands'], 'dumpPayload'> & { dumpPayload: boolean };
        };
      }
    | { format: 'jsonl'; options: Record<string, never> };
}

const job = workerData as Job;
const post = (m: SplitMessage) => parentPort!.postMessage(m);

function encoderFor(spec: Job['encoder']): SpanEncoder {
  if (spec.format === 'jsonl') return new RdbToJsonl();
  const { dumpPayload, ...commands } = spec.options.commands;
  return new RdbToResp({
    ...spec.options,
    commands: { ...commands, ...(dumpPayload ? { dumpPayload: encodeDump } : {}) },
  });
}

const FOUND = new Error('found the boundary');

async function main(): Promise<void> {
  let header: RdbHeader | undefined;
  let boundary = -1;
  let db = 0;
  try {
    await fastVerifySource(job.path, {
      shallow: true,
      checksum: false,
      onHeader: (h) => {
        header = h;
      },
      onKey: (span) => {
        const end = span.base + span.valueEnd;
        if (end < job.hint) return;
        boundary = end;
        db = span.db;
        throw FOUND;
      },
    });
  } catch (err) {
    if (err !== FOUND) throw err;
  }
  if (boundary < 0 || !header) {
    post({ boundary: null });
    return;
  }
  post({ boundary, db });

  const enc = encoderFor(job.encoder);
  enc.continueInDb?.(db);
  const fd = openSync(
    job.spillPath,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
    0o600,
  );
  let read = 0;
  try {
    let written = 0;
    const flush = () => {
      const out = enc.out;
      for (let at = 0; at < out.pos; ) at += writeSync(fd, out.buf, at, out.pos - at);
      written += out.pos;
      out.pos = 0;
      post({ progress: { bytes: read, keys: enc.keys, written } });
    };
    const flushAt = 256 << 10;
    const result = await fastVerifySource(job.path, {
      resume: { offset: boundary, header, db },
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
    post({ done: { keys: enc.keys, trailer: result.trailer ?? null, crc: result.partialCrc ?? null } });
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
