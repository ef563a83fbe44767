/**
 * Worker thread: the CRC-64 of a file's first `end` bytes, posted back as the 8 little-endian
 * bytes an RDB trailer stores (null when the file is shorter). `verifyRdb` runs it beside the
 * structure walk so the two cores share the work (see crc64InWorker).
 */
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Crc64 } from './crc64.js';

const { path, end } = workerData as { path: string; end: number };
const fh = await open(path, 'r');
const buf = Buffer.allocUnsafe(1 << 20);
const crc = new Crc64();
let pos = 0;
try {
  while (pos < end) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (bytesRead === 0) break;
    crc.update(buf, 0, bytesRead);
    pos += bytesRead;
  }
} finally {
  await fh.close();
}
parentPort!.postMessage(pos === end ? crc.digestBytes() : null);
