import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractZip, writeZip } from './zip.js';

const root = mkdtempSync(join(tmpdir(), 'vt-zip-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('zip', () => {
  it('round-trips files and checks CRCs', async () => {
    const a = join(root, 'a.bin');
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    writeFileSync(a, data);
    const b = join(root, 'b.dll');
    writeFileSync(b, '');
    const archive = join(root, 'x.zip');
    await writeZip(archive, [
      { name: 'valkey/bin/valkey-server.exe', sourcePath: a },
      { name: 'valkey/bin/cygwin1.dll', sourcePath: b },
    ]);
    const dest = mkdtempSync(join(root, 'out-'));
    const summary = await extractZip(archive, dest);
    expect(summary.files).toBe(2);
    expect(readFileSync(join(dest, 'valkey/bin/valkey-server.exe')).equals(data)).toBe(true);
    expect(readFileSync(join(dest, 'valkey/bin/cygwin1.dll')).length).toBe(0);

    // A flipped byte in the compressed data is caught.
    const bytes = readFileSync(archive);
    bytes[200] = bytes[200]! ^ 0xff;
    const broken = join(root, 'broken.zip');
    writeFileSync(broken, bytes);
    await expect(extractZip(broken, mkdtempSync(join(root, 'br-')))).rejects.toMatchObject({
      code: 'ERR_BAD_ARCHIVE',
    });
  });

  it('refuses traversal and absolute names', async () => {
    const f = join(root, 'f.txt');
    writeFileSync(f, 'x');
    for (const name of ['../evil.txt', '/abs.txt', 'C:/win.txt']) {
      const archive = join(root, 'evil.zip');
      await writeZip(archive, [{ name, sourcePath: f }]);
      await expect(extractZip(archive, mkdtempSync(join(root, 'ev-')))).rejects.toMatchObject({
        code: 'ERR_UNSAFE_ARCHIVE',
      });
    }
  });

  it('writes archives other tools can read', async () => {
    const f = join(root, 'hello.txt');
    writeFileSync(f, 'hello zip');
    const archive = join(root, 'py.zip');
    await writeZip(archive, [{ name: 'dir/hello.txt', sourcePath: f }]);
    const out = execFileSync('unzip', ['-p', archive, 'dir/hello.txt'], { encoding: 'utf8' });
    expect(out).toBe('hello zip');
    expect(execFileSync('unzip', ['-t', archive], { encoding: 'utf8' })).toMatch(/No errors detected/);
  });
});
