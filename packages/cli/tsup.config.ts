import { defineConfig } from 'tsup';
import { packageConfig } from '../../tooling/tsup.base.ts';

export default defineConfig(packageConfig({ entry: ['src/bin.ts'], dts: false }));
