#!/usr/bin/env node
process.stdout.write('valkey-tools: commands are being built\n');
