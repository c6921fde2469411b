import { StrataError, consistencyOf, type Consistency, type StorageContext } from '@strata/core';
import type { AgentPort } from '../orchestration/agent-port.js';
import { acquireHold } from './hold.js';
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

const WEAKEST: Consistency[] = ['crash', 'filesystem', 'application'];
const weaker = (a: Consistency, b: Consistency): Consistency =>
  WEAKEST.indexOf(a) <= WEAKEST.indexOf(b) ? a : b;

/**
 * Takes one VM snapshot across every disk of the VM, whatever storage each sits on: each driver
 * with a VM-snapshot hook takes its own volumes (one call per driver), the hypervisor takes the
 * qcow2 files, all under one hold. The hold is always released, even when a part fails; a failed
 * cut is undone (see undoCut) before the error is thrown.
 */
export async function executeCut(deps: CutDeps, plan: CutPlan, ctx: StorageContext): Promise<CutResult> {
  const t0 = performance.now();
  const vm = { state: plan.vmRunning ? 'Running' : 'Stopped', guestAgent: plan.guestAgent };
  // libvirt cannot quiesce a snapshot that saves memory: its disks on their own are crash-consistent
  // (the instant the memory was saved). Reverted with its memory, the guest resumes exactly.
  const baseConsistency =
    plan.type === 'DiskAndMemory' && plan.vmRunning ? 'crash' : consistencyOf(plan.quiesce, vm);
  const parts: Part[] = [];
  let holdMs = 0;
  try {
    if (
      plan.vmRunning &&
      (plan.quiesce === 'hypervisor' ||
        plan.type === 'DiskAndMemory' ||
        guestQuiescedFilesOnly(plan) ||
        guestAcrossDisks(plan))
    ) {
      holdMs = await cutUnderOverlay(deps, plan, ctx, parts, baseConsistency);
    } else {
      holdMs = await cutUnderHold(deps, plan, ctx, parts, baseConsistency);
    }
  } catch (e) {
    await undoCut(deps, plan, ctx).catch((undoError: unknown) =>
      ctx.log?.('undo after a failed cut failed too', { error: String(undoError) }),
    );
    throw e;
  }
  const done = parts.map((p) => p.doneAt);
  const consistency = parts.reduce((c, p) => (p.consistency ? weaker(c, p.consistency) : c), baseConsistency);
  return {
    volumes: parts.flatMap((p) => p.refs),
    consistency,
    holdMs,
    cutSpreadMs: done.length > 1 ? Math.max(...done) - Math.min(...done) : 0,
    totalMs: performance.now() - t0,
  };
}

/**
 * A running VM whose every disk is a qcow2 file, quiesced by the guest: the freeze, the atomic
 * overlay and the thaw are one libvirt operation (`--quiesce`), as plain virsh does it. Freezing
 * through the agent first would keep the guest frozen across two more agent calls and their
 * virsh processes for the same filesystem-consistent cut.
 */
function guestQuiescedFilesOnly(plan: CutPlan): boolean {
  return plan.quiesce === 'guest' && plan.guestAgent && splitDisks(plan.disks).groups.length === 0;
}

/**
 * A running VM with several disks under guest quiesce. A freeze stops filesystem writes only: a
 * guest writing to raw devices would go on writing while each backend took its part in turn, and a
 * later write could land on one disk before its cut while an earlier one missed another's. So the
 * freeze is held only around one atomic overlay over every disk, which cuts them all at one
 * instant; the drivers then take the now-still parents with the guest running.
 */
function guestAcrossDisks(plan: CutPlan): boolean {
  return plan.quiesce === 'guest' && plan.type === 'Disk' && plan.disks.length > 1;
}

/** guest on one disk, pause, none (and stopped VMs): every part runs in parallel inside one hold. */
async function cutUnderHold(
  deps: CutDeps,
  plan: CutPlan,
  ctx: StorageContext,
  parts: Part[],
  callerConsistency: Consistency,
): Promise<number> {
  const { groups, hypervisorDisks } = splitDisks(plan.disks);
  const hold =
    plan.vmRunning && plan.hostId
      ? await acquireHold(
          deps.agent,
          { hostId: plan.hostId, vm: plan.vmName },
          plan.quiesce,
          plan.holdDeadlineMs,
          ctx.signal,
        )
      : { release: () => Promise.resolve(0) };
  let holdMs = 0;
  try {
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
    if (hypervisorDisks.length > 0) work.push(overlayFiles(deps, plan, hypervisorDisks, ctx, parts));
    const settled = await Promise.allSettled(work);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    holdMs = await hold.release();
  }
  if (plan.vmRunning && plan.quiesce !== 'none') throwIfHoldExpired(plan, holdMs);
  return holdMs;
}

/**
 * Past the deadline the agent released the guest on its own: parts cut after that instant are not
 * consistent with the others, whatever each reports.
 */
function throwIfHoldExpired(plan: CutPlan, holdMs: number): void {
  if (holdMs < plan.holdDeadlineMs) return;
  throw new StrataError('HOLD_EXPIRED', {
    vm: plan.vmName,
    deadlineMs: plan.holdDeadlineMs,
    holdMs: Math.round(holdMs),
  });
}

/** Puts a new overlay over each hypervisor-managed disk; its old file is this snapshot's point in time. */
async function overlayFiles(
  deps: CutDeps,
  plan: CutPlan,
  disks: CutPlan['disks'],
  ctx: StorageContext,
  parts: Part[],
): Promise<void> {
  const refs = disks.map((d) => ({
    volumeId: d.volumeId,
    snapshotRef: deps.activePath(d.volumeId),
    by: 'hypervisor' as const,
  }));
  const overlays = disks.map((d) => {
    if (!d.overlayPath)
      throw new StrataError('INTERNAL', { reason: `no overlay path planned for ${d.target}` });
    return { target: d.target, overlayPath: d.overlayPath };
  });
  if (plan.vmRunning && plan.hostId) {
    await deps.agent.send(
      plan.hostId,
      'snapshot.diskOnly',
      { vm: plan.vmName, disks: overlays, quiesce: false },
      { signal: ctx.signal },
    );
  } else {
    for (const [i, o] of overlays.entries())
      await deps.files.createOverlay(o.overlayPath, refs[i]!.snapshotRef, ctx.signal);
  }
  parts.push({ refs, doneAt: performance.now() });
}

/**
 * The seeds' flow: one atomic overlay over every disk (the guest is held only for that, briefly
 * frozen when it has an agent, see overlayAllDisks), the drivers snapshot their now-still volumes with no hold, and the
 * transient overlays over network disks are committed back. qcow2 disks keep their new overlay.
 */
async function cutUnderOverlay(
  deps: CutDeps,
  plan: CutPlan,
  ctx: StorageContext,
  parts: Part[],
  callerConsistency: Consistency,
): Promise<number> {
  const hostId = plan.hostId!;
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
  await Promise.all(
    networkDisks.map((d) =>
      deps.agent.send(
        hostId,
        'snapshot.blockCommit',
        { vm: plan.vmName, target: d.target },
        { signal: ctx.signal },
      ),
    ),
  );
  return holdMs;
}

/**
 * The atomic overlay itself, answering how long the guest was held. Guest quiesce over several
 * disks freezes through the agent (a deadline it enforces on its own, whatever crashes) with
 * libvirt's own quiesce off; otherwise libvirt quiesces inside the operation when the guest has
 * an agent (hypervisor mode, files only), or saves memory with the guest paused.
 */
async function overlayAllDisks(
  deps: CutDeps,
  plan: CutPlan,
  overlays: ReadonlyArray<{ target: string; overlayPath: string }>,
  ctx: StorageContext,
): Promise<number> {
  const hostId = plan.hostId!;
  if (plan.type === 'DiskAndMemory') {
    const taken = await deps.agent.send(
      hostId,
      'snapshot.memory',
      { vm: plan.vmName, memoryPath: plan.memoryPath!, disks: overlays },
      { signal: ctx.signal },
    );
    return taken.tookMs;
  }
  if (!guestAcrossDisks(plan) || guestQuiescedFilesOnly(plan)) {
    const taken = await deps.agent.send(
      hostId,
      'snapshot.diskOnly',
      { vm: plan.vmName, disks: overlays, quiesce: plan.guestAgent },
      { signal: ctx.signal },
    );
    return taken.tookMs;
  }
  const hold = await acquireHold(
    deps.agent,
    { hostId, vm: plan.vmName },
    'guest',
    plan.holdDeadlineMs,
    ctx.signal,
  );
  let holdMs = 0;
  try {
    await deps.agent.send(
      hostId,
      'snapshot.diskOnly',
      { vm: plan.vmName, disks: overlays, quiesce: false },
      { signal: ctx.signal },
    );
  } finally {
    holdMs = await hold.release();
  }
  throwIfHoldExpired(plan, holdMs);
  return holdMs;
}

/**
 * Undoes whatever part of a cut exists, safely more than once (also after a crash): thaws or
 * resumes the guest, deletes the drivers' parts, and commits back any overlay still active.
 */
export async function undoCut(deps: CutDeps, plan: CutPlan, ctx: StorageContext): Promise<void> {
  const { groups } = splitDisks(plan.disks);
  if (plan.vmRunning && plan.hostId) {
    const hostId = plan.hostId;
    if (plan.quiesce === 'guest')
      await deps.agent.send(hostId, 'guest.thaw', { vm: plan.vmName }).catch(() => undefined);
    if (plan.quiesce === 'pause')
      await deps.agent.send(hostId, 'vm.resume', { vm: plan.vmName }).catch(() => undefined);
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
