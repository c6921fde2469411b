/**
 * What a driver can do, asked for by callers and never assumed (CSI's rule). Every field is
 * typed: a caller branches on values, not on strings it hopes to find.
 */
export interface DriverCapabilities {
  /** One volume's snapshot, taken by the backend. */
  readonly volumeSnapshot: boolean;
  /**
   * Several of this driver's volumes at once. `atomic`: one cut for all (one point in time);
   * otherwise the snapshots are taken one after another and the caller must hold I/O for a
   * consistent cut.
   */
  readonly groupSnapshot: { readonly supported: boolean; readonly atomic: boolean };
  /** Revert a volume in place to one of its snapshots, keeping newer snapshots. */
  readonly revert: boolean;
  /** New volume from a snapshot or a template; `constantTime` when its cost does not grow with size. */
  readonly clone: { readonly supported: boolean; readonly constantTime: boolean };
  /** Which QoS figures the backend itself enforces. Those it does not, the caller enforces in QEMU. */
  readonly backendQos: { readonly min: boolean; readonly max: boolean; readonly burst: boolean };
  /** Pool admission on the sum of volumes' minimum IOPS against the pool's capacity. */
  readonly iopsAdmission: boolean;
  readonly thinProvisioning: boolean;
  /** Grow a volume; shrinking is always refused. `online`: while a host has access. */
  readonly resize: { readonly supported: boolean; readonly online: boolean };
  /**
   * Who takes this driver's part of a VM snapshot: `storage` (the driver's takeVmSnapshot hooks,
   * seed 000's option 2) or `hypervisor` (the hooks answer STORAGE_UNSUPPORTED; the agent
   * snapshots these disks through libvirt).
   */
  readonly vmSnapshotHook: 'storage' | 'hypervisor';
  /** Per-host access control: `acl` (initiator name or key), `chap`, or none when every host sees the pool. */
  readonly access: { readonly perHost: boolean; readonly chap: boolean };
  /** How hosts reach this driver's volumes. */
  readonly adaptors: readonly AdaptorKind[];
}

export type AdaptorKind = 'file' | 'iscsi' | 'rbd';
