#!/usr/bin/env node
// The `valkey-tools` command. It runs the built CLI in ../dist; this file is committed so that npm links
// the command even in a fresh clone, where `npm install` runs before the build.
import('../dist/bin.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('bin.js')) {
    console.error(
      'valkey-tools: the CLI is not built yet: run `npm run build` (or `npm run quickstart`) first',
    );
    process.exit(1);
  }
  throw err;
});
