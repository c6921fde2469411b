import { StrataError, volumeMachine, type TemplateRef } from '@strata/core';
import type { JobDefinition } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import { applyTransition } from '../../services/transition.js';
import { loadVolume, storageContext, type OrchestrationDeps } from '../deps.js';
import { createFromSnapshot } from './volume-from-snapshot.js';

type VolumeInput = { readonly volumeId: string; readonly snapshotId?: string };
type ResizeInput = { readonly volumeId: string; readonly sizeBytes: number };

/** Creates the backend volume for a record in Allocated; idempotent on the volume id. */
export function volumeCreateJob(deps: OrchestrationDeps): JobDefinition<VolumeInput> {
  return {
    type: JOB_TYPES.volumeCreate,
    steps: [
      {
        name: 'mark-creating',
        transactional: true,
        run: async (ctx, input) => {
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: input.volumeId,
            event: 'Create',
            jobId: ctx.jobId,
          });
          // A VM's ROOT volume is its first disk.
          await ctx.tx.query(
            `UPDATE volumes SET device_name = 'vda' WHERE id = $1 AND type = 'ROOT' AND vm_id IS NOT NULL AND device_name IS NULL`,
            [input.volumeId],
          );
          return null;
        },
        compensate: async (ctx, input) => {
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: input.volumeId,
            event: 'Fail',
            jobId: ctx.jobId,
          });
        },
      },
      {
        name: 'create-on-backend',
        run: async (ctx, input) => {
          const volume = await loadVolume(deps.db, input.volumeId);
          const driver = await deps.drivers.forPool(volume.poolId);
          const reserve = await hypervisorReserve(deps.db, volume.offeringId);
          const req = {
            volumeId: volume.id,
            sizeBytes: volume.sizeBytes,
            qos: volume.qos,
            hypervisorSnapshotReserve: reserve,
          };
          const sctx = storageContext(ctx);
          const template = volume.type === 'ROOT' ? await templateOf(deps, volume.vmId) : null;
          const made = input.snapshotId
            ? await createFromSnapshot(deps, driver, sctx, req, input.snapshotId)
            : template
              ? await driver.createVolumeFromTemplate(sctx, { ...req, template })
              : await driver.createVolume(sctx, req);
          return { backendRef: made.volume.backendRef };
        },
        compensate: async (ctx, input) => {
          const volume = await loadVolume(deps.db, input.volumeId);
          await (
            await deps.drivers.forPool(volume.poolId)
          ).deleteVolume(storageContext(ctx), { volumeId: volume.id });
        },
      },
      {
        name: 'mark-ready',
        transactional: true,
        run: async (ctx, input, prior) => {
          const made = prior['create-on-backend'] as { backendRef: string };
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: input.volumeId,
            event: 'Created',
            set: { backend_ref: made.backendRef },
            jobId: ctx.jobId,
          });
          return { volumeId: input.volumeId, backendRef: made.backendRef };
        },
      },
    ],
  };
}

/** Deletes a detached volume's backend volume, then its record. */
export function volumeDeleteJob(deps: OrchestrationDeps): JobDefinition<VolumeInput> {
  return {
    type: JOB_TYPES.volumeDelete,
    steps: [
      {
        name: 'mark-destroying',
        transactional: true,
        run: async (ctx, input) => {
          const v = await loadVolume(ctx.tx, input.volumeId);
          if (v.vmId)
            throw new StrataError('CONFLICT', { reason: `volume ${v.id} is attached to vm ${v.vmId}` });
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: v.id,
            event: 'Destroy',
            jobId: ctx.jobId,
          });
          return { backendRef: v.backendRef };
        },
        // The backend delete failed (after its retries): the volume goes to Error, from which a
        // delete is asked again; it never stays Destroying with no job working on it.
        compensate: async (ctx, input) => {
          const v = await loadVolume(ctx.tx, input.volumeId);
          if (v.state !== 'Destroying') return;
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: v.id,
            event: 'Fail',
            jobId: ctx.jobId,
          });
        },
      },
      {
        name: 'delete-on-backend',
        run: async (ctx, input) => {
          const v = await loadVolume(deps.db, input.volumeId);
          if (v.backendRef === null) return { deleted: false };
          try {
            const r = await (
              await deps.drivers.forPool(v.poolId)
            ).deleteVolume(storageContext(ctx), { volumeId: v.id });
            return { deleted: r.deleted };
          } catch (e) {
            if (ctx.signal.aborted) throw e;
            throw new StrataError('VOLUME_DELETE_FAILED', {
              volume: v.id,
              reason: e instanceof Error ? e.message : String(e),
            });
          }
        },
      },
      {
        name: 'mark-destroyed',
        transactional: true,
        run: async (ctx, input) => {
          const v = await loadVolume(ctx.tx, input.volumeId);
          // A volume that never reached its backend goes straight from Allocated to Destroyed.
          if (v.state !== 'Destroyed') {
            await applyTransition(ctx.tx, deps.events, {
              table: 'volumes',
              kind: 'volume',
              machine: volumeMachine,
              id: v.id,
              event: 'Destroyed',
              jobId: ctx.jobId,
            });
          }
          return { volumeId: v.id };
        },
      },
    ],
  };
}

/** Grows a volume on its backend; the record changes only after the backend confirms. */
export function volumeResizeJob(deps: OrchestrationDeps): JobDefinition<ResizeInput> {
  return {
    type: JOB_TYPES.volumeResize,
    steps: [
      {
        name: 'mark-resizing',
        transactional: true,
        run: async (ctx, input) => {
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: input.volumeId,
            event: 'Resize',
            jobId: ctx.jobId,
          });
          return null;
        },
        compensate: async (ctx, input) => {
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: input.volumeId,
            event: 'Fail',
            jobId: ctx.jobId,
          });
        },
      },
      {
        name: 'resize-on-backend',
        run: async (ctx, input) => {
          const v = await loadVolume(deps.db, input.volumeId);
          const r = await (
            await deps.drivers.forPool(v.poolId)
          ).resizeVolume(storageContext(ctx), { volumeId: v.id, sizeBytes: input.sizeBytes });
          return { sizeBytes: r.volume.sizeBytes };
        },
      },
      {
        name: 'mark-resized',
        transactional: true,
        run: async (ctx, input, prior) => {
          const { sizeBytes } = prior['resize-on-backend'] as { sizeBytes: number };
          await applyTransition(ctx.tx, deps.events, {
            table: 'volumes',
            kind: 'volume',
            machine: volumeMachine,
            id: input.volumeId,
            event: 'Done',
            set: { size_bytes: sizeBytes },
            jobId: ctx.jobId,
          });
          return { volumeId: input.volumeId, sizeBytes };
        },
      },
    ],
  };
}

async function hypervisorReserve(
  q: { query: (s: string, p?: readonly unknown[]) => Promise<Record<string, unknown>[]> },
  offeringId: string | null,
): Promise<number> {
  if (!offeringId) return 0;
  const row = (
    await q.query('SELECT hypervisor_snapshot_reserve FROM disk_offerings WHERE id = $1', [offeringId])
  )[0];
  return Number(row?.['hypervisor_snapshot_reserve'] ?? 0);
}

/** The template a ROOT volume is cloned from: its VM's. */
async function templateOf(deps: OrchestrationDeps, vmId: string | null): Promise<TemplateRef | null> {
  if (!vmId) return null;
  const row = (
    await deps.db.query(
      'SELECT t.id, t.path, t.format FROM vms v JOIN templates t ON t.id = v.template_id WHERE v.id = $1',
      [vmId],
    )
  )[0];
  if (!row) return null;
  return {
    id: String(row['id']),
    path: String(row['path']),
    format: row['format'] === 'raw' ? 'raw' : 'qcow2',
  };
}
