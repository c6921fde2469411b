import { StrataError, type Volume } from '@strata/core';
import type { Queryable } from '../../db/index.js';

const num = (v: unknown): number => Number(v ?? 0);

/**
 * Admits a volume on the pool it moves to, the pool row locked as a create locks it: Up, in the
 * source pool's zone, with room for its bytes and its minimum IOPS. The pool's counters take the
 * volume when the move is recorded.
 */
export async function admitMove(tx: Queryable, v: Volume, destPoolId: string): Promise<void> {
  const pool = (await tx.query('SELECT * FROM storage_pools WHERE id = $1 FOR UPDATE', [destPoolId]))[0];
  if (!pool) throw new StrataError('NOT_FOUND', { kind: 'storage pool', id: destPoolId });
  if (pool['state'] !== 'Up')
    throw new StrataError('CONFLICT', {
      reason: `storage pool ${destPoolId} is ${String(pool['state'])}, not Up`,
    });
  const source = (await tx.query('SELECT zone_id FROM storage_pools WHERE id = $1', [v.poolId]))[0];
  if (source?.['zone_id'] !== pool['zone_id'])
    throw new StrataError('INVALID_ARGUMENT', { field: 'poolId', reason: 'the pool is in another zone' });
  const minIops = v.qos?.minIops ?? 0;
  const capacityIops = num(pool['capacity_iops']);
  const freeIops = capacityIops - num(pool['used_min_iops']);
  if (capacityIops > 0 && minIops > freeIops)
    throw new StrataError('STORAGE_IOPS_EXHAUSTED', {
      pool: destPoolId,
      requested: minIops,
      available: Math.max(0, freeIops),
    });
  const freeBytes = num(pool['capacity_bytes']) - num(pool['used_bytes']);
  if (v.sizeBytes > freeBytes)
    throw new StrataError('STORAGE_CAPACITY_EXHAUSTED', {
      pool: destPoolId,
      requested: v.sizeBytes,
      available: Math.max(0, freeBytes),
    });
}
