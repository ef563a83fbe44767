#!/usr/bin/env node
// Side-by-side benchmarks against real peers, reported as ratios (ours / peer).
//
//   npm run bench                       # default scale (1,000,000 keys, ~100 MB RDB)
//   npm run bench -- --scale 100000     # smaller and faster
//   npm run bench -- --cases verify,restore --runs 3
//   npm run bench -- --baseline v0.1.0      # also against our own CLI built from that git ref
//
// Every case runs both sides alternately `--runs` times on the same data and reports the median
// time ratio with its spread, and the peak RSS of each side. Results go to bench/results/latest.{md,json}.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  openSync,
  readSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  cpSync,
} from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compare } from './lib/compare.mjs';
import { datasetCommands, datasetKeyCount, defaultBig } from './lib/dataset.mjs';
import { measure } from './lib/measure.mjs';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '5' },
    cases: { type: 'string', default: '' },
    out: { type: 'string', default: join(root, 'bench/results') },
    // git ref of our own packages to compare against; default: the commit the committed results
    // (bench/results/latest.json) were measured at; `none` turns the baseline cases off
    baseline: { type: 'string' },
    // keys of the cluster case's dataset (at least 600,000)
    'cluster-scale': { type: 'string', default: '600000' },
  },
});
const scale = Number(values.scale);
const runs = Number(values.runs);
// memory-scale: a dataset a fifth of the size; peak RSS is the max over at most 2 runs per side
const smallScale = Math.round(scale / 5);
const scaleRuns = Math.min(Math.max(runs, 1), 2);
const wanted = values.cases ? new Set(values.cases.split(',')) : null;
const cli = join(root, 'packages/cli/dist/bin.js');
const node = process.execPath;
const dataDir = join(root, 'bench/data');
mkdirSync(dataDir, { recursive: true });
mkdirSync(values.out, { recursive: true });
const log = (m) => process.stderr.write(`[bench] ${m}\n`);
const git = (args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

// the checkout being measured (the CLI in packages/cli/dist is whatever was last built from it)
const head = { commit: null, dirty: null };
try {
  head.commit = git(['rev-parse', 'HEAD']);
  head.dirty = git(['status', '--porcelain']) !== '';
} catch (err) {
  log(`not a git checkout? ${err.message}`);
}

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
/** The files of a dataset of `n` keys whose big collections have `big` elements. */
const datasetPaths = (n, big = defaultBig(n)) => {
  const name = big === defaultBig(n) ? `dataset-${n}` : `dataset-${n}-big${big}`;
  return {
    scale: n,
    big,
    name,
    rdb: join(dataDir, `${name}.rdb`),
    resp: join(dataDir, `${name}.valkey`),
    jsonl: join(dataDir, `${name}.jsonl`),
  };
};
const full = datasetPaths(scale);
const rdbPath = full.rdb;
const respPath = full.resp;
const checkedDatasets = new Set();

/** Makes sure bench/data/dataset-<n>.rdb exists and holds the generated keys; returns its paths. */
async function ensureDataset(n = scale, big = defaultBig(n)) {
  const ds = datasetPaths(n, big);
  if (checkedDatasets.has(ds.name)) return ds;
  const expected = datasetKeyCount(n);
  if (existsSync(ds.rdb)) {
    // a file left by an older runner can hold another dataset (before the FLUSHALL below, one was
    // generated into a server still holding a bigger one): check the key count once per run
    const out = spawnSync('valkey-check-rdb', [ds.rdb], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const keys = Number(/(\d+) keys read/.exec(`${out.stdout}${out.stderr}`)?.[1] ?? -1);
    if (out.status === 0 && keys === expected) {
      checkedDatasets.add(ds.name);
      return ds;
    }
    log(`${ds.rdb} holds ${keys} keys, not ${expected}: generating it again`);
    for (const p of [ds.rdb, ds.resp, ds.jsonl]) rmSync(p, { force: true });
  }
  log(`generating dataset: ${n} keys, big collections of ${big}`);
  const srv = await startServer();
  try {
    const port = portOf(srv.url);
    // a managed server keeps its data dir between runs: start from an empty dataset
    execFileSync('valkey-cli', ['-p', port, 'FLUSHALL']);
    const pipe = spawn('valkey-cli', ['-p', port, '--pipe'], { stdio: ['pipe', 'ignore', 'inherit'] });
    for await (const chunk of datasetCommands({ scale: n, big })) {
      if (!pipe.stdin.write(chunk)) await new Promise((r) => pipe.stdin.once('drain', r));
    }
    pipe.stdin.end();
    await new Promise((r) => pipe.on('close', r));
    const keys = keyCount(port);
    if (keys !== expected) throw new Error(`dataset server holds ${keys} keys, expected ${expected}`);
    execFileSync('valkey-cli', ['-p', port, 'SAVE']);
    const dir = execFileSync('valkey-cli', ['-p', port, 'CONFIG', 'GET', 'dir'], {
      encoding: 'utf8',
    }).split('\n')[1];
    const file = execFileSync('valkey-cli', ['-p', port, 'CONFIG', 'GET', 'dbfilename'], {
      encoding: 'utf8',
    }).split('\n')[1];
    cpSync(join(dir, file), ds.rdb);
  } finally {
    stopServer(srv.name);
  }
  // derived files of an older dataset of this scale must not be reused
  rmSync(ds.resp, { force: true });
  rmSync(ds.jsonl, { force: true });
  checkedDatasets.add(ds.name);
  log(`dataset RDB: ${(statSync(ds.rdb).size / 1e6).toFixed(1)} MB`);
  return ds;
}

/** The RESP text (.valkey) of a dataset, converted by the current CLI when missing or older than the RDB. */
async function ensureResp(ds) {
  if (!existsSync(ds.resp) || statSync(ds.resp).mtimeMs < statSync(ds.rdb).mtimeMs) {
    log(`converting ${ds.rdb} to .valkey`);
    await vt(['convert', ds.rdb, ds.resp, '--force']);
  }
  return ds.resp;
}

/** Keys in all databases of a server (INFO keyspace). */
function keyCount(port) {
  const info = execFileSync('valkey-cli', ['-p', port, 'INFO', 'keyspace'], { encoding: 'utf8' });
  let keys = 0;
  for (const m of info.matchAll(/^db\d+:keys=(\d+)/gm)) keys += Number(m[1]);
  return keys;
}

/**
 * The cluster dataset: `n` keys in db 0, five in six strings (16 to 80 bytes), one in six a small
 * hash (4 fields); its RESP commands (the --pipe peer's input) and the RDB a server saves of them.
 */
async function ensureClusterDataset(n = Math.max(600_000, Number(values['cluster-scale']))) {
  const name = `cluster-${n}`;
  const ds = { keys: n, rdb: join(dataDir, `${name}.rdb`), resp: join(dataDir, `${name}.resp`) };
  if (existsSync(ds.rdb) && existsSync(ds.resp)) return ds;
  log(`generating the cluster dataset: ${n} keys`);
  const bulk = (s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  const cmd = (...a) => `*${a.length}\r\n${a.map(bulk).join('')}`;
  const lines = [];
  for (let i = 0; i < n; i++) {
    if (i % 6 === 5)
      lines.push(
        cmd(
          'HSET',
          `h:${i}`,
          'name',
          `n${i}`,
          'count',
          String(i),
          'tag',
          `t${i % 97}`,
          'v',
          'x'.repeat(i % 24),
        ),
      );
    else lines.push(cmd('SET', `s:${i}`, `value-${i}-${'y'.repeat(8 + (i % 64))}`));
  }
  writeFileSync(ds.resp, lines.join(''));
  const srv = await startServer();
  try {
    const port = portOf(srv.url);
    execFileSync('valkey-cli', ['-p', port, 'FLUSHALL']);
    await measure('valkey-cli', ['-p', port, '--pipe'], { stdin: ds.resp });
    if (keyCount(port) !== n)
      throw new Error(`cluster dataset server holds ${keyCount(port)} keys, expected ${n}`);
    execFileSync('valkey-cli', ['-p', port, 'SAVE']);
    const get = (k) =>
      execFileSync('valkey-cli', ['-p', port, 'CONFIG', 'GET', k], { encoding: 'utf8' }).split('\n')[1];
    cpSync(join(get('dir'), get('dbfilename')), ds.rdb);
  } finally {
    stopServer(srv.name);
  }
  return ds;
}

// scratch outputs (convert cases), removed on exit
const scratchFiles = new Set();
function scratch(name) {
  const p = join(dataDir, `.out-${process.pid}-${name}`);
  scratchFiles.add(p);
  return p;
}
process.on('exit', () => {
  for (const p of scratchFiles) rmSync(p, { force: true });
});
const sizeMb = (p) => statSync(p).size / 1e6;
/**
 * SHA-256 of a conversion output, without the header a .valkey file starts with (an ECHO command
 * carrying the creation time, so two runs never match byte for byte).
 */
function outputHash(p) {
  const fd = openSync(p, 'r');
  const head = Buffer.alloc(4096);
  const n = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const m = /^\*2\r\n\$4\r\nECHO\r\n\$(\d+)\r\n/.exec(head.subarray(0, n).toString('latin1'));
  const start = m ? m[0].length + Number(m[1]) + 2 : 0;
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(p, { start })
      .on('data', (d) => h.update(d))
      .on('error', rej)
      .on('end', () => res(h.digest('hex')));
  });
}

// ---- baseline: our own CLI built from an earlier commit -----------------------------------
function defaultBaseline() {
  const file = join(root, 'bench/results/latest.json');
  try {
    const machine = JSON.parse(readFileSync(file, 'utf8')).machine;
    const sha = typeof machine?.commit === 'string' ? machine.commit : machine?.commit?.sha;
    if (sha && machine.dirty)
      log(`bench/results/latest.json was measured with uncommitted changes on top of ${sha}`);
    if (sha) return sha;
  } catch {}
  return null;
}
const baselineRef = values.baseline ?? defaultBaseline();
const baselineOn = baselineRef !== null && baselineRef !== 'none' && baselineRef !== '';
if (values.baseline === undefined)
  log(
    baselineOn
      ? `baseline: ${baselineRef} (machine.commit of bench/results/latest.json)`
      : 'baseline: none (bench/results/latest.json records no machine.commit; pass --baseline <git-ref>)',
  );

let baselinePromise = null;
/** Extracts and builds the baseline once; resolves to { ref, sha, shortSha, date, cli } or rejects. */
function prepareBaseline() {
  baselinePromise ??= (async () => {
    let sha;
    try {
      sha = git(['rev-parse', '--verify', '--quiet', `${baselineRef}^{commit}`]);
    } catch {
      throw new Error(`git ref ${JSON.stringify(baselineRef)} not found`);
    }
    const info = {
      ref: baselineRef,
      sha,
      shortSha: git(['rev-parse', '--short', sha]),
      date: git(['show', '-s', '--format=%ci', sha]),
    };
    if (sha === head.commit)
      log(`baseline ${info.shortSha} is HEAD: the comparison only shows uncommitted changes and noise`);
    const dir = join(root, 'bench/.baseline', sha);
    const bin = join(dir, 'packages/cli/dist/bin.js');
    if (existsSync(bin)) {
      log(`baseline ${info.shortSha}: reusing ${bin}`);
      return { ...info, cli: bin };
    }
    const step = (what, cmd, args, opts = {}) => {
      log(`baseline ${info.shortSha}: ${what}`);
      const r = spawnSync(cmd, args, { maxBuffer: 256 << 20, timeout: 30 * 60_000, ...opts });
      if (r.status !== 0) {
        const tail = `${r.stderr ?? ''}\n${r.stdout ?? ''}`
          .split('\n')
          .filter((l) => l.trim() && !l.startsWith('npm warn'))
          .join('\n')
          .slice(-1500);
        throw new Error(
          `${what} failed (${r.error?.message ?? (r.signal ? `signal ${r.signal}` : `exit ${r.status}`)}): ${tail}`,
        );
      }
      return r;
    };
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    try {
      const tar = step('git archive', 'git', ['archive', '--format=tar', sha], { cwd: root });
      step('extract', 'tar', ['-x', '-C', dir], { input: tar.stdout });
      step(
        'npm install (a few minutes the first time)',
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline'],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
      step(
        'build',
        'npx',
        ['turbo', 'run', 'build', '--filter=@valkey-tools/cli...', '--output-logs=errors-only'],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
      if (!existsSync(bin)) throw new Error(`the build wrote no ${bin}`);
    } catch (err) {
      // a half-installed tree is of no use to the next run (it starts from scratch): do not keep it
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return { ...info, cli: bin };
  })();
  return baselinePromise;
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
    await ensureResp(full);
    const target = await startServer();
    const port = portOf(target.url);
    try {
      return await compare({
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
    } finally {
      stopServer(target.name);
    }
  },
  async 'restore-rdb'() {
    await ensureResp(full);
    const target = await startServer();
    const port = portOf(target.url);
    try {
      return await compare({
        name: 'restore from an RDB (ours) vs valkey-cli --pipe of the same data as RESP',
        runs,
        before: async () => {
          execFileSync('valkey-cli', ['-p', port, 'FLUSHALL']);
        },
        ours: {
          label: 'valkey-tools restore .rdb',
          run: () => vt(['restore', rdbPath, '--url', target.url]),
        },
        peer: {
          label: 'valkey-cli --pipe',
          run: () => measure('valkey-cli', ['-p', port, '--pipe'], { stdin: respPath }),
        },
      });
    } finally {
      stopServer(target.name);
    }
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
      // Its dir is the dataset's: server-load starts a server on it next.
      stopServer(src.name);
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
  async inspect() {
    return compare({
      name: 'summary of an RDB (keys by db, type and encoding; the biggest keys)',
      runs,
      ours: { label: 'valkey-tools inspect', run: () => vt(['inspect', rdbPath, '--json']) },
      peer: { label: 'valkey-check-rdb', run: () => measure('valkey-check-rdb', [rdbPath]) },
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
  async cluster() {
    // 500k strings + 100k small hashes (×clusterScale/600k), one db: what a cluster holds
    const ds = await ensureClusterDataset();
    const { startCluster } = await import(pathToFileURL(join(root, 'packages/binaries/dist/index.js')).href);
    const home = join(tmpdir(), `bench-cluster-${process.pid}`);
    const cluster = await startCluster({ primaries: 3, replicasPerPrimary: 0, home, basePort: 17000 });
    const single = await startServer();
    const port = portOf(single.url);
    const cli = (p, ...a) => execFileSync('valkey-cli', ['-p', String(p), ...a], { encoding: 'utf8' });
    // The nodes run as the single server does (no RDB saves, no AOF): the same work on both sides.
    for (const n of cluster.primaries) {
      cli(n.port, 'CONFIG', 'SET', 'save', '');
      cli(n.port, 'CONFIG', 'SET', 'appendonly', 'no');
      cli(n.port, 'CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
    }
    const flushCluster = async () => {
      for (const n of cluster.primaries) cli(n.port, 'FLUSHALL');
    };
    const clusterKeys = () => cluster.primaries.reduce((sum, n) => sum + keyCount(String(n.port)), 0);
    const out = join(tmpdir(), `bench-cluster-${process.pid}.rdb`);
    const parts = cluster.primaries.map((_, i) => join(tmpdir(), `bench-cluster-${process.pid}-${i}.rdb`));
    try {
      /** Our restore of `file` into the cluster against --pipe of the same data into one server. */
      const restoreCompare = async (name, label, file) => {
        const keys = { ours: [], peer: [] };
        const result = await compare({
          name,
          runs,
          before: async () => {
            await flushCluster();
            cli(port, 'FLUSHALL');
          },
          ours: {
            label,
            run: async () => {
              const r = await vt(['restore', file, '--url', cluster.seeds[0]]);
              keys.ours.push(clusterKeys());
              return r;
            },
          },
          peer: {
            label: 'valkey-cli --pipe (one server)',
            run: async () => {
              const r = await measure('valkey-cli', ['-p', port, '--pipe'], { stdin: ds.resp });
              keys.peer.push(keyCount(port));
              return r;
            },
          },
        });
        result.keysRestored = { ours: Math.min(...keys.ours), peer: Math.min(...keys.peer) };
        return result;
      };
      const restore = await restoreCompare(
        `restore into a 3-primary cluster (${ds.keys} keys) vs valkey-cli --pipe into one server`,
        'valkey-tools restore .rdb --url <cluster>',
        ds.rdb,
      );
      // the cluster holds the data (the last run of ours may have come first: restore it again)
      await flushCluster();
      await vt(['restore', ds.rdb, '--url', cluster.seeds[0]]);
      const backup = await compare({
        name: `backup of a 3-primary cluster (${ds.keys} keys) into one RDB vs valkey-cli --rdb of every primary in parallel`,
        runs,
        ours: {
          label: 'valkey-tools backup --url <cluster> (one RDB)',
          run: () => vt(['backup', '--url', cluster.seeds[0], '-o', out, '--format', 'rdb', '--force']),
        },
        peer: {
          label: 'valkey-cli --rdb × 3 primaries, in parallel',
          run: async () => {
            for (const p of parts) rmSync(p, { force: true });
            const t0 = process.hrtime.bigint();
            const rs = await Promise.all(
              cluster.primaries.map((n, i) =>
                measure('valkey-cli', ['-p', String(n.port), '--rdb', parts[i]]),
              ),
            );
            return {
              seconds: Number(process.hrtime.bigint() - t0) / 1e9,
              peakRssMb: rs.reduce((sum, r) => sum + r.peakRssMb, 0),
            };
          },
        },
      });
      const check = spawnSync('valkey-check-rdb', [out], { encoding: 'utf8', maxBuffer: 64 << 20 });
      backup.mergedRdbKeys = Number(/(\d+) keys read/.exec(`${check.stdout}${check.stderr}`)?.[1] ?? -1);
      backup.keysInCluster = clusterKeys();
      // The merged backup back into the cluster: a file that holds each slot's keys together (as
      // a cluster's backups do), unlike the dataset's RDB written by one server.
      const restoreMerged = await restoreCompare(
        `restore of the cluster's merged backup into the cluster (${ds.keys} keys) vs valkey-cli --pipe into one server`,
        'valkey-tools restore <merged backup>.rdb --url <cluster>',
        out,
      );
      // The same data as a .valkey file (our convert of the dataset's RDB) into the cluster.
      const valkeyFile = join(tmpdir(), `bench-cluster-${process.pid}.valkey`);
      parts.push(valkeyFile);
      await vt(['convert', ds.rdb, valkeyFile]);
      const restoreValkey = await restoreCompare(
        `restore of the dataset as .valkey into the cluster (${ds.keys} keys) vs valkey-cli --pipe into one server`,
        'valkey-tools restore .valkey --url <cluster>',
        valkeyFile,
      );
      return { name: 'cluster', keys: ds.keys, restore, backup, restoreMerged, restoreValkey };
    } finally {
      stopServer(single.name);
      await cluster.stop().catch(() => {});
      rmSync(home, { recursive: true, force: true });
      rmSync(out, { force: true });
      for (const p of parts) rmSync(p, { force: true });
    }
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
  async follow() {
    // online migration: snapshot phase vs valkey-cli --rdb + our restore; applied vs write rate
    const r = await measure(node, [
      join(root, 'bench/cases/follow.mjs'),
      '--keys',
      String(Math.min(1_000_000, scale)),
      '--writes',
      String(Math.min(1_000_000, scale)),
    ]);
    return { name: 'online migration (migrate --follow)', ...JSON.parse(r.stdout) };
  },
  async 'memory-scale'() {
    // our peak RSS on a dataset a fifth of the size and on the full one: it must not grow with the file
    // the same big collections as the full dataset: what changes is the file size, not the
    // largest key (a record-based command holds one key at a time)
    const small = await ensureDataset(smallScale, defaultBig(scale));
    for (const ds of [small, full]) await ensureResp(ds);
    const target = await startServer();
    const port = portOf(target.url);
    const flush = async () => {
      execFileSync('valkey-cli', ['-p', port, 'FLUSHALL']);
    };
    const outResp = scratch('scale.valkey');
    const outJsonl = scratch('scale.jsonl');
    const commands = [
      { command: 'verify', input: 'rdb', args: (d) => ['verify', d.rdb] },
      {
        command: 'convert .rdb → .valkey',
        input: 'rdb',
        args: (d) => ['convert', d.rdb, outResp, '--force'],
      },
      {
        command: 'convert .rdb → .jsonl',
        input: 'rdb',
        args: (d) => ['convert', d.rdb, outJsonl, '--force'],
      },
      {
        command: 'restore .valkey',
        input: 'resp',
        args: (d) => ['restore', d.resp, '--url', target.url],
        before: flush,
      },
      {
        command: 'restore .rdb',
        input: 'rdb',
        args: (d) => ['restore', d.rdb, '--url', target.url],
        before: flush,
      },
      { command: 'inspect --memory', input: 'rdb', args: (d) => ['inspect', d.rdb, '--memory', '--json'] },
    ];
    const rows = [];
    try {
      for (const c of commands) {
        const row = {
          command: c.command,
          input: c.input === 'rdb' ? '.rdb' : '.valkey',
          smallFileMb: sizeMb(small[c.input]),
          largeFileMb: sizeMb(full[c.input]),
        };
        row.fileRatio = row.largeFileMb / row.smallFileMb;
        try {
          // compare() alternates the two sizes; "ours" = the full dataset, "peer" = the small one
          const r = await compare({
            name: c.command,
            runs: scaleRuns,
            before: c.before,
            ours: { label: `${scale} keys`, run: () => vt(c.args(full)) },
            peer: { label: `${smallScale} keys`, run: () => vt(c.args(small)) },
          });
          Object.assign(row, {
            smallPeakRssMb: r.peerPeakRssMb,
            largePeakRssMb: r.oursPeakRssMb,
            peakGrowth: r.memoryRatio,
            // RSS added per MB of input beyond the small file (0 = flat)
            rssMbPerFileMb: (r.oursPeakRssMb - r.peerPeakRssMb) / (row.largeFileMb - row.smallFileMb),
            smallSeconds: r.peerSeconds,
            largeSeconds: r.oursSeconds,
            timeGrowth: r.timeRatio,
          });
        } catch (err) {
          row.error = String(err.message ?? err).slice(0, 500);
          log(`memory-scale ${c.command} failed: ${err.message}`);
        }
        log(`memory-scale ${JSON.stringify(row)}`);
        rows.push(row);
      }
    } finally {
      stopServer(target.name);
    }
    return {
      name: 'Peak memory against file size',
      smallScale,
      largeScale: scale,
      runsPerSide: scaleRuns,
      commands: rows,
    };
  },
};

// ---- against the previous version of our own packages --------------------------------------
// Same input and command line on both sides: ours = packages/cli/dist of this checkout, peer = the CLI
// built from --baseline. Convert outputs go to one scratch file per side so they can be compared.
const baselineCases = {
  'baseline-verify': { name: 'verify RDB (parse + checksum)', args: () => ['verify', rdbPath] },
  'baseline-rdb-to-resp': {
    name: 'RDB → RESP text (.valkey)',
    args: (side) => ['convert', rdbPath, scratch(`${side}.valkey`), '--force'],
    output: (side) => scratch(`${side}.valkey`),
  },
  'baseline-rdb-to-jsonl': {
    name: 'RDB → JSONL',
    args: (side) => ['convert', rdbPath, scratch(`${side}.jsonl`), '--force'],
    output: (side) => scratch(`${side}.jsonl`),
  },
  'baseline-restore': { name: 'restore RESP text into a server', restore: true, args: () => [respPath] },
  'baseline-restore-rdb': { name: 'restore from an RDB', restore: true, args: () => [rdbPath] },
  'baseline-memory': {
    name: 'memory analysis of an RDB',
    args: () => ['inspect', rdbPath, '--memory', '--json'],
  },
};
async function runBaselineCase(c, base) {
  const sides = { ours: cli, peer: base.cli };
  let target = null;
  let port = null;
  const keys = { ours: [], peer: [] };
  if (c.restore) {
    await ensureResp(full);
    target = await startServer();
    port = portOf(target.url);
  }
  const side = (s) => ({
    label: s === 'ours' ? 'valkey-tools (this checkout)' : `valkey-tools ${base.shortSha}`,
    run: async () => {
      const args = c.restore ? ['restore', ...c.args(s), '--url', target.url] : c.args(s);
      const r = await measure(node, [sides[s], ...args]);
      if (c.restore) keys[s].push(keyCount(port));
      return r;
    },
  });
  try {
    const r = await compare({
      name: c.name,
      runs,
      before: c.restore
        ? async () => {
            execFileSync('valkey-cli', ['-p', port, 'FLUSHALL']);
          }
        : undefined,
      ours: side('ours'),
      peer: side('peer'),
      units: c.restore ? undefined : { amount: sizeMb(rdbPath), unit: 'MB' },
    });
    // the same work on both sides? (a faster version that writes something else is no gain)
    if (c.output) {
      const [a, b] = await Promise.all([outputHash(c.output('ours')), outputHash(c.output('peer'))]);
      r.outputsIdentical = a === b;
      if (a !== b) log(`${c.name}: the two versions wrote different outputs`);
    }
    if (c.restore) {
      r.keysRestored = { ours: Math.max(...keys.ours), peer: Math.max(...keys.peer) };
      if (r.keysRestored.ours !== r.keysRestored.peer)
        log(`${c.name}: keys restored differ: ${JSON.stringify(r.keysRestored)}`);
    }
    return r;
  } finally {
    if (target) stopServer(target.name);
  }
}

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
  'inspect',
  'memory',
  'memory-scale',
];
if (wanted) {
  const known = new Set([...Object.keys(cases), ...Object.keys(baselineCases)]);
  for (const name of wanted) if (!known.has(name)) log(`unknown case ${name} (ignored)`);
}
for (const [name, fn] of Object.entries(cases)) {
  if (wanted && !wanted.has(name)) continue;
  try {
    if (needsData.includes(name)) await ensureDataset(scale);
    log(`case ${name}`);
    const r = await fn();
    results.push({ case: name, ...r });
    log(JSON.stringify(r));
  } catch (err) {
    results.push({ case: name, error: String(err.message ?? err).slice(0, 500) });
    log(`case ${name} failed: ${err.message}`);
  }
}

// baseline = { ref, sha, shortSha, date, results } when it ran, { ref, error } when it could not
let baseline = null;
const baselineWanted = Object.keys(baselineCases).filter((name) => !wanted || wanted.has(name));
if (baselineWanted.length && !baselineOn) {
  if (wanted) log(`no baseline: skipping ${baselineWanted.join(', ')}`);
} else if (baselineWanted.length) {
  let base = null;
  try {
    base = await prepareBaseline();
  } catch (err) {
    log(`baseline ${baselineRef} unavailable, skipping the baseline cases: ${err.message}`);
    baseline = { ref: baselineRef, error: String(err.message ?? err).slice(0, 2000) };
  }
  if (base) {
    baseline = { ref: base.ref, sha: base.sha, shortSha: base.shortSha, date: base.date, results: [] };
    for (const name of baselineWanted) {
      try {
        await ensureDataset(scale);
        log(`case ${name}`);
        const r = await runBaselineCase(baselineCases[name], base);
        baseline.results.push({ case: name, ...r });
        log(JSON.stringify(r));
      } catch (err) {
        baseline.results.push({ case: name, error: String(err.message ?? err).slice(0, 500) });
        log(`case ${name} failed: ${err.message}`);
      }
    }
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
  commit: head.commit,
  dirty: head.dirty,
};
const fmt = (n, d = 2) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(d) : '—');
const cell = (s) => String(s).replace(/\|/g, '/').replace(/\n/g, ' ');
const header =
  '| case | ours | peer | time ratio (median) | spread | ours s | peer s | ours peak MB | peer peak MB |\n|---|---|---|---|---|---|---|---|---|\n';
function rows(list) {
  let out = '';
  for (const r of list) {
    if (r.error) out += `| ${r.case} | — | — | failed: ${cell(r.error).slice(0, 120)} | | | | | |\n`;
    else if (r.timeRatio !== undefined)
      out += `| ${r.name} | ${r.ours} | ${r.peer} | **${fmt(r.timeRatio)}** | ${fmt(r.timeRatioMin)}–${fmt(r.timeRatioMax)} | ${fmt(r.oursSeconds, 3)} | ${fmt(r.peerSeconds, 3)} | ${fmt(r.oursPeakRssMb, 0)} | ${fmt(r.peerPeakRssMb, 0)} |\n`;
  }
  return out;
}
const commitText = head.commit
  ? `commit ${head.commit.slice(0, 7)}${head.dirty ? ' (uncommitted changes)' : ''}`
  : 'commit unknown';
let md = `# Benchmark results\n\n${machine.date} · ${machine.cpus} · ${machine.memoryGb} GB · Node ${machine.node} · ${machine.valkey} · ${commitText}\n\nDataset: ${scale} keys${machine.rdbMb ? `, RDB ${machine.rdbMb} MB` : ''}; ${runs} alternating runs per case. Ratio = ours / peer (below 1: we are faster or leaner).\n\n`;
if (results.length) md += header + rows(results);

if (baseline?.error) {
  md += `\n## Against the previous version (${cell(baseline.ref)})\n\nSkipped: ${cell(baseline.error).slice(0, 300)}\n`;
} else if (baseline) {
  md += `\n## Against the previous version (${baseline.shortSha}, ${baseline.date})\n\nOurs = this checkout (${commitText}), peer = the packages at ${baseline.shortSha} built from \`git archive\`; same input and command line, ${runs} alternating runs.\n\n`;
  md += header + rows(baseline.results);
  const notes = baseline.results.filter(
    (r) => r.outputsIdentical === false || (r.keysRestored && r.keysRestored.ours !== r.keysRestored.peer),
  );
  for (const r of notes)
    md += `\n${r.name}: ${r.outputsIdentical === false ? 'the two versions wrote different output files' : `keys restored differ (ours ${r.keysRestored.ours}, peer ${r.keysRestored.peer})`}.\n`;
}

const scaleResult = results.find((r) => r.case === 'memory-scale' && !r.error);
if (scaleResult) {
  md += `\n## Peak memory against file size\n\nOur peak RSS on ${scaleResult.smallScale} keys (small) and ${scaleResult.largeScale} keys (large), the max of ${scaleResult.runsPerSide} alternating run${scaleResult.runsPerSide === 1 ? '' : 's'} per side. Peak growth = large / small: 1 means flat; near the file ratio means memory grows with the file.\n\n`;
  md +=
    '| command | input | small file MB | large file MB | file ratio | small peak MB | large peak MB | peak growth | time growth |\n|---|---|---|---|---|---|---|---|---|\n';
  for (const c of scaleResult.commands) {
    md += c.error
      ? `| ${c.command} | ${c.input} | ${fmt(c.smallFileMb, 1)} | ${fmt(c.largeFileMb, 1)} | ${fmt(c.fileRatio)} | failed: ${cell(c.error).slice(0, 120)} | | | |\n`
      : `| ${c.command} | ${c.input} | ${fmt(c.smallFileMb, 1)} | ${fmt(c.largeFileMb, 1)} | ${fmt(c.fileRatio)} | ${fmt(c.smallPeakRssMb, 0)} | ${fmt(c.largePeakRssMb, 0)} | **${fmt(c.peakGrowth)}** | ${fmt(c.timeGrowth)} |\n`;
  }
}

const extra = results.filter((r) => !r.error && r.timeRatio === undefined && r.case !== 'memory-scale');
for (const r of extra) md += `\n## ${r.name}\n\n\`\`\`json\n${JSON.stringify(r, null, 2)}\n\`\`\`\n`;
writeFileSync(join(values.out, 'latest.md'), md);
writeFileSync(
  join(values.out, 'latest.json'),
  `${JSON.stringify({ machine, results, baseline }, null, 2)}\n`,
);
process.stdout.write(md);
