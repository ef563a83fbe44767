import { type ServerTarget, withClient, withCluster } from './client.js';

/**
 * The datasets tests seed servers with, and the one way they are written: each part into its db
 * through one pipelined connection (or, for a cluster, routed by slot), the first error reply
 * failing the write.
 */

/** One command as data. */
export type DatasetCommand = Array<string | number | Buffer>;
/** Commands for one db. */
export interface DatasetPart {
  db: number;
  commands: DatasetCommand[];
}

/**
 * Writes `data` (commands for db 0, or parts for several dbs) and loads `functions` (library
 * codes, FUNCTION LOAD REPLACE).
 */
export async function writeDataset(
  target: ServerTarget,
  data: DatasetCommand[] | DatasetPart[],
  options: { functions?: string[] } = {},
): Promise<void> {
  await withClient(target, async (client) => {
    for (const code of options.functions ?? []) await client.call('FUNCTION', 'LOAD', 'REPLACE', code);
    const parts = isParts(data) ? data : [{ db: 0, commands: data }];
    const pipe = client.pipeline();
    for (const { db, commands } of parts) {
      pipe.select(db);
      for (const [name, ...args] of commands) pipe.call(String(name), ...args);
    }
    pipe.select(0);
    for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
  });
}

function isParts(data: DatasetCommand[] | DatasetPart[]): data is DatasetPart[] {
  return data.length > 0 && !Array.isArray(data[0]);
}

/** Writes commands (db 0) into a cluster, each routed to the node owning its key; `functions` go to every primary. */
export async function writeClusterDataset(
  nodes: Array<{ host: string; port: number }>,
  commands: DatasetCommand[],
  options: { functions?: string[] } = {},
): Promise<void> {
  await withCluster(nodes, async (cluster) => {
    for (const code of options.functions ?? []) {
      await Promise.all(cluster.nodes('master').map((n) => n.call('FUNCTION', 'LOAD', 'REPLACE', code)));
    }
    for (const [name, ...args] of commands) await cluster.call(String(name), ...args);
  });
}

/**
 * A deterministic dataset with every type and encoding, shared by the backup/restore tests:
 * strings (int, embstr, raw, binary), lists (listpack, quicklist), sets (intset, listpack,
 * hashtable), sorted sets (listpack, skiplist, extreme scores), hashes (listpack, hashtable),
 * streams (groups, PELs, idle consumers, deleted entries, empty with groups), expiries, binary key
 * names, several dbs and a function library. `big` scales the large collections.
 */
export interface DatasetOptions {
  /** dbs to fill (default [0, 1, 5, 15]); a cluster has only db 0. */
  dbs?: number[];
  /** Size of the big collections (default 3000). */
  big?: number;
  /** Load a function library (default true). */
  functions?: boolean;
  /** A prefix for every key (lets several datasets share a server). */
  prefix?: string;
}

/** An absolute expiry far in the future (2100-01-01), so it is the same on every run. */
export const FAR_EXPIRY_MS = 4102444800000;

export const FUNCTION_LIBRARY =
  "#!lua name=vtlib\nredis.register_function('vt_echo', function(keys, args) return args[1] end)";

export function everyTypeDataset(options: DatasetOptions = {}): DatasetPart[] {
  const dbs = options.dbs ?? [0, 1, 5, 15];
  const big = options.big ?? 3000;
  const p = options.prefix ?? '';
  const out: DatasetPart[] = [];
  for (const db of dbs) {
    const k = (name: string) => `${p}${name}:${db}`;
    const c: DatasetCommand[] = [];
    c.push(['SET', k('str:int'), '12345']);
    c.push(['SET', k('str:neg'), '-9223372036854775808']);
    c.push(['SET', k('str:embstr'), 'hello world']);
    c.push(['SET', k('str:raw'), 'x'.repeat(5000)]);
    c.push(['SET', k('str:empty'), '']);
    c.push(['SET', k('str:binary'), Buffer.from([0, 1, 2, 13, 10, 255, 254, 0x80, 0x22, 0x5c])]);
    c.push([
      'SET',
      Buffer.concat([Buffer.from(p), Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0x20, db])]),
      'binary key',
    ]);
    c.push(['SET', k('str:utf8:ключ🔑'), 'значение ✓']);
    c.push(['SET', k('str:expiring'), 'bye', 'PXAT', FAR_EXPIRY_MS + db]);
    c.push(['RPUSH', k('list:small'), 'a', 'b', '1', '-2', Buffer.from([0, 255])]);
    const bigList: DatasetCommand = ['RPUSH', k('list:big')];
    for (let i = 0; i < big; i++) bigList.push(i % 7 === 0 ? `item-${i}-${'y'.repeat(i % 100)}` : i);
    c.push(bigList);
    c.push(['RPUSH', k('list:bigitems'), 'z'.repeat(70000), 'small', 'w'.repeat(9000)]);
    c.push(['SADD', k('set:intset'), 1, 2, 3, -5, 2147483648, '9223372036854775807']);
    c.push(['SADD', k('set:listpack'), 'a', 'b', 'c', Buffer.from([0])]);
    const bigSet: DatasetCommand = ['SADD', k('set:big')];
    for (let i = 0; i < big; i++) bigSet.push(`member-${i}`);
    c.push(bigSet);
    c.push([
      'ZADD',
      k('zset:listpack'),
      '0.1',
      'a',
      '-inf',
      'b',
      'inf',
      'c',
      '5e-324',
      'd',
      '1e308',
      'e',
      '-0',
      'f',
      '0.30000000000000004',
      'g',
    ]);
    const bigZset: DatasetCommand = ['ZADD', k('zset:big')];
    for (let i = 0; i < big; i++) bigZset.push(String(i / 7), `m${i}`);
    bigZset.push('-inf', 'lowest', 'inf', 'highest', '1.7976931348623157e308', 'max', '-0', 'negzero');
    c.push(bigZset);
    c.push(['HSET', k('hash:listpack'), 'f1', 'v1', 'f2', '2', Buffer.from([1, 2]), Buffer.from([3, 0])]);
    const bigHash: DatasetCommand = ['HSET', k('hash:big')];
    for (let i = 0; i < big; i++) bigHash.push(`field-${i}`, i % 3 === 0 ? String(i) : `value-${i}`);
    c.push(bigHash);
    c.push(['HSET', k('hash:expiring'), 'a', '1']);
    c.push(['PEXPIREAT', k('hash:expiring'), FAR_EXPIRY_MS + 1000]);
    // Streams: entries with explicit ids, deletions, groups with PELs and idle consumers.
    const s = k('stream:full');
    for (let i = 1; i <= 60; i++) {
      const fields: DatasetCommand = i % 2 === 0 ? ['a', i, 'b', 'x'] : ['other', Buffer.from([i, 0, 255])];
      c.push(['XADD', s, `${1700000000000 + i}-${i % 3}`, ...fields]);
    }
    c.push(['XDEL', s, '1700000000010-1', '1700000000020-2']);
    c.push(['XGROUP', 'CREATE', s, 'g1', '0']);
    c.push(['XGROUP', 'CREATE', s, 'g2', '$']);
    c.push(['XGROUP', 'CREATE', s, Buffer.from([0xfe, 0x00]), '1700000000030-0']);
    c.push(['XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', 5, 'STREAMS', s, '>']);
    c.push(['XREADGROUP', 'GROUP', 'g1', 'bob', 'COUNT', 3, 'STREAMS', s, '>']);
    c.push(['XACK', s, 'g1', '1700000000002-2']);
    c.push(['XGROUP', 'CREATECONSUMER', s, 'g1', 'idle-carol']);
    c.push(['XGROUP', 'CREATECONSUMER', s, 'g2', 'idle-dave']);
    c.push([
      'XREADGROUP',
      'GROUP',
      Buffer.from([0xfe, 0x00]),
      Buffer.from([0xc0, 0x01]),
      'COUNT',
      2,
      'STREAMS',
      s,
      '>',
    ]);
    const bigStream = k('stream:big');
    for (let i = 0; i < Math.min(big, 1500); i++)
      c.push(['XADD', bigStream, '*', 'n', i, 'payload', `p${i % 13}`]);
    c.push(['XTRIM', bigStream, 'MAXLEN', '=', Math.min(big, 1500) - 100]);
    c.push(['XADD', k('stream:empty'), '5-5', 'f', 'v']);
    c.push(['XDEL', k('stream:empty'), '5-5']);
    c.push(['XGROUP', 'CREATE', k('stream:empty'), 'gempty', '$']);
    c.push(['XGROUP', 'CREATE', k('stream:mk'), 'g', '$', 'MKSTREAM']);
    c.push(['XADD', k('stream:expiring'), '1-1', 'f', 'v']);
    c.push(['PEXPIREAT', k('stream:expiring'), FAR_EXPIRY_MS + 2000]);
    out.push({ db, commands: c });
  }
  return out;
}

/** Writes the every-type dataset (and its function library) into a server. */
export async function buildDataset(target: ServerTarget, options: DatasetOptions = {}): Promise<void> {
  await writeDataset(target, everyTypeDataset(options), {
    functions: options.functions === false ? [] : [FUNCTION_LIBRARY],
  });
}

/** Writes the every-type dataset (db 0 only) into a cluster. */
export async function buildClusterDataset(
  nodes: Array<{ host: string; port: number }>,
  options: Omit<DatasetOptions, 'dbs'> = {},
): Promise<void> {
  const [part] = everyTypeDataset({ ...options, dbs: [0] });
  await writeClusterDataset(nodes, part!.commands, {
    functions: options.functions === false ? [] : [FUNCTION_LIBRARY],
  });
}

/** The function library of the encodings dataset. */
export const ENCODINGS_FUNCTION_LIBRARY =
  "#!lua name=rtlib\nredis.register_function('rt_echo', function(keys, args) return args[1] end)";

/**
 * Every kind of value the server can encode, in whatever encodings its config picks: strings
 * (int, short, LZF-compressible, incompressible, binary, empty, large), lists (listpack, quicklist,
 * a big element), sets (intset 16/32/64, listpack, hashtable), sorted sets (listpack, skiplist),
 * hashes (listpack, hashtable), streams (same and different fields, deletions, groups, PEL,
 * consumers, empty), expiries (FAR_EXPIRY_MS) and dbs 0, 1 and 3; `big` adds 2000 small strings.
 */
export function encodingsDataset(options: { big?: boolean } = {}): DatasetPart[] {
  const db0: DatasetCommand[] = [
    ['SET', 'str:int', '12345'],
    ['SET', 'str:neg', '-7'],
    ['SET', 'str:i64', '9223372036854775807'],
    ['SET', 'str:lead0', '007'],
    ['SET', 'str:plain', 'hello world'],
    ['SET', 'str:lzf', 'abc'.repeat(200)],
    ['SET', 'str:bin', Buffer.from([0, 255, 1, 254, 0x80, 10, 13, 0])],
    ['SET', 'str:empty', ''],
    ['SET', Buffer.from([0xff, 0x00, 0xfe]), 'binary key'],
    ['SET', 'str:big', Buffer.alloc(150_000, 'x')],
    ['SET', 'str:expiring', 'soon', 'PXAT', FAR_EXPIRY_MS],
    ['RPUSH', 'list:small', 'a', 'b', '1', '-300', '70000', '5000000000'],
    ['RPUSH', 'list:long', ...Array.from({ length: 1200 }, (_, i) => `item-${i}-${'z'.repeat(i % 40)}`)],
    ['RPUSH', 'list:bigelem', 'x'.repeat(20_000), 'small'],
    ['SADD', 'set:i16', '1', '2', '-3', '300'],
    ['SADD', 'set:i32', '1', '100000', '-200000'],
    ['SADD', 'set:i64', '1', '5000000000', '-9223372036854775808'],
    ['SADD', 'set:lp', 'a', 'b', 'c', '1'],
    ['SADD', 'set:ht', ...Array.from({ length: 300 }, (_, i) => `member-${i}`)],
    [
      'ZADD',
      'zset:lp',
      '1',
      'one',
      '2.5',
      'two.five',
      '-0.1',
      'neg',
      'inf',
      'top',
      '-inf',
      'bottom',
      '1e100',
      'huge',
    ],
    ['ZADD', 'zset:sl', ...Array.from({ length: 200 }, (_, i) => [String(i / 7), `zm-${i}`]).flat()],
    ['HSET', 'hash:lp', 'f1', 'v1', 'n', '42', 'neg', '-1'],
    ['HSET', 'hash:ht', ...Array.from({ length: 600 }, (_, i) => [`field-${i}`, `value-${i}`]).flat()],
    ['HSET', 'hash:longval', 'f', 'v'.repeat(100)],
  ];
  // streams: same-fields and different-fields entries, deletions, groups, PEL, consumers
  for (let i = 1; i <= 250; i++)
    db0.push([
      'XADD',
      'stream:main',
      `${1000 + Math.floor(i / 3)}-${i}`,
      'temp',
      String(i),
      'loc',
      `room-${i % 4}`,
    ]);
  db0.push(
    ['XADD', 'stream:main', '2000-0', 'other', 'fields', 'x', '1', 'y', '2'],
    ['XDEL', 'stream:main', '1001-3', '1010-30', '1020-60'],
    ['XGROUP', 'CREATE', 'stream:main', 'g1', '0'],
    ['XGROUP', 'CREATE', 'stream:main', 'g2', '$'],
    ['XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', '5', 'STREAMS', 'stream:main', '>'],
    ['XREADGROUP', 'GROUP', 'g1', 'bob', 'COUNT', '3', 'STREAMS', 'stream:main', '>'],
    ['XACK', 'stream:main', 'g1', '1000-1'],
    ['XGROUP', 'CREATECONSUMER', 'stream:main', 'g2', 'carol'],
    ['XADD', 'stream:empty', 'MAXLEN', '0', '5-5', 'gone', '1'],
    ['XADD', 'stream:small', '1-1', 'a', '1'],
  );
  if (options.big) for (let i = 0; i < 2000; i++) db0.push(['SET', `bulk:${i}`, `v${i}`]);
  return [
    { db: 0, commands: db0 },
    {
      db: 1,
      commands: [
        ['SET', 'db1:key', 'in db 1'],
        ['HSET', 'db1:hash', 'a', '1'],
        ['PEXPIREAT', 'db1:hash', FAR_EXPIRY_MS + 1000],
      ],
    },
    { db: 3, commands: [['RPUSH', 'db3:list', 'x', 'y']] },
  ];
}

/** Writes the encodings dataset (and its function library) into a server. */
export async function buildEncodingsDataset(
  target: ServerTarget,
  options: { big?: boolean } = {},
): Promise<void> {
  await writeDataset(target, encodingsDataset(options), { functions: [ENCODINGS_FUNCTION_LIBRARY] });
}
