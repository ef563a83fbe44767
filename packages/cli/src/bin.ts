#!/usr/bin/env node
import { main } from './main.js';

// `valkey-tools ... | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
