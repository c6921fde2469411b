import type {
  Consistency,
  ResolvedQuiesce,
  StorageDriver,
  VmSnapshotRef,
  VmSnapshotType,
} from '@strata/core';
import type { PlannedDisk } from './facts.js';

/** The journaled plan of one VM snapshot: what the cut will do, decided once. */
export interface StoredPlan {
  readonly strategy: string;
  readonly explanation: ReadonlyArray<{
    strategy: string;
    priority: string;
    reason: string;
    chosen: boolean;
  }>;
  readonly quiesce: ResolvedQuiesce;
  readonly type: VmSnapshotType;
  readonly vmId: string;
  readonly vmName: string;
  readonly vmRunning: boolean;
  readonly hostId: string | null;
  readonly disks: readonly PlannedDisk[];
  readonly memoryPath: string | null;
  /** The snapshot store holding the memory state; null or absent (older plans): the host state directory. */
  readonly memoryStore?: string | null;
  readonly holdDeadlineMs: number;
  /**
   * A stopped VM: what its disks hold at rest, as its last stop left them (vms.stop_consistency;
   * null when it never ran). Absent in plans journaled before it was recorded.
   */
  readonly atRest?: Consistency | null;
}

/** One disk of the VM, as the cut sees it. */
export interface CutDisk {
  readonly volumeId: string;
  readonly target: string;
  readonly driver: StorageDriver;
  /**
   * For disks the hypervisor snapshots (qcow2 files): the new overlay that becomes the disk's
   * active layer; the file under it is this snapshot's point in time.
   */
  readonly overlayPath?: string;
}

/** Everything one VM snapshot's cut needs, decided before any work starts (and journaled). */
export interface CutPlan {
  readonly hostId: string | null;
  readonly vmName: string;
  readonly vmRunning: boolean;
  readonly guestAgent: boolean;
  readonly snapshot: VmSnapshotRef;
  readonly type: VmSnapshotType;
  readonly quiesce: ResolvedQuiesce;
  readonly disks: readonly CutDisk[];
  /** Where the memory state goes (DiskAndMemory): a file store, never a SAN volume. */
  readonly memoryPath?: string;
  /**
   * hypervisor mode: host-local overlay files put over network disks for the cut, committed back
   * afterwards; keyed by target.
   */
  readonly transientOverlays?: Readonly<Record<string, string>>;
  /** The longest the guest may stay frozen or paused; the agent thaws on its own past it. */
  readonly holdDeadlineMs: number;
  /** A stopped VM's disks at rest (StoredPlan.atRest). */
  readonly atRest?: Consistency | null;
}

export interface CutVolumeRef {
  readonly volumeId: string;
  /** The driver's snapshot reference, or for hypervisor-managed files the frozen file's path. */
  readonly snapshotRef: string;
  readonly by: 'storage' | 'hypervisor';
}

export interface CutResult {
  readonly volumes: readonly CutVolumeRef[];
  readonly consistency: Consistency;
  /** How long the guest's I/O was held (freeze, pause or overlay creation), in ms. */
  readonly holdMs: number;
  /** From the first disk's cut to the last's, in ms: 0 when one atomic operation cut them all. */
  readonly cutSpreadMs: number;
  readonly totalMs: number;
}

/** The disks the storage takes (grouped by driver instance) and those the hypervisor takes. */
export function splitDisks(disks: readonly CutDisk[]): {
  readonly groups: ReadonlyArray<{ readonly driver: StorageDriver; readonly disks: readonly CutDisk[] }>;
  readonly hypervisorDisks: readonly CutDisk[];
} {
  const groups = new Map<string, { driver: StorageDriver; disks: CutDisk[] }>();
  const hypervisorDisks: CutDisk[] = [];
  for (const d of disks) {
    if (d.driver.capabilities.vmSnapshotHook === 'hypervisor') {
      hypervisorDisks.push(d);
      continue;
    }
    const g = groups.get(d.driver.name) ?? { driver: d.driver, disks: [] };
    g.disks.push(d);
    groups.set(d.driver.name, g);
  }
  return { groups: [...groups.values()], hypervisorDisks };
}
