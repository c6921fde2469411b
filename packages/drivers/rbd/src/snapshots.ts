import {
  StrataError,
  type CreateSnapshotResult,
  type DeleteResult,
  type GroupSnapshotRequest,
  type GroupSnapshotResult,
  type RevertSnapshotResult,
  type SnapshotInfo,
  type SnapshotRequest,
  type SnapshotUsage,
  type StorageContext,
} from '@strata/core';
import { EEXIST, ENOENT, errnoOf } from './cli.js';
import type { Pool } from './meta.js';
import { imageName, snapName, snapshotIdOf, spec } from './names.js';
import { snapshotKey, type PoolIndex } from './pool-index.js';
import { imageInfo, listSnaps, loadVolume, type RbdSnap } from './volumes.js';

export interface SnapshotDeps extends Pool {
  readonly index: PoolIndex;
}

function isUserSnap(s: RbdSnap): boolean {
  return s.namespace === undefined || s.namespace.type === 'user';
}

export function toSnapshotInfo(p: Pool, volumeId: string, s: RbdSnap): SnapshotInfo {
  const when = new Date(`${s.timestamp} UTC`);
  return {
    snapshotId: snapshotIdOf(s.name) ?? s.name,
    volumeId,
    sizeBytes: s.size,
    backendRef: spec(p.pool, imageName(volumeId), s.name),
    createdAt: Number.isNaN(when.getTime()) ? new Date().toISOString() : when.toISOString(),
  };
}

export async function findSnap(
  ctx: StorageContext,
  p: Pool,
  volumeId: string,
  snapshotId: string,
): Promise<RbdSnap | null> {
  const snaps = await listSnaps(ctx, p, imageName(volumeId)).catch((err: unknown) => {
    if (errnoOf(err) === ENOENT) return [];
    throw err;
  });
  return snaps.find((s) => isUserSnap(s) && s.name === snapName(snapshotId)) ?? null;
}

export async function listSnapshots(ctx: StorageContext, p: Pool, volumeId: string): Promise<SnapshotInfo[]> {
  if (!(await imageInfo(ctx, p, imageName(volumeId))))
    throw new StrataError('NOT_FOUND', { kind: 'volume', id: volumeId });
  const snaps = await listSnaps(ctx, p, imageName(volumeId));
  return snaps
    .filter((s) => isUserSnap(s) && snapshotIdOf(s.name) !== null)
    .map((s) => toSnapshotInfo(p, volumeId, s));
}

/**
 * `rbd du` of the snapshot: the data that changed between the previous snapshot (or the image's
 * creation) and this one, which is what the snapshot alone keeps once the image moves on.
 */
export async function snapshotUsage(
  ctx: StorageContext,
  p: Pool,
  volumeId: string,
  snapshotId: string,
): Promise<SnapshotUsage> {
  const snap = await findSnap(ctx, p, volumeId, snapshotId);
  if (!snap) throw new StrataError('NOT_FOUND', { kind: 'snapshot', id: snapshotId });
  const du = await p.cli.rbdJson<{ images?: ReadonlyArray<{ snapshot?: string; used_size: number }> }>(ctx, [
    'du',
    spec(p.pool, imageName(volumeId), snap.name),
  ]);
  const row = du?.images?.find((r) => r.snapshot === snap.name);
  if (!row) return { snapshotId, usedBytes: null, note: 'rbd du did not report this snapshot' };
  return {
    snapshotId,
    usedBytes: row.used_size,
    note: 'rbd du used size: data written between the previous snapshot and this one',
  };
}

/** Where a snapshot id lives: the index first, the volume named in the request as a fallback. */
export async function locateSnapshot(
  ctx: StorageContext,
  d: SnapshotDeps,
  snapshotId: string,
): Promise<{ volumeId: string; snap: RbdSnap } | null> {
  const volumeId = await d.index.volumeOfSnapshot(ctx, snapshotId);
  if (volumeId === null) return null;
  const snap = await findSnap(ctx, d, volumeId, snapshotId);
  return snap ? { volumeId, snap } : null;
}

export async function createSnapshot(
  ctx: StorageContext,
  d: SnapshotDeps,
  req: SnapshotRequest,
): Promise<CreateSnapshotResult> {
  const started = performance.now();
  if (!(await imageInfo(ctx, d, imageName(req.volumeId))))
    throw new StrataError('NOT_FOUND', { kind: 'volume', id: req.volumeId });
  const elsewhere = await locateSnapshot(ctx, d, req.snapshotId);
  if (elsewhere && elsewhere.volumeId !== req.volumeId) {
    throw new StrataError('STORAGE_ID_CONFLICT', {
      kind: 'snapshot',
      id: req.snapshotId,
      reason: `it belongs to volume ${elsewhere.volumeId}`,
    });
  }
  const existing = elsewhere?.snap ?? (await findSnap(ctx, d, req.volumeId, req.snapshotId));
  if (existing) {
    await d.index.set(ctx, snapshotKey(req.snapshotId), req.volumeId);
    return {
      snapshot: toSnapshotInfo(d, req.volumeId, existing),
      created: false,
      elapsedMs: performance.now() - started,
    };
  }
  // Index first: a snapshot never exists without its entry; a stale entry is harmless.
  await d.index.set(ctx, snapshotKey(req.snapshotId), req.volumeId);
  try {
    await d.cli.rbd(ctx, [
      'snap',
      'create',
      '--no-progress',
      spec(d.pool, imageName(req.volumeId), snapName(req.snapshotId)),
    ]);
  } catch (err) {
    if (errnoOf(err) !== EEXIST) throw err;
  }
  const snap = await findSnap(ctx, d, req.volumeId, req.snapshotId);
  if (!snap)
    throw new StrataError('STORAGE_BACKEND_FAILED', {
      backend: 'rbd',
      operation: 'snap create',
      reason: 'snapshot missing after create',
    });
  return {
    snapshot: toSnapshotInfo(d, req.volumeId, snap),
    created: true,
    elapsedMs: performance.now() - started,
  };
}

export async function deleteSnapshot(
  ctx: StorageContext,
  d: SnapshotDeps,
  req: SnapshotRequest,
): Promise<DeleteResult> {
  const snap = await findSnap(ctx, d, req.volumeId, req.snapshotId);
  let deleted = false;
  if (snap) {
    try {
      // With clone v2 a snapshot that has clones moves to the trash namespace: the clones live on.
      await d.cli.rbd(ctx, ['snap', 'rm', '--no-progress', spec(d.pool, imageName(req.volumeId), snap.name)]);
      deleted = true;
    } catch (err) {
      if (errnoOf(err) !== ENOENT) throw err;
    }
  }
  if ((await d.index.volumeOfSnapshot(ctx, req.snapshotId)) === req.volumeId)
    await d.index.remove(ctx, snapshotKey(req.snapshotId));
  return { deleted };
}

export async function revertSnapshot(
  ctx: StorageContext,
  d: SnapshotDeps,
  req: SnapshotRequest,
): Promise<RevertSnapshotResult> {
  const started = performance.now();
  if (!(await imageInfo(ctx, d, imageName(req.volumeId))))
    throw new StrataError('NOT_FOUND', { kind: 'volume', id: req.volumeId });
  const snap = await findSnap(ctx, d, req.volumeId, req.snapshotId);
  if (!snap) throw new StrataError('NOT_FOUND', { kind: 'snapshot', id: req.snapshotId });
  // Rollback rewrites the head only; every snapshot, newer ones included, is kept.
  await d.cli.rbd(ctx, [
    'snap',
    'rollback',
    '--no-progress',
    spec(d.pool, imageName(req.volumeId), snap.name),
  ]);
  const loaded = await loadVolume(ctx, d, req.volumeId);
  if (!loaded) throw new StrataError('NOT_FOUND', { kind: 'volume', id: req.volumeId });
  return { volume: loaded.volume, elapsedMs: performance.now() - started };
}

/**
 * One snapshot per member, all started at once. Not atomic: rbd's own atomic cut (rbd group)
 * keeps its snapshots in the group namespace, which the rbd CLI cannot roll back or clone one by
 * one, so member snapshots are ordinary ones and the caller holds I/O for a consistent cut.
 * The VM-snapshot hooks, whose parts are reverted together, do use rbd groups.
 */
export async function groupSnapshot(
  ctx: StorageContext,
  d: SnapshotDeps,
  req: GroupSnapshotRequest,
): Promise<GroupSnapshotResult> {
  const started = performance.now();
  for (const m of req.members) {
    if (!(await imageInfo(ctx, d, imageName(m.volumeId))))
      throw new StrataError('NOT_FOUND', { kind: 'volume', id: m.volumeId });
  }
  const cuts: number[] = [];
  const results = await Promise.all(
    req.members.map(async (m) => {
      const r = await createSnapshot(ctx, d, m);
      cuts.push(performance.now());
      return r;
    }),
  );
  const spread = cuts.length > 1 ? Math.max(...cuts) - Math.min(...cuts) : 0;
  return {
    groupId: req.groupId,
    snapshots: results.map((r) => r.snapshot),
    atomic: false,
    cutSpreadMs: spread,
    elapsedMs: performance.now() - started,
  };
}
