import type { Queryable } from '../../db/index.js';
import { storageTagsFromRow } from '../storage-tags.js';
import { choosePool, type PoolChoice, type VolumeNeed } from './choose-pool.js';

/** Chooses the pool for a volume nobody named one for (choosePool over every pool's load). */
export async function placeVolume(q: Queryable, need: VolumeNeed): Promise<PoolChoice> {
  const rows = await q.query(
    `SELECT id, name, state, zone_id, capacity_bytes, used_bytes, capacity_iops, used_min_iops, storage_tags
       FROM storage_pools ORDER BY id`,
  );
  return choosePool(
    rows.map((r) => ({
      id: String(r['id']),
      name: String(r['name']),
      state: String(r['state']),
      zoneId: String(r['zone_id']),
      capacityBytes: Number(r['capacity_bytes']),
      usedBytes: Number(r['used_bytes']),
      capacityIops: Number(r['capacity_iops']),
      usedMinIops: Number(r['used_min_iops']),
      storageTags: storageTagsFromRow(r),
    })),
    need,
  );
}

/** Keeps why placement chose the volume's pool; in the volume's creating transaction. */
export async function recordPlacement(q: Queryable, volumeId: string, choice: PoolChoice): Promise<void> {
  await q.query('INSERT INTO volume_placements (volume_id, pool_id, reason) VALUES ($1,$2,$3)', [
    volumeId,
    choice.poolId,
    choice.reason,
  ]);
}

/** The placement reasons of the given volumes that placement put somewhere. */
export async function placementsOf(
  q: Queryable,
  ids: readonly string[],
): Promise<ReadonlyMap<string, string>> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const rows = await q.query('SELECT volume_id, reason FROM volume_placements WHERE volume_id = ANY($1)', [
    [...ids],
  ]);
  for (const r of rows) out.set(String(r['volume_id']), String(r['reason']));
  return out;
}
