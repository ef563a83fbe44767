import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The package's folders from the bottom up: a module may import its own folder or a lower layer,
// never a higher one or a sibling of its layer (the README's code map draws the same picture).
const LAYERS: string[][] = [
  ['errors', 'model'],
  ['rdb'],
  ['resp', 'jsonl'],
  ['aof', 'cluster'],
  ['io'],
  ['live'],
  ['convert', 'restore', 'memory'],
  ['migrate'],
  ['index', 'codec'],
];

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function layerOf(unit: string): number {
  const i = LAYERS.findIndex((l) => l.includes(unit));
  if (i < 0) throw new Error(`src/${unit} is in no layer of test/layers.test.ts: place it`);
  return i;
}

/** `rdb/reader.ts` → `rdb`; `errors.ts` → `errors`. */
function unitOf(path: string): string {
  const parts = path.split('/');
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.(ts|js)$/, '');
}

function sources(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('the package graph', () => {
  it('every import inside src/ points down a layer (or stays in its folder)', () => {
    const upward: string[] = [];
    for (const file of sources()) {
      const from = relative(src, file);
      const unit = unitOf(from);
      for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const to = relative(src, normalize(join(dirname(file), m[1]!)));
        const target = unitOf(to);
        if (target === unit) continue;
        if (layerOf(target) >= layerOf(unit)) upward.push(`${from} imports ${to}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('knows every folder (a new one must be placed)', () => {
    const units = new Set(sources().map((f) => unitOf(relative(src, f))));
    for (const u of units) expect(() => layerOf(u)).not.toThrow();
  });
});
