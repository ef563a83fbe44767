#!/usr/bin/env bash
# Quick start: sets everything up on a fresh machine and runs the main job once.
#   1. makes sure valkey-server (and redis-server, chromium for browser tests) are installed
#   2. installs the npm dependencies and builds every package
#   3. starts a throwaway valkey-server, writes sample data, backs it up, restores it into a
#      second server, checks both hold the same data, and stops them
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
# `npm install` rather than `npm ci`: the lock is written without registry URLs here, and npm ci
# then refuses optional platform packages it cannot see in it.
npm install --no-audit --no-fund
npx turbo run build --output-logs=errors-only
node scripts/quickstart.mjs
