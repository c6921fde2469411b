import { StrataError, isStrataError, type DiskSpec, type Vm } from '@strata/core';
import type { Queryable } from '../../db/index.js';
import type { JobDefinition, JobEngine, Json } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import { hostRef, loadHost, loadVm, storageContext, vmVolumes, type OrchestrationDeps } from '../deps.js';
import { diskSpecFor } from '../host-disks.js';
import { domainName } from '../naming.js';
import { chooseHost } from '../../services/placement/choose-host.js';
import { vmTransition } from '../../vmsnapshots/shared.js';
import { revokeAll } from '../host-leave.js';
import { queueRevokeSource } from './vm-revoke-source.js';
import { hostLoads, neededAdaptors, placementPolicy } from '../../services/placement/place-vm.js';

/** `hostId`: the destination an admin chose; else placement chooses among the other hosts. */
export type MigrateInput = { readonly vmId: string; readonly hostId?: string };

type Plan = { readonly source: string; readonly dest: string };

/** The domain's state on one host; null when that host has no such domain. */
async function stateOn(deps: OrchestrationDeps, hostId: string, vm: string, signal: AbortSignal) {
  try {
    return (await deps.agent.send(hostId, 'vm.state', { vm }, { signal })).state;
  } catch (e) {
    if (isStrataError(e, 'VM_NOT_FOUND')) return null;
    throw e;
  }
}

/**
 * Where a VM's domain runs now: the source, the destination, or neither. The destination is asked
 * first, one domain's state: libvirt resumes the incoming guest only once the source's CPUs have
 * stopped for good (and `--undefinesource` then removes it there), so a guest running on the
 * destination runs nowhere else and the source is not asked. That also lets an undo after the
 * move proceed while the source's agent is away. `destState` is the destination's domain state.
 */
async function whereRuns(deps: OrchestrationDeps, vm: Vm, plan: Plan, signal: AbortSignal) {
  const destState = await stateOn(deps, plan.dest, domainName(vm), signal);
  if (destState === 'running') return { source: false, dest: true, destState };
  const source = (await stateOn(deps, plan.source, domainName(vm), signal)) === 'running';
  return { source, dest: false, destState };
}

/** The destination among the hosts other than the source: placement's rules, plus taking migrations. */
async function chooseDestination(tx: Queryable, vm: Vm, pinned: string | undefined): Promise<string> {
  const loads = (await hostLoads(tx, vm.id)).filter((h) => h.id !== vm.hostId);
  if (pinned && !loads.some((h) => h.id === pinned))
    throw new StrataError('INVALID_ARGUMENT', {
      field: 'hostId',
      reason: pinned === vm.hostId ? 'the VM already runs there' : `no host ${pinned}`,
    });
  const needs = {
    cpus: vm.cpus,
    memoryBytes: vm.memoryBytes,
    adaptors: await neededAdaptors(tx, vm.id),
    migration: true,
  };
  const placed = chooseHost(loads, needs, placementPolicy(), pinned ? { pinned } : {});
  if (!placed.host) {
    const reasons =
      placed.refusals.map((r) => `${r.host}: ${r.reason}`).join('; ') || 'there is no other host';
    throw new StrataError('NO_HOST_AVAILABLE', { vm: vm.id, reasons });
  }
  return placed.host.id;
}

/** A file disk on a pool every host mounts (cluster or zone scope): libvirt must be told it is shared. */
async function onSharedFiles(q: Queryable, vmId: string): Promise<boolean> {
  const rows = await q.query(
    `SELECT 1 FROM volumes v JOIN storage_pools p ON p.id = v.pool_id
      WHERE v.vm_id = $1 AND v.state <> 'Destroyed' AND p.provider = 'qcow2' AND p.scope <> 'host' LIMIT 1`,
    [vmId],
  );
  return rows.length > 0;
}

/**
 * Live migration of a running VM with managed storage, each step journaled with its undo: choose
 * the destination; grant it every disk (tgt ACL for its initiator, its cephx user, the secrets in
 * its libvirt); migrate with a definition whose disks open as the destination; confirm the guest
 * runs there (and so nowhere else); record the new host, and in the same transaction queue the
 * revoke of the source (vm.revoke-source: off the path the caller waits for; a backend that fails
 * it leaves a grant the orphan collector revokes, never a database that names the wrong host). A
 * failure leaves the VM running on exactly one host with its disks reachable, and the other
 * host's grants revoked.
 * Runs under the VM's lock, so never beside a snapshot or its commit-back.
 */
export function vmMigrateJob(deps: OrchestrationDeps, engine: JobEngine): JobDefinition<MigrateInput> {
  return {
    type: JOB_TYPES.vmMigrate,
    steps: [
      {
        name: 'plan',
        transactional: true,
        run: async (ctx, input) => {
          const vm = await loadVm(ctx.tx, input.vmId);
          if (vm.state !== 'Running' || !vm.hostId)
            throw new StrataError('ILLEGAL_TRANSITION', { machine: 'vm', event: 'Migrate', state: vm.state });
          await ctx.tx.query('SELECT id FROM hosts ORDER BY id FOR UPDATE');
          const plan: Plan = { source: vm.hostId, dest: await chooseDestination(ctx.tx, vm, input.hostId) };
          // Migrating: a reconnecting host's reconciler leaves the VM to this job (its domain
          // may be on either host, or on neither for an instant)
          await vmTransition(deps, ctx.tx, ctx, vm, 'Migrate');
          return plan;
        },
        // Still Migrating here, grant-destination never started (its undo records where the
        // guest runs): nothing moved, the guest runs on the source. No agent is asked inside
        // this transaction.
        compensate: async (ctx, input) => {
          const vm = await loadVm(ctx.tx, input.vmId);
          if (vm.state === 'Migrating') await vmTransition(deps, ctx.tx, ctx, vm, 'Fail');
        },
      },
      {
        name: 'grant-destination',
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as Plan;
          const dest = hostRef(await loadHost(deps.db, plan.dest));
          const sctx = storageContext(ctx);
          // side by side (RBD's cephx caps take mon round trips; a tgt ACL is quick)
          const volumes = await vmVolumes(deps.db, input.vmId);
          const disks: DiskSpec[] = await Promise.all(volumes.map((v) => diskSpecFor(deps, sctx, v, dest)));
          return { disks: disks.filter((d) => d.source.kind !== 'file') } as unknown as Json;
        },
        // Only the host that runs the guest keeps its grants: the destination's go when the guest
        // stayed; the source's when it moved and a later step failed (confirm, with its agents
        // away), since the record that queues its revoke never ran.
        compensate: async (ctx, input, _output, prior) => {
          const plan = prior['plan'] as Plan;
          const vm = await loadVm(deps.db, input.vmId);
          const at = await whereRuns(deps, vm, plan, ctx.signal);
          const volumes = await vmVolumes(deps.db, input.vmId);
          if (!at.dest) await revokeAll(deps, ctx, volumes, plan.dest);
          else if (!at.source) await revokeAll(deps, ctx, volumes, plan.source);
          // The VM recorded where its guest runs now (the source, or the destination when it went
          // there after all), or in Error when it runs on neither: the agents were asked above,
          // outside the transaction.
          await deps.db.transaction(async (tx) => {
            const now = await loadVm(tx, input.vmId);
            if (now.state !== 'Migrating') return;
            if (!at.source && !at.dest) await vmTransition(deps, tx, ctx, now, 'Lost');
            else await vmTransition(deps, tx, ctx, now, 'Fail', at.source ? {} : { host_id: plan.dest });
          });
        },
      },
      {
        name: 'migrate',
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as Plan;
          const { disks } = prior['grant-destination'] as unknown as { disks: DiskSpec[] };
          const vm = await loadVm(deps.db, input.vmId);
          // Run again after a crash: the guest may have moved already (running on the destination
          // means it runs nowhere else). Else a definition the VM left there when it last stopped
          // would refuse the incoming domain: it goes.
          const there = await stateOn(deps, plan.dest, domainName(vm), ctx.signal);
          if (there === 'running') return { moved: 'before' };
          if (there !== null && there !== 'paused')
            await deps.agent.send(plan.dest, 'vm.destroy', { vm: domainName(vm) }, { signal: ctx.signal });
          const dest = await loadHost(deps.db, plan.dest);
          const facts = (
            await deps.db.query(`SELECT facts->'migration' AS m FROM hosts WHERE id = $1`, [dest.id])
          )[0]?.['m'] as { uri?: string; dataUri?: string } | null | undefined;
          if (!facts?.uri)
            throw new StrataError('NO_HOST_AVAILABLE', {
              vm: vm.id,
              reasons: `${dest.name}: it takes no live migrations`,
            });
          const r = await deps.agent.send(
            plan.source,
            'vm.migrate',
            {
              vm: domainName(vm),
              destUri: facts.uri,
              ...(facts.dataUri && { migrateUri: facts.dataUri }),
              unsafe: await onSharedFiles(deps.db, vm.id),
              disks,
            },
            { signal: ctx.signal },
          );
          return { moved: 'now', tookMs: r.tookMs };
        },
      },
      {
        name: 'confirm',
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as Plan;
          const at = await whereRuns(deps, await loadVm(deps.db, input.vmId), plan, ctx.signal);
          if (!at.dest)
            throw new StrataError('INTERNAL', {
              reason: `after the migration the guest runs on ${at.source ? 'the source' : 'neither host'}, not on the destination`,
            });
          return null;
        },
      },
      {
        name: 'record',
        transactional: true,
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as Plan;
          const vm = await loadVm(ctx.tx, input.vmId);
          await vmTransition(deps, ctx.tx, ctx, vm, 'Migrated', { host_id: plan.dest });
          await deps.events.record(
            {
              accountId: vm.accountId,
              type: 'vm.Migrated',
              resourceType: 'vm',
              resourceId: vm.id,
              jobId: ctx.jobId,
              description: `${plan.source} -> ${plan.dest}`,
            },
            ctx.tx,
          );
          const revokeJobId = await queueRevokeSource(engine, ctx.tx, ctx.jobId, vm, plan.source);
          return { vmId: vm.id, hostId: plan.dest, fromHostId: plan.source, revokeJobId };
        },
      },
    ],
  };
}
