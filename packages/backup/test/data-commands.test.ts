import { serverGroup } from '@valkey-tools/test-utils';
import { Redis } from 'iovalkey';
import { afterAll, expect, it } from 'vitest';
import { commandKeys, DATA_COMMANDS, dataCommand } from '../src/restore/data-commands.js';

/**
 * The data-command table (what restore replays and `migrate --follow` applies, filters and routes
 * by key) against the server's own key specs: for every command of the table the server knows,
 * the keys we take from a call are the ones `COMMAND GETKEYS` names.
 */
const servers = serverGroup();
afterAll(() => servers.stop());

/** Sample arguments for a call of `name` with its arity: distinct tokens (two more when variadic). */
function sampleCall(name: string, arity: number): string[] {
  if (name === 'XGROUP') return ['XGROUP', 'CREATE', 't2', 't3', '$'];
  const n = arity > 0 ? arity : -arity + 2;
  const args = [name];
  for (let i = 1; i < n; i++) args.push(`t${i}`);
  // Key-value pairs: an even count after the name.
  if (name === 'MSET' && args.length % 2 === 0) args.push(`t${args.length}`);
  return args;
}

it('every data command names its keys where the server’s key specs say', async () => {
  const server = await servers.start();
  const c = new Redis(server.url);
  try {
    const unknown: string[] = [];
    let checked = 0;
    for (const [name, spec] of Object.entries(DATA_COMMANDS)) {
      const info = (await c.call('COMMAND', 'INFO', name)) as unknown[];
      if (!Array.isArray(info[0])) {
        unknown.push(name);
        continue;
      }
      if (spec.keys === 'cross') continue;
      const args = sampleCall(name, Number((info[0] as unknown[])[1]));
      const theirs = ((await c.call('COMMAND', 'GETKEYS', ...args.slice(0))) as Buffer[]).map(String);
      const ours = commandKeys(
        dataCommand(
          name,
          args.map((a) => Buffer.from(a)),
        )!,
        args.map((a) => Buffer.from(a)),
      ).map(String);
      expect(ours, `${args.join(' ')}`).toEqual(theirs);
      checked++;
    }
    // Valkey 8 has no hash-field expiry commands (Valkey 9 writes them): nothing else is unknown.
    expect(unknown.sort()).toEqual(['HPERSIST', 'HPEXPIREAT']);
    expect(checked).toBeGreaterThan(60);
  } finally {
    c.disconnect();
  }
});
