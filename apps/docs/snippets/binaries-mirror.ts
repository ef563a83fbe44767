import { createMirror } from '@valkey-tools/binaries';

// Package binaries you already have into the mirror layout: an archive, its sha256 and the
// releases.json entry (merged into an existing one). Serve ./mirror over HTTP, or use the directory.
const mirror = await createMirror({
  binariesDir: '/usr/bin',
  version: '8.0.1',
  platform: 'linux-x64',
  outDir: './mirror',
});
console.log(`${mirror.url} sha256=${mirror.sha256} (${mirror.size} bytes) → ${mirror.manifestPath}`);
