import { StrataError, vmMachine, volumeMachine } from '@strata/core';
import type { Queryable } from '../../db/index.js';
import type { JobDefinition, JobEngine, JobStep, StepContext } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import { applyTransition } from '../../services/transition.js';
import { loadHost, loadVm, storageContext, type OrchestrationDeps } from '../deps.js';
import { revokeAll } from '../host-leave.js';
import { forgetVolumeSecrets } from '../volume-secrets.js';
import { domainName } from '../naming.js';
import { toVolume } from '../../services/volumes.js';
import { childJobId, runChildJobs } from './child-jobs.js';

export type ExpungeInput = { readonly vmId: string; readonly expunge?: boolean };

/** The VM's own volumes: its ROOT (DATA volumes were detached when it was destroyed). */
async function ownVolumes(q: Queryable, vmId: string) {
  const rows = await q.query(
    `SELECT * FROM volumes WHERE vm_id = $1 AND type <> 'DATA' AND state <> 'Destroyed' ORDER BY id`,
    [vmId],
  );
  return rows.map(toVolume);
}

const vmTransition = (
  deps: OrchestrationDeps,
  tx: Queryable,
  ctx: StepContext,
  id: string,
  event: 'Expunge' | 'Expunged',
) =>
  applyTransition(tx, deps.events, {
    table: 'vms',
    kind: 'vm',
    machine: vmMachine,
    id,
    event,
    jobId: ctx.jobId,
  });

/**
 * What an expunge does, in order; `when` lets the destroy job carry the same steps for
 * `expunge=true` (they pass through when it is false). Forward only: nothing is compensated. A
 * step that cannot finish (a backend or host away) fails the job with the VM left Expunging, and
 * the retention sweep asks again; every step is safe to run again.
 */
export function expungeSteps(
  deps: OrchestrationDeps,
  engine: JobEngine,
  when: (input: ExpungeInput) => boolean,
): JobStep<ExpungeInput>[] {
  return [
    {
      name: 'mark-expunging',
      transactional: true,
      run: async (ctx, input) => {
        if (!when(input)) return null;
        await vmTransition(deps, ctx.tx, ctx, input.vmId, 'Expunge');
        return null;
      },
    },
    {
      // Each VM snapshot (newest first), then each plain snapshot of its own volumes, through the
      // ordinary delete jobs: every part on every backend and the memory files go their usual way.
      name: 'delete-snapshots',
      run: async (ctx, input) => {
        if (!when(input)) return null;
        const vm = await loadVm(deps.db, input.vmId);
        const vmSnaps = await deps.db.query(
          `SELECT id FROM vm_snapshots WHERE vm_id = $1 AND state <> 'Removed' ORDER BY created_at DESC, id DESC`,
          [vm.id],
        );
        const own = await ownVolumes(deps.db, vm.id);
        const volSnaps = own.length
          ? await deps.db.query(
              `SELECT id FROM volume_snapshots WHERE volume_id = ANY($1::text[]) AND vm_snapshot_id IS NULL
                 AND state <> 'Deleted' ORDER BY created_at DESC, id DESC`,
              [own.map((v) => v.id)],
            )
          : [];
        const children = [
          ...vmSnaps.map((r) => ({
            type: JOB_TYPES.vmSnapshotDelete,
            input: { vmSnapshotId: String(r['id']) },
            resourceType: 'vm-snapshot',
            resourceId: String(r['id']),
          })),
          ...volSnaps.map((r) => ({
            type: JOB_TYPES.volumeSnapshotDelete,
            input: { snapshotId: String(r['id']) },
            resourceType: 'volume-snapshot',
            resourceId: String(r['id']),
          })),
        ].map((c) => ({ ...c, id: childJobId(ctx.jobId, c.resourceId) }));
        const failed = await runChildJobs(engine, ctx, vm.accountId, children);
        if (failed)
          throw new StrataError('VM_EXPUNGE_INCOMPLETE', {
            vm: vm.id,
            reason: `${failed.resourceType} ${failed.resourceId} was not deleted: ${failed.reason}`,
          });
        return { vmSnapshots: vmSnaps.length, volumeSnapshots: volSnaps.length };
      },
    },
    {
      // The domain definition on the VM's recorded host, its volumes' own secrets and that host's
      // grants on them.
      name: 'undefine',
      run: async (ctx, input) => {
        if (!when(input)) return null;
        const vm = await loadVm(deps.db, input.vmId);
        if (!vm.hostId) return { hostId: null };
        const host = await loadHost(deps.db, vm.hostId);
        if (host.state === 'Removed') return { hostId: null };
        try {
          const r = await deps.agent.send(
            vm.hostId,
            'vm.destroy',
            { vm: domainName(vm) },
            { signal: ctx.signal },
          );
          const own = await ownVolumes(deps.db, vm.id);
          const secrets = await forgetVolumeSecrets(deps, ctx, own, host);
          await revokeAll(deps, ctx, own, vm.hostId);
          return { hostId: vm.hostId, existed: r.existed, secrets };
        } catch (e) {
          throw new StrataError('VM_EXPUNGE_INCOMPLETE', {
            vm: vm.id,
            reason: `host ${vm.hostId} could not remove its definition: ${e instanceof Error ? e.message : String(e)}`,
          });
        }
      },
    },
    {
      name: 'mark-volumes-destroying',
      transactional: true,
      run: async (ctx, input) => {
        if (!when(input)) return null;
        const ids: string[] = [];
        for (const v of await ownVolumes(ctx.tx, input.vmId)) {
          if (v.state === 'Destroying') ids.push(v.id);
          else if (volumeMachine.can(v.state, 'Destroy')) {
            await applyTransition(ctx.tx, deps.events, {
              table: 'volumes',
              kind: 'volume',
              machine: volumeMachine,
              id: v.id,
              event: 'Destroy',
              jobId: ctx.jobId,
            });
            ids.push(v.id);
          } else
            throw new StrataError('VM_EXPUNGE_INCOMPLETE', {
              vm: input.vmId,
              reason: `volume ${v.id} is ${v.state}`,
            });
        }
        return { volumeIds: ids };
      },
    },
    {
      name: 'delete-volumes',
      run: async (ctx, input) => {
        if (!when(input)) return null;
        const deleted: string[] = [];
        for (const v of await ownVolumes(deps.db, input.vmId)) {
          try {
            await (
              await deps.drivers.forPool(v.poolId)
            ).deleteVolume(storageContext(ctx), { volumeId: v.id });
          } catch (e) {
            throw new StrataError('VM_EXPUNGE_INCOMPLETE', {
              vm: input.vmId,
              reason: `volume ${v.id} could not be deleted from pool ${v.poolId}: ${e instanceof Error ? e.message : String(e)}`,
            });
          }
          deleted.push(v.id);
        }
        return { deleted };
      },
    },
    {
      name: 'mark-expunged',
      transactional: true,
      run: async (ctx, input) => {
        if (!when(input)) return { vmId: input.vmId };
        for (const v of await ownVolumes(ctx.tx, input.vmId)) {
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: v.id,
            event: 'Destroyed',
            jobId: ctx.jobId,
          });
        }
        await ctx.tx.query('UPDATE vms SET current_vm_snapshot_id = NULL WHERE id = $1', [input.vmId]);
        await vmTransition(deps, ctx.tx, ctx, input.vmId, 'Expunged');
        return { vmId: input.vmId, expunged: true };
      },
    },
  ];
}

/** Expunges a Destroyed VM (or one left Expunging): see expungeSteps. */
export function vmExpungeJob(deps: OrchestrationDeps, engine: JobEngine): JobDefinition<ExpungeInput> {
  return {
    type: JOB_TYPES.vmExpunge,
    cancellableWhileRunning: false,
    steps: expungeSteps(deps, engine, () => true),
  };
}
