import { defineConfig } from 'tsup';
import { packageConfig } from '../../tooling/tsup.base.ts';

// Two entries: the `valkey-tools` bin, and the command definitions the docs site imports to
// generate the CLI reference. Splitting keeps each command in its own chunk, loaded only when run.
export default defineConfig(
  packageConfig({
    entry: ['src/bin.ts', 'src/definitions.ts'],
    splitting: true,
    dts: { entry: ['src/definitions.ts'] },
  }),
);
