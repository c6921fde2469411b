import { vmSnapshotMachine, volumeSnapshotMachine } from '@strata/core';
import type { JobDefinition, Json, PriorOutputs } from '../jobs/index.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import { hostFiles } from '../orchestration/host-files.js';
import { releaseFormerCopies } from '../orchestration/jobs/moved-source-release.js';
import { storageContext } from '../orchestration/deps.js';
import { volumeFiles } from '../orchestration/pool-agent.js';
import { JOB_TYPES } from '../services/job-types.js';
import { applyTransition } from '../services/transition.js';
import { layersInUse } from './layers.js';
import { memoryAgentHost, memoryLocationOf } from './memory-store.js';
import type { StoredPlan } from './plan.js';
import { loadSnapshot } from './shared.js';
import { strategyContext, type Deleted, type FileMerge, type SnapshotStrategies } from './strategy/index.js';

type DeleteInput = { readonly vmSnapshotId: string };

/** The qcow2 merges, as the strategy's delete answered them (or a job journaled before, by step). */
const mergesOf = (prior: PriorOutputs): readonly FileMerge[] =>
  ((prior['delete-parts'] ?? prior['merge-files']) as unknown as Pick<Deleted, 'merges'> | undefined)
    ?.merges ?? [];

/**
 * Delete any node of the tree, by the strategy that took it (the built-ins: see
 * strategy/disk-delete.ts). A kept frozen file that nothing stands on any more (and the layers
 * under it that only it held) is dropped once the record is committed. Children of the node are
 * re-parented to its parent. The database changes only after the strategy's work on disk is done.
 */
export function vmSnapshotDeleteJob(
  deps: OrchestrationDeps,
  strategies: SnapshotStrategies,
): JobDefinition<DeleteInput> {
  return {
    type: JOB_TYPES.vmSnapshotDelete,
    steps: [
      {
        name: 'mark-expunging',
        transactional: true,
        run: async (ctx, input) => {
          // Before anything changes: only the strategy that took the snapshot may delete it.
          strategies.forSnapshot(await loadSnapshot(ctx.tx, input.vmSnapshotId));
          const { from } = await applyTransition(ctx.tx, deps.events, {
            table: 'vm_snapshots',
            kind: 'vm-snapshot',
            machine: vmSnapshotMachine,
            id: input.vmSnapshotId,
            event: 'ExpungeRequested',
            jobId: ctx.jobId,
          });
          return { from };
        },
        // Back to the state it had (a job journaled without it: Ready).
        compensate: async (ctx, input, output) => {
          const from = (output as { from?: string } | null | undefined)?.from;
          // Refused before the mark (or its transaction rolled back): the snapshot is as it was.
          const row = (
            await ctx.tx.query('SELECT state FROM vm_snapshots WHERE id = $1 FOR UPDATE', [
              input.vmSnapshotId,
            ])
          )[0];
          if (row?.['state'] !== 'Expunging') return;
          await applyTransition(ctx.tx, deps.events, {
            table: 'vm_snapshots',
            kind: 'vm-snapshot',
            machine: vmSnapshotMachine,
            id: input.vmSnapshotId,
            event: from === 'Hidden' ? 'Hide' : from === 'Error' ? 'Broken' : 'OperationFailed',
            jobId: ctx.jobId,
          });
        },
      },
      {
        name: 'delete-parts',
        run: async (ctx, input) => {
          const snapshot = await loadSnapshot(deps.db, input.vmSnapshotId);
          const formerCopies = snapshot.parts.flatMap((p) =>
            p.formerPoolId ? [{ volumeId: p.volumeId, poolId: p.formerPoolId }] : [],
          );
          const deleted = await strategies
            .forSnapshot(snapshot)
            .delete(strategyContext(deps, ctx), { snapshot });
          return { ...deleted, formerCopies } as unknown as Json;
        },
      },
      {
        name: 'record',
        transactional: true,
        run: async (ctx, input, prior) => {
          const merges = mergesOf(prior);
          const s = await loadSnapshot(ctx.tx, input.vmSnapshotId);
          for (const m of merges)
            if (m.mergedActive)
              await ctx.tx.query('UPDATE volumes SET backend_ref = $2 WHERE id = $1', [
                m.volumeId,
                m.frozenPath,
              ]);
          const parts = await ctx.tx.query(
            `SELECT id FROM volume_snapshots WHERE vm_snapshot_id = $1 AND state = 'Ready'`,
            [s.id],
          );
          for (const p of parts) {
            const id = String(p['id']);
            await applyTransition(ctx.tx, deps.events, {
              table: 'volume_snapshots',
              kind: 'volume-snapshot',
              machine: volumeSnapshotMachine,
              id,
              event: 'Delete',
              jobId: ctx.jobId,
            });
            await applyTransition(ctx.tx, deps.events, {
              table: 'volume_snapshots',
              kind: 'volume-snapshot',
              machine: volumeSnapshotMachine,
              id,
              event: 'Deleted',
              jobId: ctx.jobId,
            });
          }
          await ctx.tx.query('UPDATE vm_snapshots SET parent_id = $2 WHERE parent_id = $1', [
            s.id,
            s.parentId,
          ]);
          await ctx.tx.query(
            'UPDATE vms SET current_vm_snapshot_id = $3 WHERE id = $1 AND current_vm_snapshot_id = $2',
            [s.vmId, s.id, s.parentId],
          );
          await applyTransition(ctx.tx, deps.events, {
            table: 'vm_snapshots',
            kind: 'vm-snapshot',
            machine: vmSnapshotMachine,
            id: s.id,
            event: 'OperationSucceeded',
            jobId: ctx.jobId,
          });
          return {
            vmSnapshotId: s.id,
            merged: merges.filter((m) => m.mergedActive).length,
            kept: merges.filter((m) => !m.mergedActive).length,
          };
        },
      },
      {
        // After the record: a crash before it leaves every file the tree may still revert to.
        name: 'drop-unused-layers',
        run: async (_ctx, input, prior) => {
          const merges = mergesOf(prior);
          const removed: string[] = [];
          const kept: string[] = [];
          const hostId = merges.length > 0 ? await vmHostOf(deps, input.vmSnapshotId) : null;
          for (const m of merges) {
            const files = await volumeFiles(deps, m.volumeId, hostId);
            if (m.mergedActive) {
              await files.remove(m.mergedActive);
              removed.push(m.mergedActive);
            }
            if (!m.unused?.length) continue;
            // A chain that cannot be read keeps every file: the collector reports what is left.
            const used = await layersInUse(deps.db, files, m.volumeId).catch(() => null);
            if (!used) {
              kept.push(...m.unused);
              continue;
            }
            for (const f of m.unused.filter((x) => !used.has(x))) {
              await files.remove(f);
              removed.push(f);
            }
          }
          const memory = await dropMemoryState(deps, input.vmSnapshotId);
          if (memory.removed) removed.push(memory.removed);
          return { removed, keptUnreadable: kept, ...(memory.kept && { memoryKept: memory.kept }) };
        },
      },
      {
        // The former copies of moved volumes this snapshot was the last to need (none journaled before: none).
        name: 'release-former-copies',
        run: async (ctx, _input, prior) => {
          const parts =
            (prior['delete-parts'] as { formerCopies?: { volumeId: string; poolId: string }[] } | undefined)
              ?.formerCopies ?? [];
          return releaseFormerCopies(deps, storageContext(ctx), parts);
        },
      },
    ],
  };
}

/**
 * The snapshot's memory state, removed by an agent that sees it: in the snapshot store, any Up
 * host of the zone that mounts it (the VM's own first); in a host state directory, the host that
 * saved it. None Up keeps it (the answer says why): the orphan collector removes it later, as
 * nothing references a removed snapshot's memory.
 */
async function dropMemoryState(
  deps: OrchestrationDeps,
  vmSnapshotId: string,
): Promise<{ removed?: string; kept?: string }> {
  const row = (await deps.db.query('SELECT plan FROM vm_snapshots WHERE id = $1', [vmSnapshotId]))[0];
  const raw = row?.['plan'];
  const loc = memoryLocationOf((typeof raw === 'string' ? JSON.parse(raw) : raw) as StoredPlan | null);
  if (!loc) return {};
  const hostId = await memoryAgentHost(deps.db, loc, { prefer: await vmHostOf(deps, vmSnapshotId) });
  if (!hostId) return { kept: `${loc.path}: no Up host sees it` };
  try {
    await hostFiles(deps.agent, hostId).remove(loc.path);
    return { removed: loc.path };
  } catch (e) {
    return { kept: `${loc.path}: ${String(e)}` };
  }
}

/** The host of the snapshot's VM now: its agent is preferred for the VM's files. */
async function vmHostOf(deps: OrchestrationDeps, vmSnapshotId: string): Promise<string | null> {
  const row = (
    await deps.db.query('SELECT v.host_id FROM vm_snapshots s JOIN vms v ON v.id = s.vm_id WHERE s.id = $1', [
      vmSnapshotId,
    ])
  )[0];
  return (row?.['host_id'] as string | null | undefined) ?? null;
}
