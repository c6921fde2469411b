import { defineMachine, type EventOf, type StateOf } from './machine.js';

/**
 * A virtual machine as the server sees it; Running/Stopped are confirmed by the agent. Destroyed
 * is recoverable until its retention ends; Expunging removes what the VM owns (it stays there
 * until every part is gone, asked again after a failure); Expunged is the end.
 */
export const vmMachine = defineMachine('vm', {
  Stopped: { Start: 'Starting', Destroy: 'Destroyed', Fail: 'Error' },
  Starting: { Started: 'Running', Fail: 'Stopped' },
  Running: { Stop: 'Stopping', Stopped: 'Stopped', Fail: 'Error', Migrate: 'Migrating' },
  Stopping: { Stopped: 'Stopped', Fail: 'Running' },
  // a live migration in flight: the domain is on the source, the destination, or moving between
  Migrating: { Migrated: 'Running', Fail: 'Running', Lost: 'Error' },
  Error: { Stopped: 'Stopped', Started: 'Running', Destroy: 'Destroyed' },
  Destroyed: { Recover: 'Stopped', Expunge: 'Expunging' },
  Expunging: { Expunge: 'Expunging', Expunged: 'Expunged' },
  Expunged: {},
});

export const volumeMachine = defineMachine('volume', {
  Allocated: { Create: 'Creating', Destroy: 'Destroyed' },
  Creating: { Created: 'Ready', Fail: 'Error' },
  Ready: { Resize: 'Resizing', Revert: 'Reverting', Destroy: 'Destroying', Migrate: 'Migrating' },
  Resizing: { Done: 'Ready', Fail: 'Ready' },
  // Moving to another pool: Ready again on whichever pool holds the disk when the job ends.
  Migrating: { Migrated: 'Ready', Fail: 'Ready' },
  Reverting: { Done: 'Ready', Fail: 'Error' },
  Destroying: { Destroyed: 'Destroyed', Fail: 'Error' },
  Error: { Destroy: 'Destroying', Recover: 'Ready' },
  Destroyed: {},
});

export const volumeSnapshotMachine = defineMachine('volume-snapshot', {
  Creating: { Created: 'Ready', Fail: 'Error' },
  Ready: { Delete: 'Deleting' },
  // a failed delete puts the snapshot back as it was: Fail a Ready one, Broken one that was Error
  Deleting: { Deleted: 'Deleted', Fail: 'Ready', Broken: 'Error' },
  Error: { Delete: 'Deleting' },
  Deleted: {},
});

/** CloudStack's VM-snapshot lifecycle (states and event names kept for API compatibility). */
export const vmSnapshotMachine = defineMachine('vm-snapshot', {
  Allocated: { CreateRequested: 'Creating', OperationFailed: 'Error' },
  Creating: { OperationSucceeded: 'Ready', OperationFailed: 'Error' },
  Ready: { RevertRequested: 'Reverting', ExpungeRequested: 'Expunging', Hide: 'Hidden' },
  Reverting: { OperationSucceeded: 'Ready', OperationFailed: 'Ready' },
  // a failed delete puts the snapshot back as it was: Ready, Hidden (Hide) or Error (Broken)
  Expunging: {
    ExpungeRequested: 'Expunging',
    OperationSucceeded: 'Removed',
    OperationFailed: 'Ready',
    Hide: 'Hidden',
    Broken: 'Error',
  },
  Hidden: { ExpungeRequested: 'Expunging' },
  Error: { ExpungeRequested: 'Expunging' },
  Removed: {},
});

export const jobMachine = defineMachine('job', {
  Queued: { Claim: 'Running', Cancel: 'Failed' },
  // Cancel of a running job is a request: the job compensates at its next step boundary.
  Running: {
    Succeed: 'Succeeded',
    Fail: 'Failed',
    Compensate: 'Compensating',
    LeaseLost: 'Running',
    Cancel: 'Running',
  },
  Compensating: { Compensated: 'Failed', LeaseLost: 'Compensating' },
  Succeeded: {},
  Failed: {},
});

// PreparingMaintenance: its running VMs are being migrated away (the maintenance job); placement
// sends it nothing new. Cancel (ExitMaintenance) brings it back Up from either maintenance state.
// Fencing/Fenced: a lost host is being (or has been) cut from its disks (docs/migration.md,
// "Fencing"). Its agent coming back does not make it Up: the reconciler first destroys the
// domains it still runs, then readmits it (Readmit). A fence that did not finish stays Fencing and
// is asked again.
export const hostMachine = defineMachine('host', {
  Connecting: { Connected: 'Up', Disconnected: 'Disconnected', Remove: 'Removed' },
  Up: { Disconnected: 'Disconnected', PrepareMaintenance: 'PreparingMaintenance', Connected: 'Up' },
  Disconnected: {
    Connected: 'Up',
    PrepareMaintenance: 'PreparingMaintenance',
    Remove: 'Removed',
    Fence: 'Fencing',
  },
  Fencing: { Fence: 'Fencing', Fenced: 'Fenced', Connected: 'Fencing', Disconnected: 'Fencing' },
  Fenced: {
    Fence: 'Fencing',
    Readmit: 'Up',
    Connected: 'Fenced',
    Disconnected: 'Fenced',
    Remove: 'Removed',
  },
  PreparingMaintenance: {
    EnterMaintenance: 'Maintenance',
    ExitMaintenance: 'Up',
    Disconnected: 'PreparingMaintenance',
    Connected: 'PreparingMaintenance',
  },
  Maintenance: {
    ExitMaintenance: 'Up',
    Disconnected: 'Maintenance',
    Connected: 'Maintenance',
    Remove: 'Removed',
  },
  Removed: {},
});

export const storagePoolMachine = defineMachine('storage-pool', {
  Up: { EnterMaintenance: 'Maintenance', Remove: 'Removed' },
  Maintenance: { ExitMaintenance: 'Up', Remove: 'Removed' },
  Removed: {},
});

export type VmState = StateOf<typeof vmMachine>;
export type VmEvent = EventOf<typeof vmMachine>;
export type VolumeState = StateOf<typeof volumeMachine>;
export type VolumeSnapshotState = StateOf<typeof volumeSnapshotMachine>;
export type VmSnapshotState = StateOf<typeof vmSnapshotMachine>;
export type VmSnapshotEvent = EventOf<typeof vmSnapshotMachine>;
export type JobState = StateOf<typeof jobMachine>;
export type HostState = StateOf<typeof hostMachine>;
export type StoragePoolState = StateOf<typeof storagePoolMachine>;

export const allMachines = [
  vmMachine,
  volumeMachine,
  volumeSnapshotMachine,
  vmSnapshotMachine,
  jobMachine,
  hostMachine,
  storagePoolMachine,
] as const;
