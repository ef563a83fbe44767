import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type ConnectionTarget,
  connect,
  parseInfo,
  redactUrl,
  type ServerConnection,
} from '@valkey-tools/core';
import type { Redis } from 'iovalkey';
import { keySlot } from '../cluster/slot.js';
import { BackupError } from '../errors.js';
import { snapshotDir } from '../io/temp.js';
import { upper } from '../io/items.js';
import { ReplicaLink } from '../live/replication.js';
import { type Command, encodedLength } from '../resp/encode.js';
import { RespCommandParser } from '../resp/parser.js';
import { commandKeys, type DataCommand, dataCommand } from '../restore/data-commands.js';
import { restore } from '../restore/restore.js';
import type { ReplyHandler } from '../io/pipeline.js';
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
  /**
   * The source's replication id and the offset applied: `PSYNC <replid> <offset + 1>` resumes
   * (a cluster source: see `nodes`).
   */
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
  /** A cluster source: each primary's replication id and applied offset. */
  nodes?: Array<{ node: string; replid: string; offset: number }>;
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
 * routed by slot into a cluster. A cluster source is followed through one replica link per
 * primary. Each source gets `REPLCONF ACK <applied offset>` every second and on `GETACK`; a
 * dropped link resumes with `PSYNC <replid> <offset + 1>`.
 */
export async function follow(options: MigrateOptions): Promise<MigrateResult> {
  if (options.type !== undefined) {
    throw new BackupError('ERR_INVALID_OPTION', 'follow does not take a type filter', {
      hint: 'Filter by db or match (key pattern); the replication stream does not carry key types',
    });
  }
  const source = await connect(options.from, options.fromTls ? { tls: options.fromTls } : {});
  const run = new FollowRun(options, source);
  try {
    return await run.run();
  } finally {
    await run.close();
    await source.close();
  }
}

/** One online migration: the target, the followed primaries, the status and the stop. */
class FollowRun {
  target: RestoreTarget | null = null;
  private targetConn: ServerConnection | null = null;
  readonly followers: NodeFollower[];
  phase: FollowProgress['phase'] = 'snapshot';
  stopping: FollowReport['stoppedBy'] | null = null;
  readonly untilSyncedMs: number | undefined;
  readonly started = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private behindSince: number | undefined;
  private syncedSince: number | undefined;
  private lastStatus = { at: 0, applied: 0 };
  private snapshots: RestoreResult[] = [];
  keysRestored = 0;

  constructor(
    readonly options: MigrateOptions,
    readonly source: ServerConnection,
  ) {
    const u = options.untilSynced;
    this.untilSyncedMs = u === undefined || u === false ? undefined : u === true ? 2000 : u;
    const nodes: Array<{ client: Redis; name: string }> = source.cluster
      ? source.cluster
          .nodes('master')
          .map((n) => ({ client: n, name: `${n.options.host}:${n.options.port}` }))
      : [{ client: source.client, name: source.where }];
    this.followers = nodes.map(
      (n) =>
        new NodeFollower(
          this,
          source.cluster
            ? { ...source.target, host: String(n.client.options.host), port: Number(n.client.options.port) }
            : source.target,
          n.name,
          n.client,
        ),
    );
  }

  async run(): Promise<MigrateResult> {
    const { signal } = this.options;
    const stop = () => this.stop('signal');
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      // One snapshot after the other (each primary's stream is read on meanwhile).
      for (const f of this.followers) {
        if (this.stopping) break;
        const snapshot = await f.sync(false);
        if (snapshot) this.snapshots.push(snapshot);
        this.startTimers();
      }
      this.targetConn = await connect(this.options.to, this.options.toTls ? { tls: this.options.toTls } : {});
      this.target = await RestoreTarget.open(this.targetConn, {
        commands: this.options.maxInFlight ?? 5000,
        bytes: this.options.maxInFlightBytes ?? 16 * 1024 * 1024,
      });
      this.phase = 'following';
      // In sync for a while means following for a while: the quiet time counts from here.
      for (const f of this.followers) f.lastWriteAt = Math.max(f.lastWriteAt, Date.now());
      await Promise.all(this.followers.map((f) => f.stream()));
      await this.target.idle();
      for (const f of this.followers) f.ack();
    } finally {
      signal?.removeEventListener('abort', stop);
      for (const t of this.timers) clearInterval(t);
    }
    return this.result();
  }

  private result(): MigrateResult {
    const sum = (pick: (f: NodeFollower) => number) => this.followers.reduce((n, f) => n + pick(f), 0);
    const skipped: Record<string, number> = {};
    for (const f of this.followers)
      for (const [k, v] of Object.entries(f.skipped)) skipped[k] = (skipped[k] ?? 0) + v;
    const first = this.snapshots[0]!;
    const restored: RestoreResult = {
      ...first,
      keys: this.snapshots.reduce((n, r) => n + r.keys, 0),
      commands: this.snapshots.reduce((n, r) => n + r.commands, 0),
      bytes: this.snapshots.reduce((n, r) => n + r.bytes, 0),
      errors: this.snapshots.flatMap((r) => r.errors).slice(0, 1000),
      errorCount: this.snapshots.reduce((n, r) => n + r.errorCount, 0),
      elapsedMs: Date.now() - this.started,
    };
    const single = this.followers.length === 1 ? this.followers[0]! : undefined;
    return {
      ...restored,
      follow: {
        replid: single?.replid ?? '',
        offset: single?.offset ?? -1,
        ...(single
          ? {}
          : { nodes: this.followers.map((f) => ({ node: f.where, replid: f.replid, offset: f.offset })) }),
        applied: sum((f) => f.applied),
        skipped,
        splitTransactions: sum((f) => f.splitTransactions),
        failureCount: sum((f) => f.failureCount),
        failures: this.followers.flatMap((f) => f.failures).slice(0, 100),
        resumed: sum((f) => f.resumed),
        fullResyncs: sum((f) => f.fullResyncs),
        stoppedBy: this.stopping ?? 'signal',
      },
    };
  }

  stop(why: FollowReport['stoppedBy']): void {
    this.stopping ??= why;
    for (const f of this.followers) f.wake?.();
  }

  async close(): Promise<void> {
    for (const f of this.followers) f.close();
    await this.target?.close();
    await this.targetConn?.close();
  }

  /** Acks each source every second (a source drops a replica that stays silent) and reports. */
  private startTimers(): void {
    if (this.timers.length > 0) return;
    this.timers.push(
      setInterval(() => {
        for (const f of this.followers) f.ack();
      }, 1000),
    );
    const interval = this.options.statusIntervalMs ?? 1000;
    this.timers.push(setInterval(() => void this.status().catch(() => {}), interval));
  }

  /** Looks at the sources' offsets, reports progress and decides whether the target is in sync. */
  private async status(): Promise<void> {
    const lags = await Promise.all(this.followers.map((f) => f.lag()));
    const now = Date.now();
    const lagBytes = lags.reduce((a, b) => a + b, 0);
    if (lagBytes > 0 || this.phase === 'snapshot') this.behindSince ??= now;
    else this.behindSince = undefined;
    // In sync: nothing is left to apply, and the sources have written nothing for a while (their
    // PINGs aside): caught up with a source still taking writes is not yet the cut-over.
    const lastWrite = Math.max(...this.followers.map((f) => f.lastWriteAt));
    const quiet = now - lastWrite >= (this.untilSyncedMs ?? 0);
    const synced = this.phase === 'following' && lagBytes === 0 && quiet;
    if (!synced) this.syncedSince = undefined;
    else this.syncedSince ??= now;
    const applied = this.followers.reduce((n, f) => n + f.applied, 0);
    const secs = Math.max(now - (this.lastStatus.at || this.started), 1) / 1000;
    this.options.onFollow?.({
      phase: this.phase,
      sourceOffset: this.followers.reduce((n, f) => n + f.sourceOffset, 0),
      offset: this.followers.reduce((n, f) => n + Math.max(0, f.offset), 0),
      lagBytes,
      lagMs: this.behindSince === undefined ? 0 : now - this.behindSince,
      applied,
      commandsPerSecond: (applied - this.lastStatus.applied) / secs,
      skipped: this.followers.reduce((n, f) => n + f.skippedCount, 0),
      keysRestored: this.keysRestored,
      elapsedMs: now - this.started,
    });
    this.lastStatus = { at: now, applied };
    if (this.untilSyncedMs !== undefined && this.syncedSince !== undefined) {
      // In sync only once the target has answered everything sent to it.
      await this.target?.idle();
      const after = await Promise.all(this.followers.map((f) => f.lag()));
      if (after.every((l) => l === 0)) this.stop('synced');
    }
  }
}

/** One primary of the source, followed through a replica link of its own. */
class NodeFollower {
  private link: ReplicaLink | null = null;
  private parser = new RespCommandParser({ source: 'the replication stream' });
  replid = '?';
  offset = -1;
  sourceOffset = 0;
  private db = 0;
  private multi: Pending[] | null = null;
  applied = 0;
  readonly skipped: Record<string, number> = {};
  skippedCount = 0;
  splitTransactions = 0;
  failureCount = 0;
  readonly failures: RestoreFailure[] = [];
  resumed = 0;
  fullResyncs = 0;
  /** When the stream last carried a command other than PING / REPLCONF. */
  lastWriteAt = Date.now();
  wake: (() => void) | null = null;
  /** Stream chunks read while snapshots were restored, applied first. */
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  /** A read of the link still waiting for its chunk (it must not be lost). */
  private carry: Promise<Buffer | null> | null = null;
  /** Reading the stream into `buffered` until `stream()` takes over. */
  private pumping: Promise<void> | null = null;
  private pumpOn = false;
  private readonly onFailure: ReplyHandler<Pending> = {
    error: (p, _c, err) => this.fail(p, err.message),
  };

  constructor(
    private readonly run: FollowRun,
    private readonly node: ConnectionTarget,
    readonly where: string,
    /** A command connection to the node (for INFO). */
    private readonly info: Redis,
  ) {}

  private get options(): MigrateOptions {
    return this.run.options;
  }

  private get target(): RestoreTarget | null {
    return this.run.target;
  }

  close(): void {
    this.pumpOn = false;
    this.link?.close();
  }

  ack(): void {
    if (this.link && !this.link.socket.destroyed && this.offset >= 0)
      this.link.send(['REPLCONF', 'ACK', String(this.offset)]);
  }

  /** How far the applied offset is behind the node's `master_repl_offset`. */
  async lag(): Promise<number> {
    const info = parseInfo(String(await this.info.call('INFO', 'replication')));
    this.sourceOffset = Number(info.master_repl_offset ?? 0);
    return Math.max(0, this.sourceOffset - this.offset);
  }

  /**
   * (Re)connects as a replica: `PSYNC ? -1` the first time, `PSYNC <replid> <offset + 1>` after a
   * drop. A full resync restores the snapshot (with replace after the first), the stream that
   * follows it read on meanwhile.
   */
  async sync(resume: boolean): Promise<RestoreResult | null> {
    const link = await ReplicaLink.open(this.node, {
      where: this.where,
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
      return null;
    }
    const full = /^\+FULLRESYNC (\S+) (\d+)/.exec(head);
    if (!full) {
      throw new BackupError('ERR_REPLICATION', `${this.where} answered PSYNC with "${head.slice(0, 80)}"`, {
        details: { url: this.where, reply: head.slice(0, 200) },
      });
    }
    if (resume) this.fullResyncs++;
    this.replid = full[1]!;
    this.offset = Number(full[2]);
    this.db = 0;
    this.multi = null;
    const dir = await snapshotDir(this.options.tempDir);
    try {
      const file = join(dir, 'snapshot.rdb');
      await pipeline(link.payload(), createWriteStream(file, { mode: 0o600 }));
      this.startPump(link);
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
      // A cluster source's primaries share the target: a later primary's snapshot neither empties
      // it nor trips over the function libraries every primary holds (it replaces), and a full
      // resync of one primary must not empty what the others wrote.
      const laterPrimary = this.run.followers[0] !== this;
      const alone = this.run.followers.length === 1;
      const result = await restore({
        ...rest,
        input: file,
        url: to,
        ...(toTls ? { tls: toTls } : {}),
        // A second snapshot overwrites what the first one (and the stream) left.
        ...(resume || laterPrimary ? { replace: true } : {}),
        flush: rest.flush === true && (alone || (!resume && !laterPrimary)),
      });
      this.run.keysRestored += result.keys;
      return result;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Reads the stream on into memory (the source drops a replica that lags) until `stream()`. */
  private startPump(link: ReplicaLink): void {
    this.pumpOn = true;
    this.pumping = (async () => {
      while (this.pumpOn) {
        this.carry ??= link.reader.chunk();
        const c = await Promise.race([this.carry, sleep(200).then(() => undefined)]);
        if (c === undefined) continue;
        this.carry = null;
        if (c === null) return;
        this.buffered.push(c);
        this.bufferedBytes += c.length;
        if (this.bufferedBytes > MAX_BUFFERED) {
          throw new BackupError(
            'ERR_REPLICATION',
            `${this.where} wrote more than ${MAX_BUFFERED / 2 ** 20} MiB while the snapshots were restored`,
            { details: { url: this.where }, hint: 'Migrate at a quieter time, or without follow' },
          );
        }
      }
    })();
  }

  private async stopPump(): Promise<void> {
    this.pumpOn = false;
    // A link that dropped meanwhile is resumed by the stream.
    await this.pumping?.catch((err: unknown) => {
      if (BackupError.hasCode(err, 'ERR_REPLICATION') && /MiB while/.test(String(err))) throw err;
    });
    this.pumping = null;
  }

  /** Applies the stream until stopped, resuming the link when it drops. */
  async stream(): Promise<void> {
    await this.stopPump();
    while (!this.run.stopping) {
      let chunk: Buffer | null | undefined;
      try {
        chunk = await this.next();
      } catch {
        if (this.run.stopping) return;
        chunk = null;
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
    for (let attempt = 1; attempt <= MAX_RESUMES && !this.run.stopping; attempt++) {
      // A partly received command is sent again from the offset after the last whole one.
      this.parser = new RespCommandParser({ source: 'the replication stream' });
      this.multi = null;
      try {
        await this.target!.idle();
        await this.sync(true);
        await this.stopPump();
        return;
      } catch (err) {
        lastError = err;
        this.link?.close();
        await sleep(Math.min(200 * attempt, 2000));
      }
    }
    if (this.run.stopping) return;
    throw new BackupError(
      'ERR_REPLICATION',
      `the replication link to ${this.where} dropped and could not be resumed: ${redactUrl(String((lastError as Error)?.message ?? lastError))}`,
      {
        cause: lastError,
        details: { url: this.where, replid: this.replid, offset: this.offset },
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
        if (upper(args[1]) === 'GETACK') {
          // The source asks what this replica has (WAIT): only what the target has answered.
          await this.target?.idle();
          this.link!.send(['REPLCONF', 'ACK', String(before)]);
        }
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
