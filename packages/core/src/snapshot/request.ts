import type { VmSnapshotType } from '../domain/entities.js';
import type { VmState } from '../state/machines.js';

/** How the guest is held still for the cut (DESIGN.md section 4). */
export const QUIESCE_MODES = ['guest', 'hypervisor', 'pause', 'none', 'auto'] as const;
export type QuiesceMode = (typeof QUIESCE_MODES)[number];

/** What a strategy knows of one disk of the VM when it decides. */
export interface DiskFacts {
  readonly volumeId: string;
  readonly device: string;
  /** Driver implementation: qcow2, tgt, rbd, ... */
  readonly driverType: string;
  /** Driver instance (the storage pool's driver name). */
  readonly driverName: string;
  /** The driver offers the fine-grained VM-snapshot hooks (takeVmSnapshot ...). */
  readonly vmSnapshotHook: boolean;
  /** The disk is a file the hypervisor can overlay and merge (qcow2); network disks are not. */
  readonly hypervisorManaged: boolean;
}

export interface VmSnapshotRequest {
  readonly operation: 'take' | 'revert' | 'delete';
  readonly vm: { readonly id: string; readonly state: VmState; readonly guestAgent: boolean };
  readonly disks: readonly DiskFacts[];
  readonly type: VmSnapshotType;
  readonly quiesce: QuiesceMode;
  /** For revert and delete: the snapshot and the strategy that took it. */
  readonly snapshotId?: string;
  readonly takenBy?: string;
}
