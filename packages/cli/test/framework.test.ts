import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../src/definitions.js';
import { BUILD_TIMEOUT_MS, buildCli, parseJson, runCli } from './helpers.js';

beforeAll(() => buildCli(), BUILD_TIMEOUT_MS + 5000);

describe.concurrent('valkey-tools (built binary): help, usage errors, exit codes', () => {
  it('prints help and exits 0 when run alone', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^valkey-tools \d+\.\d+\.\d+/);
    for (const c of commands) expect(r.stdout).toContain(c.name);
    expect(r.stderr).toBe('');
  });

  it('prints its version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('has --help with usage, options and an example for every command', async () => {
    const results = await Promise.all(commands.map((c) => runCli([...c.name.split(' '), '--help'])));
    for (const [i, c] of commands.entries()) {
      const r = results[i]!;
      expect(r.code, c.name).toBe(0);
      expect(r.stdout).toContain(`Usage: valkey-tools ${c.usage}`);
      expect(r.stdout.split('Examples:')[1], c.name).toContain(`valkey-tools ${c.name}`);
      for (const f of c.flags) expect(r.stdout).toContain(`--${f.name}`);
    }
  });

  it('help works as a command and for groups', async () => {
    const [topic, group, groupFlag] = await Promise.all([
      runCli(['help', 'cluster', 'create']),
      runCli(['help', 'kvcache']),
      runCli(['config', '--help']),
    ]);
    expect(topic.stdout).toContain('Usage: valkey-tools cluster create');
    expect(group.stdout).toMatch(/kvcache keys[\s\S]*kvcache score[\s\S]*kvcache serve/);
    expect(groupFlag.code).toBe(0);
    expect(groupFlag.stdout).toMatch(/config init[\s\S]*config check[\s\S]*config diff/);
  });

  it('--help wins over missing arguments', async () => {
    const r = await runCli(['backup', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--url URL');
  });

  it('unknown commands exit 2 with a suggestion and a pointer to --help', async () => {
    const r = await runCli(['bakup', '--url', 'x']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('unknown command "bakup" (did you mean "backup"?)');
    expect(r.stderr).toContain('valkey-tools --help');
  });

  it('unknown subcommands and missing subcommands exit 2', async () => {
    const [unknown, missing] = await Promise.all([runCli(['cluster', 'creat']), runCli(['cluster'])]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('did you mean "cluster create"?');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('"cluster" needs a subcommand: create, stop');
  });

  it('unknown flags exit 2 with a suggestion', async () => {
    const r = await runCli(['convert', 'a.rdb', 'b.jsonl', '--matc', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown option "--matc" for "convert" (did you mean "--match"?)');
    expect(r.stderr).toContain('valkey-tools convert --help');
  });

  it('missing required flags and arguments exit 2 naming them', async () => {
    const [flag, arg, value] = await Promise.all([
      runCli(['backup', '-o', 'x.rdb']),
      runCli(['verify']),
      runCli(['restore', 'x.rdb', '--url']),
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('missing --url URL');
    expect(arg.code).toBe(2);
    expect(arg.stderr).toContain('missing FILE');
    expect(value.code).toBe(2);
    expect(value.stderr).toContain('--url needs a value');
  });

  it('bad flag values exit 2 saying what is allowed', async () => {
    const [integer, range, choice, extra, boolValue] = await Promise.all([
      runCli(['inspect', 'x.rdb', '--top', 'ten']),
      runCli(['cluster', 'create', '--primaries', '0']),
      runCli(['backup', '--url', 'redis://h', '-o', 'x', '--mode', 'scann']),
      runCli(['verify', 'a.rdb', 'b.rdb']),
      runCli(['list', '--json=yes']),
    ]);
    expect(integer.code).toBe(2);
    expect(integer.stderr).toContain('--top must be an integer, got "ten"');
    expect(range.code).toBe(2);
    expect(range.stderr).toContain('--primaries must be 1..100, got 0');
    expect(choice.code).toBe(2);
    expect(choice.stderr).toContain(
      '--mode must be one of replication, scan, got "scann" (did you mean "scan"?)',
    );
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('unexpected argument "b.rdb"');
    expect(boolValue.code).toBe(2);
    expect(boolValue.stderr).toContain('--json does not take a value');
  });

  it('with --json, a usage error is also JSON on stdout', async () => {
    const r = await runCli(['inspect', 'x.rdb', '--top', 'ten', '--json']);
    expect(r.code).toBe(2);
    const body = parseJson<{ error: { code: string; message: string } }>(r);
    expect(body.error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(body.error.message).toContain('--top must be an integer');
  });

  it('shows the stack only with --verbose', async () => {
    const [quiet, verbose] = await Promise.all([
      runCli(['verify', 'does-not-exist.rdb']),
      runCli(['verify', 'does-not-exist.rdb', '--verbose']),
    ]);
    expect(quiet.code).toBe(1);
    expect(quiet.stderr.trim().split('\n')).toEqual([
      'valkey-tools: error: cannot read does-not-exist.rdb: no such file',
    ]);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/^\s+at .+/m);
  });

  it('colours help only when asked (FORCE_COLOR) and never with NO_COLOR', async () => {
    const [plain, forced, noColor] = await Promise.all([
      runCli(['--help']),
      runCli(['--help'], { env: { FORCE_COLOR: '1' } }),
      runCli(['--help', '--no-color'], { env: { NO_COLOR: '1' } }),
    ]);
    expect(plain.stdout).not.toContain('\x1b[');
    expect(forced.stdout).toContain('\x1b[');
    expect(noColor.stdout).not.toContain('\x1b[');
  });
});
