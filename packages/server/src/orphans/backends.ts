import type { StorageContext, StorageDriver } from '@strata/core';
import type { PoolDrivers } from '../orchestration/pool-drivers.js';
import type { References } from './references.js';
import { orphan, type Orphan } from './types.js';
import { vmSnapshotPartOrphans, type VmSnapshotRows } from './vm-parts.js';

/** A driver that can tell which hosts hold a grant on a volume (tgt: its ACLs). Optional. */
interface AccessLister {
  listAccess(ctx: StorageContext, req: { volumeId: string }): Promise<readonly string[]>;
}

export function listsAccess(d: StorageDriver): d is StorageDriver & AccessLister {
  return typeof (d as Partial<AccessLister>).listAccess === 'function';
}

const hypervisorFiles = (d: StorageDriver) =>
  d.capabilities.vmSnapshotHook === 'hypervisor' && d.capabilities.adaptors.includes('file');

/**
 * Per pool: volumes the backend holds that have no row, snapshots no row names, VM-snapshot parts
 * whose VM snapshot should not have them, and grants to hosts that do not run the volume's VM.
 * Volumes and VM snapshots some live job works on are skipped.
 */
export async function backendOrphans(
  refs: References,
  vmSnapshots: VmSnapshotRows,
  drivers: PoolDrivers,
  ctx: StorageContext,
  warnings: string[],
): Promise<Orphan[]> {
  const out: Orphan[] = [];
  const rows = new Map(refs.volumes.map((v) => [v.id, v]));
  for (const pool of refs.pools) {
    let driver: StorageDriver;
    try {
      driver = await drivers.forPool(pool.id);
    } catch (e) {
      warnings.push(`pool ${pool.id}: no driver (${String(e)})`);
      continue;
    }
    // Parts before volumes: collection removes in this order, and rbd refuses to delete a volume
    // a group snapshot still holds.
    out.push(...(await vmSnapshotPartOrphans(refs, vmSnapshots, driver, pool.id, ctx, warnings)));
    try {
      for (const info of await driver.listVolumes(ctx)) {
        // a volume's row names one pool: the same id on another is a copy a move left behind
        if (rows.get(info.volumeId)?.poolId === pool.id || refs.busyVolumes.has(info.volumeId)) continue;
        // kept on its former pool for snapshots until the last of them is deleted
        if (refs.formerCopies.has(`${info.volumeId}@${pool.id}`)) continue;
        const elsewhere = rows.has(info.volumeId);
        out.push(
          orphan(
            'backend-volume',
            info.volumeId,
            elsewhere
              ? 'a copy of a volume whose row names another pool'
              : 'a volume on the backend with no volume row',
            {
              poolId: pool.id,
              volumeId: info.volumeId,
            },
          ),
        );
      }
    } catch (e) {
      warnings.push(`pool ${pool.id}: cannot list volumes (${String(e)})`);
    }
    const volumes = refs.volumes.filter((v) => v.poolId === pool.id && !refs.busyVolumes.has(v.id));
    for (const v of volumes) {
      // qcow2 snapshots are internal to the layer files, judged with those files.
      if (!hypervisorFiles(driver)) {
        try {
          for (const s of await driver.listSnapshots(ctx, { volumeId: v.id })) {
            if (refs.snapshotRefs.has(s.snapshotId) || refs.snapshotRefs.has(s.backendRef)) continue;
            out.push(
              orphan(
                'backend-snapshot',
                s.snapshotId,
                'a snapshot on the backend that no snapshot row names',
                {
                  poolId: pool.id,
                  volumeId: v.id,
                },
              ),
            );
          }
        } catch (e) {
          warnings.push(`volume ${v.id}: cannot list snapshots (${String(e)})`);
        }
      }
      if (listsAccess(driver)) {
        try {
          const host = v.vmId ? refs.vmHost.get(v.vmId) : undefined;
          for (const hostId of await driver.listAccess(ctx, { volumeId: v.id })) {
            // Attached to a VM with no host yet (stopped): its next start grants again, keep it.
            if (v.vmId && (host === null || host === hostId)) continue;
            out.push(
              orphan(
                'access-grant',
                `${v.id}@${hostId}`,
                v.vmId ? "the volume's VM runs on another host" : 'the volume is attached to no VM',
                { poolId: pool.id, volumeId: v.id, hostId },
              ),
            );
          }
        } catch (e) {
          warnings.push(`volume ${v.id}: cannot list grants (${String(e)})`);
        }
      }
    }
  }
  return out;
}
