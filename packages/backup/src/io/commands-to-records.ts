import type {
  KeyRecord,
  RdbRecord,
  StreamConsumer,
  StreamGroup,
  StreamId,
  StreamValue,
  Value,
} from '../model.js';
import type { Command } from '../resp/encode.js';
import { BackupError } from '../errors.js';
import { parseHeaderCommand } from '../resp/writer.js';
import { decodeDump } from '../rdb/dump.js';

export interface CommandsToRecordsOptions {
  /** Named in errors. */
  source?: string;
  /** The db the stream starts in (default 0). */
  db?: number;
  /**
   * Keys already produced by an earlier part of the same input (an AOF's RDB preamble), as
   * `<db>:<key latin1>`: a command touching one of them cannot be applied offline.
   */
  seen?: Set<string>;
}

const text = (b: Buffer | undefined) => (b ? b.toString('latin1') : '');
const upper = (b: Buffer | undefined) => text(b).toUpperCase();

function parseId(raw: Buffer | undefined, fail: (m: string) => never): StreamId {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text(raw));
  if (!m) fail(`bad stream id "${text(raw)}"`);
  return { ms: BigInt(m[1]!), seq: BigInt(m[2] ?? 0) };
}

function parseScore(raw: Buffer, fail: (m: string) => never): number {
  const s = text(raw).toLowerCase();
  if (s === 'inf' || s === '+inf' || s === 'infinity' || s === '+infinity') return Number.POSITIVE_INFINITY;
  if (s === '-inf' || s === '-infinity') return Number.NEGATIVE_INFINITY;
  const n = Number(s);
  if (s.trim() === '' || Number.isNaN(n)) fail(`bad score "${text(raw)}"`);
  // ZADD stores -0 as 0 (only a RESTORE payload can carry -0).
  return n === 0 ? 0 : n;
}

function int(raw: Buffer | undefined, fail: (m: string) => never): number {
  const s = text(raw);
  if (!/^-?\d+$/.test(s)) fail(`"${s}" is not an integer`);
  return Number(s);
}

const cmpId = (a: StreamId, b: StreamId) =>
  a.ms === b.ms ? (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0) : a.ms < b.ms ? -1 : 1;

/**
 * Rebuilds records from a command stream offline (no server): the commands our `.valkey` files
 * and the server's AOF rewrite use to create keys (SET, RPUSH, SADD, ZADD, HSET/HMSET, XADD,
 * XSETID, XGROUP CREATE/CREATECONSUMER, XCLAIM, PEXPIREAT, HPEXPIREAT, RESTORE, FUNCTION LOAD,
 * SELECT), with each key's commands consecutive. Anything else (INCR, LPUSH, DEL of an earlier
 * key...) is reported: replay such an AOF into a server with `restore()` and back that up.
 */
export async function* commandsToRecords(
  commands: AsyncIterable<Command> | Iterable<Command>,
  options: CommandsToRecordsOptions = {},
): AsyncGenerator<RdbRecord> {
  const source = options.source ?? 'input';
  const seen = options.seen ?? new Set<string>();
  let db = options.db ?? 0;
  let index = -1;
  let cur: KeyRecord | null = null;
  let name = '';
  const fail = (m: string): never => {
    throw new BackupError('ERR_UNSUPPORTED_COMMAND', `${source}: command #${index + 1} (${name}): ${m}`, {
      details: { source, command: index, name },
      hint: 'Only the commands that create keys can be converted offline; replay this file into a server with restore() and back that up instead',
    });
  };
  const id = (k: Buffer) => `${db}:${k.toString('latin1')}`;
  const begin = (key: Buffer, value: Value): KeyRecord => {
    if (seen.has(id(key))) fail(`key "${text(key)}" was already written earlier in the input`);
    return { kind: 'key', db, key, encoding: 'resp', value };
  };
  const stream = (): StreamValue => {
    if (cur?.value.type !== 'stream') fail('no stream is being built for this key');
    return cur!.value as StreamValue;
  };
  const group = (s: StreamValue, g: Buffer): StreamGroup => {
    const found = s.groups.find((x) => x.name.equals(g));
    if (!found) fail(`no consumer group "${text(g)}"`);
    return found!;
  };
  const consumer = (g: StreamGroup, c: Buffer, time: number): StreamConsumer => {
    let found = g.consumers.find((x) => x.name.equals(c));
    if (!found) {
      found = { name: c, seenTime: time, activeTime: time, pending: [] };
      g.consumers.push(found);
    }
    return found;
  };
  const finish = (): KeyRecord | null => {
    const done = cur;
    if (done) {
      seen.add(id(done.key));
      if (done.value.type === 'stream') {
        const s = done.value;
        s.length = BigInt(s.entries.length);
        s.firstId ??= s.entries[0]?.id ?? { ms: 0n, seq: 0n };
        s.maxDeletedId ??= { ms: 0n, seq: 0n };
        s.entriesAdded ??= BigInt(s.entries.length);
      }
    }
    cur = null;
    return done;
  };

  for await (const args of commands) {
    index++;
    name = upper(args[0]);
    if (name === 'ECHO' && parseHeaderCommand(args)) continue;
    if (name === 'MULTI' || name === 'EXEC') continue;
    if (name === 'SELECT') {
      const done = finish();
      if (done) yield done;
      db = int(args[1], fail);
      continue;
    }
    if (name === 'FUNCTION') {
      if (upper(args[1]) !== 'LOAD') fail('only FUNCTION LOAD can be converted');
      const done = finish();
      if (done) yield done;
      yield { kind: 'function', code: args[args.length - 1]! };
      continue;
    }
    const keyPos = name === 'XGROUP' ? 2 : 1;
    const key = args[keyPos];
    if (!key) fail('missing key');
    if (cur && !(cur as KeyRecord).key.equals(key!)) {
      const done = finish();
      if (done) yield done;
    }
    const creating = cur === null;
    switch (name) {
      case 'SET': {
        if (args.length < 3) fail('missing value');
        if (!creating) fail('SET on a key already being built');
        // The server logs `SET k v EX 10` (and SETEX, PSETEX) in its AOF as `SET k v PXAT <ms>`.
        let expiresAt: number | undefined;
        const opts = args.slice(3);
        for (let i = 0; i < opts.length; i++) {
          const opt = upper(opts[i]);
          if (expiresAt === undefined && ['PXAT', 'EXAT', 'PX', 'EX'].includes(opt) && i + 1 < opts.length) {
            const n = int(opts[++i], fail);
            expiresAt =
              opt === 'PXAT' ? n : opt === 'EXAT' ? n * 1000 : Date.now() + (opt === 'PX' ? n : n * 1000);
          } else if (opt !== 'KEEPTTL') {
            // KEEPTTL keeps nothing on a key that is new; NX, XX and GET depend on what was there.
            fail('only SET key value [PXAT ms | EXAT s | PX ms | EX s | KEEPTTL] can be converted');
          }
        }
        cur = begin(key!, { type: 'string', value: args[2]! });
        if (expiresAt !== undefined) cur.expiresAt = expiresAt;
        break;
      }
      case 'RPUSH':
      case 'SADD':
      case 'HSET':
      case 'HMSET':
      case 'ZADD': {
        const type = name === 'RPUSH' ? 'list' : name === 'SADD' ? 'set' : name === 'ZADD' ? 'zset' : 'hash';
        if (creating) {
          cur =
            type === 'list'
              ? begin(key!, { type, items: [] })
              : type === 'set'
                ? begin(key!, { type, members: [] })
                : type === 'zset'
                  ? begin(key!, { type, entries: [] })
                  : begin(key!, { type: 'hash', entries: [] });
        }
        const v = cur!.value;
        if (v.type !== type) fail(`${name} on a ${v.type}`);
        const rest = args.slice(2);
        if (v.type === 'list') v.items.push(...rest);
        else if (v.type === 'set') v.members.push(...rest);
        else if (v.type === 'zset') {
          if (rest.length % 2 !== 0 || /^(NX|XX|GT|LT|CH|INCR)$/i.test(text(rest[0])))
            fail('only ZADD key score member ... can be converted');
          for (let i = 0; i < rest.length; i += 2)
            v.entries.push({ score: parseScore(rest[i]!, fail), member: rest[i + 1]! });
        } else if (v.type === 'hash') {
          if (rest.length % 2 !== 0) fail('odd number of field/value arguments');
          for (let i = 0; i < rest.length; i += 2) v.entries.push({ field: rest[i]!, value: rest[i + 1]! });
        }
        break;
      }
      case 'XADD': {
        if (creating) {
          cur = begin(key!, {
            type: 'stream',
            entries: [],
            length: 0n,
            lastId: { ms: 0n, seq: 0n },
            groups: [],
          });
        }
        const s = stream();
        let i = 2;
        let trimAll = false;
        if (upper(args[i]) === 'MAXLEN') {
          if (text(args[i + 1]) !== '0') fail('only XADD key MAXLEN 0 (an empty stream) can be converted');
          trimAll = true;
          i += 2;
        }
        const eid = parseId(args[i], fail);
        if (trimAll) {
          s.lastId = eid;
          s.entriesAdded = (s.entriesAdded ?? 0n) + 1n;
          break;
        }
        const fields: Array<[Buffer, Buffer]> = [];
        for (let j = i + 1; j + 1 < args.length; j += 2) fields.push([args[j]!, args[j + 1]!]);
        s.entries.push({ id: eid, fields });
        s.lastId = eid;
        s.entriesAdded = (s.entriesAdded ?? 0n) + 1n;
        break;
      }
      case 'XSETID': {
        const s = stream();
        s.lastId = parseId(args[2], fail);
        for (let i = 3; i + 1 < args.length; i += 2) {
          const opt = upper(args[i]);
          if (opt === 'ENTRIESADDED') s.entriesAdded = BigInt(int(args[i + 1], fail));
          else if (opt === 'MAXDELETEDID') s.maxDeletedId = parseId(args[i + 1], fail);
          else fail(`unknown XSETID option ${opt}`);
        }
        break;
      }
      case 'XGROUP': {
        const sub = upper(args[1]);
        if (sub === 'CREATE') {
          if (creating) {
            if (!args.slice(5).some((a) => upper(a) === 'MKSTREAM'))
              fail('XGROUP CREATE on a missing stream');
            cur = begin(key!, {
              type: 'stream',
              entries: [],
              length: 0n,
              lastId: { ms: 0n, seq: 0n },
              groups: [],
            });
          }
          const s = stream();
          const g: StreamGroup = {
            name: args[3]!,
            lastId: text(args[4]) === '$' ? s.lastId : parseId(args[4], fail),
            pending: [],
            consumers: [],
          };
          for (let i = 5; i < args.length; i++) {
            if (upper(args[i]) === 'ENTRIESREAD') g.entriesRead = BigInt(int(args[++i], fail));
          }
          s.groups.push(g);
        } else if (sub === 'CREATECONSUMER') {
          consumer(group(stream(), args[3]!), args[4]!, Date.now());
        } else fail(`XGROUP ${sub} cannot be converted`);
        break;
      }
      case 'XCLAIM': {
        const s = stream();
        const g = group(s, args[2]!);
        const owner = args[3]!;
        const ids: StreamId[] = [];
        let i = 5;
        while (i < args.length && /^\d+(-\d+)?$/.test(text(args[i]))) ids.push(parseId(args[i++], fail));
        let time = Date.now();
        let count = 0;
        for (; i < args.length; i++) {
          const opt = upper(args[i]);
          if (opt === 'TIME') time = int(args[++i], fail);
          else if (opt === 'RETRYCOUNT') count = int(args[++i], fail);
          else if (opt === 'IDLE') time = Date.now() - int(args[++i], fail);
        }
        const c = consumer(g, owner, time);
        for (const pid of ids) {
          // Like the server: a claim of an entry the stream no longer has is dropped.
          if (!s.entries.some((e) => cmpId(e.id, pid) === 0)) continue;
          g.pending.push({ id: pid, deliveryTime: time, deliveryCount: count, consumer: owner });
          c.pending.push(pid);
        }
        g.pending.sort((a, b) => cmpId(a.id, b.id));
        break;
      }
      case 'PEXPIREAT':
        if (creating) fail('PEXPIREAT on a key not built by the previous commands');
        cur!.expiresAt = int(args[2], fail);
        break;
      case 'HPEXPIREAT': {
        if (creating || cur!.value.type !== 'hash') fail('HPEXPIREAT on a key not built as a hash');
        const v = cur!.value as Extract<Value, { type: 'hash' }>;
        const at = int(args[2], fail);
        if (upper(args[3]) !== 'FIELDS') fail('expected FIELDS');
        const n = int(args[4], fail);
        for (const f of args.slice(5, 5 + n)) {
          const e = v.entries.find((x) => x.field.equals(f));
          if (e) e.expiresAt = at;
        }
        break;
      }
      case 'RESTORE': {
        if (!creating) fail('RESTORE on a key already being built');
        const ttl = int(args[2], fail);
        const abs = args.slice(4).some((a) => upper(a) === 'ABSTTL');
        const rec = await decodeDump(args[3]!, key!, db);
        const r = begin(key!, rec.value);
        r.encoding = rec.encoding;
        if (ttl > 0) r.expiresAt = abs ? ttl : Date.now() + ttl;
        for (let i = 4; i < args.length; i++) {
          const opt = upper(args[i]);
          if (opt === 'IDLETIME') r.lruIdle = int(args[++i], fail);
          else if (opt === 'FREQ') r.lfuFreq = int(args[++i], fail);
        }
        cur = r;
        break;
      }
      default:
        fail('this command cannot be converted offline');
    }
  }
  const done = finish();
  if (done) yield done;
}
