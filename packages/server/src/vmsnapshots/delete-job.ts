import {
  checkStrategyRegistered,
  vmSnapshotMachine,
  volumeSnapshotMachine,
  type StrategyCandidate,
} from '@strata/core';
import type { JobDefinition, Json } from '../jobs/index.js';
import { loadVm, loadVolume, storageContext, type OrchestrationDeps } from '../orchestration/deps.js';
import { domainName } from '../orchestration/naming.js';
import { hostFiles, type HostFiles } from '../orchestration/host-files.js';
import { volumeFiles } from '../orchestration/pool-agent.js';
import { JOB_TYPES } from '../services/job-types.js';
import { applyTransition } from '../services/transition.js';
import { layersInUse, snapshotLayersUnder } from './layers.js';
import type { StoredPlan } from './create-job.js';
import { memoryAgentHost, memoryLocationOf } from './memory-store.js';
import { loadSnapshot, poolsOf, storageGroups } from './shared.js';

type DeleteInput = { readonly vmSnapshotId: string };

interface FileMerge {
  readonly volumeId: string;
  readonly frozenPath: string;
  /** The active layer over the frozen file, merged down into it; null when the file is kept. */
  readonly mergedActive: string | null;
  readonly running: boolean;
  /**
   * When the frozen file is kept: it and the layers under it that only this snapshot may have
   * held (a chain-depth flatten can leave a snapshot's file off the active chain). Dropped after
   * the record unless the volume's active layer or another snapshot still stands on them.
   */
  readonly unused?: readonly string[];
}

/**
 * Delete any node of the tree. Storage parts are deleted through the drivers' hooks. A qcow2 part
 * whose frozen file lies right under the disk's active layer is merged: the active layer is
 * committed into it (block commit with pivot on a running VM, qemu-img commit on a stopped one).
 * A frozen file that other layers still build on is kept for them: nothing else in the tree
 * breaks. A kept frozen file that nothing stands on any more (and the layers under it that only it
 * held) is dropped once the record is committed. Children of the node are re-parented to its parent. The database changes only after the
 * merges on disk are confirmed.
 */
export function vmSnapshotDeleteJob(
  deps: OrchestrationDeps,
  strategies: readonly StrategyCandidate[],
): JobDefinition<DeleteInput> {
  return {
    type: JOB_TYPES.vmSnapshotDelete,
    steps: [
      {
        name: 'mark-expunging',
        transactional: true,
        run: async (ctx, input) => {
          // Before anything changes: only the strategy that took the snapshot may delete it.
          checkStrategyRegistered(strategies, await loadSnapshot(ctx.tx, input.vmSnapshotId));
          await applyTransition(ctx.tx, deps.events, {
            table: 'vm_snapshots',
            kind: 'vm-snapshot',
            machine: vmSnapshotMachine,
            id: input.vmSnapshotId,
            event: 'ExpungeRequested',
            jobId: ctx.jobId,
          });
          return null;
        },
        compensate: async (ctx, input) => {
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
            event: 'OperationFailed',
            jobId: ctx.jobId,
          });
        },
      },
      {
        name: 'delete-storage-parts',
        run: async (ctx, input) => {
          const s = await loadSnapshot(deps.db, input.vmSnapshotId);
          const pools = await poolsOf(
            deps.db,
            s.parts.map((p) => p.volumeId),
          );
          const sctx = storageContext(ctx);
          const deleted: string[] = [];
          for (const [poolId, volumeIds] of storageGroups(s, pools)) {
            const r = await (
              await deps.drivers.forPool(poolId)
            ).deleteVmSnapshot(sctx, {
              vmSnapshot: { id: s.id, vmId: s.vmId, name: s.name, type: s.type },
              volumeIds,
              callerConsistency: 'crash',
            });
            deleted.push(...r.deleted);
          }
          return { deleted };
        },
      },
      {
        name: 'merge-files',
        run: async (ctx, input) => {
          const s = await loadSnapshot(deps.db, input.vmSnapshotId);
          const vm = await loadVm(deps.db, s.vmId);
          const merges: FileMerge[] = [];
          for (const part of s.parts.filter((p) => p.by === 'hypervisor')) {
            const volume = await loadVolume(deps.db, part.volumeId);
            const active = volume.backendRef;
            // Replays after a crash: the merge already happened when the active layer IS the frozen file.
            if (!active || active === part.ref) {
              merges.push({
                volumeId: part.volumeId,
                frozenPath: part.ref,
                mergedActive: null,
                running: false,
              });
              continue;
            }
            // The volume's layers are read, and a stopped disk committed, by an agent that mounts its pool.
            const files = await volumeFiles(deps, part.volumeId, vm.hostId);
            const onlyUnderActive =
              (await files.backingOf(active, ctx.signal)) === part.ref &&
              !(await othersBuildOn(deps, files, part.volumeId, part.ref, active, s.id));
            if (!onlyUnderActive) {
              merges.push({
                volumeId: part.volumeId,
                frozenPath: part.ref,
                mergedActive: null,
                running: false,
                unused: await snapshotLayersUnder(files, part.volumeId, part.ref),
              });
              continue;
            }
            const running =
              vm.state === 'Running' &&
              vm.hostId !== null &&
              volume.vmId === vm.id &&
              volume.deviceName !== null;
            if (running) {
              // A replay after the pivot finds the disk already on the frozen file: committing again would go one layer too deep.
              const live = await deps.agent.send(vm.hostId, 'vm.state', { vm: domainName(vm) });
              const onFrozen = live.disks.some(
                (d) => d.target === volume.deviceName && d.source === part.ref,
              );
              if (!onFrozen)
                await deps.agent.send(
                  vm.hostId,
                  'snapshot.blockCommit',
                  { vm: domainName(vm), target: volume.deviceName },
                  { signal: ctx.signal, timeoutMs: 600_000 },
                );
            } else {
              await files.commit(active, ctx.signal, 600_000);
            }
            merges.push({ volumeId: part.volumeId, frozenPath: part.ref, mergedActive: active, running });
          }
          return { merges } as unknown as Json;
        },
      },
      {
        name: 'record',
        transactional: true,
        run: async (ctx, input, prior) => {
          const { merges } = prior['merge-files'] as unknown as { merges: FileMerge[] };
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
          const { merges } = prior['merge-files'] as unknown as { merges: FileMerge[] };
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

/** Whether any layer other than `active` still names `frozen` as its backing (another snapshot, a revert branch). */
async function othersBuildOn(
  deps: OrchestrationDeps,
  files: HostFiles,
  volumeId: string,
  frozen: string,
  active: string,
  exceptSnapshot: string,
): Promise<boolean> {
  // A volume's layers are built only from its own files: its other snapshots' frozen files.
  const rows = await deps.db.query(
    `SELECT DISTINCT backend_ref FROM volume_snapshots WHERE volume_id = $1 AND taken_by = 'hypervisor' AND state = 'Ready' AND vm_snapshot_id <> $2`,
    [volumeId, exceptSnapshot],
  );
  const candidates = rows.map((r) => String(r['backend_ref']));
  for (const path of new Set(candidates)) {
    if (path === active || path === frozen) continue;
    if ((await files.backingOf(path).catch(() => null)) === frozen) return true;
  }
  return false;
}
