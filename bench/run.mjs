#!/usr/bin/env node
// Side-by-side benchmarks against real peers, reported as ratios (ours / peer).
//
//   npm run bench                       # default scale (1,000,000 keys, ~100 MB RDB)
//   npm run bench -- --scale 100000     # smaller and faster
//   npm run bench -- --cases verify,restore --runs 3
//
// Every case runs both sides alternately `--runs` times on the same data and reports the median
// time ratio with its spread, and the peak RSS of each side. Results go to bench/results/latest.{md,json}.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compare } from './lib/compare.mjs';
import { datasetCommands } from './lib/dataset.mjs';
import { measure } from './lib/measure.mjs';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '5' },
    cases: { type: 'string', default: '' },
    out: { type: 'string', default: join(root, 'bench/results') },
  },
});
const scale = Number(values.scale);
const runs = Number(values.runs);
const wanted = values.cases ? new Set(values.cases.split(',')) : null;
const cli = join(root, 'packages/cli/dist/bin.js');
const node = process.execPath;
const dataDir = join(root, 'bench/data');
mkdirSync(dataDir, { recursive: true });
mkdirSync(values.out, { recursive: true });
const log = (m) => process.stderr.write(`[bench] ${m}\n`);

if (!existsSync(cli)) {
  log('building the packages (npx turbo run build)');
  execFileSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], {
    cwd: root,
    stdio: 'inherit',
  });
}

const vt = (args, opts) => measure(node, [cli, ...args], opts);
const started = [];
async function startServer(extra = []) {
  const out = execFileSync(
    node,
    [cli, 'start', '--json', '--set', 'save=', '--set', 'appendonly=no', ...extra],
    {
      encoding: 'utf8',
    },
  );
  const info = JSON.parse(out);
  started.push(info.name);
  return info;
}
function stopServer(name) {
  try {
    execFileSync(node, [cli, 'stop', name], { stdio: 'ignore' });
  } catch {}
}
process.on('exit', () => started.forEach(stopServer));

function portOf(url) {
  return String(new URL(url).port);
}

// ---- data -------------------------------------------------------------------------------
const rdbPath = join(dataDir, `dataset-${scale}.rdb`);
const respPath = join(dataDir, `dataset-${scale}.valkey`);
async function ensureDataset() {
  if (existsSync(rdbPath)) return;
  log(`generating dataset: ${scale} keys`);
  const srv = await startServer();
  const port = portOf(srv.url);
  // a managed server keeps its data dir between runs: start from an empty dataset
  execFileSync('valkey-cli', ['-p', port, 'FLUSHALL']);
  const pipe = spawn('valkey-cli', ['-p', port, '--pipe'], { stdio: ['pipe', 'ignore', 'inherit'] });
  for (const chunk of datasetCommands({ scale })) {
    if (!pipe.stdin.write(chunk)) await new Promise((r) => pipe.stdin.once('drain', r));
  }
  pipe.stdin.end();
  await new Promise((r) => pipe.on('close', r));
  execFileSync('valkey-cli', ['-p', port, 'SAVE']);
  const dir = execFileSync('valkey-cli', ['-p', port, 'CONFIG', 'GET', 'dir'], { encoding: 'utf8' }).split(
    '\n',
  )[1];
  cpSync(join(dir, 'dump.rdb'), rdbPath);
  stopServer(srv.name);
  log(`dataset RDB: ${(statSync(rdbPath).size / 1e6).toFixed(1)} MB`);
}

// ---- cases ------------------------------------------------------------------------------
const cases = {
  async verify() {
    return compare({
      name: 'verify RDB (parse + checksum)',
      runs,
      ours: { label: 'valkey-tools verify', run: () => vt(['verify', rdbPath]) },
      peer: { label: 'valkey-check-rdb', run: () => measure('valkey-check-rdb', [rdbPath]) },
      units: { amount: statSync(rdbPath).size / 1e6, unit: 'MB' },
    });
  },
  async 'rdb-to-resp'() {
    return compare({
      name: 'RDB → RESP text (.valkey)',
      runs,
      ours: {
        label: 'valkey-tools convert .rdb → .valkey',
        run: () => vt(['convert', rdbPath, respPath, '--force']),
      },
      peer: { label: 'valkey-check-rdb (parse only)', run: () => measure('valkey-check-rdb', [rdbPath]) },
      units: { amount: statSync(rdbPath).size / 1e6, unit: 'MB' },
    });
  },
  async 'rdb-to-jsonl'() {
    const out = join(dataDir, `dataset-${scale}.jsonl`);
    return compare({
      name: 'RDB → JSONL',
      runs,
      ours: {
        label: 'valkey-tools convert .rdb → .jsonl',
        run: () => vt(['convert', rdbPath, out, '--force']),
      },
      peer: { label: 'valkey-check-rdb (parse only)', run: () => measure('valkey-check-rdb', [rdbPath]) },
      units: { amount: statSync(rdbPath).size / 1e6, unit: 'MB' },
    });
  },
  async restore() {
    if (!existsSync(respPath)) await vt(['convert', rdbPath, respPath, '--force']);
    const target = await startServer();
    const port = portOf(target.url);
    return compare({
      name: 'restore RESP text into a server',
      runs,
      before: async () => {
        execFileSync('valkey-cli', ['-p', port, 'FLUSHALL']);
      },
      ours: { label: 'valkey-tools restore', run: () => vt(['restore', respPath, '--url', target.url]) },
      peer: {
        label: 'valkey-cli --pipe',
        run: () => measure('valkey-cli', ['-p', port, '--pipe'], { stdin: respPath }),
      },
    });
  },
  async 'restore-rdb'() {
    const target = await startServer();
    const port = portOf(target.url);
    if (!existsSync(respPath)) await vt(['convert', rdbPath, respPath, '--force']);
    return compare({
      name: 'restore from an RDB (ours) vs valkey-cli --pipe of the same data as RESP',
      runs,
      before: async () => {
        execFileSync('valkey-cli', ['-p', port, 'FLUSHALL']);
      },
      ours: { label: 'valkey-tools restore .rdb', run: () => vt(['restore', rdbPath, '--url', target.url]) },
      peer: {
        label: 'valkey-cli --pipe',
        run: () => measure('valkey-cli', ['-p', port, '--pipe'], { stdin: respPath }),
      },
    });
  },
  async 'live-backup'() {
    const src = await startServer(['--set', `dir=${dataDir}`, '--set', `dbfilename=dataset-${scale}.rdb`]);
    const port = portOf(src.url);
    const out = join(tmpdir(), `bench-live-${process.pid}.rdb`);
    try {
      return await compare({
        name: 'live backup over replication',
        runs,
        ours: {
          label: 'valkey-tools backup --mode replication',
          run: () =>
            vt([
              'backup',
              '--url',
              src.url,
              '-o',
              out,
              '--format',
              'rdb',
              '--mode',
              'replication',
              '--force',
            ]),
        },
        peer: {
          label: 'valkey-cli --rdb',
          run: async () => {
            rmSync(out, { force: true });
            return measure('valkey-cli', ['-p', port, '--rdb', out]);
          },
        },
      });
    } finally {
      rmSync(out, { force: true });
    }
  },
  async 'server-load'() {
    return compare({
      name: 'read an RDB: ours (verify) vs the server loading it',
      runs,
      ours: { label: 'valkey-tools verify', run: () => vt(['verify', rdbPath]) },
      peer: {
        label: 'valkey-server load (start → PING)',
        run: async () => {
          const t0 = process.hrtime.bigint();
          const srv = await startServer([
            '--set',
            `dir=${dataDir}`,
            '--set',
            `dbfilename=dataset-${scale}.rdb`,
          ]);
          const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
          const rss = Number(
            /used_memory_rss:(\d+)/.exec(
              execFileSync('valkey-cli', ['-p', portOf(srv.url), 'INFO', 'memory'], { encoding: 'utf8' }),
            )?.[1] ?? 0,
          );
          stopServer(srv.name);
          return { seconds, peakRssMb: rss / 1048576 };
        },
      },
    });
  },
  async memory() {
    return compare({
      name: 'memory analysis of an RDB',
      runs,
      ours: {
        label: 'valkey-tools inspect --memory',
        run: () => vt(['inspect', rdbPath, '--memory', '--json']),
      },
      peer: { label: 'valkey-check-rdb', run: () => measure('valkey-check-rdb', [rdbPath]) },
    });
  },
  async 'cli-startup'() {
    return compare({
      name: 'CLI start-up (--help)',
      runs: Math.max(runs, 10),
      ours: { label: 'valkey-tools --help', run: () => vt(['--help']) },
      peer: { label: 'node -e 0', run: () => measure(node, ['-e', '0']) },
    });
  },
  async kvcache() {
    const r = await measure(node, [
      '--expose-gc',
      join(root, 'bench/cases/kvcache.mjs'),
      '--blocks',
      String(Math.min(1_000_000, scale)),
    ]);
    return { name: 'kvcache-index', ...JSON.parse(r.stdout) };
  },
};

// ---- run --------------------------------------------------------------------------------
const results = [];
const needsData = [
  'verify',
  'rdb-to-resp',
  'rdb-to-jsonl',
  'restore',
  'restore-rdb',
  'live-backup',
  'server-load',
  'memory',
];
for (const [name, fn] of Object.entries(cases)) {
  if (wanted && !wanted.has(name)) continue;
  try {
    if (needsData.includes(name)) await ensureDataset();
    log(`case ${name}`);
    const r = await fn();
    results.push({ case: name, ...r });
    log(JSON.stringify(r));
  } catch (err) {
    results.push({ case: name, error: String(err.message ?? err).slice(0, 500) });
    log(`case ${name} failed: ${err.message}`);
  }
}

const machine = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  memoryGb: Math.round(totalmem() / 2 ** 30),
  valkey: execFileSync('valkey-server', ['--version'], { encoding: 'utf8' }).trim(),
  scale,
  rdbMb: existsSync(rdbPath) ? Number((statSync(rdbPath).size / 1e6).toFixed(1)) : null,
};
const fmt = (n, d = 2) => (typeof n === 'number' ? n.toFixed(d) : '—');
let md = `# Benchmark results\n\n${machine.date} · ${machine.cpus} · ${machine.memoryGb} GB · Node ${machine.node} · ${machine.valkey}\n\nDataset: ${scale} keys${machine.rdbMb ? `, RDB ${machine.rdbMb} MB` : ''}; ${runs} alternating runs per case. Ratio = ours / peer (below 1: we are faster or leaner).\n\n`;
md +=
  '| case | ours | peer | time ratio (median) | spread | ours s | peer s | ours peak MB | peer peak MB |\n|---|---|---|---|---|---|---|---|---|\n';
for (const r of results) {
  if (r.error)
    md += `| ${r.case} | — | — | failed: ${r.error.replace(/\|/g, '/').slice(0, 120)} | | | | | |\n`;
  else if (r.timeRatio !== undefined)
    md += `| ${r.name} | ${r.ours} | ${r.peer} | **${fmt(r.timeRatio)}** | ${fmt(r.timeRatioMin)}–${fmt(r.timeRatioMax)} | ${fmt(r.oursSeconds, 3)} | ${fmt(r.peerSeconds, 3)} | ${fmt(r.oursPeakRssMb, 0)} | ${fmt(r.peerPeakRssMb, 0)} |\n`;
}
const extra = results.filter((r) => !r.error && r.timeRatio === undefined);
for (const r of extra) md += `\n## ${r.name}\n\n\`\`\`json\n${JSON.stringify(r, null, 2)}\n\`\`\`\n`;
writeFileSync(join(values.out, 'latest.md'), md);
writeFileSync(join(values.out, 'latest.json'), `${JSON.stringify({ machine, results }, null, 2)}\n`);
process.stdout.write(md);
