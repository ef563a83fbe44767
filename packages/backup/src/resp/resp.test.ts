import { describe, expect, it } from 'vitest';
import type { KeyRecord, RdbRecord } from '../model.js';
import { command, encodeCommand, encodedLength, writeDigits } from './encode.js';
import { BackupError } from '../errors.js';
import { RespCommandParser, parseRespCommands } from './parser.js';
import { commandsToReadable, formatCommandLine, parseCommandLine, readableToCommands } from './readable.js';
import { formatScore, keyRecordToCommands, recordsToCommands } from './records-to-commands.js';
import { commandsToResp, parseHeaderCommand } from './writer.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const text = (c: Buffer[]) => c.map((x) => x.toString('latin1'));

const fixtures: Array<[string, Buffer[][]]> = [
  ['simple', [[b('SET'), b('k'), b('v')]]],
  ['empty arg', [[b('SET'), b(''), b('')]]],
  ['binary with CRLF inside', [[b('SET'), Buffer.from([0, 13, 10, 255]), b('\r\n$3\r\n*')]]],
  ['several', [[b('SELECT'), b('3')], [b('RPUSH'), b('l'), b('a'), b('b'), b('c')], [b('PING')]]],
  ['long arg', [[b('SET'), b('big'), Buffer.alloc(20_000, 7)]]],
];

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('RESP command encoder and parser', () => {
  it('encodes the RESP2 framing exactly', () => {
    expect(encodeCommand(['SET', 'k', 1]).toString()).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n');
    const c = command('SET', Buffer.from([0]), 12345n);
    expect(encodedLength(c)).toBe(encodeCommand(c).length);
  });

  it('encodes every length boundary (1-3+ digit counts and sizes) like the plain text framing', () => {
    const reference = (args: Buffer[]): Buffer =>
      Buffer.concat([
        Buffer.from(`*${args.length}\r\n`),
        ...args.flatMap((a) => [Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n')]),
      ]);
    for (const count of [1, 9, 10, 99, 100, 1001]) {
      const args = Array.from({ length: count }, (_, i) =>
        Buffer.alloc([0, 9, 10, 31, 32, 99, 100, 100_000][i % 8]!, i),
      );
      const want = reference(args);
      expect(encodeCommand(args).equals(want)).toBe(true);
      expect(encodedLength(args)).toBe(want.length);
    }
  });

  it('commandsToResp chunks exactly the concatenated encoding, including commands larger than a chunk', async () => {
    const cmds = Array.from({ length: 300 }, (_, i) =>
      command('SET', `key:${i}`, Buffer.alloc(i % 50 === 0 ? 5000 : i, 120)),
    );
    const want = Buffer.concat([
      encodeCommand(['ECHO', 'valkey-tools resp 1 {}']),
      ...cmds.map(encodeCommand),
    ]);
    const chunks = await collect(commandsToResp(cmds, { header: {}, chunkSize: 1024 }));
    expect(Buffer.concat(chunks).equals(want)).toBe(true);
    expect(chunks.every((c) => c.length <= 1024 || c.length > 5000)).toBe(true);
    expect(
      Buffer.concat(await collect(commandsToResp([], { header: {} }))).equals(
        want.subarray(0, encodeCommand(['ECHO', 'valkey-tools resp 1 {}']).length),
      ),
    ).toBe(true);
  });

  for (const [name, cmds] of fixtures) {
    const wire = Buffer.concat(cmds.map(encodeCommand));
    it(`parses "${name}" in one chunk`, () => {
      const p = new RespCommandParser();
      const got = p.push(wire);
      expect(got.map((c) => c.args)).toEqual(cmds);
      expect(p.idle).toBe(true);
      expect(p.offset).toBe(wire.length);
      expect(() => p.end()).not.toThrow();
    });
    it(`parses "${name}" byte by byte`, () => {
      const p = new RespCommandParser();
      const got: Buffer[][] = [];
      for (let i = 0; i < wire.length; i++) got.push(...p.push(wire.subarray(i, i + 1)).map((c) => c.args));
      expect(got).toEqual(cmds);
    });
  }

  it('gives the same commands, offsets and indexes for any chunking (whole and split commands mixed)', () => {
    const cmds = fixtures.flatMap(([, c]) => c);
    const wire = Buffer.concat(cmds.map(encodeCommand));
    const whole = new RespCommandParser().push(wire);
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 20; round++) {
      const p = new RespCommandParser();
      const got = [];
      for (let i = 0; i < wire.length; ) {
        const n = 1 + Math.floor(rand() * 300);
        got.push(...p.push(wire.subarray(i, i + n)));
        i += n;
      }
      expect(got).toEqual(whole);
      expect(p.offset).toBe(wire.length);
    }
  });

  it('reports offsets and indexes of commands', () => {
    const wire = Buffer.concat([encodeCommand(['PING']), encodeCommand(['SET', 'a', 'b'])]);
    const got = new RespCommandParser().push(wire);
    expect(got.map((c) => [c.offset, c.index])).toEqual([
      [0, 0],
      [14, 1],
    ]);
  });

  it('reports a truncated last command with its offset, and can drop it', async () => {
    const good = encodeCommand(['SET', 'a', 'b']);
    const wire = Buffer.concat([good, encodeCommand(['SET', 'k', 'value']).subarray(0, 20)]);
    const p = new RespCommandParser({ source: 'x.aof' });
    expect(p.push(wire)).toHaveLength(1);
    expect(p.tail()).toEqual({ offset: good.length, bytes: 20, index: 1 });
    let err: unknown;
    try {
      p.end();
    } catch (e) {
      err = e;
    }
    expect(BackupError.hasCode(err, 'ERR_RESP_TRUNCATED')).toBe(true);
    expect(String(err)).toContain(`x.aof: the last command (#2, starting at byte ${good.length})`);
    const tails: unknown[] = [];
    const cmds = await collect(
      parseRespCommands([wire], { truncated: 'drop', onTruncated: (t) => tails.push(t) }),
    );
    expect(cmds).toHaveLength(1);
    expect(tails).toEqual([{ offset: good.length, bytes: 20, index: 1 }]);
    await expect(collect(parseRespCommands([wire]))).rejects.toThrow(/truncated/);
  });

  it('rejects garbage with the byte offset', () => {
    const p = new RespCommandParser({ source: 'f.valkey' });
    p.push(encodeCommand(['PING']));
    expect(() => p.push(b('SET k v\r\n'))).toThrow(/f\.valkey: expected '\*' .* at byte 14 \(command #2\)/);
    expect(() => new RespCommandParser().push(b('*2\r\n$3\r\nabcXY'))).toThrow(/not followed by/);
    expect(() => new RespCommandParser().push(b('*x\r\n'))).toThrow(/bad array length/);
    expect(() => new RespCommandParser().push(b('*1\r\n+OK\r\n'))).toThrow(/expected '\$'/);
  });
});

describe('readable view', () => {
  it('quotes like valkey-cli and leaves plain words bare', () => {
    expect(formatCommandLine([b('SET'), b('key:1'), b('hello world')])).toBe('SET key:1 "hello world"');
    expect(formatCommandLine([b(''), Buffer.from([0, 7, 8, 9, 10, 13, 0x22, 0x5c, 0xff, 0x41])])).toBe(
      '"" "\\x00\\a\\b\\t\\n\\r\\"\\\\\\xffA"',
    );
    expect(formatCommandLine([b("it's")])).toBe(`"it's"`);
  });
  it('parses lines like valkey-cli (sdssplitargs)', () => {
    expect(text(parseCommandLine(`SET "a b" 'c\\'d' e\\x41 "\\x41\\n\\q"`))).toEqual([
      'SET',
      'a b',
      "c'd",
      'e\\x41',
      'A\nq',
    ]);
    expect(() => parseCommandLine('SET "abc')).toThrow(/unbalanced double quotes/);
    expect(() => parseCommandLine('SET "a"b', { line: 7, source: 'x.txt' })).toThrow(
      /x\.txt:7:.*followed by a space/,
    );
  });
  it('round-trips every byte value', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const cmds = [[b('SET'), all, all.subarray(0, 0)], [b('PING')], [b('HSET'), b('h'), b('f'), b('"\'\\ ')]];
    const chunks = await collect(commandsToReadable(cmds));
    const wire = Buffer.concat(chunks);
    expect(wire.toString('latin1').split('\n')).toHaveLength(4);
    expect(await collect(readableToCommands(chunks))).toEqual(cmds);
    // byte by byte
    const single = Array.from(wire, (x) => Buffer.from([x]));
    expect(await collect(readableToCommands(single))).toEqual(cmds);
  });
});

describe('records to commands', () => {
  it('formats scores that round-trip exactly', () => {
    const cases: Array<[number, string]> = [
      [Number.POSITIVE_INFINITY, 'inf'],
      [Number.NEGATIVE_INFINITY, '-inf'],
      [-0, '-0'],
      [0, '0'],
      [5e-324, '5e-324'],
      [1e308, '1e+308'],
      [0.1, '0.1'],
      [1 / 3, '0.3333333333333333'],
      [-1.7976931348623157e308, '-1.7976931348623157e+308'],
    ];
    for (const [n, s] of cases) {
      expect(formatScore(n)).toBe(s);
      expect(Object.is(Number.parseFloat(s.replace('inf', 'Infinity')), n)).toBe(true);
    }
    expect(() => formatScore(Number.NaN)).toThrow(/NaN/);
  });

  const key = (value: KeyRecord['value'], extra: Partial<KeyRecord> = {}): KeyRecord => ({
    kind: 'key',
    db: 0,
    key: b('k'),
    encoding: 'x',
    value,
    ...extra,
  });

  it('batches collections and appends the expiry', () => {
    const items = Array.from({ length: 5 }, (_, i) => b(`i${i}`));
    const cmds = keyRecordToCommands(key({ type: 'list', items }, { expiresAt: 1893456000000 }), {
      batchSize: 2,
    });
    expect(cmds.map(text)).toEqual([
      ['RPUSH', 'k', 'i0', 'i1'],
      ['RPUSH', 'k', 'i2', 'i3'],
      ['RPUSH', 'k', 'i4'],
      ['PEXPIREAT', 'k', '1893456000000'],
    ]);
    expect(
      keyRecordToCommands(key({ type: 'zset', entries: [{ member: b('m'), score: -0 }] })).map(text),
    ).toEqual([['ZADD', 'k', '-0', 'm']]);
  });

  it('writes hash field TTLs with HPEXPIREAT ... FIELDS', () => {
    const cmds = keyRecordToCommands(
      key({
        type: 'hash',
        entries: [
          { field: b('a'), value: b('1'), expiresAt: 2000000000000 },
          { field: b('b'), value: b('2') },
          { field: b('c'), value: b('3'), expiresAt: 2000000000000 },
        ],
      }),
    );
    expect(cmds.map(text)).toEqual([
      ['HSET', 'k', 'a', '1', 'b', '2', 'c', '3'],
      ['HPEXPIREAT', 'k', '2000000000000', 'FIELDS', '2', 'a', 'c'],
    ]);
  });

  it('writes streams like the AOF rewrite', () => {
    const id = (ms: number, seq: number) => ({ ms: BigInt(ms), seq: BigInt(seq) });
    const cmds = keyRecordToCommands(
      key({
        type: 'stream',
        entries: [{ id: id(1, 0), fields: [[b('f'), b('v')]] }],
        length: 1n,
        lastId: id(3, 0),
        firstId: id(1, 0),
        maxDeletedId: id(2, 0),
        entriesAdded: 3n,
        groups: [
          {
            name: b('g'),
            lastId: id(1, 0),
            entriesRead: 2n ** 64n - 1n,
            pending: [{ id: id(1, 0), deliveryTime: 1700000000000, deliveryCount: 2, consumer: b('alice') }],
            consumers: [
              { name: b('alice'), seenTime: 1, pending: [id(1, 0)] },
              { name: b('bob'), seenTime: 1, pending: [] },
            ],
          },
        ],
      }),
    );
    expect(cmds.map((c) => text(c).join(' '))).toEqual([
      'XADD k 1-0 f v',
      'XSETID k 3-0 ENTRIESADDED 3 MAXDELETEDID 2-0',
      'XGROUP CREATE k g 1-0 ENTRIESREAD -1',
      'XCLAIM k g alice 0 1-0 TIME 1700000000000 RETRYCOUNT 2 JUSTID FORCE',
      'XGROUP CREATECONSUMER k g bob',
    ]);
    const empty = keyRecordToCommands(
      key({ type: 'stream', entries: [], length: 0n, lastId: id(0, 0), groups: [] }),
    );
    expect(empty.map((c) => text(c).join(' '))).toEqual(['XADD k MAXLEN 0 0-1 x y', 'XSETID k 0-0']);
  });

  it('emits FUNCTION LOAD REPLACE and SELECT per db change, with a pipe-safe header', async () => {
    const records: RdbRecord[] = [
      { kind: 'function', code: b('#!lua name=lib\nserver.register_function("f", function() return 1 end)') },
      key({ type: 'string', value: b('v') }),
      key({ type: 'string', value: b('w') }, { db: 2 }),
    ];
    const cmds = await collect(recordsToCommands(records));
    expect(cmds.map((c) => c[0]!.toString())).toEqual(['FUNCTION', 'SELECT', 'SET', 'SELECT', 'SET']);
    const wire = Buffer.concat(await collect(commandsToResp(cmds, { header: { source: 'x.rdb' } })));
    const parsed = new RespCommandParser().push(wire);
    expect(parseHeaderCommand(parsed[0]!.args)).toEqual({ source: 'x.rdb' });
    expect(parsed.slice(1).map((c) => c.args)).toEqual(cmds);
    expect(parseHeaderCommand([b('ECHO'), b('hello')])).toBeNull();
  });
});

describe('writeDigits', () => {
  it('writes the decimal digits of any non-negative safe integer, as String() does', () => {
    const values = [0, 7, 10, 99, 100, 12345, 999_999_999, 1_000_000_000, 2 ** 31 - 2, 2 ** 31, 2 ** 32 + 5];
    values.push(Number.MAX_SAFE_INTEGER, 10 ** 15, 4_102_444_800_000);
    for (let i = 0; i < 2000; i++) values.push(Math.floor(Math.random() * 2 ** (1 + (i % 53))));
    const out = Buffer.alloc(32, 0x2a);
    for (const v of values) {
      out.fill(0x2a);
      const end = writeDigits(out, 3, v);
      expect(out.toString('latin1', 3, end), String(v)).toBe(String(v));
      expect(out[2]).toBe(0x2a);
      expect(out[end]).toBe(0x2a);
    }
  });
});
