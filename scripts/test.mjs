#!/usr/bin/env node
// `npm test`: builds what the CLI tests run (turbo caches it), runs every Vitest project
// (unit + integration against real servers) and ends with the plain totals line
// `N passed, N failed` read from Vitest's JSON report.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const extra = process.argv.slice(2);
const run = (cmd, args) =>
  spawnSync(cmd, args, { stdio: 'inherit', env: { TURBO_TELEMETRY_DISABLED: '1', ...process.env } });

const build = run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']);
if (build.status !== 0) {
  console.error('build failed: fix the build before running the tests');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

mkdirSync('.test-results', { recursive: true });
const report = '.test-results/vitest.json';
const vitest = run('npx', [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...extra,
]);

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed = json.numPassedTests ?? 0;
  // failed tests, plus test files that failed before any test ran (import or hook errors)
  const brokenFiles = (json.testResults ?? []).filter(
    (r) => r.status === 'failed' && !(r.assertionResults ?? []).some((a) => a.status === 'failed'),
  ).length;
  failed = (json.numFailedTests ?? 0) + brokenFiles;
  for (const file of json.testResults ?? []) {
    const name = file.name.replace(`${process.cwd()}/`, '');
    const failedTests = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    if (file.status === 'failed' && failedTests.length === 0) {
      failures.push(`${name}: ${firstLine(file.message)}`);
    }
    for (const t of failedTests) {
      failures.push(`${name} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`);
    }
  }
  skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
} catch (err) {
  console.error(`could not read ${report}: ${err.message}`);
  failed = Math.max(failed, 1);
}
if (vitest.status !== 0 && failed === 0) failed = 1;
if (vitest.status !== 0 && failures.length === 0) {
  failures.push(
    'an error outside any test (Vitest "Unhandled Errors", or a crash): see the Vitest output above',
  );
}
// The failures again, right above the totals, so the tail of a CI log names them.
const failureText = failures.length ? `failed tests:\n${failures.map((f) => `  ${f}`).join('\n')}\n` : '';
writeFileSync('.test-results/failures.txt', failureText);
if (failureText) console.log(failureText);
const line = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
writeFileSync('.test-results/totals.txt', `${line}\n`);
console.log(line);
process.exit(vitest.status === 0 && failed === 0 ? 0 : 1);

function firstLine(text) {
  return (
    String(text ?? '')
      .split('\n')
      .find((l) => l.trim() !== '') ?? '(no message)'
  );
}
