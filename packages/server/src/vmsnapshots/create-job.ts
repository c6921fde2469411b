import {
  StrataError,
  checkVmCanSnapshot,
  resolveQuiesce,
  vmSnapshotMachine,
  type Consistency,
  type QuiesceMode,
  type VmSnapshotType,
} from '@strata/core';
import type { Queryable } from '../db/index.js';
import type { JobDefinition, Json } from '../jobs/index.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import { domainName } from '../orchestration/naming.js';
import { JOB_TYPES } from '../services/job-types.js';
import { applyTransition } from '../services/transition.js';
import { keepChainsShallow } from './chain-depth.js';
import { holdDeadlineMs } from './hold-deadline.js';
import { newMemoryLocation } from './memory-store.js';
import { diskFacts, loadVmDisks, planDisks } from './facts.js';
import type { StoredPlan } from './plan.js';
import { strategyContext, type SnapshotStrategies, type TakeInput, type Taken } from './strategy/index.js';

type CreateInput = { readonly vmSnapshotId: string; readonly quiesce: string; readonly memory: boolean };

export type { StoredPlan } from './plan.js';

export { HOLD_DEADLINE_MS } from './hold-deadline.js';

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
  strategies: SnapshotStrategies,
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
          // The one selection: the winner's name is journaled and recorded, and it alone takes.
          const selection = strategies.select(request);
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
            strategy: selection.strategy.name,
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
            ...(!running && { atRest: await stopConsistency(deps, disks.vm.id) }),
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
          const take: TakeInput = { vmSnapshotId: input.vmSnapshotId, name: String(row['name']), plan };
          const taken = await takerOf(strategies, input.vmSnapshotId, plan).take(
            strategyContext(deps, ctx),
            take,
          );
          return { ...taken, chainDepth } as unknown as Json;
        },
        compensate: async (ctx, input, _output, prior) => {
          const plan = prior['plan'] as unknown as StoredPlan | undefined;
          if (!plan) return;
          // The name only labels a driver's parts: undoing finds them by the snapshot's id.
          const take: TakeInput = { vmSnapshotId: input.vmSnapshotId, name: '', plan };
          await takerOf(strategies, input.vmSnapshotId, plan).abandon(strategyContext(deps, ctx), take);
        },
      },
      {
        name: 'record',
        transactional: true,
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as unknown as StoredPlan;
          const cut = prior['cut'] as unknown as Taken;
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
          for (const l of activeLayersOf(cut, plan))
            await ctx.tx.query('UPDATE volumes SET backend_ref = $2 WHERE id = $1', [l.volumeId, l.path]);
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
      {
        // The snapshot is Ready already; what its take left running is finished here, under the
        // VM's lock (the VM's next job waits), run again after a crash and never undone.
        name: 'commit-back',
        forwardOnly: true,
        retry: { attempts: 3, delayMs: 1_000 },
        run: async (ctx, input, prior) => {
          const plan = prior['plan'] as unknown as StoredPlan;
          const recorded = prior['record'] as Record<string, Json>;
          const taker = takerOf(strategies, input.vmSnapshotId, plan);
          if (!taker.finishTake) return recorded;
          const name = String((await snapshotRow(deps, input.vmSnapshotId))['name']);
          const take: TakeInput = { vmSnapshotId: input.vmSnapshotId, name, plan };
          const finished = await taker.finishTake(strategyContext(deps, ctx), take);
          return { ...recorded, finished };
        },
      },
    ],
  };
}

/** What a stopped VM's disks hold at rest, as its last stop left them (null: it never ran). */
async function stopConsistency(deps: OrchestrationDeps, vmId: string): Promise<Consistency | null> {
  const row = (await deps.db.query('SELECT stop_consistency FROM vms WHERE id = $1', [vmId]))[0];
  return (row?.['stop_consistency'] as Consistency | null | undefined) ?? null;
}

/** The strategy the plan chose: the one that takes, or undoes a take. */
function takerOf(strategies: SnapshotStrategies, vmSnapshotId: string, plan: StoredPlan) {
  return strategies.forSnapshot({ id: vmSnapshotId, strategy: plan.strategy });
}

/** A cut journaled before strategies answered their active layers made every planned overlay active. */
function activeLayersOf(cut: Taken, plan: StoredPlan): Taken['activeLayers'] {
  return (
    (cut as Partial<Taken>).activeLayers ??
    plan.disks.flatMap((d) => (d.overlayPath ? [{ volumeId: d.volumeId, path: d.overlayPath }] : []))
  );
}
