import { defineConfig } from 'tsup';
import { packageConfig } from '../../tooling/tsup.base.ts';

// Two entries (the main surface and the `./codec` subpath) share their code through chunks; the
// workers are their own files next to index.js: the CRC one (verifyRdb, the split conversion)
// and the one converting a big file's second half (rdbFileToChunks).
export default defineConfig(
  packageConfig({
    entry: {
      index: 'src/index.ts',
      codec: 'src/codec.ts',
      'crc64-worker': 'src/rdb/crc64-worker.ts',
      'split-worker': 'src/convert/split-worker.ts',
    },
    dts: { entry: { index: 'src/index.ts', codec: 'src/codec.ts' } },
    splitting: true,
  }),
);
