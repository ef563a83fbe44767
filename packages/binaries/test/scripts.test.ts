import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageDir } from './helpers.js';

// The repo's scripts run on shared machines: they must never end processes by name (a
// `pkill -x valkey-server` ends every such server on the machine, not only the packaged service).
const scripts = join(packageDir, '..', '..', 'scripts');

describe('scripts/', () => {
  it('never end processes by name', () => {
    const offenders = readdirSync(scripts).filter((f) =>
      /\b(pkill|killall)\b/.test(readFileSync(join(scripts, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('setup-system.sh keeps the packaged services from starting, and removes its policy-rc.d', () => {
    const setup = readFileSync(join(scripts, 'setup-system.sh'), 'utf8');
    expect(setup).toMatch(/policy-rc\.d/);
    expect(setup).toMatch(/exit 101/);
    expect(setup).toMatch(/rm -f "\$policy"/);
  });
});
