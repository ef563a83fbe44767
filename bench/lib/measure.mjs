// Runs a command as a child process and measures wall time and peak resident memory.
// Peak RSS comes from GNU time (`/usr/bin/time -f`) when present, otherwise from polling
// /proc/<pid>/status VmHWM (Linux) until the child exits.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ stdin?: string, stdout?: string, env?: NodeJS.ProcessEnv, cwd?: string }} [io]
 * @returns {Promise<{ seconds: number, peakRssMb: number, stdout: string, stderr: string }>}
 */
export function measure(cmd, args, io = {}) {
  return new Promise((resolve, reject) => {
    const useTime = GNU_TIME !== null;
    const argv = useTime ? ['-f', '__PEAK_KB__=%M', cmd, ...args] : args;
    const start = process.hrtime.bigint();
    // stdin from a file is the file itself (like `cmd < file` in a shell), not pumped through
    // this process: the peer reads it at its own pace and nothing else competes for the CPU
    const stdinFd = io.stdin ? openSync(io.stdin, 'r') : null;
    const child = spawn(useTime ? GNU_TIME : cmd, argv, {
      stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...io.env },
      cwd: io.cwd,
    });
    let stdout = '';
    let stderr = '';
    let polledKb = 0;
    child.stdout.on('data', (d) => {
      if (stdout.length < 1e6) stdout += d;
    });
    child.stderr.on('data', (d) => {
      if (stderr.length < 1e6) stderr += d;
    });
    const poll = useTime
      ? null
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) polledKb = Math.max(polledKb, Number(m[1]));
          } catch {}
        }, 10);
    if (stdinFd !== null) closeSync(stdinFd);
    else child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const m = /__PEAK_KB__=(\d+)/.exec(stderr);
      const peakKb = m ? Number(m[1]) : polledKb;
      stderr = stderr.replace(/__PEAK_KB__=\d+\n?/, '');
      if (code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`));
        return;
      }
      resolve({ seconds, peakRssMb: peakKb / 1024, stdout, stderr });
    });
  });
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
