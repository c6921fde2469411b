import { StrataError, type Consistency, type StorageContext } from '@strata/core';
import type { AgentPort } from '../orchestration/agent-port.js';
import { holdAroundOverlay, releaseHold } from '../orchestration/hold/index.js';
import { cutConsistency } from './consistency.js';
import { splitDisks, type CutPlan, type CutResult, type CutVolumeRef } from './plan.js';

/** Creates a qcow2 overlay file over a backing file, where the pool is reachable (stopped VMs). */
export interface OverlayFiles {
  createOverlay(overlayPath: string, backingPath: string, signal: AbortSignal): Promise<void>;
}

export interface CutDeps {
  readonly agent: AgentPort;
  readonly files: OverlayFiles;
  /** Current active file of each hypervisor-managed volume (the overlay's backing). */
  readonly activePath: (volumeId: string) => string;
}

interface Part {
  readonly refs: readonly CutVolumeRef[];
  readonly doneAt: number;
  readonly consistency?: Consistency;
}

/**
 * Takes one VM snapshot across every disk of the VM, whatever storage each sits on: each driver
 * with a VM-snapshot hook takes its own volumes (one call per driver), the hypervisor takes the
 * qcow2 files. A running guest is held (frozen, paused, or not at all) only for the one atomic
 * overlay that cuts every disk at the same instant. The hold is always released, even when a part
 * fails; a failed cut is undone (see undoCut) before the error is thrown.
 */
export async function executeCut(deps: CutDeps, plan: CutPlan, ctx: StorageContext): Promise<CutResult> {
  const t0 = performance.now();
  // A running VM is cut only under one atomic overlay: with no host to take it, the parts would
  // each be cut at their own instant while the guest writes, a state no crash could leave.
  if (plan.vmRunning && !plan.hostId)
    throw new StrataError('INTERNAL', { reason: `running VM ${plan.vmName} has no host to cut it on` });
  const labels = {
    vmRunning: plan.vmRunning,
    guestAgent: plan.guestAgent,
    type: plan.type,
    quiesce: plan.quiesce,
    ...(plan.atRest !== undefined && { atRest: plan.atRest }),
  };
  // What the drivers are asked to reach: the cut's own label, before their answers.
  const callerConsistency = cutConsistency({ ...labels, parts: [] });
  const parts: Part[] = [];
  let holdMs = 0;
  try {
    // A running guest is held only around one atomic overlay over every disk, in every mode: the
    // drivers then take their now-still volumes with the guest running, however slow a backend is.
    if (plan.vmRunning) holdMs = await cutUnderOverlay(deps, plan, ctx, parts, callerConsistency);
    else holdMs = await cutStopped(deps, plan, ctx, parts, callerConsistency);
  } catch (e) {
    await undoCut(deps, plan, ctx).catch((undoError: unknown) =>
      ctx.log?.('undo after a failed cut failed too', { error: String(undoError) }),
    );
    throw e;
  }
  const done = parts.map((p) => p.doneAt);
  const consistency = cutConsistency({
    ...labels,
    parts: parts.flatMap((p) => (p.consistency ? [p.consistency] : [])),
  });
  return {
    volumes: parts.flatMap((p) => p.refs),
    consistency,
    holdMs,
    cutSpreadMs: done.length > 1 ? Math.max(...done) - Math.min(...done) : 0,
    totalMs: performance.now() - t0,
  };
}

/**
 * A running VM with several disks, some on network storage, under guest quiesce: the freeze goes
 * through the agent, whose detached watchdog thaws the guest at the deadline whatever hangs, around
 * one atomic overlay. On qcow2 files alone (or one disk) libvirt's own `--quiesce` freezes, cuts
 * and thaws in one operation, as plain virsh does: two fewer agent round trips inside the hold.
 */
function guestAcrossDisks(plan: CutPlan): boolean {
  return (
    plan.quiesce === 'guest' &&
    plan.type === 'Disk' &&
    plan.disks.length > 1 &&
    splitDisks(plan.disks).groups.length > 0
  );
}

/** A stopped VM: nothing writes, so every part runs in parallel with no hold. */
async function cutStopped(
  deps: CutDeps,
  plan: CutPlan,
  ctx: StorageContext,
  parts: Part[],
  callerConsistency: Consistency,
): Promise<number> {
  const { groups, hypervisorDisks } = splitDisks(plan.disks);
  const work: Array<Promise<void>> = groups.map(async (g) => {
    const r = await g.driver.takeVmSnapshot(ctx, {
      vmSnapshot: plan.snapshot,
      volumeIds: g.disks.map((d) => d.volumeId),
      callerConsistency,
    });
    parts.push({
      refs: r.volumes.map((v) => ({
        volumeId: v.volumeId,
        snapshotRef: v.snapshotRef,
        by: 'storage' as const,
      })),
      doneAt: performance.now(),
      consistency: r.consistency,
    });
  });
  if (hypervisorDisks.length > 0) work.push(overlayFiles(deps, hypervisorDisks, ctx, parts));
  const settled = await Promise.allSettled(work);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return 0;
}

/** Puts a new overlay over each file disk of a stopped VM; its old file is this snapshot's point in time. */
async function overlayFiles(
  deps: CutDeps,
  disks: CutPlan['disks'],
  ctx: StorageContext,
  parts: Part[],
): Promise<void> {
  const refs = disks.map((d) => ({
    volumeId: d.volumeId,
    snapshotRef: deps.activePath(d.volumeId),
    by: 'hypervisor' as const,
  }));
  for (const [i, d] of disks.entries()) {
    if (!d.overlayPath)
      throw new StrataError('INTERNAL', { reason: `no overlay path planned for ${d.target}` });
    await deps.files.createOverlay(d.overlayPath, refs[i]!.snapshotRef, ctx.signal);
  }
  parts.push({ refs, doneAt: performance.now() });
}

/**
 * One atomic overlay over every disk (the guest is held only for that, briefly frozen when it has
 * an agent, see overlayAllDisks), then the drivers snapshot their now-still volumes with no hold.
 * qcow2 disks keep their new overlay; network disks stay on their transient overlay until
 * commitBack, after the snapshot is recorded.
 */
async function cutUnderOverlay(
  deps: CutDeps,
  plan: CutPlan,
  ctx: StorageContext,
  parts: Part[],
  callerConsistency: Consistency,
): Promise<number> {
  const { groups, hypervisorDisks } = splitDisks(plan.disks);
  const networkDisks = groups.flatMap((g) => g.disks);
  const transient = plan.transientOverlays ?? {};
  const overlays = [
    ...hypervisorDisks.map((d) => ({ target: d.target, overlayPath: d.overlayPath! })),
    ...networkDisks.map((d) => {
      const overlayPath = transient[d.target];
      if (!overlayPath)
        throw new StrataError('INTERNAL', { reason: `no transient overlay planned for ${d.target}` });
      return { target: d.target, overlayPath };
    }),
  ];
  const fileRefs = hypervisorDisks.map((d) => ({
    volumeId: d.volumeId,
    snapshotRef: deps.activePath(d.volumeId),
    by: 'hypervisor' as const,
  }));
  const holdMs = await overlayAllDisks(deps, plan, overlays, ctx);
  const cutAt = performance.now();
  parts.push({ refs: fileRefs, doneAt: cutAt });
  const results = await Promise.all(
    groups.map((g) =>
      g.driver.takeVmSnapshot(ctx, {
        vmSnapshot: plan.snapshot,
        volumeIds: g.disks.map((d) => d.volumeId),
        callerConsistency,
      }),
    ),
  );
  // Every network disk was cut by the atomic overlay: its part's point in time is cutAt.
  for (const r of results) {
    parts.push({
      refs: r.volumes.map((v) => ({
        volumeId: v.volumeId,
        snapshotRef: v.snapshotRef,
        by: 'storage' as const,
      })),
      doneAt: cutAt,
      consistency: r.consistency,
    });
  }
  // The transient overlays are committed back after the record (commitBack): the snapshot is
  // Ready as soon as every part exists.
  return holdMs;
}

/**
 * Merges the guest's writes since the cut back into each network disk and pivots it off its
 * transient overlay, safely more than once (also after a crash): only disks the domain still runs
 * on one of this cut's transient overlays are committed, and a commit that fails while the disk
 * did leave its overlay (an earlier attempt's commit finished meanwhile) counts as done. Answers
 * the targets it committed.
 */
export async function commitBack(deps: CutDeps, plan: CutPlan, ctx: StorageContext): Promise<string[]> {
  const transient = Object.entries(plan.transientOverlays ?? {});
  if (!plan.vmRunning || !plan.hostId || transient.length === 0) return [];
  const hostId = plan.hostId;
  const onOverlay = async (): Promise<string[]> => {
    const state = await deps.agent.send(hostId, 'vm.state', { vm: plan.vmName }, { signal: ctx.signal });
    const source = new Map(state.disks.map((d) => [d.target, d.source]));
    return transient.filter(([target, path]) => source.get(target) === path).map(([target]) => target);
  };
  const targets = await onOverlay();
  const settled = await Promise.allSettled(
    targets.map((target) =>
      deps.agent.send(hostId, 'snapshot.blockCommit', { vm: plan.vmName, target }, { signal: ctx.signal }),
    ),
  );
  if (settled.some((r) => r.status === 'rejected')) {
    const left = await onOverlay();
    const failed = settled.find(
      (r, i): r is PromiseRejectedResult => r.status === 'rejected' && left.includes(targets[i]!),
    );
    if (failed) throw failed.reason;
  }
  return targets;
}

/**
 * The atomic overlay itself, answering how long the guest was held (frozen or paused; an overlay
 * with no hold holds nothing, 0):
 * - DiskAndMemory: libvirt saves memory with the guest paused for the operation;
 * - pause: the vCPUs stop for the overlay alone, on the host in one agent command (snapshot.heldCut;
 *   the agent's watchdog resumes them at the deadline whatever crashes);
 * - none: the overlay with no hold, still one point in time for every disk;
 * - guest over several disks: a freeze around the overlay, the same way (libvirt's own quiesce off);
 * - otherwise (hypervisor, guest on one disk): libvirt quiesces inside the operation when the
 *   guest has an agent, as plain virsh does.
 */
async function overlayAllDisks(
  deps: CutDeps,
  plan: CutPlan,
  overlays: ReadonlyArray<{ target: string; overlayPath: string }>,
  ctx: StorageContext,
): Promise<number> {
  const hostId = plan.hostId!;
  const diskOnly = (quiesce: boolean) =>
    deps.agent.send(
      hostId,
      'snapshot.diskOnly',
      // libvirt's own freeze is guarded on the host by the deadline's watchdog, armed first
      { vm: plan.vmName, disks: overlays, quiesce, ...(quiesce && { deadlineMs: plan.holdDeadlineMs }) },
      { signal: ctx.signal },
    );
  if (plan.type === 'DiskAndMemory') {
    const taken = await deps.agent.send(
      hostId,
      'snapshot.memory',
      { vm: plan.vmName, memoryPath: plan.memoryPath!, disks: overlays },
      { signal: ctx.signal },
    );
    // libvirt pauses the guest inside its call alone (the XML and directories come before it)
    return taken.snapshotMs;
  }
  // none (and hypervisor without an agent): the overlay with no hold; QEMU's transaction only
  // drains the disks' queues for it
  if (plan.quiesce === 'none' || (plan.quiesce === 'hypervisor' && !plan.guestAgent)) {
    await diskOnly(false);
    return 0;
  }
  const hold = plan.quiesce === 'pause' ? 'pause' : guestAcrossDisks(plan) ? 'guest' : null;
  // libvirt's --quiesce freezes and thaws inside its call: the hold lies within it
  if (!hold) return (await diskOnly(plan.guestAgent)).snapshotMs;
  // The agent holds, cuts and releases on the host: no round trip to this server inside the hold.
  return holdAroundOverlay(
    deps.agent,
    { hostId, vm: plan.vmName, hold, deadlineMs: plan.holdDeadlineMs, disks: overlays },
    ctx.signal,
  );
}

/**
 * Undoes whatever part of a cut exists, safely more than once (also after a crash): thaws or
 * resumes the guest, deletes the drivers' parts, and commits back any overlay still active.
 */
export async function undoCut(deps: CutDeps, plan: CutPlan, ctx: StorageContext): Promise<void> {
  const { groups } = splitDisks(plan.disks);
  if (plan.vmRunning && plan.hostId) {
    const hostId = plan.hostId;
    if (plan.quiesce === 'guest' || plan.quiesce === 'pause')
      await releaseHold(deps.agent, hostId, plan.vmName, plan.quiesce);
    const state = await deps.agent.send(hostId, 'vm.state', { vm: plan.vmName });
    const overlayByTarget = new Map<string, string>();
    for (const d of plan.disks) if (d.overlayPath) overlayByTarget.set(d.target, d.overlayPath);
    for (const [t, p] of Object.entries(plan.transientOverlays ?? {})) overlayByTarget.set(t, p);
    for (const disk of state.disks) {
      if (overlayByTarget.get(disk.target) === disk.source) {
        await deps.agent.send(hostId, 'snapshot.blockCommit', { vm: plan.vmName, target: disk.target });
      }
    }
  }
  for (const g of groups) {
    await g.driver.deleteVmSnapshot(ctx, {
      vmSnapshot: plan.snapshot,
      volumeIds: g.disks.map((d) => d.volumeId),
      callerConsistency: 'crash',
    });
  }
}
