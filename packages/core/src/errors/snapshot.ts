import { defineErrors } from './spec.js';

/** Errors of VM snapshots: selection, checks before work, and the tree. */
export const snapshotErrors = defineErrors('snapshot', {
  NO_SNAPSHOT_STRATEGY: {
    status: 422,
    retryable: false,
    message: 'No VM-snapshot strategy can {operation} for VM {vm}: {reasons}',
    recovery:
      'Read the reasons (or call explain); change the request or the VM, or register a strategy that fits.',
  },
  SNAPSHOT_STRATEGY_MISSING: {
    status: 409,
    retryable: false,
    message: 'VM snapshot {snapshot} was taken by strategy {strategy}, which is not registered here',
    recovery: 'Register that strategy again; only the strategy that took a snapshot may revert or delete it.',
  },
  VM_STATE_INVALID: {
    status: 409,
    retryable: false,
    message: 'VM {vm} is {state}; {operation} needs it {expected}',
    recovery: 'Start or stop the VM, then retry.',
  },
  MEMORY_SNAPSHOT_NEEDS_RUNNING_VM: {
    status: 409,
    retryable: false,
    message: 'A memory snapshot needs a running VM; VM {vm} is {state}',
    recovery: 'Start the VM, or ask for a disk-only snapshot.',
  },
  VM_SNAPSHOT_NAME_TAKEN: {
    status: 409,
    retryable: false,
    message: 'VM {vm} already has a snapshot named {name}',
    recovery: 'Choose another name, or delete the existing snapshot.',
  },
  VM_SNAPSHOT_LIMIT: {
    status: 409,
    retryable: false,
    message: 'VM {vm} has {count} snapshots; the maximum is {max}',
    recovery: 'Delete older snapshots first.',
  },
  HOLD_EXPIRED: {
    status: 503,
    retryable: true,
    message:
      'The guest hold for VM {vm} ended at its {deadlineMs} ms deadline before every disk was cut ({holdMs} ms): the cut is not consistent and was undone',
    recovery:
      'Retry when the host is less busy, or with a longer STRATA_HOLD_DEADLINE_MS (5000 ms at most); for a VM snapshot, quiesce=hypervisor lets libvirt hold the guest inside its one snapshot operation.',
  },
  MEMORY_STATE_UNREACHABLE: {
    status: 409,
    retryable: false,
    message: 'The memory state of VM snapshot {snapshot} is not reachable from host {host}: {reason}',
    recovery:
      'Revert on a host that sees it: mount the snapshot store there (STRATA_AGENT_SNAPSHOT_STORE), or migrate the VM back to the host whose state directory holds an older memory state.',
  },
  REVERT_NEEDS_STOP: {
    status: 409,
    retryable: false,
    message:
      'Reverting VM {vm} at the storage level needs it stopped; pass restart=true to let Strata stop and start it',
    recovery: 'Stop the VM, or ask for the stop and restart explicitly.',
  },
  CHAIN_DEPTH_NOT_REDUCED: {
    status: 502,
    retryable: false,
    message:
      'Disk {target} of VM {vm} is still {depth} layers deep after streaming onto {base}; the bound is {maxDepth}',
    recovery:
      'Nothing the guest reads changed (a stream only copies data); check the chain with qemu-img info -U --backing-chain and retry the snapshot.',
  },
  SNAPSHOT_ON_FORMER_POOL: {
    status: 409,
    retryable: false,
    message:
      'Snapshot {snapshot} holds the data of volume {volume} on pool {pool}, which the volume has moved off: it can be listed and deleted, not {operation}',
    recovery:
      'Take a new snapshot of the volume where it is now. Delete this one when it is no longer needed: the copy of the volume its pool keeps goes with the last snapshot that needs it.',
  },
});
