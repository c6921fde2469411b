import type { DriverCapabilities } from '@strata/core';

export const qcow2Capabilities: DriverCapabilities = {
  // Internal qcow2 snapshots, taken with qemu-img on a volume no running guest holds open.
  volumeSnapshot: true,
  groupSnapshot: { supported: true, atomic: false },
  revert: true,
  // A volume from a snapshot or template is a full copy (qemu-img convert): independent, O(size).
  clone: { supported: true, constantTime: false },
  // Files have no QoS: the caller enforces every figure in QEMU.
  backendQos: { min: false, max: false, burst: false },
  iopsAdmission: true,
  thinProvisioning: true,
  // qemu-img cannot resize an image a guest holds; online growth is the hypervisor's block_resize.
  resize: { supported: true, online: false },
  // A running VM's disks are snapshotted by the hypervisor through the agent (external overlays).
  vmSnapshotHook: 'hypervisor',
  // Every host of the pool mounts the directory: no per-host access to grant.
  access: { perHost: false, chap: false },
  adaptors: ['file'],
};
