#!/usr/bin/env bash
# Runs every test: type-check, lint and format beside unit and integration tests against real
# libvirtd/QEMU, tgtd, Ceph, PGlite and PostgreSQL (the harness starts each daemon itself).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# Lint and the format check need no daemon: they run beside the tests (a minute or two of CI each
# otherwise) and their verdict is printed, and counted, at the end.
checks=$(mktemp)
(
  npx eslint . --max-warnings=0 &&
    { npx prettier --check . >/dev/null || { echo "strata: formatting differs; run npm run format"; exit 1; }; }
) >"$checks" 2>&1 &
lint=$!
rc=0
node scripts/run-tests.mjs || rc=$?
if wait "$lint"; then
  echo "lint and format: clean"
else
  cat "$checks"
  echo "strata: lint or format failed"
  rc=1
fi
rm -f "$checks"
exit "$rc"
