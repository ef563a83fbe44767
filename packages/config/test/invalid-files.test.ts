import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertValidConfig,
  ConfigError,
  type ConfigIssueCode,
  formatIssue,
  parseConfig,
  parseConfigFile,
  validateConfig,
} from '../src/index.js';
import { makeDir, removeDir, serverAccepts } from './helpers.js';

const dir = makeDir();
afterAll(() => removeDir(dir));

interface Case {
  kind: ConfigIssueCode;
  text: string;
  line: number;
  directive: string;
  message: RegExp;
  hint: RegExp;
  /** The real server refuses the file too (duplicates are our rule: the server keeps the last). */
  serverRejects: boolean;
}

const CASES: Case[] = [
  {
    kind: 'unknown-directive',
    text: 'port 7000\nmaxmemmory 1gb\n',
    line: 2,
    directive: 'maxmemmory',
    message: /unknown directive/,
    hint: /Did you mean maxmemory\b/,
    serverRejects: true,
  },
  {
    kind: 'wrong-type',
    text: '# memory\nmaxmemory lots\n',
    line: 2,
    directive: 'maxmemory',
    message: /not a memory size/,
    hint: /1kb \(1024\)/,
    serverRejects: true,
  },
  {
    kind: 'wrong-type',
    text: 'appendonly maybe\n',
    line: 1,
    directive: 'appendonly',
    message: /not yes or no/,
    hint: /yes or no/,
    serverRejects: true,
  },
  {
    kind: 'out-of-range',
    text: '\n\nport 70000\n',
    line: 3,
    directive: 'port',
    message: /out of range/,
    hint: /0\.\.65535/,
    serverRejects: true,
  },
  {
    kind: 'bad-enum',
    text: 'maxmemory-policy lru\n',
    line: 1,
    directive: 'maxmemory-policy',
    message: /not one of/,
    hint: /allkeys-lru/,
    serverRejects: true,
  },
  {
    kind: 'wrong-arity',
    text: 'masterauth two words\n',
    line: 1,
    directive: 'masterauth',
    message: /one argument/,
    hint: /masterauth/,
    serverRejects: true,
  },
  {
    kind: 'syntax',
    text: 'port 6379\nrequirepass "unclosed\n',
    line: 2,
    directive: 'requirepass',
    message: /unbalanced/,
    hint: /Close the quote/,
    serverRejects: true,
  },
  {
    kind: 'conflict',
    text: 'cluster-enabled yes\nreplicaof 127.0.0.1 6379\n',
    line: 2,
    directive: 'replicaof',
    message: /cluster-enabled yes/,
    hint: /CLUSTER REPLICATE/,
    serverRejects: true,
  },
  {
    kind: 'conflict',
    text: 'shutdown-on-sigterm save nosave\n',
    line: 1,
    directive: 'shutdown-on-sigterm',
    message: /save and nosave/,
    hint: /one of/,
    serverRejects: true,
  },
  {
    kind: 'duplicate',
    text: 'maxmemory 1gb\nmaxmemory 2gb\n',
    line: 2,
    directive: 'maxmemory',
    message: /already set at .*:1/,
    hint: /Keep one/,
    serverRejects: false,
  },
  {
    kind: 'duplicate',
    text: 'slaveof 10.0.0.1 6379\nreplicaof 10.0.0.2 6379\n',
    line: 2,
    directive: 'replicaof',
    message: /as slaveof/,
    hint: /Keep one/,
    serverRejects: false,
  },
];

describe('invalid files give file:line errors for each kind', () => {
  for (const c of CASES) {
    it(`${c.kind}: ${JSON.stringify(c.text.trim())}`, async () => {
      const file = join(dir, `${c.kind}-${CASES.indexOf(c)}.conf`);
      writeFileSync(file, c.text);
      const issues = validateConfig(parseConfigFile(file));
      const issue = issues.find((i) => i.code === c.kind);
      expect(issue, JSON.stringify(issues)).toBeDefined();
      expect(issue).toMatchObject({ file, line: c.line, directive: c.directive });
      expect(issue!.message).toMatch(c.message);
      expect(issue!.hint).toMatch(c.hint);
      expect(formatIssue(issue!)).toMatch(
        new RegExp(
          `^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${c.line}(:\\d+)?: (error|warning): ${c.directive}: `,
        ),
      );
      const server = await serverAccepts(c.text, dir, `server-${CASES.indexOf(c)}.conf`);
      expect(server.ok).toBe(!c.serverRejects);
    });
  }

  it('include cycles are reported at the include line, with the chain', () => {
    const a = join(dir, 'a.conf');
    const sub = join(dir, 'sub');
    mkdirSync(sub, { recursive: true });
    writeFileSync(a, 'port 7000\ninclude sub/b.conf\n');
    writeFileSync(join(sub, 'b.conf'), `maxmemory 1mb\ninclude ${a}\n`);
    const parsed = parseConfigFile(a);
    expect(parsed.directives.map((d) => d.name)).toEqual(['port', 'include', 'maxmemory', 'include']);
    const cycle = validateConfig(parsed).find((i) => i.code === 'include-cycle');
    expect(cycle).toMatchObject({ file: join(sub, 'b.conf'), line: 2, severity: 'error' });
    expect(cycle!.message).toContain(`${a} -> ${join(sub, 'b.conf')} -> ${a}`);
  });

  it('a missing include is an error; a glob that matches nothing is not', () => {
    const file = join(dir, 'missing.conf');
    writeFileSync(file, `include ${join(dir, 'nope.conf')}\ninclude ${join(dir, 'none-*.conf')}\n`);
    const issues = validateConfig(parseConfigFile(file));
    expect(issues.map((i) => [i.code, i.line])).toEqual([['include-missing', 1]]);
  });

  it('include globs expand in sorted order and later files override earlier ones (a warning)', () => {
    const confd = join(dir, 'conf.d');
    mkdirSync(confd, { recursive: true });
    writeFileSync(join(confd, '10-a.conf'), 'maxmemory 1mb\n');
    writeFileSync(join(confd, '20-b.conf'), 'maxmemory 2mb\n');
    const file = join(dir, 'glob.conf');
    writeFileSync(file, 'include conf.d/*.conf\n');
    const parsed = parseConfigFile(file);
    expect(parsed.directives.map((d) => [d.file.replace(dir, ''), d.line, d.args])).toEqual([
      ['/glob.conf', 1, ['conf.d/*.conf']],
      ['/conf.d/10-a.conf', 1, ['1mb']],
      ['/conf.d/20-b.conf', 1, ['2mb']],
    ]);
    expect(validateConfig(parsed)).toMatchObject([{ code: 'duplicate', severity: 'warning', line: 1 }]);
  });

  it('object configs are checked too, and assertValidConfig throws a ConfigError listing them', () => {
    const config = { 'maxmemory-policy': 'lru', maxmemmory: '1gb' } as Record<string, unknown>;
    const issues = validateConfig(config);
    expect(issues.map((i) => i.code).sort()).toEqual(['bad-enum', 'unknown-directive']);
    expect(() => assertValidConfig(config)).toThrow(ConfigError);
    let err: unknown;
    try {
      assertValidConfig(parseConfig('port 1\nport x\n', { file: 'my.conf' }));
    } catch (e) {
      err = e;
    }
    // Outside the catch: a call that stops throwing fails here.
    expect(ConfigError.hasCode(err, 'ERR_CONFIG_INVALID')).toBe(true);
    expect((err as ConfigError).details).toMatchObject({ file: 'my.conf', line: 2, directive: 'port' });
  });

  it('warns about settings that start but do not do what they say', () => {
    const issues = validateConfig(parseConfig('maxmemory-policy allkeys-lru\nlist-max-ziplist-entries 5\n'));
    expect(issues.map((i) => [i.severity, i.code, i.line])).toEqual([
      ['warning', 'deprecated', 2],
      ['warning', 'conflict', 1],
    ]);
  });

  it('with checkFiles, missing directories and files are errors the server agrees with', async () => {
    const cases = [
      { text: 'dir ./no-such-dir\n', directive: 'dir', server: true },
      // the probe sets logfile itself, so here only our side is checked
      { text: 'logfile no-such-dir/valkey.log\n', directive: 'logfile', server: false },
      {
        text: 'tls-port 7444\ntls-cert-file missing.crt\ntls-key-file missing.key\n',
        directive: 'tls-cert-file',
        server: true,
      },
      { text: 'aclfile users.acl\n', directive: 'aclfile', server: true },
    ];
    for (const [i, c] of cases.entries()) {
      const issues = validateConfig(parseConfig(c.text, { file: 'f.conf' }), { checkFiles: { cwd: dir } });
      expect(issues.find((x) => x.code === 'missing-file')).toMatchObject({
        directive: c.directive,
        severity: 'error',
      });
      if (c.server) expect((await serverAccepts(c.text, dir, `files-${i}.conf`)).ok).toBe(false);
    }
    writeFileSync(join(dir, 'users.acl'), 'user default on nopass ~* +@all\n');
    expect(validateConfig(parseConfig('aclfile users.acl\n'), { checkFiles: { cwd: dir } })).toEqual([]);
    expect((await serverAccepts('aclfile users.acl\n', dir, 'files-ok.conf')).ok).toBe(true);
  });
});
