import { StrataError, volumeMachine, type Volume } from '@strata/core';
import type { Database } from '../db/index.js';
import { requireAdmin, type Actor } from './actor.js';
import { JOB_TYPES, vmLock, volumeLock } from './job-types.js';
import type { JobService } from './jobs.js';
import { refuseIfSourceKeptOn } from './moved-sources.js';
import type { EventService } from './events.js';
import type { Accepted } from './operations.js';
import { applyTransition } from './transition.js';
import type { VolumeService } from './volumes.js';

/**
 * Queues a volume's move to another pool (admins: pools are the operator's). Checked at once, nothing
 * queued when refused: the volume can move (Ready), the pool is another Up pool that keeps no
 * former copy of it for snapshots, and a VM it belongs to is running or stopped. Its snapshots
 * do not hold it back: their data stays on the source, kept hidden until the last one goes. The move
 * runs under the VM's lock when attached (never beside its start, stop or snapshots). The volume
 * is `Migrating` from the moment the job is queued (same transaction): an attach or detach queued
 * beside it meets that state and is refused, never racing a move that took another lock.
 */
export async function queueVolumeMigrate(
  deps: {
    readonly jobs: JobService;
    readonly volumes: VolumeService;
    readonly db: Database;
    readonly events: EventService;
  },
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
  await refuseIfSourceKeptOn(deps.db, id, poolId);
  const job = await deps.db.transaction(async (tx) => {
    // Read again under the row's lock: an attach or detach that committed since chose the lock.
    const now = (await tx.query('SELECT state, vm_id FROM volumes WHERE id = $1 FOR UPDATE', [id]))[0];
    volumeMachine.next(String(now?.['state']) as Volume['state'], 'Migrate');
    const vmId = (now?.['vm_id'] as string | null | undefined) ?? null;
    if (vmId) {
      const vm = (await tx.query('SELECT state FROM vms WHERE id = $1', [vmId]))[0];
      const state = String(vm?.['state']);
      if (state !== 'Running' && state !== 'Stopped')
        throw new StrataError('ILLEGAL_TRANSITION', { machine: 'vm', state, event: 'MigrateVolume' });
    }
    const queued = await deps.jobs.submit(
      actor,
      JOB_TYPES.volumeMigrate,
      { volumeId: id, poolId },
      { tx, lockKey: vmId ? vmLock(vmId) : volumeLock(id), resourceType: 'volume', resourceId: id },
    );
    await applyTransition(tx, deps.events, {
      table: 'volumes',
      kind: 'volume',
      machine: volumeMachine,
      id,
      event: 'Migrate',
      jobId: queued.id,
    });
    return queued;
  });
  return { job, resource: { ...v, state: 'Migrating' } };
}
