import { dirname } from 'node:path';
import {
  StrataError,
  checkStrategyRegistered,
  vmSnapshotMachine,
  type StrategyCandidate,
} from '@strata/core';
import type { JobDefinition, Json } from '../jobs/index.js';
import { loadVm, storageContext, type OrchestrationDeps } from '../orchestration/deps.js';
import { volumeFiles } from '../orchestration/pool-agent.js';
import { defineAndStart, stopOnHost } from '../orchestration/jobs/vm-power.js';
import { JOB_TYPES } from '../services/job-types.js';
import { applyTransition } from '../services/transition.js';
import { memoryRestoreOf, restoreOnHost, type MemoryRestore } from './memory-restore.js';
import { loadSnapshot, poolsOf, storageGroups, vmTransition } from './shared.js';

type RevertInput = { readonly vmSnapshotId: string; readonly restart?: boolean };

interface RevertPlan {
  readonly vmId: string;
  readonly wasRunning: boolean;
  /** A DiskAndMemory snapshot brings the VM back running from its memory file (absent in older plans). */
  readonly memory?: MemoryRestore;
  readonly groups: ReadonlyArray<{ readonly poolId: string; readonly volumeIds: readonly string[] }>;
  /** qcow2 disks: a fresh overlay over the snapshot's frozen file becomes the active layer. */
  readonly files: ReadonlyArray<{
    readonly volumeId: string;
    readonly frozenPath: string;
    readonly newActive: string;
    readonly oldActive: string | null;
  }>;
}

/** A VM runs after the revert when it ran before, or when the snapshot's memory brings it back. */
const runsAfter = (p: RevertPlan): boolean => p.wasRunning || Boolean(p.memory?.path);

/**
 * Revert to any node of the tree without losing newer ones: storage parts roll back through the
 * drivers' hooks (backends keep later snapshots); qcow2 parts get a new overlay over the
 * snapshot's frozen file, so the files of newer snapshots stay as they are. Disks attached after
 * the snapshot are left untouched; disks it covers are reverted even if detached since. A running
 * VM is stopped and started again only when the caller asks (restart=true). A DiskAndMemory
 * snapshot brings the VM back running from its saved memory (no reboot), whether it ran or not.
 */
export function vmSnapshotRevertJob(
  deps: OrchestrationDeps,
  strategies: readonly StrategyCandidate[],
): JobDefinition<RevertInput> {
  const plan = (prior: Readonly<Record<string, Json | undefined>>) => prior['plan'] as unknown as RevertPlan;
  return {
    type: JOB_TYPES.vmSnapshotRevert,
    steps: [
      {
        name: 'plan',
        run: async (ctx, input) => {
          const s = await loadSnapshot(deps.db, input.vmSnapshotId);
          // Before the VM is touched: only the strategy that took the snapshot may revert it.
          checkStrategyRegistered(strategies, s);
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
          const pools = await poolsOf(
            deps.db,
            s.parts.map((p) => p.volumeId),
          );
          const groups = [...storageGroups(s, pools)].map(([poolId, volumeIds]) => ({ poolId, volumeIds }));
          const active = new Map(
            (
              await deps.db.query('SELECT id, backend_ref FROM volumes WHERE id = ANY($1)', [
                s.parts.map((p) => p.volumeId),
              ])
            ).map((r) => [String(r['id']), (r['backend_ref'] as string | null) ?? null]),
          );
          const files = s.parts
            .filter((p) => p.by === 'hypervisor')
            .map((p) => ({
              volumeId: p.volumeId,
              frozenPath: p.ref,
              newActive: `${dirname(p.ref)}/${p.volumeId}.revert-${ctx.jobId}.qcow2`,
              oldActive: active.get(p.volumeId) ?? null,
            }));
          const memory = await memoryRestoreOf(deps, s);
          const out: RevertPlan = { vmId: vm.id, wasRunning, memory, groups, files };
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
        run: async (ctx, input, prior) => {
          const p = plan(prior);
          const s = await loadSnapshot(deps.db, input.vmSnapshotId);
          const sctx = storageContext(ctx);
          await Promise.all(
            p.groups.map(async (g) =>
              (await deps.drivers.forPool(g.poolId)).revertVmSnapshot(sctx, {
                vmSnapshot: { id: s.id, vmId: s.vmId, name: s.name, type: s.type },
                volumeIds: g.volumeIds,
                callerConsistency: 'crash',
              }),
            ),
          );
          // Made in the pool by an agent that mounts it; a replay finds the overlay there and keeps it.
          const vm = await loadVm(deps.db, p.vmId);
          for (const f of p.files) {
            const files = await volumeFiles(deps, f.volumeId, vm.hostId);
            await files.createOverlay(f.newActive, f.frozenPath, ctx.signal);
          }
          return { reverted: p.groups.reduce((n, g) => n + g.volumeIds.length, 0) + p.files.length };
        },
      },
      {
        name: 'record',
        transactional: true,
        run: async (ctx, input, prior) => {
          const p = plan(prior);
          for (const f of p.files)
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
          if (runsAfter(p)) await vmTransition(deps, ctx.tx, ctx, { id: p.vmId }, 'Start');
          return null;
        },
      },
      {
        name: 'restart',
        run: async (ctx, _input, prior) => {
          const p = plan(prior);
          if (!runsAfter(p)) return { hostId: null };
          if (p.memory?.path) {
            const files = p.files.map((f) => ({ volumeId: f.volumeId, path: f.newActive }));
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
          for (const f of plan(prior).files) {
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
