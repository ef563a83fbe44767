import { Redis } from 'iovalkey';

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

type Cmd = Array<string | Buffer | number>;

export function datasetCommands(options: DatasetOptions = {}): Array<{ db: number; commands: Cmd[] }> {
  const dbs = options.dbs ?? [0, 1, 5, 15];
  const big = options.big ?? 3000;
  const p = options.prefix ?? '';
  const out: Array<{ db: number; commands: Cmd[] }> = [];
  for (const db of dbs) {
    const k = (name: string) => `${p}${name}:${db}`;
    const c: Cmd[] = [];
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
    const bigList: Cmd = ['RPUSH', k('list:big')];
    for (let i = 0; i < big; i++) bigList.push(i % 7 === 0 ? `item-${i}-${'y'.repeat(i % 100)}` : i);
    c.push(bigList);
    c.push(['RPUSH', k('list:bigitems'), 'z'.repeat(70000), 'small', 'w'.repeat(9000)]);
    c.push(['SADD', k('set:intset'), 1, 2, 3, -5, 2147483648, '9223372036854775807']);
    c.push(['SADD', k('set:listpack'), 'a', 'b', 'c', Buffer.from([0])]);
    const bigSet: Cmd = ['SADD', k('set:big')];
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
    const bigZset: Cmd = ['ZADD', k('zset:big')];
    for (let i = 0; i < big; i++) bigZset.push(String(i / 7), `m${i}`);
    bigZset.push('-inf', 'lowest', 'inf', 'highest', '1.7976931348623157e308', 'max', '-0', 'negzero');
    c.push(bigZset);
    c.push(['HSET', k('hash:listpack'), 'f1', 'v1', 'f2', '2', Buffer.from([1, 2]), Buffer.from([3, 0])]);
    const bigHash: Cmd = ['HSET', k('hash:big')];
    for (let i = 0; i < big; i++) bigHash.push(`field-${i}`, i % 3 === 0 ? String(i) : `value-${i}`);
    c.push(bigHash);
    c.push(['HSET', k('hash:expiring'), 'a', '1']);
    c.push(['PEXPIREAT', k('hash:expiring'), FAR_EXPIRY_MS + 1000]);
    // Streams: entries with explicit ids, deletions, groups with PELs and idle consumers.
    const s = k('stream:full');
    for (let i = 1; i <= 60; i++) {
      const fields: Cmd = i % 2 === 0 ? ['a', i, 'b', 'x'] : ['other', Buffer.from([i, 0, 255])];
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

/** Writes the dataset into a server (standalone) through iovalkey. */
export async function buildDataset(url: string, options: DatasetOptions = {}): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  try {
    if (options.functions !== false) await client.call('FUNCTION', 'LOAD', 'REPLACE', FUNCTION_LIBRARY);
    for (const { db, commands } of datasetCommands(options)) {
      await client.select(db);
      const pipe = client.pipeline();
      for (const [name, ...args] of commands) pipe.call(String(name), ...args);
      const results = await pipe.exec();
      for (const [err] of results ?? []) if (err) throw err;
    }
  } finally {
    client.disconnect();
  }
}

/** Writes the dataset (db 0 only) into a cluster through iovalkey's Cluster client (routed by slot). */
export async function buildClusterDataset(
  nodes: Array<{ host: string; port: number }>,
  options: Omit<DatasetOptions, 'dbs'> = {},
): Promise<void> {
  const { Cluster } = await import('iovalkey');
  const cluster = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 0 } });
  try {
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', () => resolve());
      cluster.once('error', reject);
    });
    if (options.functions !== false) {
      await Promise.all(
        cluster.nodes('master').map((n) => n.call('FUNCTION', 'LOAD', 'REPLACE', FUNCTION_LIBRARY)),
      );
    }
    for (const { commands } of datasetCommands({ ...options, dbs: [0] })) {
      for (const [name, ...args] of commands) await cluster.call(String(name), ...args);
    }
  } finally {
    cluster.disconnect();
  }
}
