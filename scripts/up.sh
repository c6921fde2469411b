#!/usr/bin/env bash
# Brings Strata up on this machine on its embedded defaults and runs its main job.
# As root on Debian 12: installs what is missing, builds, starts libvirtd/virtlogd, tgtd on an
# XFS reflink pool and a single-node Ceph, the management server (PGlite in var/server) and a
# host agent, then runs the VM-snapshot demo through the REST API. Server, agent and demo VM keep
# running afterwards; run it again to repeat the demo on the same installation (with a new VM; the
# earlier run's VM is stopped, kept with its snapshots).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec node packages/demo/dist/main.js
