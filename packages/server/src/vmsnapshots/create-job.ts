import {
  StrataError,
  checkVmCanSnapshot,
  explainSelection,
  resolveQuiesce,
  vmSnapshotMachine,
  type QuiesceMode,
  type ResolvedQuiesce,
  type VmSnapshotType,
} from '@strata/core';
import type { Queryable } from '../db/index.js';
import type { JobDefinition, Json } from '../jobs/index.js';
import { storageContext, type OrchestrationDeps } from '../orchestration/deps.js';
import { domainName } from '../orchestration/naming.js';
import { hostFiles } from '../orchestration/host-files.js';
import { poolFiles } from '../orchestration/pool-agent.js';
import { JOB_TYPES } from '../services/job-types.js';
import { applyTransition } from '../services/transition.js';
import { keepChainsShallow } from './chain-depth.js';
import { executeCut, undoCut, type CutDeps } from './cut.js';
import { holdDeadlineMs } from './hold-deadline.js';
import { newMemoryLocation } from './memory-store.js';
import { diskFacts, hydrate, loadVmDisks, planDisks, type PlannedDisk } from './facts.js';
import type { CutPlan, CutResult } from './plan.js';
import type { StrategyCandidate } from '@strata/core';

type CreateInput = { readonly vmSnapshotId: string; readonly quiesce: string; readonly memory: boolean };

/** The journaled plan of one VM snapshot: what the cut will do, decided once. */
export interface StoredPlan {
  readonly strategy: string;
  readonly explanation: ReadonlyArray<{
    strategy: string;
    priority: string;
    reason: string;
    chosen: boolean;
  }>;
  readonly quiesce: ResolvedQuiesce;
  readonly type: VmSnapshotType;
  readonly vmId: string;
  readonly vmName: string;
  readonly vmRunning: boolean;
  readonly hostId: string | null;
  readonly disks: readonly PlannedDisk[];
  readonly memoryPath: string | null;
  /** The snapshot store holding the memory state; null or absent (older plans): the host state directory. */
  readonly memoryStore?: string | null;
  readonly holdDeadlineMs: number;
}

export { HOLD_DEADLINE_MS } from './hold-deadline.js';

export async function cutPlanOf(
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
  };
}

export function cutDeps(deps: OrchestrationDeps, plan: StoredPlan): CutDeps {
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

async function snapshotRow(deps: OrchestrationDeps, id: string): Promise<Record<string, unknown>> {
  const row = (await deps.db.query('SELECT * FROM vm_snapshots WHERE id = $1', [id]))[0];
  if (!row) throw new StrataError('NOT_FOUND', { kind: 'vm snapshot', id });
  return row;
}

/**
 * An Allocated snapshot whose create never got to mark-creating (failed, interrupted or cancelled
 * while queued) becomes Error: left Allocated it would block every later snapshot operation.
 */
async function failAllocated(
  deps: OrchestrationDeps,
  tx: Queryable,
  id: string,
  jobId: string,
): Promise<void> {
  const row = (await tx.query('SELECT state FROM vm_snapshots WHERE id = $1 FOR UPDATE', [id]))[0];
  if (row?.['state'] !== 'Allocated') return;
  await applyTransition(tx, deps.events, {
    table: 'vm_snapshots',
    kind: 'vm-snapshot',
    machine: vmSnapshotMachine,
    id,
    event: 'OperationFailed',
    jobId,
  });
}

export function vmSnapshotCreateJob(
  deps: OrchestrationDeps,
  strategies: readonly StrategyCandidate[],
): JobDefinition<CreateInput> {
  return {
    type: JOB_TYPES.vmSnapshotCreate,
    // A cut interrupted by a crash is undone rather than guessed at: the guest's hold has its own deadline.
    onInterrupted: 'compensate',
    onCancelled: (tx, input, jobId) => failAllocated(deps, tx, input.vmSnapshotId, jobId),
    steps: [
      {
        name: 'plan',
        readOnly: true,
        run: async (_ctx, input) => {
          const row = await snapshotRow(deps, input.vmSnapshotId);
          const disks = await loadVmDisks(deps, String(row['vm_id']));
          const running = disks.vm.state === 'Running';
          const type: VmSnapshotType = input.memory ? 'DiskAndMemory' : 'Disk';
          // Again here: the VM may have stopped (or started migrating) while the job was queued.
          checkVmCanSnapshot(disks.vm, type);
          const quiesce = resolveQuiesce(input.quiesce as QuiesceMode, {
            state: disks.vm.state,
            guestAgent: running,
          });
          const request = {
            operation: 'take' as const,
            vm: { id: disks.vm.id, state: disks.vm.state, guestAgent: running },
            disks: diskFacts(disks),
            type,
            quiesce,
          };
          const selection = explainSelection(strategies, request);
          if (!selection.chosen) {
            const reasons = selection.explanation.map((e) => `${e.strategy}: ${e.reason}`).join('; ');
            throw new StrataError('NO_SNAPSHOT_STRATEGY', { operation: 'take', vm: disks.vm.id, reasons });
          }
          // Memory goes to the snapshot store the host mounts (any host of the zone reads it back).
          const memory =
            type === 'DiskAndMemory'
              ? await newMemoryLocation(
                  deps.db,
                  deps.stateDir,
                  disks.vm.hostId,
                  disks.vm.id,
                  input.vmSnapshotId,
                )
              : null;
          const plan: StoredPlan = {
            strategy: selection.chosen,
            explanation: selection.explanation,
            quiesce,
            type,
            vmId: disks.vm.id,
            vmName: domainName(disks.vm),
            vmRunning: running,
            hostId: disks.vm.hostId,
            disks: planDisks(deps, disks, input.vmSnapshotId),
            memoryPath: memory?.path ?? null,
            memoryStore: memory?.store ?? null,
            holdDeadlineMs: holdDeadlineMs(),
          };
          return plan as unknown as Json;
        },
        compensate: (ctx, input) =>
          deps.db.transaction((tx) => failAllocated(deps, tx, input.vmSnapshotId, ctx.jobId)),
      },
      {
        name: 'mark-creating',
        transactional: true,
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as unknown as StoredPlan;
          await applyTransition(ctx.tx, deps.events, {
            table: 'vm_snapshots',
            kind: 'vm-snapshot',
            machine: vmSnapshotMachine,
            id: input.vmSnapshotId,
            event: 'CreateRequested',
            jobId: ctx.jobId,
            set: {
              strategy: plan.strategy,
              quiesce: plan.quiesce,
              type: plan.type,
              plan: JSON.stringify(plan),
              memory_path: plan.memoryPath,
            },
          });
          return null;
        },
        compensate: async (ctx, input) => {
          await applyTransition(ctx.tx, deps.events, {
            table: 'vm_snapshots',
            kind: 'vm-snapshot',
            machine: vmSnapshotMachine,
            id: input.vmSnapshotId,
            event: 'OperationFailed',
            jobId: ctx.jobId,
          });
        },
      },
      {
        name: 'cut',
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as unknown as StoredPlan;
          // First the chain-depth policy, so the new overlay never makes a chain deeper than the
          // bound (chain-depth.ts). In this step rather than one of its own: a step costs two
          // journal writes on the way to every cut, and a crash in it is undone like the cut's.
          const chainDepth = await keepChainsShallow(deps, plan, ctx);
          const row = await snapshotRow(deps, input.vmSnapshotId);
          const cut = await cutPlanOf(deps, plan, input.vmSnapshotId, String(row['name']));
          const result = await executeCut(cutDeps(deps, plan), cut, storageContext(ctx));
          // The transient overlays were committed back: no disk uses them any more.
          await removeCutFiles(deps, plan, false);
          return { ...result, chainDepth } as unknown as Json;
        },
        compensate: async (ctx, input, _output, prior) => {
          const plan = prior['plan'] as unknown as StoredPlan | undefined;
          if (!plan) return;
          const cut = await cutPlanOf(deps, plan, input.vmSnapshotId, '');
          await undoCut(cutDeps(deps, plan), cut, storageContext(ctx));
          // Undone: every disk is back on its old layer, so the cut's new files hold nothing needed.
          await removeCutFiles(deps, plan, true);
        },
      },
      {
        name: 'record',
        transactional: true,
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as unknown as StoredPlan;
          const cut = prior['cut'] as unknown as CutResult;
          const snap = (
            await ctx.tx.query('SELECT account_id, name FROM vm_snapshots WHERE id = $1', [
              input.vmSnapshotId,
            ])
          )[0]!;
          for (const v of cut.volumes) {
            await ctx.tx.query(
              `INSERT INTO volume_snapshots (id, account_id, volume_id, name, state, backend_ref, vm_snapshot_id, taken_by)
               VALUES ($1,$2,$3,$4,'Ready',$5,$6,$7) ON CONFLICT (id) DO NOTHING`,
              [
                `${input.vmSnapshotId}:${v.volumeId}`,
                snap['account_id'],
                v.volumeId,
                snap['name'],
                v.snapshotRef,
                input.vmSnapshotId,
                v.by,
              ],
            );
          }
          // qcow2 disks now write to their new overlay: it is the volume's active layer.
          for (const d of plan.disks)
            if (d.overlayPath)
              await ctx.tx.query('UPDATE volumes SET backend_ref = $2 WHERE id = $1', [
                d.volumeId,
                d.overlayPath,
              ]);
          await applyTransition(ctx.tx, deps.events, {
            table: 'vm_snapshots',
            kind: 'vm-snapshot',
            machine: vmSnapshotMachine,
            id: input.vmSnapshotId,
            event: 'OperationSucceeded',
            jobId: ctx.jobId,
            set: { consistency: cut.consistency, freeze_ms: cut.holdMs, cut_spread_ms: cut.cutSpreadMs },
          });
          await ctx.tx.query('UPDATE vms SET current_vm_snapshot_id = $2 WHERE id = $1', [
            plan.vmId,
            input.vmSnapshotId,
          ]);
          return {
            vmSnapshotId: input.vmSnapshotId,
            strategy: plan.strategy,
            consistency: cut.consistency,
            holdMs: cut.holdMs,
            cutSpreadMs: cut.cutSpreadMs,
            totalMs: cut.totalMs,
          };
        },
      },
    ],
  };
}
