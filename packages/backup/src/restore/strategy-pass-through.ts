import { ItemGrouper, keyIndex, type RestoreItem, upper } from '../io/items.js';
import { emptyKeySpan } from '../rdb/walk.js';
import { bulkSize, type Command, decodeCommandAt, encodedLength, writeHeader } from '../resp/encode.js';
import type { CommandSpan } from '../resp/parser.js';
import { parseHeaderCommand } from '../resp/writer.js';
import { CollectionPayload } from './collection-payload.js';
import { MSET_ROOM, MsetBatch, type PairBatch } from './mset-batch.js';
import { nameIs, passThroughResp, spanKeyIndex } from './pass-through.js';
import { RestoreEncoder } from './raw-rdb.js';
import { display, type RestoreRun } from './run.js';
import { isName, type ItemSender } from './send-items.js';
import { SlotMsetBatch } from './slot-batch.js';
import type { CommandEncoder, ReplyHandler } from '../io/pipeline.js';

/** The commands a .valkey restore may turn into one RESTORE (see CollectionPayload). */
const COLLECTION_COMMANDS = ['HSET', 'SADD', 'ZADD', 'RPUSH', 'HMSET'];

/**
 * The pass-through strategy: a `.valkey` file into an empty server or cluster, with nothing to
 * filter, remap or replace (see `chooseStrategy`), checked whole already. The commands that build
 * keys go out byte for byte as the file has them (like `valkey-cli --pipe`), found by their
 * headers without argument buffers; the rest (the header, SELECT, FUNCTION LOAD, RESTORE) takes
 * the item path (ItemSender). Into a cluster, each command goes straight into the output of the
 * primary that owns its key's slot, and plain SETs gather in one MSET per slot.
 */
export async function restorePassThrough(run: RestoreRun, items: ItemSender, path: string): Promise<void> {
  const { stats, target } = run;
  const cluster = target.isCluster;
  /** The db commands go to: a cluster's is 0 (`dbOf` refuses another; the check did first). */
  const dbOf = (db: number) => (cluster ? run.dbOf(db) : db);
  // Made at the first command: the header says whether each key's commands are grouped.
  let grouper: ItemGrouper | null = null;
  let grouped = false;
  // The key of the last command sent as it is: a command on another key starts a new key.
  let prevKey: Buffer | null = null;
  let prevStart = 0;
  let prevEnd = 0;
  let prevDb = -1;
  const firstOfKey = (db: number, buf: Buffer, start: number, end: number): number => {
    if (!grouped) return 0;
    if (
      prevKey !== null &&
      db === prevDb &&
      end - start === prevEnd - prevStart &&
      buf.compare(prevKey, prevStart, prevEnd, start, end) === 0
    )
      return 0;
    prevKey = buf;
    prevStart = start;
    prevEnd = end;
    prevDb = db;
    stats.keys++;
    return 1;
  };
  // ctx: db * 2 + 1 for the first command of a key (if it fails, the key is not counted).
  const passErrors: ReplyHandler<number> = {
    error: (ctx, c, err) => {
      const name = display(c[0]!).toUpperCase();
      const key = c[keyIndex(c, name)] ?? c[1]!;
      if (ctx & 1) stats.keys--;
      run.fail({
        key: display(key),
        keyBytes: key,
        db: Math.floor(ctx / 2),
        command: name,
        message: err.message,
      });
    },
  };
  let cur!: { buf: Buffer; start: number; end: number };
  const copySpan: CommandEncoder = (into, at) => at + cur.buf.copy(into, at, cur.start, cur.end);
  // A key's first command waits for the next one (`held`), which tells whether the key is that one
  // command (and maybe a PEXPIREAT): then it goes out in a form that costs the server less work.
  // - A plain `SET k v` joins an MSET of other such keys; with its PEXPIREAT, `SET k v PXAT t`.
  // - A small collection (HSET/HMSET, RPUSH, SADD, ZADD) becomes one RESTORE of a DUMP payload
  //   encoded here (listpack, intset...), its expiry as the ABSTTL ttl: loading a payload costs
  //   the server far less than building the value element by element. A value the encoder
  //   refuses (duplicates) goes as it is; a payload the server refuses falls back to the commands.
  // A key with more commands (a big collection, a stream) goes out as the file has it.
  const none: Buffer = Buffer.alloc(0);
  const held = {
    on: false,
    /** The command's name, upper case: SET, or a collection command CollectionPayload takes. */
    name: '',
    /** The command: buf[start, end); its key: buf[keyStart, keyEnd). */
    buf: none,
    start: 0,
    end: 0,
    keyStart: 0,
    keyEnd: 0,
    db: 0,
    /** Its key's cluster slot (-1: standalone). */
    slot: -1,
    first: 0,
    /** The PXAT time: tBuf[tStart, tEnd). */
    tBuf: none,
    tStart: 0,
    tEnd: 0,
  };
  const mergeSets = run.supportsPxat;
  // The payloads are in the encodings RDB 11 has (Valkey 7.2+, Redis 7.2+).
  const convertCollections = run.payloadVersion >= 11 && run.options.useRestore !== 'never';
  const PXAT = Buffer.from('$4\r\nPXAT\r\n');
  /** Where the held command's name starts (after its `*N` header). */
  const heldArgs = () => held.buf.indexOf(36, held.start);
  const mergedSet: CommandEncoder = (into, at) => {
    let p = writeHeader(into, at, 42, 5);
    p += held.buf.copy(into, p, heldArgs(), held.end);
    p += PXAT.copy(into, p);
    p = writeHeader(into, p, 36, held.tEnd - held.tStart);
    p += held.tBuf.copy(into, p, held.tStart, held.tEnd);
    into[p++] = 13;
    into[p++] = 10;
    return p;
  };
  // Plain SETs of different keys (no expiry) go out together as one MSET (into a cluster, one
  // per slot); a batch holds only keys that start there.
  const batch: PairBatch = cluster
    ? new SlotMsetBatch(target, items.msetErrors, items.msetSent)
    : new MsetBatch(target, items.msetErrors, items.msetSent);
  /**
   * Before a command that does not join the batch goes to a key (in `slot`, into a cluster): what
   * may hold that key goes first, so the command cannot overtake an earlier one on its key (a
   * file that writes a key twice, apart).
   */
  const settle = (slot: number, key: Buffer, keyStart: number, keyEnd: number) =>
    batch.settle(slot, key, keyStart, keyEnd);
  /** Sends the held command as the file has it. */
  const sendHeldAsIs = () => {
    const bytes = held.end - held.start;
    stats.commands++;
    stats.bytes += bytes;
    cur = held;
    settle(held.slot, held.buf, held.keyStart, held.keyEnd);
    target.sendEncoded(bytes, held.db, copySpan, passErrors, held.db * 2 + held.first, held.slot);
    run.progress(false);
  };
  /** The held plain SET into the MSET batch (or alone, when it does not fit). */
  const batchHeldSet = () => {
    // The pair: after `*3\r\n$3\r\nSET\r\n`.
    const start = heldArgs() + 9;
    if (held.first === 0 || !batch.begin(held.db, held.end - start, held.buf, held.keyStart, held.keyEnd))
      return sendHeldAsIs();
    batch.commit(batch.len + held.buf.copy(batch.buf, batch.len, start, held.end));
  };
  // The held collection as one RESTORE: its value encoded from the command's bytes (see
  // CollectionPayload), the command written by the same encoder as an RDB restore's.
  const collection = new CollectionPayload();
  const restoreEncoder = new RestoreEncoder(run.payloadVersion, false);
  const restoreSpan = emptyKeySpan(none);

  /** The held collection as one RESTORE (expiring at `expire`, the PEXPIREAT span); false when it cannot be. */
  const restoreHeld = (expire: CommandSpan | null): boolean => {
    if (run.restoreRefused) return false;
    let expiresAt: number | undefined;
    if (expire) {
      const t = expire.buf.toString('latin1', expire.a2Start, expire.a2End);
      if (!/^\d{1,15}$/.test(t)) return false;
      expiresAt = Number(t);
    }
    const n = collection.encode(held.buf, held.start, held.end, held.name);
    if (n < 0) return false;
    const span = restoreSpan;
    span.db = held.db;
    span.type = collection.type;
    span.keyBuf = held.buf;
    span.keyStart = held.keyStart;
    span.keyEnd = held.keyEnd;
    span.buf = collection.body;
    span.valueStart = collection.start;
    span.valueEnd = n;
    span.expiresAt = expiresAt;
    const bytes = restoreEncoder.measure(span);
    stats.commands++;
    stats.bytes += bytes;
    run.usedRestore = true;
    settle(held.slot, held.buf, held.keyStart, held.keyEnd);
    target.sendEncoded(bytes, held.db, restoreEncoder.encode, items.rawKeyErrors, held.db, held.slot);
    run.progress(false);
    return true;
  };
  /** Sends the held command, with `expire` (a PEXPIREAT on its key) or not. */
  const releaseHeld = (expire: CommandSpan | null) => {
    held.on = false;
    if (held.name === 'SET') {
      if (!expire) return batchHeldSet();
      held.tBuf = expire.buf;
      held.tStart = expire.a2Start;
      held.tEnd = expire.a2End;
      const bytes = 4 + (held.end - heldArgs()) + PXAT.length + bulkSize(held.tEnd - held.tStart);
      stats.commands++;
      stats.bytes += bytes;
      settle(held.slot, held.buf, held.keyStart, held.keyEnd);
      target.sendEncoded(bytes, held.db, mergedSet, passErrors, held.db * 2 + held.first, held.slot);
      run.progress(false);
      return;
    }
    if (restoreHeld(expire)) return;
    sendHeldAsIs();
    if (expire) sendSpan(expire, 1);
  };
  /** Sends the held command and everything the batch gathered (before a command that is not a key's). */
  const flushHeld = async () => {
    if (!held.on && batch.count === 0) return;
    if (held.on) {
      await target.room(2 * (held.end - held.start) + 2 * MSET_ROOM);
      releaseHeld(null);
    }
    await batch.drain();
  };
  /** Largest command held back (bigger ones go as they are). */
  const HOLD_MAX = 64 * 1024;
  /** Window room `takeSpan(span)` may use (a payload is at most about the command's size). */
  const needed = (span: CommandSpan) =>
    span.end - span.start + (held.on ? 2 * (held.end - held.start) + 256 : 0) + (cluster ? 2 : 1) * MSET_ROOM;
  /** True when `span`'s key (argument `ki`) is the held command's key. */
  const onHeldKey = (span: CommandSpan, ki: number, db: number): boolean => {
    const s = ki === 1 ? span.a1Start : span.a2Start;
    const e = ki === 1 ? span.a1End : span.a2End;
    return (
      held.db === db &&
      e - s === held.keyEnd - held.keyStart &&
      span.buf.compare(held.buf, held.keyStart, held.keyEnd, s, e) === 0
    );
  };
  /** The name of `span`'s command (upper case) if it may be held: a plain SET or a collection command; else ''. */
  const holdName = (span: CommandSpan): string => {
    if (!grouped || span.end - span.start > HOLD_MAX) return '';
    const { buf, nameStart: s, nameEnd: e } = span;
    if (e - s === 3) return mergeSets && span.argc === 3 && nameIs(buf, s, e, 'SET') ? 'SET' : '';
    if (!convertCollections || span.argc < 3) return '';
    for (const name of COLLECTION_COMMANDS) if (nameIs(buf, s, e, name)) return name;
    return '';
  };
  /** Sends `span` (a key command) and/or the held command; the window must have `needed(span)`. */
  const takeSpan = (span: CommandSpan, ki: number) => {
    const db = dbOf(grouper!.currentDb);
    if (held.on) {
      const same = onHeldKey(span, ki, db);
      if (same && span.argc === 3 && nameIs(span.buf, span.nameStart, span.nameEnd, 'PEXPIREAT')) {
        releaseHeld(span);
        return;
      }
      if (same) {
        // The key has more commands: they go as the file has them.
        held.on = false;
        sendHeldAsIs();
      } else releaseHeld(null);
    }
    const name = holdName(span);
    if (name !== '') {
      const first = firstOfKey(db, span.buf, span.a1Start, span.a1End);
      if (first === 1) {
        held.on = true;
        held.name = name;
        held.buf = span.buf;
        held.start = span.start;
        held.end = span.end;
        held.db = db;
        held.keyStart = span.a1Start;
        held.keyEnd = span.a1End;
        held.slot = target.slotOfKey(span.buf, span.a1Start, span.a1End);
        held.first = first;
        return;
      }
      sendSpan(span, ki, first);
      return;
    }
    sendSpan(span, ki);
  };
  /** Sends `span` as it is; `first`: whether it starts a key, when already known. */
  const sendSpan = (span: CommandSpan, ki: number, first?: number) => {
    const db = dbOf(grouper!.currentDb);
    const keyStart = ki === 1 ? span.a1Start : span.a2Start;
    const keyEnd = ki === 1 ? span.a1End : span.a2End;
    const starts = first ?? firstOfKey(db, span.buf, keyStart, keyEnd);
    const bytes = span.end - span.start;
    stats.commands++;
    stats.bytes += bytes;
    cur = span;
    const slot = target.slotOfKey(span.buf, keyStart, keyEnd);
    settle(slot, span.buf, keyStart, keyEnd);
    target.sendEncoded(bytes, db, copySpan, passErrors, db * 2 + starts, slot);
    run.progress(false);
  };
  /** A command that is not sent as it is: through the item path, alone (order is kept). */
  const viaItems = async (args: Command): Promise<boolean> => {
    if (!grouper) {
      // The first command (nothing is held or gathered before it): the header, if the file has one.
      const header = parseHeaderCommand(args);
      grouped = header !== null && header.replay !== 'raw';
      grouper = new ItemGrouper({ grouped });
    }
    const ki = args[0] && !isName(args[0], 'RESTORE') ? keyIndex(args, upper(args[0])) : -1;
    if (ki !== -1) {
      // A key command split across input chunks: sent as it is too, after the held command (and,
      // standalone, the batch; into a cluster, what its key's slot gathered).
      const bytes = encodedLength(args);
      await target.room(bytes + (held.on ? 2 * (held.end - held.start) + 256 : 0) + 2 * MSET_ROOM);
      if (run.stopped) return false;
      if (held.on) {
        held.on = false;
        releaseHeld(null);
      }
      const key = args[ki]!;
      const slot = target.slotOfKey(key, 0, key.length);
      settle(slot, key, 0, key.length);
      const db = dbOf(grouper.currentDb);
      const first = firstOfKey(db, key, 0, key.length);
      stats.commands++;
      stats.bytes += bytes;
      target.send(args, bytes, db, key, passErrors, db * 2 + first);
      run.progress(false);
      return true;
    }
    await flushHeld();
    prevKey = null;
    const out: RestoreItem[] = [];
    grouper.push(args, out);
    grouper.end(out);
    for (const item of out) if (!(await items.handle(item))) return false;
    return true;
  };
  await passThroughResp(path, {
    truncated: run.truncated,
    onTruncated: (t) => run.dropped.push(t),
    onBytes: (n) => {
      stats.inputBytes += n;
    },
    onSpan: (span) => {
      if (run.stopped || !grouper) return false;
      const ki = spanKeyIndex(span);
      if (ki === -1 || !target.hasRoom(needed(span))) return false;
      run.checkAborted();
      takeSpan(span, ki);
      return true;
    },
    onSpanAsync: async (span) => {
      if (run.stopped) return false;
      const ki = grouper ? spanKeyIndex(span) : -1;
      if (ki === -1) return viaItems(decodeCommandAt(span.buf, span.start));
      run.checkAborted();
      await target.room(needed(span));
      if (run.stopped) return false;
      takeSpan(span, ki);
      return true;
    },
    onEnd: flushHeld,
    onCommand: (c) => {
      if (run.stopped) return Promise.resolve(false);
      run.checkAborted();
      return viaItems(c.args);
    },
  });
  // A file without our header does not say which commands make a key (counted at the end).
  if (!grouped) run.rawReplay = true;
}
