import { rename } from 'node:fs/promises';
import {
  StrataError,
  notFound,
  validateStorageId,
  type CreateSnapshotResult,
  type DeleteResult,
  type GroupSnapshotRequest,
  type GroupSnapshotResult,
  type RevertSnapshotResult,
  type SnapshotInfo,
  type SnapshotRequest,
  type SnapshotUsage,
  type StorageContext,
  type VolumeIdRequest,
} from '@strata/core';
import { truncate } from 'node:fs/promises';
import type { TgtDriver } from './driver.js';
import { isPartId } from './vm-snapshots.js';
import type { SnapshotMeta, VolumeMeta } from './store.js';

/** Volume snapshots as reflink copies of the backing file: O(extents), not O(size). */
export class VolumeSnapshots {
  constructor(private readonly d: TgtDriver) {}

  snapshotInfo(s: SnapshotMeta): SnapshotInfo {
    return {
      snapshotId: s.snapshotId,
      volumeId: s.volumeId,
      sizeBytes: s.sizeBytes,
      backendRef: this.d.store.snapshotRaw(s.snapshotId),
      createdAt: s.createdAt,
    };
  }

  /** Takes one reflink snapshot; used by createSnapshot, groupSnapshot and the VM hooks (inside the lock). */
  async snapshotLocked(
    ctx: StorageContext,
    volumeId: string,
    snapshotId: string,
    vmSnapshotId: string | null,
  ): Promise<{ snap: SnapshotMeta; created: boolean }> {
    const meta = await this.d.meta(volumeId);
    const existing = await this.d.store.getSnapshot(snapshotId);
    if (existing) {
      if (existing.volumeId !== volumeId)
        throw new StrataError('STORAGE_ID_CONFLICT', {
          kind: 'snapshot',
          id: snapshotId,
          reason: `belongs to volume ${existing.volumeId}`,
        });
      return { snap: existing, created: false };
    }
    const raw = this.d.store.snapshotRaw(snapshotId);
    await this.d.reflink(ctx, this.d.store.volumeRaw(volumeId), `${raw}.tmp`);
    await rename(`${raw}.tmp`, raw);
    const snap: SnapshotMeta = {
      snapshotId,
      volumeId,
      sizeBytes: meta.sizeBytes,
      vmSnapshotId,
      createdAt: new Date().toISOString(),
    };
    await this.d.store.putSnapshot(snap);
    return { snap, created: true };
  }

  createSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<CreateSnapshotResult> {
    validateStorageId('snapshotId', req.snapshotId);
    return this.d.mutate(ctx, async () => {
      const t0 = performance.now();
      const { snap, created } = await this.snapshotLocked(ctx, req.volumeId, req.snapshotId, null);
      return { snapshot: this.snapshotInfo(snap), created, elapsedMs: performance.now() - t0 };
    });
  }

  deleteSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<DeleteResult> {
    validateStorageId('snapshotId', req.snapshotId);
    return this.d.mutate(ctx, async () => {
      const snap = await this.d.store.getSnapshot(req.snapshotId);
      await this.d.store.removeSnapshot(req.snapshotId);
      return { deleted: snap !== null };
    });
  }

  /** Reflinks a snapshot's content back over the volume's file, keeping the volume's size. */
  async revertLocked(ctx: StorageContext, meta: VolumeMeta, snap: SnapshotMeta): Promise<void> {
    const raw = this.d.store.volumeRaw(meta.volumeId);
    // cp rewrites the same inode, so tgtd's open file sees the new content.
    await this.d.reflink(ctx, this.d.store.snapshotRaw(snap.snapshotId), raw);
    if (snap.sizeBytes < meta.sizeBytes) await truncate(raw, meta.sizeBytes);
  }

  revertSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<RevertSnapshotResult> {
    validateStorageId('snapshotId', req.snapshotId);
    return this.d.mutate(ctx, async () => {
      const t0 = performance.now();
      const meta = await this.d.meta(req.volumeId);
      const snap = await this.d.store.getSnapshot(req.snapshotId);
      if (!snap || snap.volumeId !== meta.volumeId) throw notFound('snapshot', req.snapshotId);
      await this.revertLocked(ctx, meta, snap);
      return { volume: await this.d.info(meta), elapsedMs: performance.now() - t0 };
    });
  }

  async listSnapshots(ctx: StorageContext, req: VolumeIdRequest): Promise<readonly SnapshotInfo[]> {
    await this.d.ready(ctx);
    await this.d.meta(req.volumeId);
    return (await this.d.store.listSnapshots())
      .filter((s) => s.volumeId === req.volumeId)
      .map((s) => this.snapshotInfo(s));
  }

  /**
   * The reflink copy's allocated bytes. Extents it still shares with the volume count too: XFS
   * tells shared from exclusive only per extent (fiemap), so this is the copy's whole footprint.
   */
  async snapshotUsage(ctx: StorageContext, req: SnapshotRequest): Promise<SnapshotUsage> {
    // a VM snapshot's part is sized like any snapshot: its id is two ids in one
    if (!isPartId(req.snapshotId)) validateStorageId('snapshotId', req.snapshotId);
    await this.d.ready(ctx);
    await this.d.meta(req.volumeId);
    const snap = await this.d.store.getSnapshot(req.snapshotId);
    if (!snap || snap.volumeId !== req.volumeId) throw notFound('snapshot', req.snapshotId);
    return {
      snapshotId: snap.snapshotId,
      usedBytes: await this.d.store.allocated(this.d.store.snapshotRaw(snap.snapshotId)),
      note: 'bytes allocated to its reflink copy, extents shared with the volume included',
    };
  }

  groupSnapshot(ctx: StorageContext, req: GroupSnapshotRequest): Promise<GroupSnapshotResult> {
    validateStorageId('groupId', req.groupId);
    if (req.members.length === 0)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'members',
        reason: 'must name at least one volume',
      });
    for (const m of req.members) validateStorageId('snapshotId', m.snapshotId);
    return this.d.mutate(ctx, async () => {
      const t0 = performance.now();
      for (const m of req.members) await this.d.meta(m.volumeId);
      const cuts: number[] = [];
      const snaps: SnapshotInfo[] = [];
      for (const m of req.members) {
        const { snap } = await this.snapshotLocked(ctx, m.volumeId, m.snapshotId, null);
        cuts.push(performance.now());
        snaps.push(this.snapshotInfo(snap));
      }
      const spread = cuts.length > 1 ? (cuts[cuts.length - 1] ?? 0) - (cuts[0] ?? 0) : 0;
      return {
        groupId: req.groupId,
        snapshots: snaps,
        atomic: false,
        cutSpreadMs: spread,
        elapsedMs: performance.now() - t0,
      };
    });
  }
}
