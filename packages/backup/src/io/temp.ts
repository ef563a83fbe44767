import { readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'valkey-tools-snapshot-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists (another user's).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A private directory (mode 700) for a snapshot kept while it is restored, named after this
 * process. Directories a killed run left behind (their process is gone) are removed first: they
 * hold copies of someone's data.
 */
export async function snapshotDir(base = tmpdir()): Promise<string> {
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid))
      await rm(join(base, name), { recursive: true, force: true }).catch(() => {});
  }
  return mkdtemp(join(base, `${PREFIX}${process.pid}-`));
}
