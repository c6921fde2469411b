import { StrataError, type Qos } from '@strata/core';
import type { JobDefinition, Json } from '../../jobs/index.js';
import { JOB_TYPES } from '../../services/job-types.js';
import {
  hostRef,
  loadHost,
  loadVm,
  loadVolume,
  storageContext,
  vmVolumes,
  type OrchestrationDeps,
} from '../deps.js';
import { nextDeviceName, toIoTune } from '../disk-source.js';
import { diskSpecFor } from '../host-disks.js';
import { domainName } from '../naming.js';

type AttachInput = { readonly volumeId: string; readonly vmId: string };
type VolumeInput = { readonly volumeId: string };

/**
 * Attach: take a device slot (database), then on a running VM grant the host access, connect and
 * hot-plug. A stopped VM gets the disk at its next start. Allowed on VMs with snapshots: each VM
 * snapshot records the disks it covers.
 */
export function volumeAttachJob(deps: OrchestrationDeps): JobDefinition<AttachInput> {
  return {
    type: JOB_TYPES.volumeAttach,
    steps: [
      {
        name: 'reserve-slot',
        transactional: true,
        run: async (ctx, input) => {
          const v = await loadVolume(ctx.tx, input.volumeId);
          if (v.vmId === input.vmId && v.deviceName) return { device: v.deviceName };
          // A move queued after this attach marked it: the move goes first, the attach is refused.
          const row = (await ctx.tx.query('SELECT state FROM volumes WHERE id = $1 FOR UPDATE', [v.id]))[0];
          if (row?.['state'] !== 'Ready')
            throw new StrataError('ILLEGAL_TRANSITION', {
              machine: 'volume',
              state: String(row?.['state']),
              event: 'Attach',
            });
          if (v.vmId)
            throw new StrataError('CONFLICT', {
              reason: `volume ${v.id} is already attached to vm ${v.vmId}`,
            });
          const device = nextDeviceName(
            (await vmVolumes(ctx.tx, input.vmId)).map((x) => x.deviceName),
            input.vmId,
          );
          await ctx.tx.query('UPDATE volumes SET vm_id = $2, device_name = $3 WHERE id = $1', [
            v.id,
            input.vmId,
            device,
          ]);
          await deps.events.record(
            {
              accountId: v.accountId,
              type: 'volume.Attach',
              resourceType: 'volume',
              resourceId: v.id,
              jobId: ctx.jobId,
              description: `${input.vmId} ${device}`,
            },
            ctx.tx,
          );
          return { device };
        },
        compensate: async (ctx, input) => {
          await ctx.tx.query(
            'UPDATE volumes SET vm_id = NULL, device_name = NULL WHERE id = $1 AND vm_id = $2',
            [input.volumeId, input.vmId],
          );
        },
      },
      {
        name: 'hot-plug',
        run: async (ctx, input) => {
          const vm = await loadVm(deps.db, input.vmId);
          if (vm.state !== 'Running' || !vm.hostId) return { live: false, target: null };
          const host = await loadHost(deps.db, vm.hostId);
          const disk = await diskSpecFor(
            deps,
            storageContext(ctx),
            await loadVolume(deps.db, input.volumeId),
            hostRef(host),
          );
          // Run again after a crash inside it: a disk already plugged at its target is kept, so the
          // attach resumes rather than failing on the busy target (and being undone).
          const report = await deps.agent.send(host.id, 'vm.state', { vm: domainName(vm) });
          if (!report.disks.some((d) => d.target === disk.target))
            await deps.agent.send(
              host.id,
              'disk.attach',
              { vm: domainName(vm), disk, live: true },
              { signal: ctx.signal },
            );
          return { live: true, target: disk.target as string | null };
        },
        compensate: async (ctx, input) => {
          await unplug(deps, storageContext(ctx), input.volumeId, input.vmId);
        },
      },
    ],
  };
}

/** Detach: hot-unplug from a running VM, revoke the host's access last, then free the slot. */
export function volumeDetachJob(deps: OrchestrationDeps): JobDefinition<VolumeInput> {
  return {
    type: JOB_TYPES.volumeDetach,
    steps: [
      {
        name: 'unplug',
        run: async (ctx, input) => {
          const v = await loadVolume(deps.db, input.volumeId);
          if (!v.vmId) return { live: false };
          return { live: await unplug(deps, storageContext(ctx), v.id, v.vmId) };
        },
      },
      {
        name: 'release-slot',
        transactional: true,
        run: async (ctx, input) => {
          const v = await loadVolume(ctx.tx, input.volumeId);
          await ctx.tx.query('UPDATE volumes SET vm_id = NULL, device_name = NULL WHERE id = $1', [v.id]);
          await deps.events.record(
            {
              accountId: v.accountId,
              type: 'volume.Detach',
              resourceType: 'volume',
              resourceId: v.id,
              jobId: ctx.jobId,
              description: v.vmId ?? '',
            },
            ctx.tx,
          );
          return { volumeId: v.id };
        },
      },
    ],
  };
}

async function unplug(
  deps: OrchestrationDeps,
  sctx: ReturnType<typeof storageContext>,
  volumeId: string,
  vmId: string,
): Promise<boolean> {
  const v = await loadVolume(deps.db, volumeId);
  const vm = await loadVm(deps.db, vmId);
  if (vm.state !== 'Running' || !vm.hostId || !v.deviceName) return false;
  const host = await loadHost(deps.db, vm.hostId);
  const report = await deps.agent.send(host.id, 'vm.state', { vm: domainName(vm) });
  if (report.disks.some((d) => d.target === v.deviceName)) {
    await deps.agent.send(
      host.id,
      'disk.detach',
      { vm: domainName(vm), target: v.deviceName, live: true },
      { signal: sctx.signal },
    );
  }
  await (await deps.drivers.forPool(v.poolId)).revokeAccess(sctx, { volumeId: v.id, host: hostRef(host) });
  return true;
}

type QosFigures = Pick<Qos, 'minIops' | 'maxIops' | 'burstIops' | 'burstSeconds'>;
/** `previous`: the QoS recorded before this change (null: none), put back if it cannot be applied. */
type SetQosInput = { readonly volumeId: string; readonly previous?: QosFigures | null };

/**
 * Applies a volume's recorded QoS: the backend takes what it can, QEMU the rest, and the
 * hypervisor's limits are read back and compared: a mismatch fails the job, never a silent success.
 * A failure puts the previous QoS back, in the record and on the backend and QEMU, so the database
 * never claims limits nothing enforces.
 */
export function volumeSetQosJob(deps: OrchestrationDeps): JobDefinition<SetQosInput> {
  return {
    type: JOB_TYPES.volumeSetQos,
    steps: [
      {
        name: 'apply',
        run: (ctx, input) => applyRecordedQos(deps, ctx, input.volumeId),
        compensate: async (ctx, input) => {
          if (input.previous === undefined) return; // a job submitted without it: nothing to restore
          const q = input.previous;
          await deps.db.transaction(async (tx) => {
            const [row] = await tx.query(
              'UPDATE volumes SET min_iops = $2, max_iops = $3, burst_iops = $4, burst_seconds = $5 WHERE id = $1 RETURNING account_id',
              [
                input.volumeId,
                q?.minIops ?? null,
                q?.maxIops ?? null,
                q?.burstIops ?? null,
                q?.burstSeconds ?? null,
              ],
            );
            await deps.events.record(
              {
                accountId: (row?.['account_id'] as string | null) ?? null,
                type: 'volume.QosRestored',
                resourceType: 'volume',
                resourceId: input.volumeId,
                jobId: ctx.jobId,
              },
              tx,
            );
          });
          await applyRecordedQos(deps, ctx, input.volumeId);
        },
      },
    ],
  };
}

async function applyRecordedQos(
  deps: OrchestrationDeps,
  ctx: Parameters<typeof storageContext>[0],
  volumeId: string,
): Promise<Json> {
  const v = await loadVolume(deps.db, volumeId);
  const r = await (
    await deps.drivers.forPool(v.poolId)
  ).setQos(storageContext(ctx), { volumeId: v.id, qos: v.qos });
  // The driver answers the volume as its backend now holds it: the figures it enforces must match.
  if (r.enforcedBy !== 'frontend' && !sameBackendQos(r.volume.qos, v.qos)) {
    throw new StrataError('QOS_NOT_APPLIED', {
      volume: v.id,
      wanted: JSON.stringify(v.qos),
      got: JSON.stringify(r.volume.qos),
    });
  }
  if (!v.vmId || !v.deviceName) return { enforcedBy: r.enforcedBy, live: false, iotune: null };
  const vm = await loadVm(deps.db, v.vmId);
  if (vm.state !== 'Running' || !vm.hostId) return { enforcedBy: r.enforcedBy, live: false, iotune: null };
  const wanted = toIoTune(r.frontendQos) ?? { totalIopsSec: 0 };
  const readBack = await deps.agent.send(vm.hostId, 'iotune.set', {
    vm: domainName(vm),
    target: v.deviceName,
    iotune: wanted,
  });
  if (
    readBack.totalIopsSec !== wanted.totalIopsSec ||
    (readBack.totalIopsSecMax ?? 0) !== (wanted.totalIopsSecMax ?? 0) ||
    (wanted.totalIopsSecMaxLength !== undefined &&
      readBack.totalIopsSecMaxLength !== wanted.totalIopsSecMaxLength)
  ) {
    throw new StrataError('QOS_NOT_APPLIED', {
      volume: v.id,
      wanted: JSON.stringify(wanted),
      got: JSON.stringify(readBack),
    });
  }
  return { enforcedBy: r.enforcedBy, live: true, iotune: JSON.parse(JSON.stringify(readBack)) as Json };
}

function sameBackendQos(got: Qos | null, wanted: Qos | null): boolean {
  return (
    (got?.maxIops ?? 0) === (wanted?.maxIops ?? 0) &&
    (got?.burstIops ?? 0) === (wanted?.burstIops ?? 0) &&
    (got?.burstSeconds ?? 0) === (wanted?.burstSeconds ?? 0)
  );
}
