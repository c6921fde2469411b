#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine lacks for Strata (as root), then builds it.
# Idempotent: packages already present are skipped by apt; npm ci only when the lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  # hypervisor: libvirt + QEMU (TCG), with QEMU's iSCSI and RBD block drivers
  qemu-system-x86 qemu-utils qemu-block-extra libvirt-daemon-system libvirt-clients
  # managed iSCSI: userspace target and its client tools; XFS for reflink pools
  tgt libiscsi-bin xfsprogs
  # Ceph RBD, single node for tests and the demo
  ceph-mon ceph-mgr ceph-osd ceph-common
  # PostgreSQL for multi-server deployments and tests
  postgresql
  # the test guest: kernel, busybox, guest agent
  linux-image-cloud-amd64 busybox-static qemu-guest-agent
  # CloudStack's own API client, and Ansible with its CloudStack collection, for compatibility tests
  cs python3-cs ansible
  # the web console's browser tests: Debian's Chromium, driven by playwright-core (no browser download)
  chromium
  # misc tools used by scripts and tests
  procps iproute2 kmod ca-certificates
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "strata: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # no systemd here: keep package scripts from trying to start services
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "strata: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
# host-local state of VM snapshots (transient overlays, memory files), readable by QEMU
mkdir -p /var/lib/strata/state && chmod 0755 /var/lib/strata /var/lib/strata/state
echo "strata: building"
npm run build --silent
