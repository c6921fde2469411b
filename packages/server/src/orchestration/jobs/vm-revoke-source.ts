import { isStrataError } from '@strata/core';
import type { JobDefinition, JobEngine, Json } from '../../jobs/index.js';
import type { Queryable } from '../../db/index.js';
import { JOB_TYPES, vmLock } from '../../services/job-types.js';
import { vmVolumes, type OrchestrationDeps } from '../deps.js';
import { revokeAll } from '../host-leave.js';
import { childJobId } from './child-jobs.js';

/** The host a migration left, whose grants on the VM's disks go. */
export type RevokeSourceInput = { readonly vmId: string; readonly hostId: string };

/** The revoke job of one migration: one per migration job, found again by its id. */
export const revokeSourceJobId = (migrateJobId: string): string => childJobId(migrateJobId, 'revoke-source');

/**
 * Queues, in the migration's `record` transaction, the revoke of the host the guest left: the
 * migration is done for its caller once the new host is recorded; the source's grants go right
 * after, in a job of their own that a crash cannot lose (it commits with the record). It holds the
 * VM's lock, so the VM's next job (a migration back included) runs before or after it, never beside.
 */
export async function queueRevokeSource(
  engine: JobEngine,
  tx: Queryable,
  migrateJobId: string,
  vm: { readonly id: string; readonly accountId: string },
  hostId: string,
): Promise<string> {
  const job = await engine.submit(
    JOB_TYPES.vmRevokeSource,
    { vmId: vm.id, hostId } satisfies RevokeSourceInput,
    {
      id: revokeSourceJobId(migrateJobId),
      accountId: vm.accountId,
      lockKey: vmLock(vm.id),
      resourceType: 'vm',
      resourceId: vm.id,
      tx,
    },
  );
  return job.id;
}

/**
 * Revokes a migration's source host on every disk of the VM, unless the VM runs there again (a
 * migration back that ran first needs those grants). Forward only: run again after a crash, never
 * undone; a backend that keeps failing leaves a grant the orphan collector revokes.
 */
export function vmRevokeSourceJob(deps: OrchestrationDeps): JobDefinition<RevokeSourceInput> {
  return {
    type: JOB_TYPES.vmRevokeSource,
    steps: [
      {
        name: 'revoke',
        forwardOnly: true,
        retry: { attempts: 3, delayMs: 1_000 },
        run: async (ctx, input): Promise<Json> => {
          const row = (await deps.db.query('SELECT host_id FROM vms WHERE id = $1', [input.vmId]))[0];
          if (row && row['host_id'] === input.hostId) return { revoked: false, reason: 'the VM runs there' };
          try {
            await revokeAll(deps, ctx, await vmVolumes(deps.db, input.vmId), input.hostId);
          } catch (e) {
            // A host removed since has no grant left to revoke.
            if (isStrataError(e, 'NOT_FOUND')) return { revoked: false, reason: 'the host is gone' };
            throw e;
          }
          return { revoked: true };
        },
      },
    ],
  };
}
