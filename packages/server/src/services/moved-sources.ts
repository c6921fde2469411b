import { StrataError } from '@strata/core';
import type { Queryable } from '../db/index.js';

/**
 * A moved volume's source kept on its former pool for the snapshots whose data is there (table
 * `volume_moved_sources`, migration 020). These helpers read and write the database only.
 */

/** The volume's snapshots whose data is on `poolId`, a pool it left, and which are still live. */
export async function snapshotsOnFormerPool(
  q: Queryable,
  volumeId: string,
  poolId: string,
): Promise<{ readonly id: string; readonly vmSnapshotId: string | null }[]> {
  const rows = await q.query(
    `SELECT s.id, s.vm_snapshot_id FROM volume_snapshots s LEFT JOIN vm_snapshots m ON m.id = s.vm_snapshot_id
      WHERE s.volume_id = $1 AND s.pool_id = $2 AND s.state <> 'Deleted' AND (m.id IS NULL OR m.state <> 'Removed')
      ORDER BY s.id LIMIT 50`,
    [volumeId, poolId],
  );
  return rows.map((r) => ({
    id: String(r['id']),
    vmSnapshotId: (r['vm_snapshot_id'] as string | null) ?? null,
  }));
}

/**
 * A move back onto a pool that still keeps the volume's former copy is refused: the drivers key a
 * volume by its id, so the two would collide. The snapshots that hold it are named.
 */
export async function refuseIfSourceKeptOn(q: Queryable, volumeId: string, poolId: string): Promise<void> {
  const kept = await q.query('SELECT 1 FROM volume_moved_sources WHERE volume_id = $1 AND pool_id = $2', [
    volumeId,
    poolId,
  ]);
  if (kept.length === 0) return;
  const snaps = await snapshotsOnFormerPool(q, volumeId, poolId);
  const vmSnapshotIds = [...new Set(snaps.flatMap((s) => (s.vmSnapshotId ? [s.vmSnapshotId] : [])))];
  const volumeSnapshotIds = snaps.filter((s) => !s.vmSnapshotId).map((s) => s.id);
  throw new StrataError('VOLUME_HAS_DEPENDENT_SNAPSHOTS', {
    volume: volumeId,
    snapshots:
      [
        ...volumeSnapshotIds.map((i) => `volume snapshot ${i}`),
        ...vmSnapshotIds.map((i) => `vm snapshot ${i}`),
      ].join(', ') || `its former copy on pool ${poolId}, being released`,
    volumeSnapshotIds: volumeSnapshotIds.join(','),
    vmSnapshotIds: vmSnapshotIds.join(','),
  });
}

/**
 * At a move's record: the volume's live snapshots still on the source pool now name it, and the
 * source is kept there (counted on that pool) when any does. Answers how many snapshots keep it.
 */
export async function keepSourceForSnapshots(
  tx: Queryable,
  src: {
    readonly volumeId: string;
    readonly poolId: string;
    readonly backendRef: string | null;
    readonly sizeBytes: number;
    readonly minIops: number;
    readonly jobId: string;
  },
): Promise<number> {
  const marked = await tx.query(
    `UPDATE volume_snapshots s SET pool_id = $2
      WHERE s.volume_id = $1 AND s.pool_id IS NULL AND s.state <> 'Deleted'
        AND NOT EXISTS (SELECT 1 FROM vm_snapshots m WHERE m.id = s.vm_snapshot_id AND m.state = 'Removed')
      RETURNING s.id`,
    [src.volumeId, src.poolId],
  );
  if (marked.length === 0) return 0;
  await tx.query(
    `INSERT INTO volume_moved_sources (volume_id, pool_id, backend_ref, size_bytes, min_iops, job_id)
      VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (volume_id, pool_id) DO NOTHING`,
    [src.volumeId, src.poolId, src.backendRef, src.sizeBytes, src.minIops, src.jobId],
  );
  return marked.length;
}

/** Whether the volume's copy on `poolId` is kept for snapshots (then a move's release keeps it). */
export async function sourceKept(q: Queryable, volumeId: string, poolId: string): Promise<boolean> {
  const rows = await q.query('SELECT 1 FROM volume_moved_sources WHERE volume_id = $1 AND pool_id = $2', [
    volumeId,
    poolId,
  ]);
  return rows.length > 0;
}

/**
 * Refuses what needs a snapshot's data on the volume's own backend (a revert, a volume made from
 * it) when that data stayed on a pool the volume left.
 */
export async function refuseIfOnFormerPool(
  q: Queryable,
  snapshotId: string,
  operation: string,
): Promise<void> {
  const row = (
    await q.query(
      `SELECT s.volume_id, s.pool_id, v.pool_id AS volume_pool FROM volume_snapshots s JOIN volumes v ON v.id = s.volume_id
        WHERE s.id = $1`,
      [snapshotId],
    )
  )[0];
  const pool = row?.['pool_id'] as string | null | undefined;
  if (!row || !pool || pool === row['volume_pool']) return;
  throw new StrataError('SNAPSHOT_ON_FORMER_POOL', {
    snapshot: snapshotId,
    volume: String(row['volume_id']),
    pool,
    operation,
  });
}

/** The same for every part of a VM snapshot: the first part whose data is on a former pool. */
export async function refuseIfVmSnapshotOnFormerPool(
  q: Queryable,
  vmSnapshotId: string,
  operation: string,
): Promise<void> {
  const row = (
    await q.query(
      `SELECT s.id FROM volume_snapshots s JOIN volumes v ON v.id = s.volume_id
        WHERE s.vm_snapshot_id = $1 AND s.state <> 'Deleted' AND s.pool_id IS NOT NULL AND s.pool_id <> v.pool_id
        ORDER BY s.id LIMIT 1`,
      [vmSnapshotId],
    )
  )[0];
  if (row) await refuseIfOnFormerPool(q, String(row['id']), operation);
}
