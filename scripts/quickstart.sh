#!/usr/bin/env bash
# Quick start: sets everything up on a fresh machine and runs the main job once.
#   1. makes sure valkey-server (and redis-server, chromium for browser tests) are installed
#   2. installs the npm dependencies and builds every package
#   3. starts a throwaway valkey-server, writes sample data, backs it up, restores it into a
#      second server, checks both hold the same data, and stops them
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npx turbo run build --output-logs=errors-only
node scripts/quickstart.mjs
