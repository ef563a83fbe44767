import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, lstat, mkdir, open, symlink, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { BinariesError } from './errors.js';

const BLOCK = 512;

/** One entry to write into a tar archive. */
export type TarEntry =
  | { type: 'file'; name: string; mode?: number; mtime?: number; sourcePath: string; size: number }
  | { type: 'file'; name: string; mode?: number; mtime?: number; content: Buffer }
  | { type: 'dir'; name: string; mode?: number; mtime?: number }
  | { type: 'symlink'; name: string; target: string; mtime?: number }
  | { type: 'hardlink'; name: string; target: string; mtime?: number };

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0');
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`);
}

function header(
  name: string,
  typeflag: string,
  size: number,
  mode: number,
  mtime: number,
  link = '',
): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(`${octal(mode & 0o7777, 8)}\0`, 100, 'ascii');
  h.write(`${octal(0, 8)}\0`, 108, 'ascii');
  h.write(`${octal(0, 8)}\0`, 116, 'ascii');
  h.write(`${octal(size, 12)}\0`, 124, 'ascii');
  h.write(`${octal(Math.floor(mtime), 12)}\0`, 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(typeflag, 156, 'ascii');
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${octal(sum, 7)}\0 `, 148, 'ascii');
  return h;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

async function* tarBlocks(entries: readonly TarEntry[]): AsyncGenerator<Buffer> {
  for (const e of entries) {
    const mtime = e.mtime ?? Date.now() / 1000;
    const link = e.type === 'symlink' || e.type === 'hardlink' ? e.target : '';
    const name = e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
    // Names or link targets that do not fit ustar's 100 bytes go in a PAX extended header.
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(link) > 100) {
      const pax = Buffer.concat([
        ...(Buffer.byteLength(name) > 100 ? [paxRecord('path', name)] : []),
        ...(Buffer.byteLength(link) > 100 ? [paxRecord('linkpath', link)] : []),
      ]);
      yield header('PaxHeader', 'x', pax.length, 0o644, mtime);
      yield pax;
      yield padding(pax.length);
    }
    if (e.type === 'dir') yield header(name, '5', 0, e.mode ?? 0o755, mtime);
    else if (e.type === 'symlink') yield header(name, '2', 0, 0o777, mtime, link);
    else if (e.type === 'hardlink') yield header(name, '1', 0, 0o644, mtime, link);
    else if ('content' in e) {
      yield header(name, '0', e.content.length, e.mode ?? 0o644, mtime);
      yield e.content;
      yield padding(e.content.length);
    } else {
      yield header(name, '0', e.size, e.mode ?? 0o644, mtime);
      let written = 0;
      for await (const chunk of createReadStream(e.sourcePath)) {
        written += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (written !== e.size) {
        throw new BinariesError('ERR_BAD_ARCHIVE', `${e.sourcePath} changed size while archiving`, {
          details: { file: e.sourcePath, expected: e.size, actual: written },
        });
      }
      yield padding(e.size);
    }
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** Writes `entries` as a gzip-compressed tar archive at `outFile` (streamed; files are not held in memory). */
export async function writeTarGz(outFile: string, entries: readonly TarEntry[]): Promise<void> {
  await pipeline(Readable.from(tarBlocks(entries)), createGzip({ level: 6 }), createWriteStream(outFile));
}

/** Limits that keep a hostile archive from filling the disk. */
export interface ExtractLimits {
  /** Largest single entry in bytes (default 1 GiB). */
  maxEntrySize?: number;
  /** Largest total of all entries in bytes (default 4 GiB). */
  maxTotalSize?: number;
  /** Most entries (default 100 000). */
  maxEntries?: number;
}

export interface ExtractSummary {
  files: number;
  directories: number;
  links: number;
  bytes: number;
}

/** Pulls exact byte counts out of a chunked stream. */
class ChunkReader {
  private buffered: Buffer[] = [];
  private length = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<void> {
    while (this.length < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else {
        this.buffered.push(next.value);
        this.length += next.value.length;
      }
    }
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  /** Exactly n bytes, or null at a clean end of stream. */
  async read(n: number): Promise<Buffer | null> {
    await this.fill(n);
    if (this.length === 0) return null;
    if (this.length < n) throw truncated();
    return this.take(n);
  }

  /** Streams exactly n bytes in whatever chunks arrive. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.length === 0) await this.fill(1);
      if (this.length === 0) throw truncated();
      const chunk = this.take(Math.min(left, this.length));
      left -= chunk.length;
      yield chunk;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n)) {
      // discard
    }
  }
}

function truncated(): BinariesError {
  return new BinariesError('ERR_BAD_ARCHIVE', 'The archive ends in the middle of an entry (truncated)', {
    hint: 'Download it again; if it keeps happening the mirror holds a broken file',
  });
}

function readString(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

function readNumber(h: Buffer, start: number, len: number): number {
  const raw = h.subarray(start, start + len);
  if ((raw[0]! & 0x80) !== 0) {
    // GNU base-256 encoding for values that do not fit in octal.
    let value = 0;
    for (let i = 1; i < raw.length; i++) value = value * 256 + raw[i]!;
    return value;
  }
  const text = raw.toString('ascii').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text))
    throw new BinariesError('ERR_BAD_ARCHIVE', `Bad number "${text}" in a tar header`);
  return Number.parseInt(text, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = readNumber(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number(data.subarray(pos, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) {
      throw new BinariesError('ERR_BAD_ARCHIVE', 'Malformed PAX header in the archive');
    }
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

function unsafe(entry: string, why: string): BinariesError {
  return new BinariesError('ERR_UNSAFE_ARCHIVE', `Refusing archive entry "${entry}": ${why}`, {
    details: { entry },
    hint: 'The archive is malicious or broken; nothing from it was installed. Use a trusted mirror',
  });
}

/** Normalizes an entry name to a relative POSIX path inside the target, or throws. '' means the root. */
export function safeEntryPath(name: string): string {
  if (name.includes('\0')) throw unsafe(name, 'it contains a NUL byte');
  if (/^[/\\]/.test(name) || /^[A-Za-z]:/.test(name)) throw unsafe(name, 'it is an absolute path');
  const parts: string[] = [];
  for (const segment of name.split(/[/\\]+/)) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') throw unsafe(name, 'it contains ".." (path traversal)');
    parts.push(segment);
  }
  return parts.join('/');
}

/** Checks that a link at `entryPath` pointing at `target` stays inside the extraction root. */
function safeLinkTarget(entryPath: string, target: string, hard: boolean): string {
  if (target === '' || target.includes('\0')) throw unsafe(entryPath, 'its link target is empty');
  if (/^[/\\]/.test(target) || /^[A-Za-z]:/.test(target)) {
    throw unsafe(entryPath, `it links to the absolute path "${target}"`);
  }
  const base = hard ? '' : posix.dirname(entryPath);
  const resolved = posix.normalize(posix.join(base, target.replace(/\\/g, '/')));
  if (resolved === '..' || resolved.startsWith('../') || resolved === '.') {
    throw unsafe(entryPath, `its link target "${target}" escapes the extraction directory`);
  }
  return resolved;
}

/**
 * Extracts a .tar.gz into `dest` (an existing, empty directory) refusing anything unsafe:
 * absolute paths, `..`, links whose target leaves `dest`, writes through a link, device nodes,
 * and entries over the size limits. On error `dest` may hold a partial tree: callers extract
 * into a temp dir and delete it on failure.
 */
export async function extractTarGz(
  archive: string,
  dest: string,
  limits: ExtractLimits = {},
): Promise<ExtractSummary> {
  const maxEntrySize = limits.maxEntrySize ?? 1024 ** 3;
  const maxTotalSize = limits.maxTotalSize ?? 4 * 1024 ** 3;
  const maxEntries = limits.maxEntries ?? 100_000;
  const gunzip = createGunzip();
  // While the loop below reads, a zlib error reaches it through the iterator. Once the loop has
  // stopped (another error, or the end), zlib can still report data it was inflating in the
  // thread pool: that late error is moot, and must not become an uncaught 'error' event.
  gunzip.on('error', () => {});
  const input = createReadStream(archive);
  input.on('error', (err) => gunzip.destroy(err));
  const source = input.pipe(gunzip);
  const reader = new ChunkReader(source[Symbol.asyncIterator]());
  const summary: ExtractSummary = { files: 0, directories: 0, links: 0, bytes: 0 };
  const links = new Set<string>();
  const files = new Set<string>();
  let entries = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;

  const checkParents = (rel: string) => {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (links.has(prefix)) throw unsafe(rel, `it would be written through the link "${prefix}"`);
    }
  };

  try {
    for (;;) {
      const h = await reader.read(BLOCK);
      if (h === null) throw truncated();
      if (h.every((b) => b === 0)) break; // end-of-archive marker
      if (!checksumOk(h)) {
        throw new BinariesError(
          'ERR_BAD_ARCHIVE',
          `Tar header checksum mismatch after ${summary.files} file(s)`,
          {
            hint: 'The archive is corrupt; download it again',
          },
        );
      }
      const type = String.fromCharCode(h[156]!) || '0';
      const size = pax.size !== undefined ? Number(pax.size) : readNumber(h, 124, 12);
      const prefix = readString(h, 345, 155);
      const baseName = readString(h, 0, 100);
      const name =
        pax.path ??
        longName ??
        (prefix && h.subarray(257, 262).toString() === 'ustar' ? `${prefix}/${baseName}` : baseName);
      const linkName = pax.linkpath ?? longLink ?? readString(h, 157, 100);
      const mode = readNumber(h, 100, 8);

      if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
        if (size > 1024 * 1024) throw unsafe(name, 'its extended header is over 1 MiB');
        const data = size > 0 ? await reader.read(size) : Buffer.alloc(0);
        if (data === null) throw truncated();
        await reader.skip(padding(size).length);
        if (type === 'x') pax = parsePax(data);
        else if (type === 'L') longName = readString(data, 0, data.length);
        else if (type === 'K') longLink = readString(data, 0, data.length);
        continue; // 'g' (global) carries nothing we use
      }
      pax = {};
      longName = undefined;
      longLink = undefined;

      entries++;
      if (entries > maxEntries) throw unsafe(name, `the archive has more than ${maxEntries} entries`);
      if (size > maxEntrySize) throw unsafe(name, `it is ${size} bytes, over the ${maxEntrySize}-byte limit`);
      if (summary.bytes + size > maxTotalSize) {
        throw unsafe(name, `the archive expands to more than ${maxTotalSize} bytes`);
      }

      const rel = safeEntryPath(name);
      if (rel === '') {
        await reader.skip(size + padding(size).length);
        continue;
      }
      checkParents(rel);
      const target = join(dest, ...rel.split('/'));
      const existing = await lstat(target).catch(() => undefined);

      if (type === '5') {
        if (existing && !existing.isDirectory())
          throw unsafe(name, 'a directory would replace a file or link');
        await mkdir(target, { recursive: true, mode: 0o755 });
        summary.directories++;
        await reader.skip(size + padding(size).length);
      } else if (type === '0' || type === '\0' || type === '7') {
        if (existing) {
          if (!existing.isFile() || links.has(rel))
            throw unsafe(name, 'it would overwrite a directory or link');
          await unlink(target);
        }
        await mkdir(join(target, '..'), { recursive: true, mode: 0o755 });
        const fh = await open(target, 'wx', mode & 0o777 || 0o644);
        try {
          for await (const chunk of reader.chunks(size)) await fh.write(chunk);
          await fh.chmod(mode & 0o777 || 0o644);
        } finally {
          await fh.close();
        }
        await reader.skip(padding(size).length);
        files.add(rel);
        summary.files++;
        summary.bytes += size;
      } else if (type === '2' || type === '1') {
        const resolved = safeLinkTarget(rel, linkName, type === '1');
        if (existing) throw unsafe(name, 'a link would replace an existing entry');
        await mkdir(join(target, '..'), { recursive: true, mode: 0o755 });
        if (type === '2') {
          await symlink(linkName.replace(/\\/g, '/'), target);
          links.add(rel);
        } else {
          if (!files.has(resolved))
            throw unsafe(name, `its hard link target "${linkName}" is not a file extracted before it`);
          checkParents(resolved);
          await copyFile(join(dest, ...resolved.split('/')), target);
          files.add(rel);
        }
        summary.links++;
        await reader.skip(size + padding(size).length);
      } else {
        throw unsafe(name, `its type "${type}" (device, fifo or unknown) is not allowed`);
      }
    }
  } catch (err) {
    if (BinariesError.isInstance(err)) throw err;
    throw new BinariesError('ERR_BAD_ARCHIVE', `Cannot read archive ${archive}: ${(err as Error).message}`, {
      cause: err,
      details: { archive },
      hint: 'The file is not a valid .tar.gz or is truncated; download it again',
    });
  } finally {
    source.destroy();
    input.destroy();
  }
  return summary;
}
