import type { DriverCapabilities } from '@strata/core';

export const rbdCapabilities: DriverCapabilities = {
  volumeSnapshot: true,
  // Member snapshots are ordinary snapshots taken together; see snapshots.ts for why not rbd group.
  groupSnapshot: { supported: true, atomic: false },
  revert: true,
  clone: { supported: true, constantTime: true },
  // librbd throttles max and burst; nothing in Ceph guarantees a minimum.
  backendQos: { min: false, max: true, burst: true },
  iopsAdmission: true,
  thinProvisioning: true,
  resize: { supported: true, online: true },
  vmSnapshotHook: 'storage',
  access: { perHost: true, chap: false },
  adaptors: ['rbd'],
};
