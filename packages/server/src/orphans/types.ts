/** What the collector can find that nothing in the database references. */
export type OrphanKind =
  /**
   * A `<volume>.*.qcow2` layer in a qcow2 pool, a transient overlay / memory file in the state dir,
   * or a memory state in the snapshot store.
   */
  | 'file'
  /** A snapshot on a storage backend (tgt reflink, rbd) that no volume snapshot row names. */
  | 'backend-snapshot'
  /** A volume on a storage backend with no volume row. */
  | 'backend-volume'
  /** A host's access grant (iSCSI ACL) on a volume that host does not run. */
  | 'access-grant'
  /** A VM snapshot left Creating, Reverting or Expunging with no live job to finish it. */
  | 'vm-snapshot-state'
  /** A VM-snapshot part only the driver lists (rbd group snapshot) whose VM snapshot should not have it. */
  | 'backend-vm-snapshot-part';

export type Orphan = {
  readonly kind: OrphanKind;
  /** The file path, backend snapshot id, volume id, VM snapshot id or VM-snapshot part ref. */
  readonly ref: string;
  readonly poolId: string | null;
  readonly volumeId: string | null;
  readonly hostId: string | null;
  readonly vmSnapshotId: string | null;
  /** Why it counts as an orphan. */
  readonly reason: string;
};

export type OrphanReport = {
  readonly orphans: readonly Orphan[];
  /** What could not be looked at (a pool that did not answer...): the report is partial there. */
  readonly warnings: readonly string[];
  readonly scannedAt: string;
};

export type CollectResult = {
  readonly removed: readonly Orphan[];
  readonly failed: ReadonlyArray<{ readonly orphan: Orphan; readonly error: string }>;
  readonly warnings: readonly string[];
};

export function orphan(
  kind: OrphanKind,
  ref: string,
  reason: string,
  where: Partial<Pick<Orphan, 'poolId' | 'volumeId' | 'hostId' | 'vmSnapshotId'>> = {},
): Orphan {
  return {
    kind,
    ref,
    poolId: where.poolId ?? null,
    volumeId: where.volumeId ?? null,
    hostId: where.hostId ?? null,
    vmSnapshotId: where.vmSnapshotId ?? null,
    reason,
  };
}
