import { hostMachine, StrataError } from '@strata/core';
import type { Queryable } from '../../db/index.js';
import type { JobDefinition, JobEngine, Json } from '../../jobs/index.js';
import { JOB_TYPES, vmLock } from '../../services/job-types.js';
import { applyTransition } from '../../services/transition.js';
import type { OrchestrationDeps } from '../deps.js';
import { planEvacuation } from '../../services/placement/evacuate.js';

export type HostMaintenanceInput = { readonly hostId: string };

type Moves = {
  readonly migrations: ReadonlyArray<{
    readonly vmId: string;
    readonly jobId: string;
    readonly dest: string;
  }>;
};
type Waited = { readonly cancelled: boolean };

const POLL_MS = 1_000;
const ENDED = new Set(['Succeeded', 'Failed']);

const hostState = async (q: Queryable, hostId: string): Promise<string | undefined> =>
  (await q.query('SELECT state FROM hosts WHERE id = $1', [hostId]))[0]?.['state'] as string | undefined;

/** The VMs whose domains are (or may be about to be) on the host. */
const vmsOn = async (q: Queryable, hostId: string) =>
  (
    await q.query(
      `SELECT id, state FROM vms WHERE host_id = $1 AND state IN ('Starting', 'Running', 'Stopping', 'Migrating') ORDER BY id`,
      [hostId],
    )
  ).map((r) => ({ id: String(r['id']), state: String(r['state']) }));

/**
 * Puts a host into maintenance the way operators know it (CloudStack's prepareHostForMaintenance):
 * its running VMs are live-migrated to other hosts first, each by a vm.migrate job of its own
 * (under that VM's lock, so never beside its snapshots), and the host reaches Maintenance only
 * once none runs there. Refused, with each VM's reason, when the other hosts have no room for all
 * of them; a migration that fails brings the host back Up (the VMs already moved stay where they
 * went). Cancel (ExitMaintenance) at any time brings it back Up; the job then ends without
 * entering maintenance.
 */
export function hostMaintenanceJob(
  deps: OrchestrationDeps,
  engine: Pick<JobEngine, 'submit' | 'get'>,
): JobDefinition<HostMaintenanceInput> {
  return {
    type: JOB_TYPES.hostMaintenance,
    steps: [
      {
        // One transaction: the host leaves placement, the room on the others is checked for all
        // its VMs together, and their migrations are queued, or none of it happens.
        name: 'prepare',
        transactional: true,
        run: async (ctx, input): Promise<Moves> => {
          await ctx.tx.query('SELECT id FROM hosts ORDER BY id FOR UPDATE');
          await applyTransition(ctx.tx, deps.events, {
            table: 'hosts',
            kind: 'host',
            machine: hostMachine,
            id: input.hostId,
            event: 'PrepareMaintenance',
            jobId: ctx.jobId,
          });
          const plan = await planEvacuation(ctx.tx, input.hostId);
          const migrations = [];
          for (const move of plan) {
            const job = await engine.submit(
              JOB_TYPES.vmMigrate,
              { vmId: move.vmId, hostId: move.dest },
              {
                accountId: move.accountId,
                lockKey: vmLock(move.vmId),
                resourceType: 'vm',
                resourceId: move.vmId,
                tx: ctx.tx,
              },
            );
            migrations.push({ vmId: move.vmId, jobId: job.id, dest: move.dest });
          }
          ctx.progress(5, `${migrations.length} VM(s) to move`);
          return { migrations };
        },
        compensate: async (ctx, input) => {
          if ((await hostState(ctx.tx, input.hostId)) !== 'PreparingMaintenance') return;
          await applyTransition(ctx.tx, deps.events, {
            table: 'hosts',
            kind: 'host',
            machine: hostMachine,
            id: input.hostId,
            event: 'ExitMaintenance',
            jobId: ctx.jobId,
          });
        },
      },
      {
        // Only reads: a crash here leaves nothing, and the next server waits on the same jobs.
        name: 'migrate-vms',
        readOnly: true,
        run: async (ctx, input, prior): Promise<Waited> => {
          const { migrations } = prior['prepare'] as Moves;
          for (;;) {
            if ((await hostState(deps.db, input.hostId)) !== 'PreparingMaintenance')
              return { cancelled: true };
            const jobs = await Promise.all(migrations.map((m) => engine.get(m.jobId)));
            const failed = jobs.find((j) => j.state === 'Failed');
            if (failed) {
              const m = migrations.find((x) => x.jobId === failed.id);
              throw new StrataError('HOST_MAINTENANCE_FAILED', {
                host: input.hostId,
                reason: `VM ${m?.vmId} did not move (job ${failed.id}): ${failed.error?.message ?? 'it failed'}`,
              });
            }
            const done = jobs.filter((j) => ENDED.has(j.state)).length;
            ctx.progress(
              5 + Math.floor((90 * done) / Math.max(1, migrations.length)),
              `${done} of ${migrations.length} moved`,
            );
            if (done === migrations.length) return { cancelled: false };
            await new Promise((r) => setTimeout(r, POLL_MS));
            if (ctx.signal.aborted) throw ctx.signal.reason as Error;
          }
        },
      },
      {
        name: 'enter',
        transactional: true,
        run: async (ctx, input, prior): Promise<Json> => {
          if ((prior['migrate-vms'] as Waited).cancelled)
            return { hostId: input.hostId, state: 'Up', cancelled: true };
          await ctx.tx.query('SELECT id FROM hosts WHERE id = $1 FOR UPDATE', [input.hostId]);
          if ((await hostState(ctx.tx, input.hostId)) !== 'PreparingMaintenance')
            return { hostId: input.hostId, state: 'Up', cancelled: true };
          const left = await vmsOn(ctx.tx, input.hostId);
          if (left.length > 0)
            throw new StrataError('HOST_MAINTENANCE_FAILED', {
              host: input.hostId,
              reason: `VMs still on it: ${left.map((v) => `${v.id} (${v.state})`).join(', ')}`,
            });
          await applyTransition(ctx.tx, deps.events, {
            table: 'hosts',
            kind: 'host',
            machine: hostMachine,
            id: input.hostId,
            event: 'EnterMaintenance',
            jobId: ctx.jobId,
          });
          return { hostId: input.hostId, state: 'Maintenance', cancelled: false };
        },
      },
    ],
  };
}
