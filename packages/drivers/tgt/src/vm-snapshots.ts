import {
  StrataError,
  notFound,
  validateStorageId,
  type DeleteVmSnapshotResult,
  type RevertVmSnapshotResult,
  type StorageContext,
  type TakeVmSnapshotResult,
  type VmSnapshotHookRequest,
  type VmSnapshotTimings,
  type VmSnapshotVolumeRef,
} from '@strata/core';
import type { TgtDriver } from './driver.js';

/** A VM snapshot's part on one volume is an ordinary reflink snapshot under a derived id. */
export function partId(vmSnapshotId: string, volumeId: string): string {
  return `vm-${vmSnapshotId}--${volumeId}`;
}

/** A part's id is longer than a caller's id may be (two ids in one): clones from it accept it. */
export function isPartId(id: string): boolean {
  return /^vm-[a-z0-9][a-z0-9-]{0,63}--[a-z0-9][a-z0-9-]{0,63}$/.test(id);
}

function validate(req: VmSnapshotHookRequest): void {
  validateStorageId('vmSnapshot.id', req.vmSnapshot.id);
  if (req.volumeIds.length === 0)
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'volumeIds',
      reason: 'must name at least one volume',
    });
  for (const v of req.volumeIds) validateStorageId('volumeIds', v);
}

function timings(startedAt: Date, t0: number, cuts: number[]): VmSnapshotTimings {
  const spread = cuts.length > 1 ? (cuts[cuts.length - 1] ?? 0) - (cuts[0] ?? 0) : 0;
  return { startedAt: startedAt.toISOString(), cutSpreadMs: spread, totalMs: performance.now() - t0 };
}

/**
 * Seed 000's per-driver hooks. Reflinks finish before the call returns, so the VM is never held
 * for this driver (`holdVm: false`); the consistency is what the caller's cut gave.
 */
export class VmSnapshots {
  constructor(private readonly d: TgtDriver) {}

  take(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<TakeVmSnapshotResult> {
    validate(req);
    return this.d.mutate(ctx, async () => {
      const startedAt = new Date();
      const t0 = performance.now();
      for (const v of req.volumeIds) await this.d.meta(v);
      const made: string[] = [];
      const refs: VmSnapshotVolumeRef[] = [];
      const cuts: number[] = [];
      try {
        for (const v of req.volumeIds) {
          const { snap, created } = await this.d.snapshots.snapshotLocked(
            ctx,
            v,
            partId(req.vmSnapshot.id, v),
            req.vmSnapshot.id,
          );
          cuts.push(performance.now());
          if (created) made.push(snap.snapshotId);
          refs.push({ volumeId: v, snapshotRef: snap.snapshotId });
        }
      } catch (e) {
        // All or none: remove what this call made before answering the error.
        for (const id of made) await this.d.store.removeSnapshot(id);
        throw e;
      }
      return {
        volumes: refs,
        consistency: req.callerConsistency,
        holdVm: false,
        timings: timings(startedAt, t0, cuts),
      };
    });
  }

  revert(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<RevertVmSnapshotResult> {
    validate(req);
    return this.d.mutate(ctx, async () => {
      const startedAt = new Date();
      const t0 = performance.now();
      const parts = [];
      for (const v of req.volumeIds) {
        const meta = await this.d.meta(v);
        const snap = await this.d.store.getSnapshot(partId(req.vmSnapshot.id, v));
        if (!snap) throw notFound('vm snapshot', `${req.vmSnapshot.id} (volume ${v})`);
        parts.push({ meta, snap });
      }
      const cuts: number[] = [];
      for (const { meta, snap } of parts) {
        await this.d.snapshots.revertLocked(ctx, meta, snap);
        cuts.push(performance.now());
      }
      const refs = parts.map(({ snap }) => ({ volumeId: snap.volumeId, snapshotRef: snap.snapshotId }));
      return { volumes: refs, timings: timings(startedAt, t0, cuts) };
    });
  }

  remove(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<DeleteVmSnapshotResult> {
    validate(req);
    return this.d.mutate(ctx, async () => {
      const startedAt = new Date();
      const t0 = performance.now();
      const deleted: string[] = [];
      for (const v of req.volumeIds) {
        const id = partId(req.vmSnapshot.id, v);
        if (await this.d.store.getSnapshot(id)) {
          await this.d.store.removeSnapshot(id);
          deleted.push(v);
        }
      }
      return { deleted, timings: timings(startedAt, t0, []) };
    });
  }
}
