import { StrataError } from '@strata/core';
import { hostFiles } from '../../orchestration/host-files.js';
import { poolFiles } from '../../orchestration/pool-agent.js';
import type { OrchestrationDeps } from '../../orchestration/deps.js';
import { commitBack, executeCut, undoCut, type CutDeps } from '../cut.js';
import { hydrate } from '../facts.js';
import type { CutPlan, StoredPlan } from '../plan.js';
import type { StrategyContext, TakeInput, Taken } from './types.js';

async function cutPlanOf(
  deps: OrchestrationDeps,
  plan: StoredPlan,
  vmSnapshotId: string,
  name: string,
): Promise<CutPlan> {
  const transient = Object.fromEntries(
    plan.disks.filter((d) => d.transientPath).map((d) => [d.target, d.transientPath!]),
  );
  return {
    hostId: plan.hostId,
    vmName: plan.vmName,
    vmRunning: plan.vmRunning,
    guestAgent: plan.vmRunning,
    snapshot: { id: vmSnapshotId, vmId: plan.vmId, name, type: plan.type },
    type: plan.type,
    quiesce: plan.quiesce,
    disks: await hydrate(deps, plan.disks),
    ...(plan.memoryPath && { memoryPath: plan.memoryPath }),
    transientOverlays: transient,
    holdDeadlineMs: plan.holdDeadlineMs,
    ...(plan.atRest !== undefined && { atRest: plan.atRest }),
  };
}

function cutDeps(deps: OrchestrationDeps, plan: StoredPlan): CutDeps {
  const frozen = new Map(plan.disks.map((d) => [d.volumeId, d.frozenPath ?? '']));
  // A stopped VM's overlays are made in their pool, by an agent that mounts it.
  const files: CutDeps['files'] = {
    async createOverlay(overlayPath, backingPath, signal) {
      const disk = plan.disks.find((d) => d.overlayPath === overlayPath);
      if (!disk) throw new StrataError('INTERNAL', { reason: `no planned disk has overlay ${overlayPath}` });
      await (await poolFiles(deps, disk.poolId, plan.hostId)).createOverlay(overlayPath, backingPath, signal);
    },
  };
  return { agent: deps.agent, files, activePath: (id) => frozen.get(id) ?? '' };
}

/**
 * Removes what a cut made and nothing uses any more: transient overlays from the VM's host state
 * directory and the memory state (there or in the snapshot store it mounts) by its agent, and
 * with `overlays` the new qcow2 overlays from their pools (an agent that mounts each).
 */
async function removeCutFiles(deps: OrchestrationDeps, plan: StoredPlan, overlays: boolean): Promise<void> {
  const stateFiles = [
    ...plan.disks.flatMap((d) => (d.transientPath ? [d.transientPath] : [])),
    ...(overlays && plan.memoryPath ? [plan.memoryPath] : []),
  ];
  // Only a running VM's cut makes files there (an overlay under the guest, its memory).
  if (stateFiles.length > 0 && plan.vmRunning && plan.hostId) {
    const host = hostFiles(deps.agent, plan.hostId);
    for (const f of stateFiles) await host.remove(f);
  }
  if (!overlays) return;
  for (const d of plan.disks) {
    if (d.overlayPath) await (await poolFiles(deps, d.poolId, plan.hostId)).remove(d.overlayPath);
  }
}

/**
 * The built-in strategies' take: one cut over every disk (cut.ts), the drivers with a VM-snapshot
 * hook taking theirs and the hypervisor the qcow2 files. Each qcow2 disk's new overlay becomes its
 * active layer; the network disks stay on their transient overlays until finishByCut.
 */
export async function takeByCut(ctx: StrategyContext, input: TakeInput): Promise<Taken> {
  const { deps } = ctx;
  const cut = await cutPlanOf(deps, input.plan, input.vmSnapshotId, input.name);
  const result = await executeCut(cutDeps(deps, input.plan), cut, ctx.storage);
  const activeLayers = input.plan.disks.flatMap((d) =>
    d.overlayPath ? [{ volumeId: d.volumeId, path: d.overlayPath }] : [],
  );
  return { ...result, activeLayers };
}

/** Undoes a cut (safely more than once): every disk back on its old layer, the cut's new files removed. */
export async function abandonCut(ctx: StrategyContext, input: TakeInput): Promise<void> {
  const cut = await cutPlanOf(ctx.deps, input.plan, input.vmSnapshotId, input.name);
  await undoCut(cutDeps(ctx.deps, input.plan), cut, ctx.storage);
  await removeCutFiles(ctx.deps, input.plan, true);
}

/**
 * After the snapshot is Ready: the transient overlays over network disks committed back (the
 * guest's writes since the cut merged into each backend volume) and removed. Safe more than once.
 */
export async function finishByCut(ctx: StrategyContext, input: TakeInput): Promise<{ committed: string[] }> {
  const cut = await cutPlanOf(ctx.deps, input.plan, input.vmSnapshotId, input.name);
  const committed = await commitBack(cutDeps(ctx.deps, input.plan), cut, ctx.storage);
  await removeCutFiles(ctx.deps, input.plan, false);
  return { committed };
}
