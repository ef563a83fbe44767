import { execFile } from 'node:child_process';
import { ListpackBuilder } from '../../src/rdb/containers.js';
import { Crc64 } from '../../src/rdb/crc64.js';
import { dumpPayload } from '../../src/rdb/dump.js';

// Byte-level builders for RDB files and values the writer would never produce (duplicates,
// old encodings, loose score text, odd length bytes), so tests can hand them to the server.

const b = (x: Buffer | string): Buffer => (typeof x === 'string' ? Buffer.from(x, 'latin1') : x);

/** An RDB length in its smallest form. */
export function rdbLen(n: number | bigint): Buffer {
  const v = BigInt(n);
  if (v < 64n) return Buffer.from([Number(v)]);
  if (v < 16384n) return Buffer.from([0x40 | Number(v >> 8n), Number(v & 255n)]);
  if (v <= 0xffffffffn) {
    const out = Buffer.alloc(5);
    out[0] = 0x80;
    out.writeUInt32BE(Number(v), 1);
    return out;
  }
  const out = Buffer.alloc(9);
  out[0] = 0x81;
  out.writeBigUInt64BE(v, 1);
  return out;
}

/** A plain RDB string. */
export function rdbStr(s: Buffer | string): Buffer {
  const x = b(s);
  return Buffer.concat([rdbLen(x.length), x]);
}

/** A listpack of the elements (integer-encoded when the server would). */
export function listpack(elements: Array<Buffer | string>): Buffer {
  const lp = new ListpackBuilder();
  for (const e of elements) lp.append(b(e));
  return lp.finish();
}

/** A ziplist of string elements (the pre-7.0 small-collection encoding). */
export function ziplist(elements: Array<Buffer | string>): Buffer {
  const entries: Buffer[] = [];
  let prev = 0;
  let tail = 10;
  let at = 10;
  for (const e of elements) {
    const x = b(e);
    const prevlen = prev < 254 ? Buffer.from([prev]) : Buffer.from([254, 0, 0, 0, 0]);
    if (prev >= 254) prevlen.writeUInt32LE(prev, 1);
    let enc: Buffer;
    if (x.length < 64) enc = Buffer.from([x.length]);
    else if (x.length < 16384) enc = Buffer.from([0x40 | (x.length >> 8), x.length & 255]);
    else {
      enc = Buffer.alloc(5);
      enc[0] = 0x80;
      enc.writeUInt32BE(x.length, 1);
    }
    const entry = Buffer.concat([prevlen, enc, x]);
    tail = at;
    at += entry.length;
    prev = entry.length;
    entries.push(entry);
  }
  const body = Buffer.concat(entries);
  const out = Buffer.alloc(10 + body.length + 1);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt32LE(elements.length ? tail : 10, 4);
  out.writeUInt16LE(Math.min(elements.length, 65535), 8);
  body.copy(out, 10);
  out[out.length - 1] = 0xff;
  return out;
}

/** A zipmap (RDB <= 3 small hashes) of field/value pairs. */
export function zipmap(pairs: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [Buffer.from([Math.min(pairs.length, 254)])];
  for (const [f, v] of pairs) {
    parts.push(Buffer.from([f.length]), b(f), Buffer.from([v.length, 0]), b(v));
  }
  parts.push(Buffer.from([0xff]));
  return Buffer.concat(parts);
}

/** An intset of the values in the given order (16-bit members). */
export function intset(values: number[]): Buffer {
  const out = Buffer.alloc(8 + values.length * 2);
  out.writeUInt32LE(2, 0);
  out.writeUInt32LE(values.length, 4);
  for (let i = 0; i < values.length; i++) out.writeInt16LE(values[i]!, 8 + i * 2);
  return out;
}

/** An old-style ASCII score (RDB type 3). */
export function asciiScore(text: string): Buffer {
  return Buffer.concat([Buffer.from([text.length]), Buffer.from(text, 'latin1')]);
}

/** A key record: type byte, key, value bytes. */
export function keyRecord(type: number, key: string, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), rdbStr(key), value]);
}

/** A whole REDIS0011 file: aux, SELECTDB 0, the records, EOF, CRC-64. */
export function rdbFile(records: Buffer[], options: { resize?: [Buffer, Buffer] } = {}): Buffer {
  const parts = [
    Buffer.from('REDIS0011', 'latin1'),
    Buffer.from([0xfa]),
    rdbStr('valkey-ver'),
    rdbStr('8.0.1'),
    Buffer.from([0xfe, 0x00]),
  ];
  if (options.resize) parts.push(Buffer.from([0xfb]), ...options.resize);
  parts.push(...records, Buffer.from([0xff]));
  const body = Buffer.concat(parts);
  return Buffer.concat([body, new Crc64().update(body, 0, body.length).digestBytes()]);
}

/** Byte offset of a key record's type byte in a file made by `rdbFile`. */
export function recordOffset(file: Buffer, record: Buffer): number {
  return file.indexOf(record);
}

/** The DUMP payload of one crafted value (version 11). */
export function payloadOf(type: number, value: Buffer): Buffer {
  return dumpPayload(type, value, 11);
}

/**
 * valkey-check-rdb's verdict on a file (exit status 0 = sane) and its last output lines. `hung`:
 * it had not finished after `timeoutMs` and was killed (8.0.1 loops forever on a module value cut
 * short: rdbLoadCheckModuleValue never sees its EOF opcode).
 */
export function checkRdb(
  path: string,
  timeoutMs = 20_000,
): Promise<{ ok: boolean; output: string; hung: boolean }> {
  return new Promise((resolve) => {
    execFile(
      'valkey-check-rdb',
      [path],
      { timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`.trim().split('\n').slice(-3).join('\n');
        resolve({ ok: !err, output, hung: Boolean(err && (err as { killed?: boolean }).killed) });
      },
    );
  });
}
