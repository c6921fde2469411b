import { StrataError, volumeMachine, type Volume } from '@strata/core';
import type { Queryable } from '../db/index.js';
import { requireAdmin, type Actor } from './actor.js';
import { refuseIfSnapshotsDepend } from './in-use.js';
import { JOB_TYPES, vmLock, volumeLock } from './job-types.js';
import type { JobService } from './jobs.js';
import type { Accepted } from './operations.js';
import type { VolumeService } from './volumes.js';

/**
 * Queues a volume's move to another pool (admins: pools are the operator's). Checked at once, nothing
 * queued when refused: the volume can move (Ready), the pool is another Up pool, no snapshot
 * depends on the volume where it is now, and a VM it belongs to is running or stopped. The move
 * runs under the VM's lock when attached (never beside its start, stop or snapshots).
 */
export async function queueVolumeMigrate(
  deps: { readonly jobs: JobService; readonly volumes: VolumeService; readonly db: Queryable },
  actor: Actor,
  id: string,
  poolId: string,
): Promise<Accepted<Volume>> {
  requireAdmin(actor, 'migrate a volume');
  const v = await deps.volumes.get(actor, id);
  volumeMachine.next(v.state, 'Migrate');
  if (v.poolId === poolId)
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'poolId',
      reason: 'the volume is already on that pool',
    });
  const pool = (await deps.db.query('SELECT state FROM storage_pools WHERE id = $1', [poolId]))[0];
  if (!pool) throw new StrataError('NOT_FOUND', { kind: 'storage pool', id: poolId });
  if (pool['state'] !== 'Up')
    throw new StrataError('CONFLICT', {
      reason: `storage pool ${poolId} is ${String(pool['state'])}, not Up`,
    });
  await refuseIfSnapshotsDepend(deps.db, id);
  if (v.vmId) {
    const vm = (await deps.db.query('SELECT state FROM vms WHERE id = $1', [v.vmId]))[0];
    const state = String(vm?.['state']);
    if (state !== 'Running' && state !== 'Stopped')
      throw new StrataError('ILLEGAL_TRANSITION', { machine: 'vm', state, event: 'MigrateVolume' });
  }
  const job = await deps.jobs.submit(
    actor,
    JOB_TYPES.volumeMigrate,
    { volumeId: id, poolId },
    { lockKey: v.vmId ? vmLock(v.vmId) : volumeLock(id), resourceType: 'volume', resourceId: id },
  );
  return { job, resource: v };
}
