import { StrataError, vmMachine, type Vm, type VmSpec } from '@strata/core';
import type { Queryable } from '../../db/index.js';
import type { JobDefinition, StepContext } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import { applyTransition } from '../../services/transition.js';
import {
  hostRef,
  loadHost,
  loadVm,
  pickHost,
  storageContext,
  vmVolumes,
  type OrchestrationDeps,
} from '../deps.js';
import { placeVm } from '../../services/placement/place-vm.js';
import { diskSpecFor } from '../host-disks.js';
import { leaveHost } from '../host-leave.js';
import { domainName } from '../naming.js';
import { reconnectGraceMs } from '../agent-reconnect.js';
import { lostHostOf } from '../../services/placement/lost-host.js';
import { FENCEABLE, fenceSteps } from './host-fence.js';

/** `hostId`: the host an admin chose; else placement chooses (placement/choose-host.ts). */
type StartInput = { readonly vmId: string; readonly hostId?: string };
type StopInput = { readonly vmId: string; readonly forced?: boolean };

const transition = (
  deps: OrchestrationDeps,
  tx: Queryable,
  ctx: StepContext,
  id: string,
  event: Parameters<typeof vmMachine.next>[1],
  set?: Record<string, unknown>,
) =>
  applyTransition(tx, deps.events, {
    table: 'vms',
    kind: 'vm',
    machine: vmMachine,
    id,
    event,
    jobId: ctx.jobId,
    ...(set && { set }),
  });

/** Direct kernel boot, when the VM's template has a kernel (tiny guests without a boot loader). */
async function kernelOf(q: Queryable, vm: Vm): Promise<VmSpec['kernel']> {
  if (!vm.templateId) return undefined;
  const t = (
    await q.query('SELECT kernel_path, initrd_path, cmdline FROM templates WHERE id = $1', [vm.templateId])
  )[0];
  const path = t?.['kernel_path'];
  if (typeof path !== 'string' || path === '') return undefined;
  return {
    path,
    ...(typeof t?.['initrd_path'] === 'string' && { initrd: t['initrd_path'] }),
    ...(typeof t?.['cmdline'] === 'string' && { cmdline: t['cmdline'] }),
  };
}

/**
 * Builds the VM's definition from its volumes (each granted to the host and connected) and
 * starts it on a host: the one placement chose, else the one it last ran on. Every disk carries
 * its volume id as serial.
 */
export async function defineAndStart(
  deps: OrchestrationDeps,
  ctx: StepContext,
  vmId: string,
  hostId?: string,
  /** The host the VM ran on before this start chose another: what it left there goes. */
  leftHostId?: string | null,
): Promise<{ hostId: string }> {
  const vm = await loadVm(deps.db, vmId);
  const host = hostId ? await loadHost(deps.db, hostId) : await pickHost(deps.db, vm);
  const volumes = await vmVolumes(deps.db, vm.id);
  if (!volumes.some((v) => v.type === 'ROOT')) {
    throw new StrataError('TEMPLATE_NOT_BOOTABLE', { vm: vm.id, reason: 'it has no ROOT volume' });
  }
  const sctx = storageContext(ctx);
  const disks = await Promise.all(volumes.map((v) => diskSpecFor(deps, sctx, v, hostRef(host))));
  const kernel = await kernelOf(deps.db, vm);
  const spec: VmSpec = {
    name: domainName(vm),
    cpus: vm.cpus,
    memoryBytes: vm.memoryBytes,
    disks,
    ...(kernel && { kernel }),
  };
  // A stopped VM keeps its old definition on the host: it is rebuilt from the volumes as they are
  // now (a revert moves qcow2 disks to new layers). A domain that still runs is left alone.
  const existing = await deps.agent.send(host.id, 'vm.list', {}, { signal: ctx.signal });
  const old = existing.domains.find((d) => d.name === spec.name);
  if (old && old.state === 'running') return { hostId: host.id };
  if (old) await deps.agent.send(host.id, 'vm.destroy', { vm: spec.name }, { signal: ctx.signal });
  // A lost or fenced host answers nothing (the send would wait out the reconnect grace): its fence
  // revoked its grants, and its definition goes when it is readmitted (agents/fenced-readmit.ts).
  if (leftHostId && leftHostId !== host.id && !FENCEABLE.has((await loadHost(deps.db, leftHostId)).state))
    await leaveHost(deps, ctx, vm.id, leftHostId, spec.name);
  await deps.agent.send(host.id, 'vm.define', spec, { signal: ctx.signal });
  await deps.agent.send(host.id, 'vm.start', { vm: spec.name }, { signal: ctx.signal, timeoutMs: 120_000 });
  return { hostId: host.id };
}

export function vmStartJob(deps: OrchestrationDeps): JobDefinition<StartInput> {
  return {
    type: JOB_TYPES.vmStart,
    steps: [
      {
        // Issue 20: a VM whose host is lost starts elsewhere only after that host is fenced from
        // its disks. The decision is journaled; the fence steps below do nothing when it is null.
        name: 'decide-fence',
        readOnly: true,
        run: async (_ctx, input) => ({ hostId: await lostHostOf(deps.db, input.vmId, reconnectGraceMs()) }),
      },
      ...fenceSteps<StartInput>(
        deps,
        (_input, prior) => (prior['decide-fence'] as { hostId: string | null } | undefined)?.hostId ?? null,
        'skip',
      ),
      {
        // The host is chosen and recorded with the state change and this step's record: a start
        // that runs again after a crash starts the VM on the same host, never on a second one.
        name: 'mark-starting',
        transactional: true,
        run: async (ctx, input) => {
          const vm = await loadVm(ctx.tx, input.vmId);
          // Until a clean shutdown says otherwise, its disks hold only what a power cut would leave.
          await transition(deps, ctx.tx, ctx, input.vmId, 'Start', { stop_consistency: 'crash' });
          const host = await placeVm(ctx.tx, vm, input.hostId ? { pinned: input.hostId } : {});
          return { hostId: host.id, leftHostId: vm.hostId };
        },
        compensate: async (ctx, input) => {
          await transition(deps, ctx.tx, ctx, input.vmId, 'Fail');
        },
      },
      {
        name: 'define-and-start',
        run: async (ctx, input, prior) => {
          const marked = prior['mark-starting'] as { hostId?: string; leftHostId?: string | null } | null;
          return defineAndStart(deps, ctx, input.vmId, marked?.hostId, marked?.leftHostId);
        },
        compensate: async (ctx, input) => {
          const vm = await loadVm(deps.db, input.vmId);
          const host = await pickHost(deps.db, vm).catch(() => null);
          if (host)
            await deps.agent
              .send(host.id, 'vm.stop', { vm: domainName(vm), timeoutMs: 0 })
              .catch(() => undefined);
        },
      },
      {
        name: 'mark-running',
        transactional: true,
        run: async (ctx, input, prior) => {
          const { hostId } = prior['define-and-start'] as { hostId: string };
          await transition(deps, ctx.tx, ctx, input.vmId, 'Started', { host_id: hostId });
          return { vmId: input.vmId, hostId };
        },
      },
    ],
  };
}

/** Stops a VM: graceful shutdown for a while, then forced (or forced at once when asked). */
export async function stopOnHost(
  deps: OrchestrationDeps,
  ctx: StepContext,
  vm: Vm,
  forced: boolean,
): Promise<{ forced: boolean }> {
  if (!vm.hostId) return { forced: false };
  const r = await deps.agent.send(
    vm.hostId,
    'vm.stop',
    { vm: domainName(vm), timeoutMs: forced ? 0 : 30_000 },
    { signal: ctx.signal, timeoutMs: 60_000 },
  );
  return { forced: r.forced };
}

export function vmStopJob(deps: OrchestrationDeps): JobDefinition<StopInput> {
  return {
    type: JOB_TYPES.vmStop,
    steps: [
      {
        name: 'mark-stopping',
        transactional: true,
        run: async (ctx, input) => {
          await transition(deps, ctx.tx, ctx, input.vmId, 'Stop');
          return null;
        },
        // The stop failed (an unreachable agent): the domain still runs, so the VM goes back to
        // Running. Nothing else moves a VM out of Stopping; a domain that did go down after all is
        // corrected by the reconciler when its agent reconnects.
        compensate: async (ctx, input) => {
          const vm = await loadVm(ctx.tx, input.vmId);
          if (vm.state === 'Stopping') await transition(deps, ctx.tx, ctx, input.vmId, 'Fail');
        },
      },
      {
        name: 'stop-on-host',
        run: async (ctx, input) =>
          stopOnHost(deps, ctx, await loadVm(deps.db, input.vmId), Boolean(input.forced)),
      },
      {
        name: 'mark-stopped',
        transactional: true,
        run: async (ctx, input, prior) => {
          // Only a shutdown the guest completed itself leaves its filesystems clean at rest.
          const { forced } = prior['stop-on-host'] as { forced: boolean };
          const clean = !forced && input.forced !== true;
          await transition(deps, ctx.tx, ctx, input.vmId, 'Stopped', {
            stop_consistency: clean ? 'filesystem' : 'crash',
          });
          return { vmId: input.vmId };
        },
      },
    ],
  };
}
