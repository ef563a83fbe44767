import type { ValueType } from '../model.js';

/**
 * Where a data command names its keys:
 * - `first`: one key, the first argument (most commands);
 * - `all`: every argument is a key, each changed on its own (DEL, UNLINK);
 * - `pairs`: key value key value... (MSET), each key set on its own;
 * - `group`: XGROUP: the key is the second argument;
 * - `cross`: the command reads or moves data between keys (RENAME, SMOVE, ...STORE): one key's value
 *   then depends on another's, so a restore cannot apply its per-key rule to it.
 */
export type KeySpec = 'first' | 'all' | 'pairs' | 'group' | 'cross';

export interface DataCommand {
  keys: KeySpec;
  /** The value type the command writes (undefined for generic commands: DEL, EXPIRE...). */
  type?: ValueType;
}

const t = (keys: KeySpec, type?: ValueType): DataCommand => (type ? { keys, type } : { keys });

/**
 * The commands a restore replays: the ones that write a key's data (and nothing else: no ACL,
 * CONFIG, scripts, FLUSHALL, SAVE, ...). These are what the server's AOF and replication stream
 * hold for data changes (scripts and transactions are propagated as their effects), and what
 * other tools' RESP dumps use. `SELECT`, `MULTI`/`EXEC`, `FUNCTION LOAD` and our header are
 * handled by the restore itself.
 */
export const DATA_COMMANDS: Readonly<Record<string, DataCommand>> = {
  // strings (and bitmaps, HyperLogLogs: strings too)
  SET: t('first', 'string'),
  SETNX: t('first', 'string'),
  SETEX: t('first', 'string'),
  PSETEX: t('first', 'string'),
  GETSET: t('first', 'string'),
  GETDEL: t('first', 'string'),
  GETEX: t('first', 'string'),
  APPEND: t('first', 'string'),
  SETRANGE: t('first', 'string'),
  INCR: t('first', 'string'),
  DECR: t('first', 'string'),
  INCRBY: t('first', 'string'),
  DECRBY: t('first', 'string'),
  INCRBYFLOAT: t('first', 'string'),
  SETBIT: t('first', 'string'),
  BITFIELD: t('first', 'string'),
  PFADD: t('first', 'string'),
  MSET: t('pairs', 'string'),
  // lists
  RPUSH: t('first', 'list'),
  LPUSH: t('first', 'list'),
  RPUSHX: t('first', 'list'),
  LPUSHX: t('first', 'list'),
  LPOP: t('first', 'list'),
  RPOP: t('first', 'list'),
  LSET: t('first', 'list'),
  LINSERT: t('first', 'list'),
  LREM: t('first', 'list'),
  LTRIM: t('first', 'list'),
  // hashes
  HSET: t('first', 'hash'),
  HMSET: t('first', 'hash'),
  HSETNX: t('first', 'hash'),
  HDEL: t('first', 'hash'),
  HINCRBY: t('first', 'hash'),
  HINCRBYFLOAT: t('first', 'hash'),
  HPEXPIREAT: t('first', 'hash'),
  HPERSIST: t('first', 'hash'),
  // sets
  SADD: t('first', 'set'),
  SREM: t('first', 'set'),
  SPOP: t('first', 'set'),
  // sorted sets
  ZADD: t('first', 'zset'),
  ZINCRBY: t('first', 'zset'),
  ZREM: t('first', 'zset'),
  ZREMRANGEBYSCORE: t('first', 'zset'),
  ZREMRANGEBYRANK: t('first', 'zset'),
  ZREMRANGEBYLEX: t('first', 'zset'),
  ZPOPMIN: t('first', 'zset'),
  ZPOPMAX: t('first', 'zset'),
  GEOADD: t('first', 'zset'),
  // streams
  XADD: t('first', 'stream'),
  XDEL: t('first', 'stream'),
  XTRIM: t('first', 'stream'),
  XSETID: t('first', 'stream'),
  XCLAIM: t('first', 'stream'),
  XAUTOCLAIM: t('first', 'stream'),
  XACK: t('first', 'stream'),
  XGROUP: t('group', 'stream'),
  // any type
  DEL: t('all'),
  UNLINK: t('all'),
  EXPIRE: t('first'),
  PEXPIRE: t('first'),
  EXPIREAT: t('first'),
  PEXPIREAT: t('first'),
  PERSIST: t('first'),
  RESTORE: t('first'),
  // data commands that span keys
  RENAME: t('cross'),
  RENAMENX: t('cross'),
  COPY: t('cross'),
  MOVE: t('cross'),
  SWAPDB: t('cross'),
  MSETNX: t('cross', 'string'),
  BITOP: t('cross', 'string'),
  PFMERGE: t('cross', 'string'),
  RPOPLPUSH: t('cross', 'list'),
  LMOVE: t('cross', 'list'),
  LMPOP: t('cross', 'list'),
  SMOVE: t('cross', 'set'),
  SINTERSTORE: t('cross', 'set'),
  SUNIONSTORE: t('cross', 'set'),
  SDIFFSTORE: t('cross', 'set'),
  ZUNIONSTORE: t('cross', 'zset'),
  ZINTERSTORE: t('cross', 'zset'),
  ZDIFFSTORE: t('cross', 'zset'),
  ZRANGESTORE: t('cross', 'zset'),
  ZMPOP: t('cross', 'zset'),
  GEOSEARCHSTORE: t('cross', 'zset'),
  SORT: t('cross'),
};

/** XGROUP subcommands (all name the key as their second argument). */
const XGROUP_SUBCOMMANDS = new Set(['CREATE', 'SETID', 'CREATECONSUMER', 'DELCONSUMER', 'DESTROY']);

/**
 * The commands our `.valkey` writer (and the server's AOF rewrite) builds a key with: in a file
 * whose header says its keys are grouped, every key command must be one of these.
 */
export const GROUPED_KEY_COMMANDS: ReadonlySet<string> = new Set([
  'SET',
  'APPEND',
  'RPUSH',
  'SADD',
  'ZADD',
  'HSET',
  'HMSET',
  'XADD',
  'XSETID',
  'XCLAIM',
  'PEXPIREAT',
  'HPEXPIREAT',
  'RESTORE',
  'XGROUP',
]);

/** The data command `name` (upper case) is, or undefined when it is not one a restore replays. */
export function dataCommand(name: string, args: readonly Buffer[]): DataCommand | undefined {
  const c = DATA_COMMANDS[name];
  if (!c) return undefined;
  if (c.keys === 'group' && !XGROUP_SUBCOMMANDS.has(args[1]?.toString('latin1').toUpperCase() ?? ''))
    return undefined;
  return c;
}

/** The keys a (non-`cross`) data command changes, each on its own. */
export function commandKeys(c: DataCommand, args: readonly Buffer[]): Buffer[] {
  switch (c.keys) {
    case 'first':
      return args.length > 1 ? [args[1]!] : [];
    case 'group':
      return args.length > 2 ? [args[2]!] : [];
    case 'all':
      return args.slice(1);
    case 'pairs': {
      const keys: Buffer[] = [];
      for (let i = 1; i < args.length; i += 2) keys.push(args[i]!);
      return keys;
    }
    case 'cross':
      return [];
  }
}

/**
 * A multi-key command as one command per key (`DEL a b` → `DEL a`, `DEL b`; `MSET a 1 b 2` →
 * `SET a 1`, `SET b 2`), so each key can be kept, skipped or replaced on its own.
 */
export function splitPerKey(c: DataCommand, args: Buffer[]): Buffer[][] {
  if (c.keys === 'all' && args.length > 2) return args.slice(1).map((k) => [args[0]!, k]);
  if (c.keys === 'pairs' && args.length > 3) {
    const set = Buffer.from('SET');
    const out: Buffer[][] = [];
    for (let i = 1; i + 1 < args.length; i += 2) out.push([set, args[i]!, args[i + 1]!]);
    return out;
  }
  return [args];
}
