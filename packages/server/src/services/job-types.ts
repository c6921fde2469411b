/**
 * The durable job types the API submits, with the input each carries. The job definitions live
 * with the orchestration (they register under these names); the API only queues them.
 */
export const JOB_TYPES = {
  volumeCreate: 'volume.create', // { volumeId }
  volumeDelete: 'volume.delete', // { volumeId }
  volumeAttach: 'volume.attach', // { volumeId, vmId }
  volumeDetach: 'volume.detach', // { volumeId }
  volumeResize: 'volume.resize', // { volumeId, sizeBytes }
  volumeSetQos: 'volume.set-qos', // { volumeId }
  volumeMigrate: 'volume.migrate', // { volumeId, poolId }
  volumeSnapshotCreate: 'volume-snapshot.create', // { snapshotId, quiesce }
  volumeSnapshotDelete: 'volume-snapshot.delete', // { snapshotId }
  volumeSnapshotRevert: 'volume-snapshot.revert', // { snapshotId }
  volumeSnapshotGroup: 'volume-snapshot.group', // { snapshotIds, vmId }
  vmStart: 'vm.start', // { vmId }
  vmStop: 'vm.stop', // { vmId, forced }
  vmMigrate: 'vm.migrate', // { vmId, hostId? }
  vmRevokeSource: 'vm.revoke-source', // { vmId, hostId }: queued by a migration's record step
  vmDestroy: 'vm.destroy', // { vmId, expunge }
  vmExpunge: 'vm.expunge', // { vmId }
  hostMaintenance: 'host.maintenance', // { hostId }
  hostFence: 'host.fence', // { hostId }
  vmSnapshotCreate: 'vm-snapshot.create', // { vmSnapshotId, quiesce, memory }
  vmSnapshotRevert: 'vm-snapshot.revert', // { vmSnapshotId }
  vmSnapshotDelete: 'vm-snapshot.delete', // { vmSnapshotId }
  vmDeploy: 'vm.deploy', // { vmId, volumeId, start }: the ROOT volume's create, then the start
  orphansCollect: 'orphans.collect', // {}: removes what the collector finds
} as const;

export type JobType = (typeof JOB_TYPES)[keyof typeof JOB_TYPES];

/** Work on one VM (and on the volumes attached to it) runs one job at a time under this key. */
export const vmLock = (vmId: string): string => `vm:${vmId}`;
export const volumeLock = (volumeId: string): string => `volume:${volumeId}`;
export const hostLock = (hostId: string): string => `host:${hostId}`;
