import type { Qos } from '../domain/qos.js';

export interface VolumeInfo {
  readonly volumeId: string;
  /** Size the host sees. */
  readonly sizeBytes: number;
  /** What the pool accounts for this volume: size plus the hypervisor snapshot reserve. */
  readonly provisionedBytes: number;
  /** Bytes the backend really holds (thin volumes: less than sizeBytes). */
  readonly allocatedBytes: number;
  readonly qos: Qos | null;
  readonly hypervisorSnapshotReserve: number;
  /** The driver's own reference (path, target IQN + LUN, pool/image). */
  readonly backendRef: string;
}

/** `created` is false when the call found the volume already made by an earlier identical call. */
export interface CreateVolumeResult {
  readonly volume: VolumeInfo;
  readonly created: boolean;
}

/** `deleted` is false when there was nothing to delete (an earlier call did it, or it never existed). */
export interface DeleteResult {
  readonly deleted: boolean;
}

export interface ResizeVolumeResult {
  readonly volume: VolumeInfo;
  /** False when the volume already had the asked size. */
  readonly resized: boolean;
}

export interface AccessResult {
  /** False when the state already was the asked one (idempotent replay). */
  readonly changed: boolean;
  /** True when the driver keeps per-host access; false when every host sees the pool anyway. */
  readonly enforced: boolean;
}

export interface FenceHostResult {
  /**
   * True when the backend keeps per-host access and the host is now cut off it; false when every
   * host sees the pool anyway (a shared directory): nothing was, or could be, revoked.
   */
  readonly enforced: boolean;
  /** Volumes whose grant to the host this call removed (empty on a replay). */
  readonly volumes: readonly string[];
  /** Live connections of the host the backend closed (tgt: iSCSI connections). */
  readonly sessionsClosed: number;
  /** Client instances of the host the backend now refuses (Ceph: blocklisted addresses). */
  readonly clientsBlocklisted: readonly string[];
}

export interface SnapshotInfo {
  readonly snapshotId: string;
  readonly volumeId: string;
  readonly sizeBytes: number;
  readonly backendRef: string;
  readonly createdAt: string;
}

/**
 * What a snapshot takes on its backend, as the backend can tell (spec section 5, `snapshotUsage`).
 * `usedBytes` is null when it cannot; `note` always says what the figure is, or why there is none.
 */
export interface SnapshotUsage {
  readonly snapshotId: string;
  readonly usedBytes: number | null;
  readonly note: string;
}

export interface CreateSnapshotResult {
  readonly snapshot: SnapshotInfo;
  readonly created: boolean;
  readonly elapsedMs: number;
}

export interface RevertSnapshotResult {
  readonly volume: VolumeInfo;
  readonly elapsedMs: number;
}

export interface GroupSnapshotResult {
  readonly groupId: string;
  readonly snapshots: readonly SnapshotInfo[];
  /** True when all members share one point in time by the backend's own means. */
  readonly atomic: boolean;
  /** Time from the first member's cut to the last's. */
  readonly cutSpreadMs: number;
  readonly elapsedMs: number;
}

export interface CapacityResult {
  readonly totalBytes: number;
  /** Bytes the backend really holds. */
  readonly usedBytes: number;
  /** Sum of volumes' provisioned bytes (size plus reserve); may exceed totalBytes when thin. */
  readonly provisionedBytes: number;
  /** The pool's IOPS capacity (CloudStack's capacityiops); 0 when unlimited. */
  readonly totalIops: number;
  /** Sum of volumes' minimum IOPS. */
  readonly usedIops: number;
  readonly volumeCount: number;
}

export interface SetQosResult {
  readonly volume: VolumeInfo;
  /** Where each figure is enforced: by the backend or, by the caller, in QEMU. */
  readonly enforcedBy: 'backend' | 'frontend' | 'split';
  /** The figures the caller must set as `<iotune>` (null when the backend holds them all). */
  readonly frontendQos: Qos | null;
}
