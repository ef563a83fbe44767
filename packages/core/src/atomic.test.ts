import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanLeftovers,
  openAtomicFile,
  partialPath,
  writeFileAtomic,
  writeFileAtomicSync,
  writeStreamAtomic,
} from './atomic.js';

const work = mkdtempSync(join(tmpdir(), 'vt-core-atomic-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const posix = process.platform !== 'win32';
let n = 0;
const freshDir = () => mkdtempSync(join(work, `d${n++}-`));

/** A pid that surely is not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

// The synchronous variant keeps the same promises: both run every case.
const writers: Array<[string, typeof writeFileAtomic]> = [
  ['writeFileAtomic', writeFileAtomic],
  ['writeFileAtomicSync', async (path, data, options) => writeFileAtomicSync(path, data, options)],
];

describe.each(writers)('%s', (_name, writeFileAtomic) => {
  it('writes, replaces and leaves no temp file behind', async () => {
    const dir = freshDir();
    const file = join(dir, 'out.conf');
    await writeFileAtomic(file, 'one\n');
    await writeFileAtomic(file, Buffer.from('two\n'));
    expect(readFileSync(file, 'utf8')).toBe('two\n');
    expect(readdirSync(dir)).toEqual(['out.conf']);
  });

  it.runIf(posix)('applies the mode exactly, whatever the umask', async () => {
    const dir = freshDir();
    await writeFileAtomic(join(dir, 'secret.conf'), 'requirepass x\n', { mode: 0o600 });
    expect(statSync(join(dir, 'secret.conf')).mode & 0o777).toBe(0o600);
    await writeFileAtomic(join(dir, 'public.txt'), 'x', { mode: 0o644 });
    expect(statSync(join(dir, 'public.txt')).mode & 0o777).toBe(0o644);
  });

  it.runIf(posix)(
    'never writes through a symlink planted at the destination or at old temp names',
    async () => {
      const dir = freshDir();
      const victim = join(work, `victim-${n}`);
      writeFileSync(victim, 'precious\n');
      const file = join(dir, 'out.csv');
      // Every predictable name: the old CLI temp name, the destination itself.
      for (const name of [`.out.csv.${process.pid}.tmp`, `.out.csv.${process.pid + 1}.tmp`, 'out.csv'])
        symlinkSync(victim, join(dir, name));
      await writeFileAtomic(file, 'new data\n');
      expect(readFileSync(victim, 'utf8')).toBe('precious\n');
      expect(lstatSync(file).isSymbolicLink()).toBe(false);
      expect(readFileSync(file, 'utf8')).toBe('new data\n');
    },
  );

  it('says what failed and where, with what to do', async () => {
    const err = await writeFileAtomic(join(work, 'no', 'such', 'dir', 'f'), 'x').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WRITE_FILE', details: { code: 'ENOENT' } });
    expect(String((err as Error).message)).toMatch(
      /cannot write .*no\/such\/dir\/f: the folder does not exist\. Check/,
    );
  });
});

describe('writeStreamAtomic and openAtomicFile', () => {
  it('streams chunks and counts bytes; a failing source leaves nothing and keeps its error', async () => {
    const dir = freshDir();
    async function* chunks(fail: boolean) {
      yield Buffer.alloc(100_000, 1);
      yield 'tail';
      if (fail) throw Object.assign(new Error('connection dropped'), { code: 'ECONNRESET' });
    }
    expect(await writeStreamAtomic(join(dir, 'a.rdb'), chunks(false))).toBe(100_004);
    expect(statSync(join(dir, 'a.rdb')).size).toBe(100_004);
    const err = await writeStreamAtomic(join(dir, 'b.rdb'), chunks(true)).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: 'connection dropped', code: 'ECONNRESET' });
    expect(readdirSync(dir)).toEqual(['a.rdb']);
  });

  it("writes a stream of small and big chunks (a socket's) byte for byte, in order", async () => {
    const dir = freshDir();
    const parts: Buffer[] = [];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 3000; i++) {
      // mostly 16 KiB-ish pieces, some tiny, some bigger than the gathering buffer's quarter
      const size = i % 97 === 0 ? 300_000 + (next() % 900_000) : i % 5 === 0 ? next() % 40 : next() % 20_000;
      const b = Buffer.allocUnsafe(size);
      for (let j = 0; j < size; j++) b[j] = next() & 0xff;
      parts.push(b);
    }
    async function* chunks() {
      for (const [i, b] of parts.entries()) yield i % 11 === 0 ? b.toString('latin1') : b;
    }
    const progress: number[] = [];
    const total = parts.reduce((sum, b) => sum + b.length, 0);
    const path = join(dir, 'stream.bin');
    expect(await writeStreamAtomic(path, chunks(), { onBytes: (n) => progress.push(n) })).toBe(
      parts.reduce(
        (sum, b, i) => sum + (i % 11 === 0 ? Buffer.byteLength(b.toString('latin1')) : b.length),
        0,
      ),
    );
    const expected = Buffer.concat(
      parts.map((b, i) => (i % 11 === 0 ? Buffer.from(b.toString('latin1')) : b)),
    );
    expect(readFileSync(path).equals(expected)).toBe(true);
    expect(total).toBeGreaterThan(30 << 20);
    expect(progress.at(-1)).toBe(expected.length);
    expect(progress.every((v, i) => i === 0 || v >= progress[i - 1]!)).toBe(true);
  });

  it('check sees the whole temp file before the rename; when it throws, the old file stays', async () => {
    const dir = freshDir();
    const path = join(dir, 'backup.rdb');
    writeFileSync(path, 'old');
    async function* chunks() {
      yield Buffer.alloc(40 << 20, 7); // past the flush-as-you-go interval too
      yield 'end';
    }
    const seen: number[] = [];
    const refused = await writeStreamAtomic(path, chunks(), {
      check: async (temp) => {
        seen.push(statSync(temp).size);
        throw new Error('not valid');
      },
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ message: 'not valid' });
    expect(seen).toEqual([(40 << 20) + 3]);
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['backup.rdb']);
    await writeStreamAtomic(path, chunks(), { check: async () => {} });
    expect(statSync(path).size).toBe((40 << 20) + 3);
  });

  it('abort removes the temp file', async () => {
    const dir = freshDir();
    const file = await openAtomicFile(join(dir, 'x'));
    file.stream.write('partial');
    expect(existsSync(file.tempPath)).toBe(true);
    await file.abort();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('leftovers of killed runs', () => {
  it('removes partial files of dead processes, keeps those of live ones and foreign names', async () => {
    const dir = freshDir();
    const dead = await deadPid();
    const deadPartial = join(dir, `.dump.rdb.partial-${dead}-0123456789abcdef`);
    const livePartial = join(dir, `.dump.rdb.partial-${process.pid}-0123456789abcdef`);
    const foreign = join(dir, `.dump.rdb.${dead}.tmp`);
    for (const f of [deadPartial, livePartial, foreign]) writeFileSync(f, 'x');
    const events: unknown[] = [];
    await writeFileAtomic(join(dir, 'other.txt'), 'y', { onLeftover: (e) => events.push(e) });
    expect(events).toEqual([{ file: deadPartial, pid: dead, removed: true }]);
    expect(readdirSync(dir).sort()).toEqual(
      ['other.txt', `.dump.rdb.partial-${process.pid}-0123456789abcdef`, `.dump.rdb.${dead}.tmp`].sort(),
    );
    expect(await cleanLeftovers(dir)).toEqual([]);
  });

  it.runIf(posix)('removes a leftover symlink itself, never its target', async () => {
    const dir = freshDir();
    const victim = join(work, `victim-link-${n}`);
    writeFileSync(victim, 'precious\n');
    const link = join(dir, `.x.partial-${await deadPid()}-00000000aaaaaaaa`);
    symlinkSync(victim, link);
    await cleanLeftovers(dir);
    expect(existsSync(link)).toBe(false);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('names temp files unpredictably, next to the destination', () => {
    const a = partialPath('/some/dir/dump.rdb');
    expect(a).toMatch(new RegExp(`^/some/dir/\\.dump\\.rdb\\.partial-${process.pid}-[0-9a-f]{16}$`));
    expect(partialPath('/some/dir/dump.rdb')).not.toBe(a);
  });
});
