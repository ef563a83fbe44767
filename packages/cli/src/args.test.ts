import { PRESET_NAMES } from '@valkey-tools/config';
import { describe, expect, it } from 'vitest';
import { parseInvocation } from './args.js';
import { commands, findCommand } from './definitions.js';
import { exitCodeFor } from './errors.js';
import { renderCommandHelp } from './help.js';

function parse(argv: string[]) {
  const inv = parseInvocation(argv);
  if (inv.kind !== 'command') throw new Error(`expected a command, got ${inv.kind}`);
  return inv.parsed;
}

function usageCode(argv: string[]): { exit: number; message: string } {
  try {
    parseInvocation(argv);
  } catch (err) {
    return { exit: exitCodeFor(err), message: (err as Error).message };
  }
  throw new Error('expected a usage error');
}

describe('parseInvocation', () => {
  it('applies defaults, converts integers and keeps repeatable flags in order', () => {
    const p = parse(['cluster', 'create', '--replicas', '0', '--name', 'c1']);
    expect(p.definition.name).toBe('cluster create');
    expect(p.flags).toMatchObject({ name: 'c1', primaries: 3, replicas: 0, json: false });
    const s = parse(['start', '--set', 'maxmemory=1mb', '--set', 'appendonly=yes', '--port=7000']);
    expect(s.flags).toMatchObject({ set: ['maxmemory=1mb', 'appendonly=yes'], port: 7000 });
  });
  it('accepts - as a positional and short flags', () => {
    const p = parse(['convert', '-', 'out.jsonl', '--from', 'rdb']);
    expect(p.args).toEqual(['-', 'out.jsonl']);
    expect(parse(['backup', '--url', 'redis://h', '-o', '-']).flags).toMatchObject({ output: '-' });
  });
  it('passes words after -- through to connect only', () => {
    const p = parse(['connect', 'dev', '--', 'GET', 'k']);
    expect(p.args).toEqual(['dev']);
    expect(p.passthrough).toEqual(['GET', 'k']);
    expect(parse(['verify', '--', '-weird.rdb']).args).toEqual(['-weird.rdb']);
  });
  it('accepts global flags before the command', () => {
    const inv = parseInvocation(['--verbose', 'list']);
    expect(inv.kind === 'command' && inv.verbose).toBe(true);
  });
  it('maps every command line mistake to exit code 2', () => {
    for (const argv of [
      ['nope'],
      ['--frobnicate'],
      ['kvcache'],
      ['kvcache', 'kees'],
      ['kvcache', 'keys'],
      ['kvcache', 'keys', '--model', 'm', '--algo', 'md5'],
      ['kvcache', 'keys', '--model', 'm', '--block-size', '0'],
      ['url'],
      ['url', 'a', 'b'],
      ['help', 'nope'],
    ]) {
      expect(usageCode(argv).exit, argv.join(' ')).toBe(2);
    }
    expect(usageCode(['kvcache', 'keys', '--model', 'm', '--block-size', '0']).message).toContain(
      '--block-size must be at least 1',
    );
  });
});

describe('definitions', () => {
  it('are unique, complete and render help', () => {
    const names = commands.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of commands) {
      expect(c.usage.startsWith(c.name), c.name).toBe(true);
      expect(c.examples.length, c.name).toBeGreaterThan(0);
      const flagNames = c.flags.map((f) => f.name);
      expect(new Set(flagNames).size, c.name).toBe(flagNames.length);
      expect(renderCommandHelp(findCommand(c.name)!)).toContain(c.summary);
    }
  });
  it('keep the contract of issue 7', () => {
    const contract: Record<string, string[]> = {
      install: ['mirror', 'offline', 'json'],
      start: ['name', 'port', 'version', 'config', 'set', 'json'],
      'mirror add': ['binaries', 'version', 'platform', 'out'],
      'cluster create': ['name', 'primaries', 'replicas', 'port', 'set', 'json'],
      'config init': ['preset', 'set', 'output'],
      backup: ['url', 'output', 'format', 'mode', 'db', 'match', 'type'],
      restore: ['url', 'replace', 'flush', 'db', 'match'],
      convert: ['from', 'to', 'db', 'match', 'type'],
      'kvcache keys': ['model', 'tokens', 'block-size', 'seed', 'algo', 'lora', 'json'],
      'kvcache score': ['url', 'model', 'tokens', 'json'],
      'kvcache serve': ['backend', 'zmq', 'port'],
    };
    for (const [name, flags] of Object.entries(contract)) {
      const def = findCommand(name)!;
      expect(def, name).toBeDefined();
      for (const flag of flags)
        expect(
          def.flags.map((f) => f.name),
          name,
        ).toContain(flag);
    }
    expect(findCommand('backup')!.flags.find((f) => f.name === 'output')!.short).toBe('o');
  });
  it('offer exactly the presets the config package has', () => {
    expect(findCommand('config init')!.flags.find((f) => f.name === 'preset')!.choices).toEqual(PRESET_NAMES);
  });
});
