import { defineConfig } from 'tsup';
import { packageConfig } from '../../tooling/tsup.base.ts';

// Two entries (the main surface and the `./codec` subpath) share their code through chunks; the
// CRC worker is its own file next to index.js: verifyRdb starts it as a worker thread.
export default defineConfig(
  packageConfig({
    entry: { index: 'src/index.ts', codec: 'src/codec.ts', 'crc64-worker': 'src/rdb/crc64-worker.ts' },
    dts: { entry: { index: 'src/index.ts', codec: 'src/codec.ts' } },
    splitting: true,
  }),
);
