/**
 * A live backup talks to whatever answers at the URL. A scripted server that misbehaves in the
 * replication handshake or mid-transfer (a huge length prefix, a garbage sync reply, a stall, bytes
 * that are not an RDB) must end the backup with a typed error naming the server, promptly, with
 * no output file left behind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOnFreePort } from '@valkey-tools/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { backup } from '../src/live/backup.js';
import { keyRecord, rdbFile, rdbLen, rdbStr } from './helpers/craft.js';

const work = mkdtempSync(join(tmpdir(), 'vt-hostile-'));
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(work, { recursive: true, force: true });
});

const INFO =
  '# Server\r\nredis_version:8.0.1\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n';

/** Commands of a RESP stream, as string arrays (the handshake only sends small ones). */
function* commands(buf: { data: Buffer }): Generator<string[]> {
  for (;;) {
    const b = buf.data;
    if (b[0] !== 0x2a) return;
    let p = b.indexOf('\r\n');
    if (p === -1) return;
    const n = Number(b.toString('latin1', 1, p));
    p += 2;
    const args: string[] = [];
    for (let i = 0; i < n; i++) {
      const e = b.indexOf('\r\n', p);
      if (e === -1) return;
      const len = Number(b.toString('latin1', p + 1, e));
      if (b.length < e + 2 + len + 2) return;
      args.push(b.toString('latin1', e + 2, e + 2 + len));
      p = e + 2 + len + 2;
    }
    buf.data = b.subarray(p);
    yield args;
  }
}

/** A server that answers like Valkey until SYNC, then does what `onSync` says. */
async function scripted(onSync: (s: Socket) => void): Promise<string> {
  const server = createServer((s) => {
    const buf = { data: Buffer.alloc(0) };
    s.on('error', () => {});
    s.on('data', (chunk) => {
      buf.data = Buffer.concat([buf.data, chunk]);
      for (const args of commands(buf)) {
        const name = args[0]!.toUpperCase();
        if (name === 'SYNC' || name === 'PSYNC') onSync(s);
        else if (name === 'INFO') s.write(`$${Buffer.byteLength(INFO)}\r\n${INFO}\r\n`);
        else if (name === 'PING') s.write('+PONG\r\n');
        else s.write('+OK\r\n');
      }
    });
  });
  servers.push(server);
  return `redis://127.0.0.1:${await listenOnFreePort(server)}`;
}

const leftovers = () => readdirSync(work);

describe('live backup from a server that misbehaves', () => {
  const cases: Array<{ name: string; onSync: (s: Socket) => void; error: RegExp }> = [
    {
      name: 'a length prefix of 10^14 bytes, then a few bytes and the end of the connection',
      onSync: (s) =>
        s.end(Buffer.concat([Buffer.from('$100000000000000\r\nREDIS0011'), Buffer.from([0xfa])])),
      error: /closed|ended|before|truncated|unexpected end/i,
    },
    {
      name: 'a length prefix that is not a number',
      onSync: (s) => s.write('$12abc\r\n'),
      error: /length|unexpected sync reply|bad/i,
    },
    {
      name: 'a garbage +FULLRESYNC line instead of the payload',
      onSync: (s) => s.write('+FULLRESYNC not-a-replid nope\r\n'),
      error: /unexpected sync reply/,
    },
    {
      name: 'a stall in the middle of the RDB',
      onSync: (s) => s.write('$1000\r\nREDIS0011'),
      error: /sent nothing for 500 ms/,
    },
    {
      name: 'exactly the announced bytes, but not an RDB',
      onSync: (s) => s.write(`$64\r\n${'x'.repeat(64)}`),
      error: /not a valid RDB|magic|RDB/i,
    },
  ];
  for (const c of cases) {
    for (const output of ['out.rdb', 'out.valkey']) {
      it(`${c.name} (to ${output}): a typed error naming the server, no file left`, async () => {
        const url = await scripted(c.onSync);
        const path = join(work, output);
        const err = await backup({ url, output: path, idleTimeoutMs: 500 }).catch((e) => e);
        expect(err).toBeInstanceOf(Error);
        // A typed error: the transfer's (BackupError) or, for bytes that are not an RDB, the reader's.
        expect(['BackupError', 'RdbError']).toContain(err.name);
        expect(err.code).toMatch(/^ERR_/);
        expect(err.message).toMatch(c.error);
        expect(err.message).toContain('127.0.0.1:');
        expect(existsSync(path)).toBe(false);
        expect(leftovers()).toEqual([]);
      });
    }
  }
});

describe('live backup of a snapshot that arrives whole but is not valid', () => {
  it('keeps the file it would have replaced, and says what is wrong', async () => {
    const { writeRdb } = await import('../src/rdb/writer.js');
    const chunks: Buffer[] = [];
    for await (const c of writeRdb([
      { kind: 'header', magic: 'REDIS', version: 11, flavor: 'valkey' },
      {
        kind: 'key',
        db: 0,
        key: Buffer.from('k'),
        encoding: '',
        value: { type: 'string', value: Buffer.from('v') },
      },
      { kind: 'end', checksum: null },
    ]))
      chunks.push(c);
    const rdb = Buffer.concat(chunks);
    rdb[rdb.length - 1]! ^= 0xff; // the stored CRC-64 no longer matches
    const url = await scripted((s) => s.write(Buffer.concat([Buffer.from(`$${rdb.length}\r\n`), rdb])));
    const path = join(work, 'kept.rdb');
    writeFileSync(path, 'the previous backup');
    const err = await backup({ url, output: path, idleTimeoutMs: 2000 }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ERR_REPLICATION');
    expect(err.message).toMatch(/not a valid RDB file.*checksum/i);
    expect(readFileSync(path, 'utf8')).toBe('the previous backup');
    expect(leftovers()).toEqual(['kept.rdb']);
    rmSync(path);
  });
});

describe('live backup of a valid snapshot the fast walk does not take', () => {
  it('into .valkey and .jsonl through the record reader (an LRU idle time in a 64-bit length)', async () => {
    // IDLE with a 64-bit length: valid, but the window walk leaves such files to the record reader.
    const rdb = rdbFile([
      Buffer.concat([Buffer.from([0xf8]), rdbLen(2n ** 33n), keyRecord(0, 'odd', rdbStr('value'))]),
      keyRecord(0, 'plain', rdbStr('other')),
    ]);
    const url = await scripted((s) => s.write(Buffer.concat([Buffer.from(`$${rdb.length}\r\n`), rdb])));
    for (const name of ['odd.valkey', 'odd.jsonl']) {
      const path = join(work, name);
      const r = await backup({ url, output: path, idleTimeoutMs: 2000 });
      expect(r.keys, name).toBe(2);
      const text = readFileSync(path, 'latin1');
      expect(text, name).toContain('odd');
      expect(text, name).toContain('value');
      expect(text, name).toContain('plain');
      // the staged snapshot is gone
      expect(
        leftovers().filter((f) => f.startsWith('.')),
        name,
      ).toEqual([]);
      rmSync(path);
    }
    // Into a stream it goes out as it arrives: nothing to read again, so it is reported unchecked.
    const { PassThrough } = await import('node:stream');
    const stream = new PassThrough();
    const parts: Buffer[] = [];
    stream.on('data', (b: Buffer) => parts.push(b));
    const r = await backup({ url, output: '-', format: 'rdb', outputStream: stream, idleTimeoutMs: 2000 });
    expect(r.unchecked).toBe(true);
    expect(Buffer.concat(parts)).toEqual(rdb);
  });
});
