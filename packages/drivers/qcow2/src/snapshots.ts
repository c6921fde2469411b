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
import type { Qcow2Driver } from './driver.js';
import type { Qcow2SnapshotIndex } from './store.js';

/** Volume snapshots as internal qcow2 snapshots, on images no running guest holds open. */
export class Qcow2Snapshots {
  constructor(private readonly d: Qcow2Driver) {}

  snapInfo(s: Qcow2SnapshotIndex): SnapshotInfo {
    return {
      snapshotId: s.snapshotId,
      volumeId: s.volumeId,
      sizeBytes: s.sizeBytes,
      createdAt: s.createdAt,
      backendRef: `${this.d.store.image(s.volumeId)}@${s.snapshotId}`,
    };
  }

  async snapshotLocked(
    ctx: StorageContext,
    volumeId: string,
    snapshotId: string,
  ): Promise<{ s: Qcow2SnapshotIndex; created: boolean }> {
    const m = await this.d.meta(volumeId);
    const existing = await this.d.store.getSnapshot(snapshotId);
    if (existing) {
      if (existing.volumeId !== volumeId)
        throw new StrataError('STORAGE_ID_CONFLICT', {
          kind: 'snapshot',
          id: snapshotId,
          reason: `belongs to volume ${existing.volumeId}`,
        });
      return { s: existing, created: false };
    }
    const path = this.d.store.image(volumeId);
    // A replay after a crash between the two steps finds the internal snapshot already there.
    if (!(await this.d.img.info(ctx, path)).snapshots.includes(snapshotId))
      await this.d.img.snapshot(ctx, '-c', snapshotId, path);
    const s: Qcow2SnapshotIndex = {
      snapshotId,
      volumeId,
      sizeBytes: m.sizeBytes,
      createdAt: new Date().toISOString(),
    };
    await this.d.store.putSnapshot(s);
    return { s, created: true };
  }

  createSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<CreateSnapshotResult> {
    validateStorageId('snapshotId', req.snapshotId);
    return this.d.mutate(ctx, async () => {
      const t0 = performance.now();
      const { s, created } = await this.snapshotLocked(ctx, req.volumeId, req.snapshotId);
      return { snapshot: this.snapInfo(s), created, elapsedMs: performance.now() - t0 };
    });
  }

  deleteSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<DeleteResult> {
    validateStorageId('snapshotId', req.snapshotId);
    return this.d.mutate(ctx, async () => {
      const s = await this.d.store.getSnapshot(req.snapshotId);
      if (!s) return { deleted: false };
      const path = this.d.store.image(s.volumeId);
      if ((await this.d.img.info(ctx, path)).snapshots.includes(s.snapshotId))
        await this.d.img.snapshot(ctx, '-d', s.snapshotId, path);
      await this.d.store.removeSnapshot(s.snapshotId);
      return { deleted: true };
    });
  }

  revertSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<RevertSnapshotResult> {
    validateStorageId('snapshotId', req.snapshotId);
    return this.d.mutate(ctx, async () => {
      const t0 = performance.now();
      const m = await this.d.meta(req.volumeId);
      const s = await this.d.store.getSnapshot(req.snapshotId);
      if (!s || s.volumeId !== m.volumeId) throw notFound('snapshot', req.snapshotId);
      const path = this.d.store.image(m.volumeId);
      await this.d.img.snapshot(ctx, '-a', s.snapshotId, path);
      // Applying a snapshot restores its virtual size too; volumes never shrink.
      if (s.sizeBytes < m.sizeBytes) await this.d.img.resize(ctx, path, m.sizeBytes);
      return { volume: await this.d.info(m), elapsedMs: performance.now() - t0 };
    });
  }

  async listSnapshots(_ctx: StorageContext, req: VolumeIdRequest): Promise<readonly SnapshotInfo[]> {
    await this.d.meta(req.volumeId);
    return (await this.d.store.listSnapshots())
      .filter((s) => s.volumeId === req.volumeId)
      .map((s) => this.snapInfo(s));
  }

  /**
   * An internal snapshot has no file of its own: qemu-img tells the clusters it references
   * (`measure`), shared ones included, not the bytes deleting it would free.
   */
  async snapshotUsage(ctx: StorageContext, req: SnapshotRequest): Promise<SnapshotUsage> {
    validateStorageId('snapshotId', req.snapshotId);
    await this.d.meta(req.volumeId);
    const s = await this.d.store.getSnapshot(req.snapshotId);
    if (!s || s.volumeId !== req.volumeId) throw notFound('snapshot', req.snapshotId);
    return {
      snapshotId: s.snapshotId,
      usedBytes: await this.d.img.measureSnapshot(ctx, this.d.store.image(s.volumeId), s.snapshotId),
      note: 'bytes its content takes as a qcow2 image (qemu-img measure of the internal snapshot; clusters shared with the volume included)',
    };
  }

  groupSnapshot(ctx: StorageContext, req: GroupSnapshotRequest): Promise<GroupSnapshotResult> {
    validateStorageId('groupId', req.groupId);
    if (req.members.length === 0)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'members',
        reason: 'must name at least one volume',
      });
    for (const mem of req.members) validateStorageId('snapshotId', mem.snapshotId);
    return this.d.mutate(ctx, async () => {
      const t0 = performance.now();
      for (const mem of req.members) await this.d.meta(mem.volumeId);
      const cuts: number[] = [];
      const snaps: SnapshotInfo[] = [];
      for (const mem of req.members) {
        snaps.push(this.snapInfo((await this.snapshotLocked(ctx, mem.volumeId, mem.snapshotId)).s));
        cuts.push(performance.now());
      }
      return {
        groupId: req.groupId,
        snapshots: snaps,
        atomic: false,
        cutSpreadMs: (cuts.at(-1) ?? 0) - (cuts[0] ?? 0),
        elapsedMs: performance.now() - t0,
      };
    });
  }
}
