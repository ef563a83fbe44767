import type { Failover } from '../io/connect.js';
import type { KeyFilter } from '../io/filter.js';
import type { InputFormat } from '../io/formats.js';
import type { TlsFiles } from '@valkey-tools/core';
import type { RdbRecord } from '../model.js';
import type { NodeTraffic } from '../io/pipeline.js';

export interface RestoreProgress {
  /** Keys sent so far. */
  keys: number;
  /** Function libraries loaded. */
  functions: number;
  /** Commands sent. */
  commands: number;
  /** RESP bytes sent. */
  bytes: number;
  /** Bytes read from the input file, when it is a file (in the current phase). */
  inputBytes: number;
  /**
   * `checking`: the whole input is read once before anything is sent (text and JSONL files;
   * an RDB file's verify pass reports no progress); `restoring`: keys are being sent.
   */
  phase: 'checking' | 'restoring';
  errors: number;
  elapsedMs: number;
  keysPerSecond: number;
  bytesPerSecond: number;
  /**
   * What each server was sent so far: one entry for a standalone server, one per primary of a
   * cluster (each fed by a pipeline of its own).
   */
  nodes: NodeTraffic[];
  /** True on the last event. */
  done: boolean;
}

/** What one server (a cluster primary) was sent by a restore, and the keys it holds after it. */
export interface RestoreNodeResult extends NodeTraffic {
  /** Keys the node holds once the restore is done (every db). */
  keysHeld: number;
}

export interface RestoreFailure {
  /** The key as text (latin1, byte for byte), or the library name / command for non-key work. */
  key: string;
  /** The raw key bytes (keys may be binary). */
  keyBytes?: Buffer;
  db: number;
  /** The command that failed (its name). */
  command: string;
  /** The server's error reply. */
  message: string;
}

export interface RestoreOptions extends KeyFilter {
  /**
   * A file (`.rdb`, `.valkey`/`.resp`, `.txt`, `.jsonl`, `.aof`), a multi-part AOF directory, or
   * records from any reader (e.g. a live source: see `migrate`).
   */
  input: string | { records: AsyncIterable<RdbRecord>; source: string };
  /** The input format when the name does not tell. */
  from?: InputFormat;
  /** Target server (`redis://`, `rediss://`, `valkey://`...); a cluster node URL restores into the whole cluster. */
  url: string;
  tls?: TlsFiles;
  /**
   * Keys that exist on the target end up exactly as the input has them: deleted first, never
   * merged into (default false: an existing key is left as it was and reported, see `onError`).
   * Function libraries are replaced too.
   */
  replace?: boolean;
  /**
   * FLUSHALL the target (every primary of a cluster) once the whole input has been checked and
   * before anything is written (a bad input leaves the target as it was).
   */
  flush?: boolean;
  /**
   * Replay a command file's commands exactly as they come: any command (not only the ones that
   * write data), commands that span keys, and no per-key rule (existing keys may be changed or
   * merged into). Only for files you trust. Default false: a file with such a command is refused
   * before anything is sent.
   */
  verbatim?: boolean;
  /** Write every key into this db instead of its source db (a cluster only has db 0). */
  targetDb?: number;
  /** `stop` at the first failed key (default) or `continue` and report all failures. */
  onError?: 'stop' | 'continue';
  onProgress?: (progress: RestoreProgress) => void;
  /** Minimum time between progress events (default 250 ms). */
  progressIntervalMs?: number;
  /** Commands in flight (default 5000). */
  maxInFlight?: number;
  /** Bytes in flight (default 16 MiB). */
  maxInFlightBytes?: number;
  /** Elements per command when keys are written as plain commands (default 64). */
  batchSize?: number;
  /**
   * Use RESTORE with a DUMP payload for RDB/JSONL input (`auto`, the default: yes, falling back to
   * plain commands for the rest of the run once the target refuses the payload version).
   */
  useRestore?: 'auto' | 'never';
  /** An incomplete last command in RESP/AOF input: `error` (default) or `drop`. */
  truncated?: 'error' | 'drop';
  /** Stops the restore (after the commands in flight are answered); it then rejects with ERR_ABORTED. */
  signal?: AbortSignal;
  /**
   * A Sentinel URL (`valkey+sentinel://`): called when the primary changed during the restore;
   * the input is then restored again into the new primary with `replace` (a file input only).
   */
  onFailover?: (failover: Failover) => void;
}

export interface RestoreResult {
  /**
   * Keys restored. For commands replayed as they come (a RESP file without our header, an AOF's
   * increments): the keys of the file that the target holds afterwards (keys the file deletes
   * again are not counted).
   */
  keys: number;
  /**
   * Keys the input has that already existed on the target and were left exactly as they were
   * (without `replace`, with `onError: 'continue'`); each is also in `errors` (BUSYKEY).
   */
  skipped: number;
  functions: number;
  commands: number;
  bytes: number;
  /** Keys of the input whose expiry had passed: not restored (the server would not load them either). */
  expired: number;
  /** Failures (the first 1000); `errorCount` has them all. */
  errors: RestoreFailure[];
  errorCount: number;
  elapsedMs: number;
  /** True when at least one key went through the RESTORE fast path. */
  usedRestore: boolean;
  /** True when the target refused RESTORE payloads and keys were rewritten as plain commands. */
  fellBack: boolean;
  /** Incomplete trailing commands dropped from the input (truncated: 'drop'). */
  dropped: Array<{ source: string; offset: number; bytes: number }>;
  /**
   * Per server: one entry for a standalone server, one per primary of a cluster (`redirected`:
   * commands a node refused because their slot moved, sent again to the slot's owner).
   */
  nodes: RestoreNodeResult[];
  /** A Sentinel URL: the failovers the restore lived through (absent when there was none). */
  failovers?: Failover[];
}
