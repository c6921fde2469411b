import { StrataError, vmSnapshotMachine } from '@strata/core';
import type { JobDefinition, Json, PriorOutputs } from '../jobs/index.js';
import { loadVm, type OrchestrationDeps } from '../orchestration/deps.js';
import { volumeFiles } from '../orchestration/pool-agent.js';
import { defineAndStart, stopOnHost } from '../orchestration/jobs/vm-power.js';
import { JOB_TYPES } from '../services/job-types.js';
import { refuseIfVmSnapshotOnFormerPool } from '../services/moved-sources.js';
import { applyTransition } from '../services/transition.js';
import { memoryRestoreOf, restoreOnHost, type MemoryRestore } from './memory-restore.js';
import { loadSnapshot, vmTransition } from './shared.js';
import {
  strategyContext,
  type Reverted,
  type RevertedFile,
  type SnapshotStrategies,
} from './strategy/index.js';

type RevertInput = { readonly vmSnapshotId: string; readonly restart?: boolean };

interface RevertPlan {
  readonly vmId: string;
  readonly wasRunning: boolean;
  /** A DiskAndMemory snapshot brings the VM back running from its memory file (absent in older plans). */
  readonly memory?: MemoryRestore;
  /** Plans journaled before strategies reverted: the qcow2 disks' new layers, decided here. */
  readonly files?: readonly RevertedFile[];
}

/** A VM runs after the revert when it ran before, or when the snapshot's memory brings it back. */
const runsAfter = (p: RevertPlan): boolean => p.wasRunning || Boolean(p.memory?.path);

/** The qcow2 disks' new active layers, as the strategy's revert answered them (or an older plan). */
const revertedFiles = (prior: PriorOutputs): readonly RevertedFile[] =>
  (prior['revert-storage'] as unknown as Partial<Reverted> | undefined)?.files ??
  (prior['plan'] as unknown as RevertPlan).files ??
  [];

/**
 * Revert to any node of the tree without losing newer ones, by the strategy that took the snapshot
 * (the built-ins: storage parts roll back through the drivers' hooks, qcow2 parts get a new overlay
 * over the snapshot's frozen file, see strategy/disk-revert.ts). Disks attached after
 * the snapshot are left untouched; disks it covers are reverted even if detached since. A running
 * VM is stopped and started again only when the caller asks (restart=true). A DiskAndMemory
 * snapshot brings the VM back running from its saved memory (no reboot), whether it ran or not.
 */
export function vmSnapshotRevertJob(
  deps: OrchestrationDeps,
  strategies: SnapshotStrategies,
): JobDefinition<RevertInput> {
  const plan = (prior: Readonly<Record<string, Json | undefined>>) => prior['plan'] as unknown as RevertPlan;
  return {
    type: JOB_TYPES.vmSnapshotRevert,
    steps: [
      {
        name: 'plan',
        run: async (_ctx, input) => {
          const s = await loadSnapshot(deps.db, input.vmSnapshotId);
          // Before the VM is touched: only the strategy that took the snapshot may revert it.
          strategies.forSnapshot(s);
          await refuseIfVmSnapshotOnFormerPool(deps.db, s.id, 'reverted');
          const vm = await loadVm(deps.db, s.vmId);
          const wasRunning = vm.state === 'Running';
          if (wasRunning && !input.restart) throw new StrataError('REVERT_NEEDS_STOP', { vm: vm.id });
          if (vm.state !== 'Running' && vm.state !== 'Stopped') {
            throw new StrataError('VM_STATE_INVALID', {
              vm: vm.id,
              state: vm.state,
              operation: 'a revert',
              expected: 'Running or Stopped',
            });
          }
          const memory = await memoryRestoreOf(deps, s);
          const out: RevertPlan = { vmId: vm.id, wasRunning, memory };
          return out as unknown as Json;
        },
      },
      {
        name: 'mark-reverting',
        transactional: true,
        run: async (ctx, input, prior) => {
          await applyTransition(ctx.tx, deps.events, {
            table: 'vm_snapshots',
            kind: 'vm-snapshot',
            machine: vmSnapshotMachine,
            id: input.vmSnapshotId,
            event: 'RevertRequested',
            jobId: ctx.jobId,
          });
          if (plan(prior).wasRunning) await vmTransition(deps, ctx.tx, ctx, { id: plan(prior).vmId }, 'Stop');
          return null;
        },
        compensate: async (ctx, input, _output, prior) => {
          // After the record the snapshot is Ready again (the disks are reverted and recorded):
          // only a restart failed, and there is nothing of the snapshot's to undo.
          const snap = (
            await ctx.tx.query('SELECT state FROM vm_snapshots WHERE id = $1 FOR UPDATE', [
              input.vmSnapshotId,
            ])
          )[0];
          if (snap?.['state'] === 'Reverting')
            await applyTransition(ctx.tx, deps.events, {
              table: 'vm_snapshots',
              kind: 'vm-snapshot',
              machine: vmSnapshotMachine,
              id: input.vmSnapshotId,
              event: 'OperationFailed',
              jobId: ctx.jobId,
            });
          // Undone before vm-stopped was recorded (a stop the agent could not do): the VM still
          // runs as far as anything knows, and left Stopping it would stay so, since the
          // reconciler leaves transitional states to their jobs. Undone after the record (a
          // restore or start that failed, e.g. on a host that cannot reach the memory state): the
          // VM is stopped on its reverted disks, not Starting.
          const vmId = plan(prior).vmId;
          const vm = (await ctx.tx.query('SELECT state FROM vms WHERE id = $1 FOR UPDATE', [vmId]))[0];
          if (vm?.['state'] === 'Stopping' || vm?.['state'] === 'Starting')
            await vmTransition(deps, ctx.tx, ctx, { id: vmId }, 'Fail');
        },
      },
      {
        name: 'stop-vm',
        run: async (ctx, _input, prior) => {
          if (!plan(prior).wasRunning) return { stopped: false };
          await stopOnHost(deps, ctx, await loadVm(deps.db, plan(prior).vmId), false);
          return { stopped: true };
        },
      },
      {
        name: 'vm-stopped',
        transactional: true,
        run: async (ctx, _input, prior) => {
          if (plan(prior).wasRunning)
            await vmTransition(deps, ctx.tx, ctx, { id: plan(prior).vmId }, 'Stopped');
          return null;
        },
      },
      {
        name: 'revert-storage',
        run: async (ctx, input) => {
          const snapshot = await loadSnapshot(deps.db, input.vmSnapshotId);
          const vm = await loadVm(deps.db, snapshot.vmId);
          const reverted = await strategies
            .forSnapshot(snapshot)
            .revert(strategyContext(deps, ctx), { snapshot, hostId: vm.hostId });
          return reverted as unknown as Json;
        },
      },
      {
        name: 'record',
        transactional: true,
        run: async (ctx, input, prior) => {
          const p = plan(prior);
          for (const f of revertedFiles(prior))
            await ctx.tx.query('UPDATE volumes SET backend_ref = $2 WHERE id = $1', [
              f.volumeId,
              f.newActive,
            ]);
          await applyTransition(ctx.tx, deps.events, {
            table: 'vm_snapshots',
            kind: 'vm-snapshot',
            machine: vmSnapshotMachine,
            id: input.vmSnapshotId,
            event: 'OperationSucceeded',
            jobId: ctx.jobId,
          });
          await ctx.tx.query('UPDATE vms SET current_vm_snapshot_id = $2 WHERE id = $1', [
            p.vmId,
            input.vmSnapshotId,
          ]);
          if (runsAfter(p))
            await vmTransition(deps, ctx.tx, ctx, { id: p.vmId }, 'Start', { stop_consistency: 'crash' });
          else {
            // Left stopped, its disks now hold exactly what the snapshot holds.
            const snap = await ctx.tx.query('SELECT consistency FROM vm_snapshots WHERE id = $1', [
              input.vmSnapshotId,
            ]);
            await ctx.tx.query('UPDATE vms SET stop_consistency = $2 WHERE id = $1', [
              p.vmId,
              snap[0]?.['consistency'] ?? 'crash',
            ]);
          }
          return null;
        },
      },
      {
        name: 'restart',
        run: async (ctx, _input, prior) => {
          const p = plan(prior);
          if (!runsAfter(p)) return { hostId: null };
          if (p.memory?.path) {
            const files = revertedFiles(prior).map((f) => ({ volumeId: f.volumeId, path: f.newActive }));
            const restored = await restoreOnHost(deps, ctx, p.vmId, p.memory.path, files, p.memory.hostId);
            return { ...restored, resumed: 'restored' };
          }
          return { ...(await defineAndStart(deps, ctx, p.vmId)), resumed: 'booted' };
        },
      },
      {
        name: 'vm-running',
        transactional: true,
        run: async (ctx, input, prior) => {
          const p = plan(prior);
          const started = prior['restart'] as { hostId: string | null; resumed?: string };
          if (runsAfter(p) && started.hostId)
            await vmTransition(deps, ctx.tx, ctx, { id: p.vmId }, 'Started', { host_id: started.hostId });
          return {
            vmSnapshotId: input.vmSnapshotId,
            restarted: runsAfter(p),
            resumed: started.resumed ?? 'stopped',
            ...(p.memory && !p.memory.path && p.memory.reason && { memoryNotRestored: p.memory.reason }),
          };
        },
      },
      {
        // The layer the VM wrote to before the revert holds only discarded writes, unless a
        // snapshot froze it: then it stays, for that snapshot.
        name: 'drop-discarded-layers',
        run: async (_ctx, _input, prior) => {
          const removed: string[] = [];
          const vm = await loadVm(deps.db, plan(prior).vmId);
          for (const f of revertedFiles(prior)) {
            if (!f.oldActive || f.oldActive === f.newActive) continue;
            const used = await deps.db.query(
              `SELECT 1 FROM volume_snapshots WHERE backend_ref = $1 AND state <> 'Deleted' LIMIT 1`,
              [f.oldActive],
            );
            if (used.length === 0) {
              await (await volumeFiles(deps, f.volumeId, vm.hostId)).remove(f.oldActive);
              removed.push(f.oldActive);
            }
          }
          // the job's result: how the VM came back (vm-running's answer) and what was removed
          return { ...(prior['vm-running'] as Record<string, Json>), removed };
        },
      },
    ],
  };
}
