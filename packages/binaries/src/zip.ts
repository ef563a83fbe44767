import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw, createInflateRaw } from 'node:zlib';
import { BinariesError } from './errors.js';
import type { ExtractLimits, ExtractSummary } from './tar.js';
import { safeEntryPath } from './tar.js';

export interface ZipEntry {
  /** Path inside the archive, `/`-separated. */
  name: string;
  sourcePath: string;
}

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const DESCRIPTOR = 0x08074b50;

function dosTime(date: Date): { time: number; date: number } {
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((date.getFullYear() - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

/** Writes a deflated .zip (streamed; sizes in data descriptors). No ZIP64: entries must stay under 4 GiB. */
export async function writeZip(outFile: string, entries: readonly ZipEntry[]): Promise<void> {
  const central: Buffer[] = [];
  let offset = 0;
  const now = dosTime(new Date());
  async function* parts(): AsyncGenerator<Buffer> {
    for (const entry of entries) {
      const name = Buffer.from(entry.name, 'utf8');
      const local = Buffer.alloc(30);
      local.writeUInt32LE(LOCAL, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(0x0808, 6); // data descriptor + UTF-8 names
      local.writeUInt16LE(8, 8);
      local.writeUInt16LE(now.time, 10);
      local.writeUInt16LE(now.date, 12);
      local.writeUInt16LE(name.length, 26);
      const headerOffset = offset;
      yield local;
      yield name;
      offset += local.length + name.length;
      let crc = 0;
      let size = 0;
      let compressed = 0;
      const deflate = createDeflateRaw();
      const source = createReadStream(entry.sourcePath);
      source.on('data', (chunk) => {
        crc = crc32(chunk as Buffer, crc);
        size += (chunk as Buffer).length;
      });
      source.pipe(deflate);
      for await (const chunk of deflate) {
        compressed += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      offset += compressed;
      if (size >= 0xffffffff || compressed >= 0xffffffff) {
        throw new BinariesError(
          'ERR_BAD_ARCHIVE',
          `${entry.sourcePath} is too large for a zip without ZIP64`,
        );
      }
      const descriptor = Buffer.alloc(16);
      descriptor.writeUInt32LE(DESCRIPTOR, 0);
      descriptor.writeUInt32LE(crc >>> 0, 4);
      descriptor.writeUInt32LE(compressed, 8);
      descriptor.writeUInt32LE(size, 12);
      yield descriptor;
      offset += descriptor.length;
      const c = Buffer.alloc(46);
      c.writeUInt32LE(CENTRAL, 0);
      c.writeUInt16LE(0x0314, 4); // made by: unix, 2.0
      c.writeUInt16LE(20, 6);
      c.writeUInt16LE(0x0808, 8);
      c.writeUInt16LE(8, 10);
      c.writeUInt16LE(now.time, 12);
      c.writeUInt16LE(now.date, 14);
      c.writeUInt32LE(crc >>> 0, 16);
      c.writeUInt32LE(compressed, 20);
      c.writeUInt32LE(size, 24);
      c.writeUInt16LE(name.length, 28);
      c.writeUInt32LE((0o100755 * 0x10000) >>> 0, 38);
      c.writeUInt32LE(headerOffset, 42);
      central.push(c, name);
    }
    const cd = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(cd.length, 12);
    end.writeUInt32LE(offset, 16);
    yield cd;
    yield end;
  }
  await pipeline(Readable.from(parts()), createWriteStream(outFile));
}

function bad(archive: string, why: string): BinariesError {
  return new BinariesError('ERR_BAD_ARCHIVE', `Cannot read zip ${archive}: ${why}`, {
    details: { archive },
    hint: 'The file is not a valid .zip or is truncated; download it again',
  });
}

function unsafe(entry: string, why: string): BinariesError {
  return new BinariesError('ERR_UNSAFE_ARCHIVE', `Refusing archive entry "${entry}": ${why}`, {
    details: { entry },
    hint: 'The archive is malicious or broken; nothing from it was installed. Use a trusted mirror',
  });
}

/**
 * Extracts a .zip into `dest` with the same rules as extractTarGz: no absolute paths, no `..`,
 * no links, size limits, and every entry's CRC-32 checked.
 */
export async function extractZip(
  archive: string,
  dest: string,
  limits: ExtractLimits = {},
): Promise<ExtractSummary> {
  const maxEntrySize = limits.maxEntrySize ?? 1024 ** 3;
  const maxTotalSize = limits.maxTotalSize ?? 4 * 1024 ** 3;
  const maxEntries = limits.maxEntries ?? 100_000;
  const fileSize = (await stat(archive)).size;
  const fh = await open(archive, 'r');
  const summary: ExtractSummary = { files: 0, directories: 0, links: 0, bytes: 0 };
  try {
    const tailLength = Math.min(fileSize, 22 + 65_535);
    const tail = Buffer.alloc(tailLength);
    await fh.read(tail, 0, tailLength, fileSize - tailLength);
    let eocd = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === END) {
        eocd = i;
        break;
      }
    }
    if (eocd === -1) throw bad(archive, 'no end-of-central-directory record (truncated?)');
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdOffset === 0xffffffff) throw bad(archive, 'ZIP64 archives are not supported');
    if (count > maxEntries) throw unsafe(archive, `the archive has more than ${maxEntries} entries`);
    if (cdOffset + cdSize > fileSize)
      throw bad(archive, 'the central directory lies past the end of the file');
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    let pos = 0;
    for (let n = 0; n < count; n++) {
      if (pos + 46 > cd.length || cd.readUInt32LE(pos) !== CENTRAL)
        throw bad(archive, 'corrupt central directory');
      const method = cd.readUInt16LE(pos + 10);
      const crc = cd.readUInt32LE(pos + 16);
      const csize = cd.readUInt32LE(pos + 20);
      const usize = cd.readUInt32LE(pos + 24);
      const nameLength = cd.readUInt16LE(pos + 28);
      const extraLength = cd.readUInt16LE(pos + 30);
      const commentLength = cd.readUInt16LE(pos + 32);
      const attributes = cd.readUInt32LE(pos + 38);
      const localOffset = cd.readUInt32LE(pos + 42);
      const name = cd.subarray(pos + 46, pos + 46 + nameLength).toString('utf8');
      pos += 46 + nameLength + extraLength + commentLength;

      const unixType = (attributes >>> 16) & 0o170000;
      if (unixType === 0o120000) throw unsafe(name, 'links are not allowed in zip archives');
      if (usize > maxEntrySize)
        throw unsafe(name, `it is ${usize} bytes, over the ${maxEntrySize}-byte limit`);
      if (summary.bytes + usize > maxTotalSize)
        throw unsafe(name, `the archive expands to more than ${maxTotalSize} bytes`);
      const rel = safeEntryPath(name);
      if (rel === '') continue;
      const target = join(dest, ...rel.split('/'));
      if (name.endsWith('/')) {
        await mkdir(target, { recursive: true });
        summary.directories++;
        continue;
      }
      if (method !== 0 && method !== 8)
        throw bad(archive, `entry "${name}" uses compression method ${method}`);
      const local = Buffer.alloc(30);
      await fh.read(local, 0, 30, localOffset);
      if (local.readUInt32LE(0) !== LOCAL) throw bad(archive, `entry "${name}" has no local header`);
      const dataStart = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      if (dataStart + csize > fileSize) throw bad(archive, `entry "${name}" runs past the end of the file`);
      const existing = await lstat(target).catch(() => undefined);
      if (existing) throw unsafe(name, 'it appears twice in the archive');
      await mkdir(join(target, '..'), { recursive: true });
      let written = 0;
      let actualCrc = 0;
      const raw = createReadStream(archive, { start: dataStart, end: dataStart + csize - 1 });
      // A zlib error reaches the loop below through the iterator; one reported after the loop
      // stopped (see extractTarGz) must not become an uncaught 'error' event.
      const body = method === 8 ? raw.pipe(createInflateRaw().on('error', () => {})) : raw;
      raw.on('error', (err) => body.destroy(err));
      const out = await open(target, 'wx', 0o755);
      try {
        for await (const chunk of csize === 0 ? [] : body) {
          written += (chunk as Buffer).length;
          if (written > usize)
            throw bad(archive, `entry "${name}" inflates to more bytes than its header says`);
          actualCrc = crc32(chunk as Buffer, actualCrc);
          await out.write(chunk as Buffer);
        }
      } catch (err) {
        if (BinariesError.isInstance(err)) throw err;
        throw bad(archive, `entry "${name}": ${(err as Error).message}`);
      } finally {
        await out.close();
        body.destroy();
      }
      if (written !== usize || actualCrc >>> 0 !== crc)
        throw bad(archive, `entry "${name}" fails its CRC-32/size check`);
      summary.files++;
      summary.bytes += written;
    }
  } finally {
    await fh.close();
  }
  return summary;
}
