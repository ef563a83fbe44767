#!/usr/bin/env node
// Long fuzzing and load run: the same seeded properties as the short run inside `npm test`
// (packages/*/test/fuzz-*.test.ts), with many more inputs, plus the million-key restore load test
// and the speed and memory limits (VT_LIMITS=1, test-utils' limits.ts): wall-clock and memory
// thresholds are asserted here only, never inside `npm test`, where a loaded machine trips them
// (per-input deadline, memory growth while fuzzing, the flat-memory restore, linear-time readers
// of 64 MiB lines).
//
//   npm run fuzz                          # 20000 inputs per reader, a fresh seed (printed)
//   npm run fuzz -- --runs 100000 --seed 42
//   npm run fuzz -- --only fuzz           # skip the load and limits jobs (--only load, --only limits)
//   npm run fuzz -- --keys 3000000        # keys for the restore load test (default 2000000)
//   npm run fuzz -- --job-timeout 1800    # seconds before a job counts as hung (default 1800)
//   npm run fuzz -- --rdb-mutants 10000   # RDB mutants judged by verify, valkey-check-rdb and a
//                                         # sanitize-dump-payload yes server (default 10000)
//
// The RDB mutant run (packages/backup/test/fuzz-rdb-mutants.test.ts, 60 mutants in `npm test`):
// verifyRdb's verdict must equal valkey-check-rdb's on every mutant except the documented classes
// (empty-key, nan-score, rdb-version-12, huge-db, check-rdb-hangs; restore only:
// db-out-of-range, module-value; see that file
// and apps/docs/guide/rdb-support.md), and every mutant verify accepts must restore into a
// sanitize-dump-payload yes server that then survives a write workload on every key.
//
// Inputs that break a reader are saved under packages/<pkg>/test/fixtures/regressions/<kind>/ (the
// short run replays them forever after). A reader stuck in a synchronous loop cannot time out from
// inside, so each job runs under a watchdog: on a hang the job is killed and the input being read
// (written down before every read) is saved as a regression fixture too.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    keys: { type: 'string', default: '2000000' },
    only: { type: 'string' },
    'job-timeout': { type: 'string', default: '1800' },
    'rdb-mutants': { type: 'string', default: '10000' },
  },
});

const inflight = mkdtempSync(join(tmpdir(), 'vt-fuzz-inflight-'));
const env = {
  ...process.env,
  VT_FUZZ_RUNS: values.runs,
  VT_FUZZ_SEED: values.seed,
  VT_LOAD_KEYS: values.keys,
  VT_FUZZ_INFLIGHT_DIR: inflight,
  VT_RDB_MUTANTS: values['rdb-mutants'],
  VT_LIMITS: '1',
};
console.error(
  `fuzz: seed ${values.seed}, ${values.runs} inputs per reader (VT_FUZZ_SEED=${values.seed} to repeat)`,
);

const jobs = [
  { kind: 'fuzz', project: 'backup', files: ['test/fuzz-readers.test.ts'] },
  { kind: 'fuzz', project: 'backup', files: ['test/collection-payload.test.ts'] },
  { kind: 'fuzz', project: 'backup', files: ['test/fuzz-rdb-mutants.test.ts'] },
  { kind: 'fuzz', project: 'config', files: ['test/fuzz-parse.test.ts'] },
  { kind: 'fuzz', project: 'binaries', files: ['test/fuzz-archives.test.ts'] },
  { kind: 'load', project: 'backup', files: ['test/faults-restore.test.ts'] },
  { kind: 'limits', project: 'backup', files: ['test/hardening-large-lines.test.ts'] },
  { kind: 'limits', project: 'test-utils', files: ['test/limits.test.ts'] },
].filter((j) => !values.only || j.kind === values.only);

/** Runs one vitest job in its own process group; kills the whole group after `timeoutMs`. */
function runJob(job, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(
      'npx',
      [
        'vitest',
        'run',
        '--project',
        job.project,
        '--testTimeout',
        '3600000',
        '--hookTimeout',
        '3600000',
        ...job.files,
      ],
      { stdio: 'inherit', env, detached: true },
    );
    const timer = setTimeout(() => {
      console.error(
        `\nfuzz: ${job.project} ${job.files.join(' ')} made no end in ${timeoutMs / 1000} s: killing it (hang)`,
      );
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      resolve('hang');
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? 'ok' : 'failed');
    });
  });
}

/** Keeps the input a hung job was reading (the most recently written one) as a regression fixture. */
function keepHungInput(project) {
  const files = readdirSync(inflight).map((f) => ({ f, t: statSync(join(inflight, f)).mtimeMs }));
  const last = files.sort((a, b) => b.t - a.t)[0];
  if (!last) return;
  const kind = last.f.replace(/\.bin$/, '');
  const bytes = readFileSync(join(inflight, last.f));
  const dir = join('packages', project, 'test', 'fixtures', 'regressions', kind);
  mkdirSync(dir, { recursive: true });
  const name = `hang-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
  copyFileSync(join(inflight, last.f), join(dir, `${name}.bin`));
  writeFileSync(join(dir, `${name}.txt`), `hang: the reader did not finish (seed ${values.seed})\n`);
  console.error(`fuzz: the input being read was saved to ${join(dir, `${name}.bin`)}`);
}

let failed = 0;
for (const job of jobs) {
  console.error(`\n== ${job.kind}: ${job.project} ${job.files.join(' ')}`);
  for (const f of readdirSync(inflight)) rmSync(join(inflight, f));
  const outcome = await runJob(job, Number(values['job-timeout']) * 1000);
  if (outcome === 'hang') keepHungInput(job.project);
  if (outcome !== 'ok') failed++;
}
rmSync(inflight, { recursive: true, force: true });
console.error(failed ? `\nfuzz: ${failed} job(s) failed (seed ${values.seed})` : '\nfuzz: all passed');
process.exit(failed ? 1 : 0);
