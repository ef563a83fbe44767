import { realpathSync } from 'node:fs';
import fc from 'fast-check';
import { freePort, startWithConfigFile } from '@valkey-tools/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { expectedLiveValues, inputToDirectives, serializeConfig, validateConfig } from '../src/index.js';
import { configArb } from './arbitraries.js';
import { makeDir, pool, removeDir } from './helpers.js';

const RUNS = Number(process.env.CONFIG_RANDOM_RUNS ?? 200);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

describe('random valid configs on a real valkey-server', () => {
  it(`${RUNS} seeded configs start, and CONFIG GET returns every value written`, {
    timeout: 180_000,
  }, async () => {
    const configs = fc.sample(configArb(), { seed: 20260522, numRuns: RUNS });
    const failures: string[] = [];
    let checked = 0;
    await pool(configs, 4, async (generated, i) => {
      const dir = realpathSync(makeDir(`vt-config-rnd${i}-`));
      dirs.push(dir);
      const port = await freePort();
      const config = { port, bind: '127.0.0.1', dir, daemonize: false, logfile: '', ...generated };
      const errors = validateConfig(config).filter((issue) => issue.severity === 'error');
      if (errors.length > 0)
        failures.push(`#${i} validator rejects a valid config: ${JSON.stringify(errors)}`);
      let server: Awaited<ReturnType<typeof startWithConfigFile>> | undefined;
      try {
        // The port is reserved for this process (test-utils freePort): no other test takes it.
        server = await startWithConfigFile(serializeConfig(config), { dir, port });
        const live = await server.configGet('*');
        for (const [name, { value }] of expectedLiveValues(inputToDirectives(config))) {
          checked++;
          if (live.get(name) !== value)
            failures.push(
              `#${i} ${name}: wrote ${JSON.stringify(value)}, CONFIG GET says ${JSON.stringify(live.get(name))}`,
            );
        }
      } catch (err) {
        failures.push(`#${i} did not start: ${(err as Error).message.slice(0, 600)}`);
      } finally {
        await server?.stop();
      }
    });
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(RUNS * 20);
  });
});
