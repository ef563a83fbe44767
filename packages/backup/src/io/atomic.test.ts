import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { abortable, writeFileAtomically } from './atomic.js';

const dir = mkdtempSync(join(tmpdir(), 'vt-abortable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A source that ends quietly once `stop` fires (what a reader does when its socket is closed). */
async function* quietSource(stop: AbortController): AsyncGenerator<Buffer> {
  yield Buffer.from('REDIS0011');
  stop.abort();
  await new Promise((r) => setImmediate(r));
}

describe('abortable output', () => {
  it('an interrupted run is never renamed into place, even when its source ends quietly', async () => {
    const stop = new AbortController();
    const out = join(dir, 'out.rdb');
    const err = await writeFileAtomically(
      out,
      abortable(quietSource(stop), stop.signal, () => new Error('stopped')),
    ).catch((e: unknown) => e);
    expect(String(err)).toMatch(/stopped/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('passes every chunk through when nothing stops it', async () => {
    const out = join(dir, 'whole.rdb');
    const chunks = async function* () {
      yield Buffer.from('a');
      yield Buffer.from('b');
    };
    const n = await writeFileAtomically(
      out,
      abortable(chunks(), new AbortController().signal, () => new Error('x')),
    );
    expect(n).toBe(2);
    expect(readdirSync(dir)).toEqual(['whole.rdb']);
  });
});
