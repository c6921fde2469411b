#!/usr/bin/env bash
# Runs every test: type-check and lint, then unit and integration tests against real
# libvirtd/QEMU, tgtd, Ceph, PGlite and PostgreSQL (the harness starts each daemon itself).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
npx eslint . --max-warnings=0
npx prettier --check . >/dev/null || { echo "strata: formatting differs; run npm run format"; exit 1; }
node scripts/run-tests.mjs
