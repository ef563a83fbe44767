import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDataset, serverGroup, serverState, waitFor } from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, BUILD_TIMEOUT_MS, runCli, startCli } from './helpers.js';

const servers = serverGroup();
const fresh = () => servers.start({ config: { 'repl-diskless-sync-delay': 0 } });

beforeAll(async () => {
  await buildCli();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await servers.stop();
});

/** Writes `rounds` rounds of mixed commands into `url` (a few thousand commands per second). */
async function writes(url: string, rounds: number): Promise<void> {
  const c = new Redis(url);
  try {
    for (let i = 0; i < rounds; i++) {
      const p = c.pipeline();
      p.set(`w:s:${i}`, `v${i}`, 'EX', 3600);
      p.hset(`w:h:${i % 20}`, `f${i}`, i);
      p.rpush('w:l', `e${i}`);
      p.zincrby('w:z', 1, `m${i % 30}`);
      p.xadd('w:stream', '*', 'i', String(i));
      p.call('MULTI');
      p.incr('w:tx');
      p.sadd('w:set', `m${i}`);
      p.call('EXEC');
      await p.exec();
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    c.disconnect();
  }
}

describe('valkey-tools migrate', () => {
  it('copies a live server (point-in-time) into another: digest-equal', async () => {
    const [source, target] = await Promise.all([fresh(), fresh()]);
    await buildDataset(source.url);
    const r = await runCli(['migrate', '--from', source.url, '--to', target.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/copied \d+ keys and 1 function libraries/);
    expect(await serverState(target.url)).toEqual(await serverState(source.url));
  });

  it('--follow --until-synced --json: JSON status lines while a write load runs, then in sync and digest-equal', async () => {
    const [source, target] = await Promise.all([fresh(), fresh()]);
    await buildDataset(source.url, { dbs: [0, 4] });
    const cli = startCli([
      'migrate',
      '--from',
      source.url,
      '--to',
      target.url,
      '--follow',
      '--until-synced',
      '--synced-for',
      '2000',
      '--json',
    ]);
    await waitFor(
      'the first status line while following',
      () => cli.stdout().includes('"phase":"following"'),
      {
        detail: () => cli.stderr(),
      },
    );
    // The target takes no writes until the load is over: the CLI cannot be in sync before (it
    // waits for the target to answer everything), however the load stalls on a busy machine.
    await target.command('CLIENT', 'PAUSE', '600000', 'WRITE');
    const load = writes(source.url, 400).finally(() => target.command('CLIENT', 'UNPAUSE'));
    await load;
    expect(await cli.exited, cli.stderr()).toBe(0);
    const stdout = cli.stdout();
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.slice(0, -1).every((l) => l.event === 'follow')).toBe(true);
    const result = lines.at(-1) as {
      event: string;
      follow: { stoppedBy: string; offset: number; applied: number };
    };
    expect(result.event).toBe('result');
    expect(result.follow.stoppedBy).toBe('synced');
    // Writes went on after the snapshot: some came down the stream.
    expect(result.follow.applied, stdout).toBeGreaterThan(0);
    const info = await source.command('INFO', 'replication');
    expect(Number(/master_repl_offset:(\d+)/.exec(info)?.[1])).toBe(result.follow.offset);
    const view = { ignoreConsumerTimes: true };
    expect(await serverState(target.url, view)).toEqual(await serverState(source.url, view));
  });

  it('--follow stops on Ctrl-C with exit 130 and says the offset it reached', async () => {
    const [source, target] = await Promise.all([fresh(), fresh()]);
    await source.command('SET', 'a', '1');
    const cli = startCli(['migrate', '--from', source.url, '--to', target.url, '--follow']);
    // Following once the source lists it as a replica and the snapshot's key is on the target.
    await waitFor('the follower to link', async () =>
      /connected_slaves:1/.test(await source.command('INFO', 'replication')),
    );
    await waitFor('the snapshot on the target', async () => (await target.command('GET', 'a')).includes('1'));
    await source.command('SET', 'b', '2');
    await waitFor('the write to be applied', async () => (await target.command('GET', 'b')).includes('2'));
    cli.child.kill('SIGINT');
    expect(await cli.exited, cli.stderr()).toBe(130);
    const offset = Number(/offset (\d+)/.exec(cli.stdout())?.[1]);
    expect(offset, cli.stdout()).toBeGreaterThan(0);
    expect(cli.stdout()).toMatch(/^stopped: /m);
  });

  it('kill -9 mid-snapshot leaves its private snapshot dir; the next run removes it', async () => {
    const [source, target] = await Promise.all([fresh(), fresh()]);
    await source.command('DEBUG', 'POPULATE', '300000', 'k', '64');
    const temp = mkdtempSync(join(tmpdir(), 'vt-migrate-temp-'));
    try {
      const cli = startCli([
        'migrate',
        '--from',
        source.url,
        '--to',
        target.url,
        '--follow',
        '--temp-dir',
        temp,
      ]);
      await waitFor('the snapshot file', () =>
        readdirSync(temp).some((d) => readdirSync(join(temp, d)).length > 0),
      );
      cli.child.kill('SIGKILL');
      await cli.exited;
      const left = readdirSync(temp);
      expect(left).toHaveLength(1);
      expect(statSync(join(temp, left[0]!)).mode & 0o777).toBe(0o700);
      const again = await runCli([
        'migrate',
        '--from',
        source.url,
        '--to',
        target.url,
        '--replace',
        '--temp-dir',
        temp,
      ]);
      expect(again.code, again.stderr).toBe(0);
      expect(readdirSync(temp)).toEqual([]);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });

  it('--until-synced without --follow is a usage error', async () => {
    const r = await runCli(['migrate', '--from', ':6379', '--to', ':6380', '--until-synced']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--until-synced needs --follow/);
  });
});
