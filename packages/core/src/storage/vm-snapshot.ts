import type { Consistency, VmSnapshotType } from '../domain/entities.js';

/**
 * Seed 000's option 2: a driver's part of one VM snapshot. The caller (a VM-snapshot strategy)
 * has already arranged the cut — a guest freeze, paused vCPUs, or one atomic overlay over all
 * disks — and says which consistency that gives. The driver never commands the hypervisor.
 */
export interface VmSnapshotRef {
  readonly id: string;
  readonly vmId: string;
  readonly name: string;
  readonly type: VmSnapshotType;
}

export interface VmSnapshotHookRequest {
  readonly vmSnapshot: VmSnapshotRef;
  /** This driver's volumes of that ONE VM. */
  readonly volumeIds: readonly string[];
  /** What the caller's cut gives if the driver adds nothing: held I/O gives filesystem/application. */
  readonly callerConsistency: Consistency;
}

export interface VmSnapshotVolumeRef {
  readonly volumeId: string;
  /** The backend snapshot holding this volume's part (the driver's own reference). */
  readonly snapshotRef: string;
}

export interface VmSnapshotTimings {
  readonly startedAt: string;
  /** From the first volume's cut to the last's. */
  readonly cutSpreadMs: number;
  readonly totalMs: number;
}

export interface TakeVmSnapshotResult {
  readonly volumes: readonly VmSnapshotVolumeRef[];
  /** The consistency really reached: never more than callerConsistency. */
  readonly consistency: Consistency;
  /**
   * True when the VM must stay held (frozen, paused or on overlays) until a later call: the
   * backend has not finished fixing its point in time. False: the caller may release the VM now.
   */
  readonly holdVm: boolean;
  readonly timings: VmSnapshotTimings;
}

export interface RevertVmSnapshotResult {
  readonly volumes: readonly VmSnapshotVolumeRef[];
  readonly timings: VmSnapshotTimings;
}

export interface DeleteVmSnapshotResult {
  /** Volumes whose part was removed now; a replay after success answers an empty list. */
  readonly deleted: readonly string[];
  readonly timings: VmSnapshotTimings;
}

/**
 * One VM-snapshot part a backend holds that `listSnapshots` does not show (rbd: a group snapshot),
 * as the optional `listVmSnapshotParts` answers it, so the orphan collector can judge it.
 */
export interface VmSnapshotPart {
  /** The driver's reference: the `snapshotRef` that `takeVmSnapshot` answered for it. */
  readonly ref: string;
  /**
   * The VM snapshot and VM it was taken for; null when the driver cannot tell (a part made before
   * the driver recorded them). `deleteVmSnapshot` needs both to remove it.
   */
  readonly vmSnapshotId: string | null;
  readonly vmId: string | null;
  /** This driver's volumes the part holds, as `deleteVmSnapshot` wants them named. */
  readonly volumeIds: readonly string[];
}
