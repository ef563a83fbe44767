/**
 * Diskless replication ends the snapshot with a 40-byte mark instead of announcing its length:
 * wherever the server's writes split the payload and the mark (the mark across two reads, reads
 * shorter than the mark, payload bytes that look like the start of the mark), `syncRdb` yields
 * exactly the payload (nothing of the mark or of what follows it).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { listenOnFreePort } from '@valkey-tools/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { syncRdb } from '../src/live/replication.js';

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server that answers the handshake, then sends `$EOF:<mark>` and `body` cut at `cuts`, a write each. */
async function serve(mark: Buffer, body: Buffer, cuts: number[]): Promise<number> {
  const server = createServer((s: Socket) => {
    s.setNoDelay(true);
    s.on('error', () => {});
    let seen = Buffer.alloc(0);
    s.on('data', async (chunk) => {
      seen = Buffer.concat([seen, chunk]);
      // Every handshake command gets +OK; SYNC starts the transfer.
      const text = seen.toString('latin1');
      const replies = (text.match(/\*\d+\r\n/g) ?? []).length;
      if (!text.includes('SYNC')) {
        for (let i = 0; i < replies; i++) s.write('+OK\r\n');
        seen = Buffer.alloc(0);
        return;
      }
      s.write(`$EOF:${mark.toString('latin1')}\r\n`);
      let at = 0;
      for (const cut of [...cuts, body.length]) {
        await pause(15);
        if (cut > at) s.write(body.subarray(at, cut));
        at = cut;
      }
      // A mark missed would then end in an error, not a wait.
      await pause(15);
      s.end();
    });
  });
  servers.push(server);
  return listenOnFreePort(server);
}

async function receive(port: number): Promise<{ data: Buffer; reported: number }> {
  const parts: Buffer[] = [];
  let reported = 0;
  const target = { scheme: 'redis' as const, tls: false, host: '127.0.0.1', port, db: 0 };
  for await (const b of syncRdb(target, { onBytes: (n) => (reported = n) })) parts.push(Buffer.from(b));
  return { data: Buffer.concat(parts), reported };
}

describe('syncRdb with the $EOF:<mark> framing', () => {
  const mark = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'latin1');
  const payload = Buffer.concat([
    randomBytes(300),
    // Looks like the start of the mark, then is not.
    mark.subarray(0, 39),
    Buffer.from('x'),
    randomBytes(200),
  ]);
  // What may follow the mark in the same read (the replication stream goes on): never yielded.
  const body = Buffer.concat([payload, mark, Buffer.from('*1\r\n$4\r\nPING\r\n'.repeat(4))]);
  const n = payload.length;
  const cases: Array<[string, number[]]> = [
    ['one write', []],
    ['the mark alone in the last write', [n]],
    ['the mark cut after its first byte', [n + 1]],
    ['the mark cut in its middle', [n + 20]],
    ['the mark cut before its last byte', [n + 39]],
    ['the look-alike cut across two writes', [310, 330]],
    ['the look-alike ending a write', [339]],
    ['writes shorter than the mark', Array.from({ length: Math.ceil(body.length / 7) }, (_, i) => i * 7)],
    ['a short write holding the end of the payload and the start of the mark', [n - 5, n + 10]],
  ];
  for (const [name, cuts] of cases) {
    it(`${name}: the payload, whole and nothing more`, async () => {
      const port = await serve(mark, body, cuts);
      const { data, reported } = await receive(port);
      expect(data.equals(payload)).toBe(true);
      expect(reported).toBe(n);
    });
  }
});
