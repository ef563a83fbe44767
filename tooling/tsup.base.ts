import type { Options } from 'tsup';

/** The one build configuration every package uses: ESM, .d.ts, sourcemaps, Node 20. */
export const baseConfig: Options = {
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: false,
  treeshake: true,
};

export function packageConfig(overrides: Options = {}): Options {
  return { ...baseConfig, ...overrides };
}
