import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { connect, parseInfo, redactUrl, type ServerConnection } from '@valkey-tools/core';
import { keySlot } from '../cluster/slot.js';
import { BackupError } from '../errors.js';
import { upper } from '../io/items.js';
import { ReplicaLink } from '../live/replication.js';
import { type Command, encodedLength } from '../resp/encode.js';
import { RespCommandParser } from '../resp/parser.js';
import { commandKeys, type DataCommand, dataCommand } from '../restore/data-commands.js';
import { restore } from '../restore/restore.js';
import type { ReplyHandler } from '../restore/target.js';
import { RestoreTarget } from '../restore/target.js';
import type { RestoreFailure, RestoreResult } from '../restore/types.js';
import { globMatch } from '../io/filter.js';
import type { MigrateOptions, MigrateResult } from './migrate.js';

/** Where an online migration stands (`onFollow`, about once per `statusIntervalMs`). */
export interface FollowProgress {
  /** `snapshot`: the source's snapshot is being restored; `following`: its writes are applied. */
  phase: 'snapshot' | 'following';
  /** The source's `master_repl_offset` at the last look. */
  sourceOffset: number;
  /** The replication offset applied to the target. */
  offset: number;
  /** `sourceOffset - offset` (0 once the target has everything the source had). */
  lagBytes: number;
  /** How long the target has been behind (0 when caught up). */
  lagMs: number;
  /** Commands applied to the target. */
  applied: number;
  commandsPerSecond: number;
  /** Commands not applied (outside the data commands, or filtered out). */
  skipped: number;
  /** Keys restored by the snapshot phase(s). */
  keysRestored: number;
  elapsedMs: number;
}

/** How an online migration ended. */
export interface FollowReport {
  /** The source's replication id and the offset applied: `PSYNC <replid> <offset + 1>` resumes. */
  replid: string;
  offset: number;
  /** Commands applied to the target. */
  applied: number;
  /** Commands not applied, by name (ACL, CONFIG, PUBLISH..., or filtered out). */
  skipped: Record<string, number>;
  /** MULTI blocks whose keys span cluster slots, applied command by command. */
  splitTransactions: number;
  /** Commands the target refused (the first 100 in `failures`). */
  failureCount: number;
  failures: RestoreFailure[];
  /** Link drops resumed with `+CONTINUE` (no new snapshot). */
  resumed: number;
  /** Link drops the source answered with `+FULLRESYNC`: the snapshot was restored again (replace). */
  fullResyncs: number;
  /** `synced`: the target had everything for `untilSynced` ms; `signal`: stopped by the caller. */
  stoppedBy: 'synced' | 'signal';
}

/** Commands that change data but are not per key: applied on every primary. */
const SERVER_WIDE = new Set(['FLUSHALL', 'FLUSHDB', 'FUNCTION']);
const FUNCTION_WRITES = new Set(['LOAD', 'DELETE', 'FLUSH', 'RESTORE']);
/** Buffered stream while the snapshot is restored: beyond this the source writes too fast. */
const MAX_BUFFERED = 512 * 1024 * 1024;
const MAX_RESUMES = 10;

interface Pending {
  db: number;
  args: Command;
  spec: DataCommand | undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Follows a live source as its replica until it is stopped: the snapshot (`PSYNC ? -1`) is
 * restored into the target, then every write of the replication stream is applied (SELECT,
 * MULTI/EXEC as a unit, expiries and evictions as DEL, FUNCTION LOAD/DELETE, stream commands),
 * routed by slot into a cluster. The source gets `REPLCONF ACK <applied offset>` every second and
 * on `GETACK`. A dropped link resumes with `PSYNC <replid> <offset + 1>`.
 */
export async function follow(options: MigrateOptions): Promise<MigrateResult> {
  const started = Date.now();
  if (options.type !== undefined) {
    throw new BackupError('ERR_INVALID_OPTION', 'follow does not take a type filter', {
      hint: 'Filter by db or match (key pattern); the replication stream does not carry key types',
    });
  }
  const source = await connect(options.from, options.fromTls ? { tls: options.fromTls } : {});
  let follower: Follower | undefined;
  try {
    if (source.cluster) {
      throw new BackupError(
        'ERR_UNSUPPORTED',
        `following a cluster source (${source.where}) is not supported yet`,
        {
          details: { url: source.where },
          hint: 'Follow each primary on its own (one migrate --follow per primary), or migrate a snapshot without follow',
        },
      );
    }
    follower = new Follower(options, source, started);
    return await follower.run();
  } finally {
    await follower?.close();
    await source.close();
  }
}

class Follower {
  private link: ReplicaLink | null = null;
  private target: RestoreTarget | null = null;
  private targetConn: ServerConnection | null = null;
  private parser = new RespCommandParser({ source: 'the replication stream' });
  private replid = '?';
  private offset = -1;
  private sourceOffset = 0;
  private db = 0;
  private multi: Pending[] | null = null;
  private applied = 0;
  private readonly skipped: Record<string, number> = {};
  private skippedCount = 0;
  private splitTransactions = 0;
  private failureCount = 0;
  private readonly failures: RestoreFailure[] = [];
  private resumed = 0;
  private fullResyncs = 0;
  private keysRestored = 0;
  private phase: FollowProgress['phase'] = 'snapshot';
  private behindSince: number | undefined;
  private syncedSince: number | undefined;
  private lastStatus = { at: 0, applied: 0 };
  /** When the stream last carried a command other than PING / REPLCONF. */
  private lastWriteAt = Date.now();
  private stopping: FollowReport['stoppedBy'] | null = null;
  private wake: (() => void) | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private snapshotResult: RestoreResult | null = null;
  /** Stream chunks read while a snapshot was restored, applied first. */
  private buffered: Buffer[] = [];
  /** A read of the link still waiting for its chunk (it must not be lost). */
  private carry: Promise<Buffer | null> | null = null;
  private readonly untilSyncedMs: number | undefined;
  private readonly onFailure: ReplyHandler<Pending> = {
    error: (p, _c, err) => this.fail(p, err.message),
  };

  constructor(
    private readonly options: MigrateOptions,
    private readonly source: ServerConnection,
    private readonly started: number,
  ) {
    const u = options.untilSynced;
    this.untilSyncedMs = u === undefined || u === false ? undefined : u === true ? 2000 : u;
  }

  async run(): Promise<MigrateResult> {
    const { signal } = this.options;
    const stop = () => this.stop('signal');
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      await this.sync(false);
      this.targetConn = await connect(this.options.to, this.options.toTls ? { tls: this.options.toTls } : {});
      this.target = await RestoreTarget.open(this.targetConn, {
        commands: this.options.maxInFlight ?? 5000,
        bytes: this.options.maxInFlightBytes ?? 16 * 1024 * 1024,
      });
      this.phase = 'following';
      await this.stream();
      await this.target.idle();
      this.ack();
    } finally {
      signal?.removeEventListener('abort', stop);
      for (const t of this.timers) clearInterval(t);
    }
    return {
      ...this.snapshotResult!,
      elapsedMs: Date.now() - this.started,
      follow: {
        replid: this.replid,
        offset: this.offset,
        applied: this.applied,
        skipped: { ...this.skipped },
        splitTransactions: this.splitTransactions,
        failureCount: this.failureCount,
        failures: this.failures,
        resumed: this.resumed,
        fullResyncs: this.fullResyncs,
        stoppedBy: this.stopping ?? 'signal',
      },
    };
  }

  private stop(why: FollowReport['stoppedBy']): void {
    this.stopping ??= why;
    this.wake?.();
  }

  async close(): Promise<void> {
    this.link?.close();
    await this.target?.close();
    await this.targetConn?.close();
  }

  /**
   * (Re)connects as a replica: `PSYNC ? -1` the first time, `PSYNC <replid> <offset + 1>` after a
   * drop. A full resync restores the snapshot (with replace after the first), buffering the
   * stream that follows it meanwhile.
   */
  private async sync(resume: boolean): Promise<void> {
    const where = this.source.where;
    const link = await ReplicaLink.open(this.source.target, {
      where,
      ...(this.options.fromTls ? { tls: this.options.fromTls } : {}),
    });
    this.link = link;
    await link.ask(['REPLCONF', 'capa', 'eof', 'capa', 'psync2']);
    link.send(resume ? ['PSYNC', this.replid, String(this.offset + 1)] : ['PSYNC', '?', '-1']);
    const head = await link.reader.line(true);
    if (head.startsWith('-')) throw link.refused(head);
    const continued = /^\+CONTINUE(?: (\S+))?/.exec(head);
    if (continued) {
      if (continued[1]) this.replid = continued[1];
      this.resumed++;
      return;
    }
    const full = /^\+FULLRESYNC (\S+) (\d+)/.exec(head);
    if (!full) {
      throw new BackupError('ERR_REPLICATION', `${where} answered PSYNC with "${head.slice(0, 80)}"`, {
        details: { url: where, reply: head.slice(0, 200) },
      });
    }
    if (resume) this.fullResyncs++;
    this.replid = full[1]!;
    this.offset = Number(full[2]);
    this.db = 0;
    this.multi = null;
    this.startAcks();
    const dir = await mkdtemp(join(this.options.tempDir ?? tmpdir(), 'valkey-tools-follow-'));
    try {
      const file = join(dir, 'snapshot.rdb');
      await pipeline(link.payload(), createWriteStream(file, { mode: 0o600 }));
      // Read the stream on while the snapshot is restored (the source drops a replica that lags).
      const buffered: Buffer[] = [];
      let bufferedBytes = 0;
      let restoring = true;
      const pump = (async () => {
        while (restoring) {
          this.carry ??= link.reader.chunk();
          const c = await Promise.race([this.carry, sleep(200).then(() => undefined)]);
          if (c === undefined) continue;
          this.carry = null;
          if (c === null) return;
          buffered.push(c);
          bufferedBytes += c.length;
          if (bufferedBytes > MAX_BUFFERED) {
            throw new BackupError(
              'ERR_REPLICATION',
              `the source wrote more than ${MAX_BUFFERED / 2 ** 20} MiB while its snapshot was restored`,
              { details: { url: where }, hint: 'Migrate at a quieter time, or without follow' },
            );
          }
        }
      })();
      const {
        from: _f,
        to,
        fromTls: _ft,
        toTls,
        follow: _fo,
        untilSynced: _u,
        onFollow: _o,
        ...rest
      } = this.options;
      try {
        const result = await restore({
          ...rest,
          input: file,
          url: to,
          ...(toTls ? { tls: toTls } : {}),
          // A second snapshot overwrites what the first one (and the stream) left.
          ...(resume ? { replace: true } : {}),
        });
        this.snapshotResult = result;
        this.keysRestored += result.keys;
      } finally {
        restoring = false;
        await pump;
      }
      // What came meanwhile goes first; a read still waiting is taken up by the stream.
      this.buffered = buffered;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Acks the applied offset every second (the source drops a replica that stays silent). */
  private startAcks(): void {
    if (this.timers.length > 0) return;
    this.timers.push(setInterval(() => this.ack(), 1000));
    const interval = this.options.statusIntervalMs ?? 1000;
    this.timers.push(setInterval(() => void this.status().catch(() => {}), interval));
  }

  private ack(): void {
    if (this.link && !this.link.socket.destroyed && this.offset >= 0)
      this.link.send(['REPLCONF', 'ACK', String(this.offset)]);
  }

  /** Looks at the source's offset, reports progress and decides whether the target is in sync. */
  private async status(): Promise<void> {
    const info = parseInfo(String(await this.source.client.call('INFO', 'replication')));
    this.sourceOffset = Number(info.master_repl_offset ?? 0);
    const now = Date.now();
    const lagBytes = Math.max(0, this.sourceOffset - this.offset);
    if (lagBytes > 0 || this.phase === 'snapshot') this.behindSince ??= now;
    else this.behindSince = undefined;
    // In sync: nothing is left to apply, and the source has written nothing for a while (its
    // PINGs aside): caught up with a source still taking writes is not yet the cut-over.
    const quiet = now - this.lastWriteAt >= (this.untilSyncedMs ?? 0);
    const synced = this.phase === 'following' && lagBytes === 0 && quiet;
    if (!synced) this.syncedSince = undefined;
    else this.syncedSince ??= now;
    const secs = Math.max(now - (this.lastStatus.at || this.started), 1) / 1000;
    this.options.onFollow?.({
      phase: this.phase,
      sourceOffset: this.sourceOffset,
      offset: this.offset,
      lagBytes,
      lagMs: this.behindSince === undefined ? 0 : now - this.behindSince,
      applied: this.applied,
      commandsPerSecond: (this.applied - this.lastStatus.applied) / secs,
      skipped: this.skippedCount,
      keysRestored: this.keysRestored,
      elapsedMs: now - this.started,
    });
    this.lastStatus = { at: now, applied: this.applied };
    if (this.untilSyncedMs !== undefined && this.syncedSince !== undefined) {
      // In sync only once the target has answered everything sent to it.
      await this.target?.idle();
      if (Math.max(0, this.sourceOffset - this.offset) === 0) this.stop('synced');
    }
  }

  /** Applies the stream until stopped, resuming the link when it drops. */
  private async stream(): Promise<void> {
    while (!this.stopping) {
      let chunk: Buffer | null | undefined;
      try {
        chunk = await this.next();
      } catch (err) {
        if (this.stopping) return;
        chunk = null;
        void err;
      }
      if (chunk === undefined) continue;
      if (chunk === null) {
        await this.resume();
        continue;
      }
      for (const c of this.parser.push(chunk)) await this.command(c.args);
    }
  }

  /** The next chunk of the stream, null when the link dropped, undefined when woken to stop. */
  private next(): Promise<Buffer | null | undefined> {
    const early = this.buffered.shift();
    if (early) return Promise.resolve(early);
    const read = (this.carry ??= this.link!.reader.chunk());
    return new Promise((resolve, reject) => {
      this.wake = () => resolve(undefined);
      read.then(
        (c) => {
          this.carry = null;
          resolve(c);
        },
        (err: unknown) => {
          this.carry = null;
          reject(err);
        },
      );
    });
  }

  private async resume(): Promise<void> {
    this.link?.close();
    this.carry = null;
    this.buffered = [];
    let lastError: unknown;
    for (let attempt = 1; attempt <= MAX_RESUMES && !this.stopping; attempt++) {
      // A partly received command is sent again from the offset after the last whole one.
      this.parser = new RespCommandParser({ source: 'the replication stream' });
      this.multi = null;
      try {
        await this.target!.idle();
        await this.sync(true);
        return;
      } catch (err) {
        lastError = err;
        this.link?.close();
        await sleep(Math.min(200 * attempt, 2000));
      }
    }
    if (this.stopping) return;
    throw new BackupError(
      'ERR_REPLICATION',
      `the replication link to ${this.source.where} dropped and could not be resumed: ${redactUrl(String((lastError as Error)?.message ?? lastError))}`,
      {
        cause: lastError,
        details: { url: this.source.where, replid: this.replid, offset: this.offset },
        hint: `The target holds the source up to offset ${this.offset}; run migrate --follow again (it starts with a new snapshot)`,
      },
    );
  }

  /** One command of the stream (its bytes count toward the offset once handled). */
  private async command(args: Command): Promise<void> {
    const before = this.offset;
    this.offset += encodedLength(args);
    const name = upper(args[0]);
    if (name !== 'PING' && name !== 'REPLCONF') this.lastWriteAt = Date.now();
    switch (name) {
      case 'PING':
        return;
      case 'REPLCONF':
        if (upper(args[1]) === 'GETACK') this.link!.send(['REPLCONF', 'ACK', String(before)]);
        return;
      case 'SELECT':
        this.db = Number(args[1]?.toString('latin1') ?? 0);
        return;
      case 'MULTI':
        this.multi = [];
        return;
      case 'EXEC': {
        const block = this.multi ?? [];
        this.multi = null;
        await this.applyBlock(block);
        return;
      }
    }
    const pending: Pending = { db: this.db, args, spec: dataCommand(name, args) };
    if (!this.wanted(name, pending)) return;
    if (this.multi) this.multi.push(pending);
    else await this.apply(pending);
  }

  /** False (and counted) for a command that is not applied. */
  private wanted(name: string, p: Pending): boolean {
    const skip = (why: string) => {
      this.skipped[why] = (this.skipped[why] ?? 0) + 1;
      this.skippedCount++;
      return false;
    };
    const serverWide =
      SERVER_WIDE.has(name) && (name !== 'FUNCTION' || FUNCTION_WRITES.has(upper(p.args[1])));
    if (!p.spec && !serverWide) return skip(name);
    const { db, match } = this.options;
    if (db !== undefined && p.db !== db && name !== 'FLUSHALL' && name !== 'FUNCTION')
      return skip('filtered');
    if (match !== undefined && p.spec) {
      const keys = p.spec.keys === 'cross' ? p.args.slice(1) : commandKeys(p.spec, p.args);
      const pattern = Buffer.from(match);
      if (!keys.some((k) => globMatch(pattern, k))) return skip('filtered');
    }
    if (this.target!.isCluster && (this.options.targetDb ?? p.db) !== 0)
      return skip(`db ${p.db} (a cluster only has db 0)`);
    return true;
  }

  private keyOf(p: Pending): Buffer | undefined {
    if (!p.spec) return undefined;
    if (p.spec.keys === 'cross') return p.args[upper(p.args[0]) === 'BITOP' ? 2 : 1];
    return commandKeys(p.spec, p.args)[0];
  }

  private fail(p: Pending, message: string): void {
    this.failureCount++;
    if (this.failures.length < 100) {
      const key = this.keyOf(p);
      this.failures.push({
        key: key ? key.toString('latin1') : upper(p.args[0]),
        db: p.db,
        command: upper(p.args[0]),
        message,
      });
    }
  }

  private async send(p: Pending, key?: Buffer): Promise<void> {
    const target = this.target!;
    const bytes = encodedLength(p.args);
    if (!target.hasRoom(bytes)) await target.room(bytes);
    target.send(p.args, bytes, this.options.targetDb ?? p.db, key ?? this.keyOf(p), this.onFailure, p);
  }

  private async apply(p: Pending): Promise<void> {
    const target = this.target!;
    this.applied++;
    if (!p.spec && target.isCluster) {
      // FLUSHALL / FUNCTION LOAD...: on every primary, after what was sent before.
      await target.idle();
      const replies = await target.sendToPrimaries(p.args).catch((err: Error) => [err]);
      for (const r of replies) if (r instanceof Error) this.fail(p, r.message);
      return;
    }
    await this.send(p);
  }

  /** A MULTI block: as one transaction where it can be (one node), else command by command. */
  private async applyBlock(block: Pending[]): Promise<void> {
    if (block.length === 0) return;
    const target = this.target!;
    if (target.isCluster) {
      const slots = new Set<number>();
      for (const p of block) {
        const key = this.keyOf(p);
        slots.add(p.spec && key ? keySlot(key) : -1);
      }
      if (slots.size !== 1 || slots.has(-1)) {
        this.splitTransactions++;
        for (const p of block) await this.apply(p);
        return;
      }
    }
    const key = this.keyOf(block[0]!);
    const wrap = (name: string): Pending => ({
      db: block[0]!.db,
      args: [Buffer.from(name)],
      spec: undefined,
    });
    await this.send(wrap('MULTI'), key);
    for (const p of block) {
      this.applied++;
      await this.send(p, key);
    }
    await this.send(wrap('EXEC'), key);
  }
}
