#!/usr/bin/env node
// Long fuzzing and load run: the same seeded properties as the short run inside `npm test`
// (packages/*/test/fuzz-*.test.ts), with many more inputs, plus the multi-million-key restore load test.
//
//   npm run fuzz                          # 20000 inputs per reader, a fresh seed (printed)
//   npm run fuzz -- --runs 100000 --seed 42
//   npm run fuzz -- --only fuzz           # skip the load test
//   npm run fuzz -- --keys 3000000        # keys for the restore load test (default 2000000)
//
// Inputs that break a reader are saved under packages/<pkg>/test/fixtures/regressions/<kind>/ (the
// short run replays them forever after); reproduce a failure with the printed seed.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    keys: { type: 'string', default: '2000000' },
    only: { type: 'string' },
  },
});

const env = {
  ...process.env,
  VT_FUZZ_RUNS: values.runs,
  VT_FUZZ_SEED: values.seed,
  VT_LOAD_KEYS: values.keys,
  VT_LONG_RUN: '1',
};
console.error(
  `fuzz: seed ${values.seed}, ${values.runs} inputs per reader (VT_FUZZ_SEED=${values.seed} to repeat)`,
);

const jobs = [
  { kind: 'fuzz', project: 'backup', files: ['test/fuzz-readers.test.ts'] },
  { kind: 'fuzz', project: 'config', files: ['test/fuzz-parse.test.ts'] },
  { kind: 'fuzz', project: 'binaries', files: ['test/fuzz-archives.test.ts'] },
  { kind: 'load', project: 'backup', files: ['test/faults-restore.test.ts'] },
].filter((j) => !values.only || j.kind === values.only);

let failed = 0;
for (const job of jobs) {
  console.error(`\n== ${job.kind}: ${job.project} ${job.files.join(' ')}`);
  const r = spawnSync(
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
    { stdio: 'inherit', env },
  );
  if (r.status !== 0) failed++;
}
console.error(failed ? `\nfuzz: ${failed} job(s) failed (seed ${values.seed})` : '\nfuzz: all passed');
process.exit(failed ? 1 : 0);
