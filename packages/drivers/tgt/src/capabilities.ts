import type { DriverCapabilities } from '@strata/core';

export const tgtCapabilities: DriverCapabilities = {
  volumeSnapshot: true,
  // Reflinks are taken one file after another: the caller holds I/O for a consistent cut.
  groupSnapshot: { supported: true, atomic: false },
  revert: true,
  clone: { supported: true, constantTime: true },
  // tgtd has no QoS: every figure is enforced in QEMU by the caller; admission is ours.
  backendQos: { min: false, max: false, burst: false },
  iopsAdmission: true,
  thinProvisioning: true,
  // tgtd reads a LUN's size when it is added: a grow re-adds the LUN, so no host may be logged in.
  resize: { supported: true, online: false },
  vmSnapshotHook: 'storage',
  access: { perHost: true, chap: true },
  adaptors: ['iscsi'],
};
