#!/usr/bin/env bash
# Brings Strata up on this machine on its embedded defaults and runs its main job.
# As root on Debian 12: installs what is missing, builds, starts libvirtd/virtlogd, tgtd on an
# XFS reflink pool and a single-node Ceph, the management server (PGlite in var/server), a host
# agent (the storage node) and two KVM hosts on this machine (var/hosts: each its own libvirtd and
# agent in its own namespaces), then runs the VM-snapshot demo through the REST API, live-migrating
# its VM between the two hosts. Everything keeps running afterwards; run it again to repeat the
# demo on the same installation (with a new VM; the earlier run's VM is stopped, kept with its
# snapshots). Then puts `strata` on the PATH with a profile `local` for this server
# (scripts/install-cli.sh), whether or not the demo passed, once the server is up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
rc=0
node packages/demo/dist/main.js || rc=$?
bash scripts/install-cli.sh || echo "strata: the CLI could not be installed on the PATH" >&2
exit "$rc"
