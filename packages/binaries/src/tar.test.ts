import {
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  existsSync,
  readdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { BinariesError } from './errors.js';
import { extractTarGz, safeEntryPath, type TarEntry, writeTarGz } from './tar.js';

const root = mkdtempSync(join(tmpdir(), 'vt-tar-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function roundTrip(entries: TarEntry[]): Promise<{ dest: string; error?: BinariesError }> {
  const archive = join(root, `a${++n}.tar.gz`);
  await writeTarGz(archive, entries);
  const dest = join(root, `out${n}`);
  (await import('node:fs')).mkdirSync(dest);
  try {
    await extractTarGz(archive, dest);
    return { dest };
  } catch (err) {
    if (!BinariesError.isInstance(err)) throw err;
    return { dest, error: err as BinariesError };
  }
}

describe('tar', () => {
  it('round-trips files, modes, directories, symlinks, hard links and long names', async () => {
    const src = join(root, 'src.bin');
    const big = Buffer.alloc(200_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    writeFileSync(src, big);
    const longName = `valkey/${'d'.repeat(120)}/file.txt`;
    const { dest, error } = await roundTrip([
      { type: 'dir', name: 'valkey/bin' },
      { type: 'file', name: 'valkey/bin/tool', sourcePath: src, size: big.length, mode: 0o755 },
      { type: 'symlink', name: 'valkey/bin/alias', target: 'tool' },
      { type: 'hardlink', name: 'valkey/bin/copy', target: 'valkey/bin/tool' },
      { type: 'file', name: longName, content: Buffer.from('long') },
      { type: 'file', name: 'empty', content: Buffer.alloc(0) },
    ]);
    expect(error).toBeUndefined();
    expect(readFileSync(join(dest, 'valkey/bin/tool')).equals(big)).toBe(true);
    expect(statSync(join(dest, 'valkey/bin/tool')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(dest, 'valkey/bin/alias'))).toBe('tool');
    expect(readFileSync(join(dest, 'valkey/bin/copy')).equals(big)).toBe(true);
    expect(readFileSync(join(dest, longName), 'utf8')).toBe('long');
    expect(readFileSync(join(dest, 'empty')).length).toBe(0);
  });

  it('is readable by the system tar', async () => {
    const archive = join(root, 'sys.tar.gz');
    await writeTarGz(archive, [{ type: 'file', name: 'x/y.txt', content: Buffer.from('hello') }]);
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync('tar', ['-xzOf', archive, 'x/y.txt'], { encoding: 'utf8' })).toBe('hello');
  });

  const hostile: Array<[string, TarEntry[], RegExp]> = [
    ['a ".." path', [{ type: 'file', name: '../evil', content: Buffer.from('x') }], /path traversal/],
    [
      'a nested ".." path',
      [{ type: 'file', name: 'valkey/../../evil', content: Buffer.from('x') }],
      /path traversal/,
    ],
    ['an absolute path', [{ type: 'file', name: '/tmp/evil', content: Buffer.from('x') }], /absolute path/],
    [
      'a Windows drive path',
      [{ type: 'file', name: 'C:\\evil', content: Buffer.from('x') }],
      /absolute path/,
    ],
    [
      'a symlink to an absolute path',
      [{ type: 'symlink', name: 'link', target: '/etc/passwd' }],
      /absolute path/,
    ],
    ['a symlink escaping upward', [{ type: 'symlink', name: 'a/link', target: '../../outside' }], /escapes/],
    [
      'a write through a symlink',
      [
        { type: 'symlink', name: 'inside', target: 'sub' },
        { type: 'dir', name: 'sub' },
        { type: 'file', name: 'inside/x', content: Buffer.from('x') },
      ],
      /written through the link/,
    ],
    ['a hard link to an outside file', [{ type: 'hardlink', name: 'h', target: '../etc/passwd' }], /escapes/],
  ];
  for (const [what, entries, message] of hostile) {
    it(`refuses ${what} and writes nothing outside`, async () => {
      const { dest, error } = await roundTrip(entries);
      expect(error?.code).toBe('ERR_UNSAFE_ARCHIVE');
      expect(error?.message).toMatch(message);
      expect(existsSync(join(dest, '..', 'evil'))).toBe(false);
      expect(existsSync(join(root, 'outside'))).toBe(false);
    });
  }

  it('refuses entries over the size limit', async () => {
    const archive = join(root, 'big.tar.gz');
    await writeTarGz(archive, [{ type: 'file', name: 'big', content: Buffer.alloc(5000) }]);
    const dest = mkdtempSync(join(root, 'lim-'));
    await expect(extractTarGz(archive, dest, { maxEntrySize: 4096 })).rejects.toThrow(
      /over the 4096-byte limit/,
    );
    await expect(extractTarGz(archive, dest, { maxTotalSize: 100 })).rejects.toThrow(/more than 100 bytes/);
    expect(readdirSync(dest)).toEqual([]);
  });

  it('reports truncated and corrupt archives as ERR_BAD_ARCHIVE', async () => {
    const archive = join(root, 'ok.tar.gz');
    await writeTarGz(archive, [{ type: 'file', name: 'f', content: Buffer.alloc(10_000, 1) }]);
    const full = readFileSync(archive);
    const cut = join(root, 'cut.tar.gz');
    writeFileSync(cut, full.subarray(0, full.length - 200));
    await expect(extractTarGz(cut, mkdtempSync(join(root, 'c-')))).rejects.toMatchObject({
      code: 'ERR_BAD_ARCHIVE',
    });
    const tar = gunzipSync(full);
    tar[0] = tar[0]! ^ 0xff; // break the first header's checksum
    const corrupt = join(root, 'corrupt.tar.gz');
    writeFileSync(corrupt, gzipSync(tar));
    await expect(extractTarGz(corrupt, mkdtempSync(join(root, 'd-')))).rejects.toThrow(/checksum mismatch/);
    const notGzip = join(root, 'plain.txt');
    writeFileSync(notGzip, 'hello');
    await expect(extractTarGz(notGzip, mkdtempSync(join(root, 'e-')))).rejects.toMatchObject({
      code: 'ERR_BAD_ARCHIVE',
    });
  });

  it('normalizes safe entry names', () => {
    expect(safeEntryPath('./valkey//bin/./x')).toBe('valkey/bin/x');
    expect(safeEntryPath('./')).toBe('');
    expect(() => safeEntryPath('a/../b')).toThrow(/traversal/);
    expect(() => safeEntryPath('a\\..\\b')).toThrow(/traversal/);
  });
});
