import type { DriverCapabilities } from './capabilities.js';
import type { ConnectionInfo } from './connection.js';
import type { StorageContext } from './context.js';
import type {
  AccessRequest,
  CreateVolumeFromSnapshotRequest,
  CreateVolumeFromTemplateRequest,
  CreateVolumeRequest,
  FenceHostRequest,
  GroupSnapshotRequest,
  ResizeVolumeRequest,
  SetQosRequest,
  SnapshotRequest,
  VolumeIdRequest,
} from './requests.js';
import type {
  AccessResult,
  CapacityResult,
  CreateSnapshotResult,
  CreateVolumeResult,
  DeleteResult,
  FenceHostResult,
  GroupSnapshotResult,
  ResizeVolumeResult,
  RevertSnapshotResult,
  SetQosResult,
  SnapshotInfo,
  SnapshotUsage,
  VolumeInfo,
} from './results.js';
import type {
  DeleteVmSnapshotResult,
  RevertVmSnapshotResult,
  TakeVmSnapshotResult,
  VmSnapshotHookRequest,
  VmSnapshotPart,
} from './vm-snapshot.js';

/**
 * A storage driver: one instance serves one pool. The contract is docs/spec/storage-driver.md;
 * this interface is its code form. Every method takes the context first and answers a result
 * object. Every mutating method is idempotent on the caller's ids. Every failure is a
 * StrataError whose code the spec lists.
 */
export interface StorageDriver {
  /** The implementation: 'qcow2', 'tgt', 'rbd'. */
  readonly type: string;
  /** This instance (usually the pool's name); unique in a registry. */
  readonly name: string;
  readonly capabilities: DriverCapabilities;

  createVolume(ctx: StorageContext, req: CreateVolumeRequest): Promise<CreateVolumeResult>;
  deleteVolume(ctx: StorageContext, req: VolumeIdRequest): Promise<DeleteResult>;
  resizeVolume(ctx: StorageContext, req: ResizeVolumeRequest): Promise<ResizeVolumeResult>;
  getVolume(ctx: StorageContext, req: VolumeIdRequest): Promise<VolumeInfo>;
  listVolumes(ctx: StorageContext): Promise<readonly VolumeInfo[]>;

  grantAccess(ctx: StorageContext, req: AccessRequest): Promise<AccessResult>;
  revokeAccess(ctx: StorageContext, req: AccessRequest): Promise<AccessResult>;
  connectionInfo(ctx: StorageContext, req: AccessRequest): Promise<ConnectionInfo>;
  /**
   * Fencing (spec section 2.11): revokes every grant the host holds in this pool and cuts what it
   * still has open (tgt: its ACLs and iSCSI connections; Ceph: its cephx caps, and its client
   * instances blocklisted), so a QEMU still running on a lost host can no longer write.
   * Idempotent on the host; a driver without per-host access answers `enforced: false`.
   */
  fenceHost(ctx: StorageContext, req: FenceHostRequest): Promise<FenceHostResult>;

  createSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<CreateSnapshotResult>;
  deleteSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<DeleteResult>;
  revertSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<RevertSnapshotResult>;
  listSnapshots(ctx: StorageContext, req: VolumeIdRequest): Promise<readonly SnapshotInfo[]>;
  /** What one snapshot takes on the backend, or null with the reason (spec section 5). */
  snapshotUsage(ctx: StorageContext, req: SnapshotRequest): Promise<SnapshotUsage>;
  createVolumeFromSnapshot(
    ctx: StorageContext,
    req: CreateVolumeFromSnapshotRequest,
  ): Promise<CreateVolumeResult>;
  createVolumeFromTemplate(
    ctx: StorageContext,
    req: CreateVolumeFromTemplateRequest,
  ): Promise<CreateVolumeResult>;
  groupSnapshot(ctx: StorageContext, req: GroupSnapshotRequest): Promise<GroupSnapshotResult>;

  capacity(ctx: StorageContext): Promise<CapacityResult>;
  setQos(ctx: StorageContext, req: SetQosRequest): Promise<SetQosResult>;

  takeVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<TakeVmSnapshotResult>;
  revertVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<RevertVmSnapshotResult>;
  deleteVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<DeleteVmSnapshotResult>;
  /**
   * Optional: every VM-snapshot part this pool holds that `listSnapshots` does not show (rbd group
   * snapshots). A driver whose parts are ordinary snapshots (tgt) or files (qcow2) leaves it out.
   */
  listVmSnapshotParts?(ctx: StorageContext): Promise<readonly VmSnapshotPart[]>;

  /** Releases what the instance holds in memory (connections, timers); never touches volumes. */
  close?(): Promise<void>;
}

/** Builds a driver from its pool's settings; registered per type. */
export type DriverFactory<C = Readonly<Record<string, unknown>>> = (name: string, config: C) => StorageDriver;
