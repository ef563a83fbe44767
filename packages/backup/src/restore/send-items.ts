import { type RestoreItem, restoreFallback } from '../io/items.js';
import { type Command, command, encodedLength } from '../resp/encode.js';
import { dataCommand, splitPerKey } from './data-commands.js';
import { display, type RestoreRun } from './run.js';
import type { ReplyHandler } from '../io/pipeline.js';

export type KeyItem = Extract<RestoreItem, { kind: 'key' }>;
type RawItem = Extract<RestoreItem, { kind: 'raw' }>;

const PAYLOAD_REFUSED = /payload version or checksum are wrong|Bad data format/i;

/** True when `b` is `name` (upper-case ASCII) in any case, without building a string. */
export function isName(b: Buffer | undefined, name: string): boolean {
  if (!b || b.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((b[i]! & 0xdf) !== name.charCodeAt(i)) return false;
  return true;
}

/**
 * Sends restore items (keys, function libraries, commands replayed as they are) into a run's
 * target, in order: the records strategy sends everything this way, the raw RDB and pass-through
 * strategies what they do not send themselves. A key goes as RESTORE (with REPLACE under
 * `replace`; as plain commands once the target refuses payloads), as one `SET ... [NX] [PXAT]`, or
 * as its commands (after a DEL under `replace`; into a target with keys, after an EXISTS says it
 * is not there). Commands replayed as they come follow the per-key rule (see `decide`). Also holds
 * the reply handlers the other strategies share.
 */
export class ItemSender {
  /**
   * Non-replace plain keys: an EXISTS goes out as soon as a key is queued, and the key's commands
   * follow a few hundred keys later, when the answer is long back: the pipeline never drains.
   */
  private readonly pending: Array<{ item: KeyItem; db: number; exists: Promise<boolean> }> = [];

  constructor(private readonly run: RestoreRun) {}

  /** Handles one item; false once the restore has stopped. */
  readonly handle = async (item: RestoreItem): Promise<boolean> => {
    if (this.run.stopped) return false;
    this.run.checkAborted();
    if (item.kind === 'key') await this.handleKey(item);
    else if (item.kind === 'function') await this.handleFunction(item.code);
    else await this.handleRaw(item);
    return true;
  };

  /** Sends the keys still waiting for their EXISTS answer (unless the run has stopped). */
  async finish(): Promise<void> {
    if (!this.run.stopped) await this.flushPending();
  }

  /** A key sent by the raw RDB path as a key item (built only for the rare key that needs it). */
  rawKeyItem(args: Command, db: number): KeyItem {
    return {
      kind: 'key',
      db,
      key: args[1]!,
      commands: [args],
      fallback: restoreFallback(args, db),
      bytes: encodedLength(args),
    };
  }

  /** For a RESTORE written straight into the output (ctx: the key's db in the file). */
  readonly rawKeyErrors: ReplyHandler<number> = {
    error: (db, c, err) => this.onKeyError(this.rawKeyItem(c, db), c, this.run.dbOf(db), err),
  };

  /** An MSET (of keys that start there) that fails fails for every key in it (ctx: the db). */
  readonly msetErrors: ReplyHandler<number> = {
    error: (db, c, err) => {
      for (let i = 1; i < c.length; i += 2) {
        this.run.stats.keys--;
        this.run.fail({ key: display(c[i]!), keyBytes: c[i]!, db, command: 'MSET', message: err.message });
      }
    },
  };

  /** Counts an MSET sent (its keys are counted as they join it). */
  readonly msetSent = (bytes: number): void => {
    this.run.stats.commands++;
    this.run.stats.bytes += bytes;
    this.run.progress(false);
  };

  // Reply handlers: shared objects called with the item a command belongs to (nothing is
  // allocated per command to hear back from it).
  private readonly keyErrors: ReplyHandler<KeyItem> = {
    error: (item, c, err) => this.onKeyError(item, c, this.run.dbOf(item.db), err),
  };
  private readonly setReply: ReplyHandler<KeyItem> = {
    reply: (item, reply) => {
      // SET ... NX answers nil when the key exists.
      if (reply !== null) return;
      this.run.stats.keys--;
      this.run.fail({
        key: display(item.key),
        keyBytes: item.key,
        db: this.run.dbOf(item.db),
        command: 'SET',
        message: 'BUSYKEY Target key name already exists.',
      });
    },
    error: this.keyErrors.error!,
  };
  private readonly existsReply: ReplyHandler<(exists: boolean) => void> = {
    reply: (resolve, r) => resolve(Number(r) > 0),
    error: (resolve) => resolve(false),
  };
  private readonly rawErrors: ReplyHandler<RawItem> = {
    error: (item, c, err) =>
      this.run.fail({
        key: c[1] ? display(c[1]) : '',
        ...(c[1] ? { keyBytes: c[1] } : {}),
        db: this.run.dbOf(item.db),
        command: display(c[0]!).toUpperCase(),
        message: err.message,
      }),
  };

  private onKeyError(item: KeyItem, c: Command, db: number, err: Error): void {
    const { run } = this;
    const name = display(c[0]!).toUpperCase();
    if (name === 'RESTORE' && item.fallback && PAYLOAD_REFUSED.test(err.message)) {
      run.restoreRefused = true;
      run.fellBack = true;
      run.stats.keys--;
      run.pendingFallbacks.push(
        this.plainCommands(item, true).then(
          (cmds) => this.sendAll(item, cmds, db),
          (e: Error) =>
            run.fail({
              key: display(item.key),
              keyBytes: item.key,
              db,
              command: 'RESTORE',
              message: `${err.message}; decoding the payload failed too: ${e.message}`,
            }),
        ),
      );
      return;
    }
    // A key sent as one command that failed was not restored.
    if (item.commands.length === 1) run.stats.keys--;
    run.fail({ key: display(item.key), keyBytes: item.key, db, command: name, message: err.message });
  }

  private async sendAll(item: KeyItem, cmds: Command[], db: number): Promise<void> {
    const { target, stats } = this.run;
    for (const c of cmds) {
      const bytes = encodedLength(c);
      if (!target.hasRoom(bytes)) await target.room(bytes);
      stats.commands++;
      stats.bytes += bytes;
      target.send(c, bytes, db, item.key, this.keyErrors, item);
    }
    stats.keys++;
    this.run.progress(false);
  }

  private async plainCommands(item: KeyItem, fromFallback: boolean): Promise<Command[]> {
    const cmds = fromFallback ? await item.fallback!() : item.commands;
    // With replace, a key is deleted first so the plain commands re-create it exactly.
    return this.run.replace ? [command('DEL', item.key), ...cmds] : cmds;
  }

  private async drainPending(keep: number): Promise<void> {
    const { run, pending } = this;
    while (pending.length > keep && !run.stopped) {
      const { item, db, exists } = pending.shift()!;
      if (await exists) {
        run.fail({
          key: display(item.key),
          keyBytes: item.key,
          db,
          command: display(item.commands[0]![0]!).toUpperCase(),
          message: 'BUSYKEY Target key name already exists.',
        });
      } else await this.sendAll(item, item.commands, db);
    }
  }

  private flushPending(): Promise<void> {
    return this.drainPending(0);
  }

  private async queueChecked(item: KeyItem, db: number): Promise<void> {
    const { target } = this.run;
    await target.room(32);
    const exists = new Promise<boolean>((resolve) =>
      target.send(command('EXISTS', item.key), 32, db, item.key, this.existsReply, resolve),
    );
    this.pending.push({ item, db, exists });
    if (this.pending.length >= 512) await this.drainPending(256);
  }

  /** `SET k v` (+ `PEXPIREAT k t`) as one command: `SET k v [NX] [PXAT t]`; null when not that shape. */
  private asSingleSet(item: KeyItem): Command | null {
    const [set, expire, ...more] = item.commands;
    if (!set || more.length > 0 || set.length !== 3 || !isName(set[0], 'SET')) return null;
    const out = [...set];
    if (!this.run.replace) out.push(Buffer.from('NX'));
    if (expire) {
      if (!this.run.supportsPxat || expire.length !== 3 || !isName(expire[0], 'PEXPIREAT')) return null;
      out.push(Buffer.from('PXAT'), expire[2]!);
    }
    return out;
  }

  private async sendSet(item: KeyItem, args: Command, db: number): Promise<void> {
    const { run } = this;
    const bytes = encodedLength(args);
    if (!run.target.hasRoom(bytes)) await run.target.room(bytes);
    run.stats.commands++;
    run.stats.bytes += bytes;
    run.target.send(args, bytes, db, item.key, this.setReply, item);
    run.stats.keys++;
    run.progress(false);
  }

  /**
   * The per-key rule for a key of a replayed input at one of its commands: `send` it; `skip` it
   * (the key existed on the target: it stays as it was, reported once); or `replace`: delete the
   * key first (the first command on a key that existed, with `replace`).
   */
  private decide(db: number, key: Buffer): 'send' | 'skip' | 'replace' {
    const { run } = this;
    if (run.existing === null) return 'send';
    if (run.keptAsTheyWere.has(db, key)) return 'skip';
    if (!run.existing.delete(db, key)) return 'send';
    if (run.replace) return 'replace';
    run.keptAsTheyWere.add(db, key);
    run.fail({
      key: display(key),
      keyBytes: key,
      db: run.dbOf(db),
      command: 'EXISTS',
      message: 'BUSYKEY Target key name already exists.',
    });
    return 'skip';
  }

  private async handleKey(item: KeyItem): Promise<void> {
    const { run } = this;
    // A key of an AOF's base (its increments replay as they come): the per-key rule decides.
    if (run.existing !== null && this.decide(item.db, item.key) === 'skip') return;
    const db = run.dbOf(item.db);
    const first = item.commands[0]!;
    const isRestore = item.commands.length === 1 && isName(first[0], 'RESTORE');
    if (isRestore && !(run.restoreRefused && item.fallback)) {
      run.usedRestore = true;
      const args =
        run.replace && !first.some((a) => isName(a, 'REPLACE')) ? [...first, Buffer.from('REPLACE')] : first;
      await this.sendAll(item, [args], db);
      return;
    }
    if (isRestore) {
      run.fellBack = true;
      await this.sendAll(item, await this.plainCommands(item, true), db);
      return;
    }
    const single = this.asSingleSet(item);
    if (single) {
      await this.sendSet(item, single, db);
      return;
    }
    if (run.replace || run.targetEmpty) {
      await this.sendAll(item, await this.plainCommands(item, false), db);
      return;
    }
    await this.queueChecked(item, db);
  }

  private async handleFunction(code: Buffer): Promise<void> {
    const { run } = this;
    await this.flushPending();
    await run.target.idle();
    const args = run.replace
      ? command('FUNCTION', 'LOAD', 'REPLACE', code)
      : command('FUNCTION', 'LOAD', code);
    run.stats.commands++;
    run.stats.bytes += encodedLength(args);
    const name = /^#!\S+\s+name=(\S+)/.exec(code.toString('utf8'))?.[1] ?? 'library';
    try {
      await run.target.sendToPrimaries(args);
      run.stats.functions++;
    } catch (err) {
      // The same library with the same code already there is not a conflict (a re-run converges).
      if (
        /already exists/.test((err as Error).message) &&
        (await run.target.libraryCode(name))?.equals(code)
      ) {
        run.stats.functions++;
        return;
      }
      run.fail({ key: `library ${name}`, db: 0, command: 'FUNCTION LOAD', message: (err as Error).message });
    }
  }

  private async sendRaw(item: RawItem, args: Command, bytes: number, db: number): Promise<void> {
    const { run } = this;
    await run.target.room(bytes);
    run.stats.commands++;
    run.stats.bytes += bytes;
    run.target.send(args, bytes, db, undefined, this.rawErrors, item);
    run.progress(false);
  }

  private async handleRaw(item: RawItem): Promise<void> {
    const { run } = this;
    await this.flushPending();
    const name = display(item.command[0]!).toUpperCase();
    if (run.target.isCluster && (name === 'MULTI' || name === 'EXEC')) return;
    const db = run.dbOf(item.db);
    const data = run.verbatim ? undefined : dataCommand(name, item.command);
    if (data && data.keys !== 'cross' && (run.existing !== null || run.filter.any)) {
      // One command per key, each kept, skipped or replaced on its own (see `decide`).
      for (const args of splitPerKey(data, item.command)) {
        const key = args[data.keys === 'group' ? 2 : 1];
        if (!key) continue;
        if (
          run.filter.any &&
          !(run.filter.key(key) && (data.type === undefined || run.filter.type(data.type)))
        )
          continue;
        const what = this.decide(item.db, key);
        if (what === 'skip') continue;
        if (what === 'replace') {
          const del = command('DEL', key);
          await this.sendRaw(item, del, encodedLength(del), db);
        }
        await this.sendRaw(item, args, args === item.command ? item.bytes : encodedLength(args), db);
      }
      return;
    }
    await this.sendRaw(item, item.command, item.bytes, db);
  }
}
