#!/usr/bin/env bash
# Quick start: sets everything up on a fresh machine and runs the main job once.
#   1. makes sure valkey-server (and redis-server, chromium for browser tests, unzip) are installed
#   2. installs the npm dependencies exactly as locked and builds every package
#   3. starts a throwaway valkey-server, writes sample data, backs it up, restores it into a
#      second server, checks both hold the same data, and stops them
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
bash scripts/setup-system.sh
# `npm ci`: installs what package-lock.json says and never rewrites it, so the checkout stays clean.
# The lock lists every platform's optional packages (biome, rollup, turbo, esbuild...); after a change
# to a package.json, refresh it with `npm install` and commit it.
npm ci --no-audit --no-fund
npx turbo run build --output-logs=errors-only
node scripts/quickstart.mjs
echo "The CLI from this clone: npx valkey-tools --help"
