import { StrataError, volumeMachine, volumeSnapshotMachine, type Vm, type Volume } from '@strata/core';
import type { JobDefinition } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import { refuseIfOnFormerPool } from '../../services/moved-sources.js';
import { applyTransition } from '../../services/transition.js';
import { releaseFormerCopies } from './moved-source-release.js';
import { loadVm, loadVolume, storageContext, type OrchestrationDeps } from '../deps.js';
import { domainName } from '../naming.js';
import { cutUnderFreeze, undoGroupCut, type GroupGuest } from './group-cut.js';

type SnapshotInput = { readonly snapshotId: string; readonly quiesce?: boolean };

async function snapshotRow(
  deps: OrchestrationDeps,
  id: string,
): Promise<{ volumeId: string; state: string; poolId: string | null }> {
  const row = (
    await deps.db.query('SELECT volume_id, state, pool_id FROM volume_snapshots WHERE id = $1', [id])
  )[0];
  if (!row) throw new StrataError('NOT_FOUND', { kind: 'volume snapshot', id });
  return {
    volumeId: String(row['volume_id']),
    state: String(row['state']),
    // set when the volume moved off the pool that holds the snapshot
    poolId: (row['pool_id'] as string | null) ?? null,
  };
}

/**
 * The running guest a quiesced snapshot of this volume freezes: the volume is attached to it as a
 * disk. Null when nothing is to be held (no quiesce, a stopped or detached VM).
 */
function frozenGuest(
  deps: OrchestrationDeps,
  volume: Volume,
  vm: Vm | null,
  input: SnapshotInput,
): GroupGuest | null {
  if (input.quiesce !== true || !vm || vm.state !== 'Running' || !vm.hostId || !volume.deviceName)
    return null;
  return {
    hostId: vm.hostId,
    vm: domainName(vm),
    vmId: vm.id,
    stateDir: deps.stateDir,
    groupKey: input.snapshotId,
  };
}

/**
 * Snapshot of one volume, offloaded to its storage. A volume a running VM writes to, when asked
 * (quiesce), is cut the way a group snapshot cuts its disks: the guest is frozen only for an atomic
 * overlay over the disk (the hold every snapshot uses, with the configured deadline), the storage
 * takes the still volume with the guest running, and the overlay is committed back. A qcow2 file
 * in use by a running QEMU cannot be snapshotted by the storage: that is a VM snapshot's job.
 */
export function volumeSnapshotCreateJob(deps: OrchestrationDeps): JobDefinition<SnapshotInput> {
  return {
    type: JOB_TYPES.volumeSnapshotCreate,
    // a crash while the guest runs on the transient overlay: the take step's undo commits it back
    onInterrupted: 'compensate',
    steps: [
      {
        // Holds nothing itself: its compensation marks the record Error when the cut fails.
        name: 'begin',
        transactional: true,
        run: () => Promise.resolve(null),
        compensate: async (ctx, input) => {
          await applyTransition(ctx.tx, deps.events, {
            table: 'volume_snapshots',
            kind: 'volume-snapshot',
            machine: volumeSnapshotMachine,
            id: input.snapshotId,
            event: 'Fail',
            jobId: ctx.jobId,
          });
        },
      },
      {
        name: 'take',
        run: async (ctx, input) => {
          const { volumeId } = await snapshotRow(deps, input.snapshotId);
          const volume = await loadVolume(deps.db, volumeId);
          const driver = await deps.drivers.forPool(volume.poolId);
          if (!driver.capabilities.volumeSnapshot)
            throw new StrataError('STORAGE_UNSUPPORTED', {
              driver: driver.type,
              operation: 'volume snapshots',
            });
          const vm = volume.vmId ? await loadVm(deps.db, volume.vmId) : null;
          const running = vm?.state === 'Running' && vm.hostId !== null;
          if (running && driver.capabilities.vmSnapshotHook === 'hypervisor') {
            throw new StrataError('STORAGE_UNSUPPORTED', {
              driver: driver.type,
              operation: 'a volume snapshot of a disk a running VM writes to (take a VM snapshot)',
            });
          }
          const take = async () => {
            const r = await driver.createSnapshot(storageContext(ctx), {
              volumeId,
              snapshotId: input.snapshotId,
            });
            return { backendRef: r.snapshot.backendRef, sizeBytes: r.snapshot.sizeBytes };
          };
          const guest = frozenGuest(deps, volume, vm, input);
          if (!guest) return { ...(await take()), holdMs: 0 };
          const cut = await cutUnderFreeze(deps, guest, [volume.deviceName!], ctx.signal, take);
          return { ...cut.taken, holdMs: cut.holdMs };
        },
        compensate: async (ctx, input) => {
          const { volumeId } = await snapshotRow(deps, input.snapshotId);
          const volume = await loadVolume(deps.db, volumeId);
          const vm = volume.vmId ? await loadVm(deps.db, volume.vmId) : null;
          const guest = frozenGuest(deps, volume, vm, input);
          if (guest) await undoGroupCut(deps, guest, [volume.deviceName!], storageContext(ctx));
          await (
            await deps.drivers.forPool(volume.poolId)
          ).deleteSnapshot(storageContext(ctx), { volumeId, snapshotId: input.snapshotId });
        },
      },
      {
        name: 'record',
        transactional: true,
        run: async (ctx, input, prior) => {
          const taken = prior['take'] as { backendRef: string; sizeBytes: number; holdMs?: number };
          await applyTransition(ctx.tx, deps.events, {
            table: 'volume_snapshots',
            kind: 'volume-snapshot',
            machine: volumeSnapshotMachine,
            id: input.snapshotId,
            event: 'Created',
            jobId: ctx.jobId,
            set: { backend_ref: taken.backendRef, size_bytes: taken.sizeBytes, taken_by: 'storage' },
          });
          return { snapshotId: input.snapshotId, backendRef: taken.backendRef, holdMs: taken.holdMs ?? 0 };
        },
      },
    ],
  };
}

export function volumeSnapshotDeleteJob(deps: OrchestrationDeps): JobDefinition<SnapshotInput> {
  return {
    type: JOB_TYPES.volumeSnapshotDelete,
    steps: [
      {
        name: 'mark-deleting',
        transactional: true,
        run: async (ctx, input) => {
          const { from } = await applyTransition(ctx.tx, deps.events, {
            table: 'volume_snapshots',
            kind: 'volume-snapshot',
            machine: volumeSnapshotMachine,
            id: input.snapshotId,
            event: 'Delete',
            jobId: ctx.jobId,
          });
          return { from };
        },
        // Back to the state it had: an Error snapshot stays Error (a job journaled without it: Ready).
        compensate: async (ctx, input, output) => {
          const from = (output as { from?: string } | null | undefined)?.from;
          await applyTransition(ctx.tx, deps.events, {
            table: 'volume_snapshots',
            kind: 'volume-snapshot',
            machine: volumeSnapshotMachine,
            id: input.snapshotId,
            event: from === 'Error' ? 'Broken' : 'Fail',
            jobId: ctx.jobId,
          });
        },
      },
      {
        name: 'delete-on-backend',
        run: async (ctx, input) => {
          const { volumeId, poolId } = await snapshotRow(deps, input.snapshotId);
          const volume = await loadVolume(deps.db, volumeId);
          const r = await (
            await deps.drivers.forPool(poolId ?? volume.poolId)
          ).deleteSnapshot(storageContext(ctx), { volumeId, snapshotId: input.snapshotId });
          return { deleted: r.deleted };
        },
      },
      {
        name: 'mark-deleted',
        transactional: true,
        run: async (ctx, input) => {
          await applyTransition(ctx.tx, deps.events, {
            table: 'volume_snapshots',
            kind: 'volume-snapshot',
            machine: volumeSnapshotMachine,
            id: input.snapshotId,
            event: 'Deleted',
            jobId: ctx.jobId,
          });
          return { snapshotId: input.snapshotId };
        },
      },
      {
        // After the record: the volume's former copy this snapshot was the last to need.
        name: 'release-former-copy',
        run: async (ctx, input) => {
          const { volumeId, poolId } = await snapshotRow(deps, input.snapshotId);
          if (!poolId) return { released: [] };
          return releaseFormerCopies(deps, storageContext(ctx), [{ volumeId, poolId }]);
        },
      },
    ],
  };
}

/**
 * Revert of one volume to its snapshot, by the storage, in place. Refused with a clear error on a
 * volume a running VM has attached: reverting under a running guest would corrupt its view.
 */
export function volumeSnapshotRevertJob(deps: OrchestrationDeps): JobDefinition<SnapshotInput> {
  return {
    type: JOB_TYPES.volumeSnapshotRevert,
    steps: [
      {
        name: 'mark-reverting',
        transactional: true,
        run: async (ctx, input) => {
          const row = (
            await ctx.tx.query('SELECT volume_id FROM volume_snapshots WHERE id = $1', [input.snapshotId])
          )[0];
          if (!row) throw new StrataError('NOT_FOUND', { kind: 'volume snapshot', id: input.snapshotId });
          await refuseIfOnFormerPool(ctx.tx, input.snapshotId, 'reverted');
          const volume = await loadVolume(ctx.tx, String(row['volume_id']));
          if (volume.vmId) {
            const vm = await loadVm(ctx.tx, volume.vmId);
            if (vm.state !== 'Stopped') throw new StrataError('REVERT_NEEDS_STOP', { vm: vm.id });
          }
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: volume.id,
            event: 'Revert',
            jobId: ctx.jobId,
          });
          return { volumeId: volume.id };
        },
        compensate: async (ctx, _input, output) => {
          const volumeId = (output as { volumeId?: string } | undefined)?.volumeId;
          if (volumeId)
            await applyTransition(ctx.tx, deps.events, {
              table: 'volumes',
              kind: 'volume',
              machine: volumeMachine,
              id: volumeId,
              event: 'Fail',
              jobId: ctx.jobId,
            });
        },
      },
      {
        name: 'revert-on-backend',
        run: async (ctx, input, prior) => {
          const { volumeId } = prior['mark-reverting'] as { volumeId: string };
          const volume = await loadVolume(deps.db, volumeId);
          const r = await (
            await deps.drivers.forPool(volume.poolId)
          ).revertSnapshot(storageContext(ctx), { volumeId, snapshotId: input.snapshotId });
          return { elapsedMs: r.elapsedMs };
        },
      },
      {
        name: 'mark-reverted',
        transactional: true,
        run: async (ctx, _input, prior) => {
          const { volumeId } = prior['mark-reverting'] as { volumeId: string };
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: volumeId,
            event: 'Done',
            jobId: ctx.jobId,
          });
          return { volumeId };
        },
      },
    ],
  };
}
