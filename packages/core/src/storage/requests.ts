import type { Qos } from '../domain/qos.js';

/** The host a grant names. Drivers use what their access control needs. */
export interface HostRef {
  readonly id: string;
  /** iSCSI initiator name (IQN); required by drivers with per-host iSCSI ACLs. */
  readonly iscsiInitiator?: string | null;
  readonly address?: string;
}

export interface TemplateRef {
  readonly id: string;
  /** Path readable where the driver runs. */
  readonly path: string;
  readonly format: 'qcow2' | 'raw';
}

export interface CreateVolumeRequest {
  /** Caller-chosen id; the idempotency key. */
  readonly volumeId: string;
  readonly sizeBytes: number;
  readonly qos?: Qos | null;
  /** Percent of extra space reserved for hypervisor snapshots (CloudStack's hypervisorsnapshotreserve). */
  readonly hypervisorSnapshotReserve?: number;
}

export interface CreateVolumeFromSnapshotRequest extends CreateVolumeRequest {
  readonly snapshotId: string;
}

export interface CreateVolumeFromTemplateRequest extends CreateVolumeRequest {
  readonly template: TemplateRef;
}

export interface VolumeIdRequest {
  readonly volumeId: string;
}

export interface ResizeVolumeRequest {
  readonly volumeId: string;
  readonly sizeBytes: number;
}

export interface AccessRequest {
  readonly volumeId: string;
  readonly host: HostRef;
}

/** Cut one host off every volume of the pool it holds a grant on (the host is lost). */
export interface FenceHostRequest {
  readonly host: HostRef;
}

export interface SnapshotRequest {
  readonly volumeId: string;
  /** Caller-chosen id; the idempotency key. Unique within the driver, not only the volume. */
  readonly snapshotId: string;
}

export interface GroupSnapshotRequest {
  /** Caller-chosen id of the group; the idempotency key of the whole call. */
  readonly groupId: string;
  readonly members: readonly SnapshotRequest[];
}

export interface SetQosRequest {
  readonly volumeId: string;
  readonly qos: Qos | null;
}
