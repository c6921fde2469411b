import type { StorageContext } from '@strata/core';
import { snapshotsOnFormerPool } from '../../services/moved-sources.js';
import type { OrchestrationDeps } from '../deps.js';

/**
 * Deletes a moved volume's former copy once no snapshot needs it any more: by the pool's driver
 * (qcow2: its image and every layer over it; tgt and RBD: the LUN or image), then its row, which
 * gives the pool its capacity back. Run by the job that deleted a snapshot there, after its record;
 * safe to run again (a delete of what is gone answers `deleted: false`), and by two such jobs at
 * once (the row is removed once).
 */
export async function releaseFormerCopies(
  deps: OrchestrationDeps,
  sctx: StorageContext,
  parts: readonly { readonly volumeId: string; readonly poolId: string }[],
): Promise<{ readonly released: string[] }> {
  const released: string[] = [];
  const seen = new Set<string>();
  for (const { volumeId, poolId } of parts) {
    const key = `${volumeId}@${poolId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const kept = await deps.db.query(
      'SELECT 1 FROM volume_moved_sources WHERE volume_id = $1 AND pool_id = $2',
      [volumeId, poolId],
    );
    if (kept.length === 0 || (await snapshotsOnFormerPool(deps.db, volumeId, poolId)).length > 0) continue;
    await (await deps.drivers.forPool(poolId)).deleteVolume(sctx, { volumeId });
    await deps.db.query(
      `DELETE FROM volume_moved_sources m WHERE m.volume_id = $1 AND m.pool_id = $2
        AND NOT EXISTS (SELECT 1 FROM volume_snapshots s LEFT JOIN vm_snapshots v ON v.id = s.vm_snapshot_id
          WHERE s.volume_id = $1 AND s.pool_id = $2 AND s.state <> 'Deleted' AND (v.id IS NULL OR v.state <> 'Removed'))`,
      [volumeId, poolId],
    );
    released.push(key);
  }
  return { released };
}
