import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/** What the watchdog must undo for one server when its owner goes away. */
export interface WatchedServer {
  pid: number;
  /** Registry entry to remove once the server is gone (only if it still names this pid). */
  recordFile?: string;
  /** Data dir to delete once the server is gone (`removeDirOnStop`). */
  removeDir?: string;
}

/**
 * The watchdog: one small node process per owner process, in its own session (so a Ctrl-C to
 * the owner's process group does not reach it first). It reads JSON lines on stdin (`add` /
 * `remove`); when stdin ends (the owner exited, crashed or was killed with SIGKILL, and the
 * kernel closed the pipe) it sends SIGTERM to every server still listed (a server stops as its
 * config says, saving if it has save points), SIGKILL to any still running after 10 s, removes
 * their registry entries and, where asked, their dirs, and exits.
 */
const WATCHDOG_SCRIPT = `
const fs = require('node:fs');
const servers = new Map();
let buf = '';
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const gone = (pid) => {
  if (!alive(pid)) return true;
  try { return /\\) Z /.test(fs.readFileSync('/proc/' + pid + '/stat', 'utf8')); } catch { return false; }
};
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    try {
      const m = JSON.parse(line);
      if (m.add) servers.set(m.add.pid, m.add);
      else if (m.remove) servers.delete(m.remove);
    } catch {}
  }
});
let ending = false;
const end = async () => {
  if (ending) return;
  ending = true;
  const list = [...servers.values()];
  for (const s of list) { try { process.kill(s.pid, 'SIGTERM'); } catch {} }
  const deadline = Date.now() + 10000;
  while (list.some((s) => !gone(s.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const s of list) { if (!gone(s.pid)) { try { process.kill(s.pid, 'SIGKILL'); } catch {} } }
  while (list.some((s) => !gone(s.pid)) && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 50));
  for (const s of list) {
    if (s.recordFile) {
      try {
        if (JSON.parse(fs.readFileSync(s.recordFile, 'utf8')).pid === s.pid) fs.rmSync(s.recordFile, { force: true });
      } catch {}
    }
    if (s.removeDir) { try { fs.rmSync(s.removeDir, { recursive: true, force: true }); } catch {} }
  }
  process.exit(0);
};
process.stdin.on('end', end);
process.stdin.on('close', end);
process.stdin.on('error', end);
`;

let watchdog: ChildProcess | undefined;

function ensureWatchdog(): ChildProcess {
  if (watchdog && watchdog.exitCode === null && watchdog.signalCode === null) return watchdog;
  const child = spawn(process.execPath, ['-e', WATCHDOG_SCRIPT], {
    detached: true,
    windowsHide: true,
    stdio: ['pipe', 'ignore', 'ignore'],
    env: {},
  });
  child.on('error', () => {
    // a watchdog that could not start leaves servers as detached ones would be
  });
  child.stdin?.on('error', () => {});
  child.unref();
  (child.stdin as unknown as Socket | null)?.unref?.();
  watchdog = child;
  return child;
}

/** Asks the watchdog to end `server` when this process exits (however it exits). */
export function watchServer(server: WatchedServer): void {
  ensureWatchdog().stdin?.write(`${JSON.stringify({ add: server })}\n`);
}

/** The server was stopped (or handed over): the watchdog forgets it. */
export function unwatchServer(pid: number): void {
  if (!watchdog || watchdog.exitCode !== null) return;
  watchdog.stdin?.write(`${JSON.stringify({ remove: pid })}\n`);
}

/** The watchdog's pid (for tests), undefined when none runs. */
export function watchdogPid(): number | undefined {
  return watchdog?.pid;
}
