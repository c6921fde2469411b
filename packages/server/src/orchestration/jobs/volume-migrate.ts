import { StrataError, volumeMachine, type Qos } from '@strata/core';
import type { Queryable } from '../../db/index.js';
import type { JobDefinition, TxStepContext } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import { keepSourceForSnapshots, refuseIfSourceKeptOn, sourceKept } from '../../services/moved-sources.js';
import { applyTransition } from '../../services/transition.js';
import { hostRef, loadHost, loadVm, loadVolume, storageContext, type OrchestrationDeps } from '../deps.js';
import { diskSpecFor } from '../host-disks.js';
import { domainName } from '../naming.js';
import { admitMove } from './volume-migrate-admit.js';
import {
  copyHost,
  copyLive,
  liveSourceOf,
  onPool,
  openOn,
  revokeOn,
  setIoTune,
  type MovePlan,
} from './volume-migrate-steps.js';

export type VolumeMigrateInput = { readonly volumeId: string; readonly poolId: string };

type Made = { readonly backendRef: string };

const transition = (
  deps: OrchestrationDeps,
  ctx: TxStepContext,
  id: string,
  event: 'Migrate' | 'Migrated' | 'Fail',
  set?: Record<string, unknown>,
) =>
  applyTransition(ctx.tx, deps.events, {
    table: 'volumes',
    kind: 'volume',
    machine: volumeMachine,
    id,
    event,
    jobId: ctx.jobId,
    ...(set && { set }),
  });

/**
 * Moves a volume to another pool, any provider to any other: the destination is created with the
 * same size and QoS (admitted on its pool); a running guest's disk is block-copied onto it and
 * pivoted while the guest writes (libvirt's mirror, on the VM's host), a stopped or detached one
 * copied by a KVM host's agent (`qemu-img convert`); the record then names the new pool, and only
 * then are the source's grant revoked and the source deleted. Until `record` the disk is the
 * source's: every undo brings the guest back onto it and deletes the destination.
 */
export function volumeMigrateJob(deps: OrchestrationDeps): JobDefinition<VolumeMigrateInput> {
  return {
    type: JOB_TYPES.volumeMigrate,
    // Cancelled while queued: the volume, marked Migrating when it was queued, is Ready again.
    onCancelled: async (tx, input, jobId) => {
      await readyAgain(deps, tx, input.volumeId, jobId);
    },
    steps: [
      {
        // Holds nothing: its undo makes the volume Ready again whatever step after it fails (plan too).
        name: 'begin',
        transactional: true,
        run: () => Promise.resolve(null),
        compensate: async (ctx, input) => {
          await readyAgain(deps, ctx.tx, input.volumeId, ctx.jobId);
        },
      },
      {
        name: 'plan',
        transactional: true,
        run: async (ctx, input) => {
          const v = await loadVolume(ctx.tx, input.volumeId);
          if (v.poolId === input.poolId)
            throw new StrataError('INVALID_ARGUMENT', {
              field: 'poolId',
              reason: 'the volume is already on that pool',
            });
          await refuseIfSourceKeptOn(ctx.tx, v.id, input.poolId);
          await admitMove(ctx.tx, v, input.poolId);
          let liveHostId: string | null = null;
          if (v.vmId) {
            const vm = await loadVm(ctx.tx, v.vmId);
            if (vm.state === 'Running' && vm.hostId) liveHostId = vm.hostId;
            else if (vm.state !== 'Stopped')
              throw new StrataError('ILLEGAL_TRANSITION', {
                machine: 'vm',
                state: vm.state,
                event: 'MigrateVolume',
              });
          }
          // Marked when queued (a job queued before that change is marked here).
          if (v.state !== 'Migrating') await transition(deps, ctx, v.id, 'Migrate');
          const plan: MovePlan = {
            sourcePoolId: v.poolId,
            sourceRef: v.backendRef,
            destPoolId: input.poolId,
            liveHostId,
            copyHostId: liveHostId ?? (await copyHost(ctx.tx, v.vmId)).id,
            vmId: v.vmId,
          };
          return plan;
        },
      },
      {
        name: 'create-destination',
        // a storage node or host agent restarting answers UNAVAILABLE for a while
        retry: { attempts: 5, delayMs: 5_000 },
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as MovePlan;
          const v = await loadVolume(deps.db, input.volumeId);
          const driver = await deps.drivers.forPool(plan.destPoolId);
          const made = await driver.createVolume(storageContext(ctx), {
            volumeId: v.id,
            sizeBytes: v.sizeBytes,
            qos: v.qos,
            hypervisorSnapshotReserve: await reserveOf(deps.db, v.offeringId),
          });
          // The figures the destination enforces in its backend, read back from it.
          if (driver.capabilities.backendQos.max && !sameBackendQos(made.volume.qos, v.qos))
            throw new StrataError('QOS_NOT_APPLIED', {
              volume: v.id,
              wanted: JSON.stringify(v.qos),
              got: JSON.stringify(made.volume.qos),
            });
          return { backendRef: made.volume.backendRef };
        },
        // Never the volume's own disk: only while the record still names the source.
        compensate: async (ctx, input, _output, prior) => {
          const plan = prior['plan'] as MovePlan;
          const v = await loadVolume(deps.db, input.volumeId);
          if (v.poolId === plan.destPoolId) return;
          await (
            await deps.drivers.forPool(plan.destPoolId)
          ).deleteVolume(storageContext(ctx), { volumeId: v.id });
        },
      },
      {
        name: 'copy',
        // a run again after a crash may meet the first copy still running on the host (CONFLICT)
        retry: { attempts: 5, delayMs: 5_000 },
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as MovePlan;
          const made = prior['create-destination'] as Made;
          const sctx = storageContext(ctx);
          const v = await loadVolume(deps.db, input.volumeId);
          const to = onPool(v, plan.destPoolId, made.backendRef);
          ctx.progress(20, 'copying');
          if (plan.liveHostId) return { live: true, ...(await copyLive(deps, sctx, to, plan.liveHostId)) };
          const host = await loadHost(deps.db, plan.copyHostId);
          const from = await openOn(deps, sctx, v, host);
          const dest = await openOn(deps, sctx, to, host);
          const r = await deps.agent.send(
            host.id,
            'disk.convert',
            { from, to: dest },
            { signal: ctx.signal },
          );
          return { live: false, tookMs: r.tookMs };
        },
        // The guest back on the source (copied back when it had pivoted), its limits as the
        // source wants them; the destination's grant revoked.
        compensate: async (ctx, input, _output, prior) => {
          const plan = prior['plan'] as MovePlan;
          const made = prior['create-destination'] as Made;
          const sctx = storageContext(ctx);
          const v = await loadVolume(deps.db, input.volumeId);
          if (v.poolId === plan.destPoolId) return;
          if (plan.liveHostId) {
            const vm = await loadVm(deps.db, v.vmId ?? '');
            const disk = await diskSpecFor(deps, sctx, v, hostRef(await loadHost(deps.db, plan.liveHostId)));
            // Also when the guest is still on the source: the agent then saves the source in the
            // domain's definition again (a copy it was making had rewritten it).
            const now = await liveSourceOf(deps, v, plan.liveHostId);
            if (now !== undefined)
              await deps.agent.send(
                plan.liveHostId,
                'disk.copy',
                { vm: domainName(vm), disk },
                { signal: ctx.signal },
              );
            await setIoTune(deps, plan.liveHostId, domainName(vm), disk, v.id);
          } else {
            await revokeOn(deps, sctx, v, plan.copyHostId);
          }
          await revokeOn(deps, sctx, onPool(v, plan.destPoolId, made.backendRef), plan.copyHostId);
        },
      },
      {
        name: 'record',
        transactional: true,
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as MovePlan;
          const made = prior['create-destination'] as Made;
          const v = await loadVolume(ctx.tx, input.volumeId);
          // Snapshots whose data is on the source keep it there, hidden, until the last goes.
          const keptFor = await keepSourceForSnapshots(ctx.tx, {
            volumeId: v.id,
            poolId: plan.sourcePoolId,
            backendRef: plan.sourceRef,
            sizeBytes: v.sizeBytes,
            minIops: v.qos?.minIops ?? 0,
            jobId: ctx.jobId,
          });
          await transition(deps, ctx, input.volumeId, 'Migrated', {
            pool_id: plan.destPoolId,
            backend_ref: made.backendRef,
          });
          return { sourceKeptFor: keptFor };
        },
      },
      {
        name: 'release-source',
        // after the record nothing is undone: an agent away for a while is waited for
        retry: { attempts: 6, delayMs: 5_000 },
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as MovePlan;
          const sctx = storageContext(ctx);
          const v = await loadVolume(deps.db, input.volumeId);
          const source = onPool(v, plan.sourcePoolId, plan.sourceRef);
          await revokeOn(deps, sctx, source, plan.copyHostId);
          // An offline copy's host runs no guest of this disk: its grant goes too.
          if (!plan.liveHostId) await revokeOn(deps, sctx, v, plan.copyHostId);
          if (await sourceKept(deps.db, v.id, plan.sourcePoolId))
            return {
              volumeId: v.id,
              poolId: plan.destPoolId,
              fromPoolId: plan.sourcePoolId,
              sourceDeleted: false,
              sourceKept: true,
            };
          const r = await (
            await deps.drivers.forPool(plan.sourcePoolId)
          ).deleteVolume(sctx, { volumeId: v.id });
          return {
            volumeId: v.id,
            poolId: plan.destPoolId,
            fromPoolId: plan.sourcePoolId,
            sourceDeleted: r.deleted,
          };
        },
      },
    ],
  };
}

async function readyAgain(deps: OrchestrationDeps, tx: Queryable, volumeId: string, jobId: string) {
  const row = (await tx.query('SELECT state FROM volumes WHERE id = $1 FOR UPDATE', [volumeId]))[0];
  if (row?.['state'] !== 'Migrating') return;
  await applyTransition(tx, deps.events, {
    table: 'volumes',
    kind: 'volume',
    machine: volumeMachine,
    id: volumeId,
    event: 'Fail',
    jobId,
  });
}

async function reserveOf(q: Queryable, offeringId: string | null): Promise<number> {
  if (!offeringId) return 0;
  const row = (
    await q.query('SELECT hypervisor_snapshot_reserve FROM disk_offerings WHERE id = $1', [offeringId])
  )[0];
  return Number(row?.['hypervisor_snapshot_reserve'] ?? 0);
}

function sameBackendQos(got: Qos | null, wanted: Qos | null): boolean {
  return (
    (got?.maxIops ?? 0) === (wanted?.maxIops ?? 0) &&
    (got?.burstIops ?? 0) === (wanted?.burstIops ?? 0) &&
    (got?.burstSeconds ?? 0) === (wanted?.burstSeconds ?? 0)
  );
}
