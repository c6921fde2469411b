import { vmMachine } from '@strata/core';
import type { Queryable } from '../../db/index.js';
import type { JobDefinition, JobEngine, StepContext } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import { applyTransition } from '../../services/transition.js';
import { markVmDestroyed } from '../../services/vms.js';
import { toVolume } from '../../services/volumes.js';
import { loadHost, loadVm, type OrchestrationDeps } from '../deps.js';
import { revokeAll } from '../host-leave.js';
import { stopOnHost } from './vm-power.js';
import { expungeSteps, type ExpungeInput } from './vm-expunge.js';

const transition = (
  deps: OrchestrationDeps,
  tx: Queryable,
  ctx: StepContext,
  id: string,
  event: 'Stop' | 'Stopped' | 'Fail',
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
 * Destroys a VM under its lock: a running one is stopped (forced) first; then it is Destroyed,
 * its DATA volumes detached and kept (the host's grants on them revoked), recoverable until its
 * retention ends. With `expunge` the same job goes on with the expunge steps (vm-expunge.ts).
 */
export function vmDestroyJob(deps: OrchestrationDeps, engine: JobEngine): JobDefinition<ExpungeInput> {
  return {
    type: JOB_TYPES.vmDestroy,
    // once the expunge steps begin there is nothing to undo them with
    cancellableWhileRunning: false,
    steps: [
      {
        name: 'mark-stopping',
        transactional: true,
        run: async (ctx, input) => {
          const vm = await loadVm(ctx.tx, input.vmId);
          if (vm.state === 'Running') {
            await transition(deps, ctx.tx, ctx, vm.id, 'Stop');
            return { running: true };
          }
          vmMachine.next(vm.state, 'Destroy'); // ILLEGAL_TRANSITION before anything moves
          // A VM in Error may still run on its host (unless that host is gone): the stop makes sure it does not.
          if (vm.state !== 'Error' || !vm.hostId) return { running: false };
          return { running: (await loadHost(ctx.tx, vm.hostId)).state !== 'Removed' };
        },
        compensate: async (ctx, input) => {
          const vm = await loadVm(ctx.tx, input.vmId);
          if (vm.state === 'Stopping') await transition(deps, ctx.tx, ctx, input.vmId, 'Fail');
        },
      },
      {
        name: 'stop-on-host',
        run: async (ctx, input, prior) => {
          if (!(prior['mark-stopping'] as { running: boolean }).running) return { forced: false };
          return stopOnHost(deps, ctx, await loadVm(deps.db, input.vmId), true);
        },
      },
      {
        name: 'mark-destroyed',
        transactional: true,
        run: async (ctx, input) => {
          const vm = await loadVm(ctx.tx, input.vmId);
          if (vm.state === 'Stopping') await transition(deps, ctx.tx, ctx, vm.id, 'Stopped');
          const { detached } = await markVmDestroyed(ctx.tx, deps.events, vm.id, ctx.jobId);
          return { hostId: vm.hostId, detached };
        },
      },
      {
        // Never fails the destroy: a grant left behind is revoked by the orphan collector.
        name: 'release-data-volumes',
        run: async (ctx, _input, prior) => {
          const { hostId, detached } = prior['mark-destroyed'] as {
            hostId: string | null;
            detached: string[];
          };
          if (!hostId || detached.length === 0) return { revoked: 0 };
          try {
            const rows = await deps.db.query('SELECT * FROM volumes WHERE id = ANY($1::text[])', [detached]);
            await revokeAll(deps, ctx, rows.map(toVolume), hostId);
            return { revoked: rows.length };
          } catch (e) {
            ctx.log.warn({ err: e, hostId }, 'could not revoke the host grants of the detached volumes');
            return { revoked: 0 };
          }
        },
      },
      ...expungeSteps(deps, engine, (input) => input.expunge === true),
    ],
  };
}
