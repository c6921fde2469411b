import { dirname } from 'node:path';
import type { DiskFacts, StorageDriver, Vm, Volume } from '@strata/core';
import { loadVm, vmVolumes, type OrchestrationDeps } from '../orchestration/deps.js';
import { snapshotFile } from '../orchestration/naming.js';
import type { CutDisk } from './plan.js';

/** A VM's disks with the driver of each, as snapshot selection and the cut need them. */
export interface VmDisks {
  readonly vm: Vm;
  readonly volumes: readonly Volume[];
  readonly drivers: ReadonlyMap<string, StorageDriver>;
}

export async function loadVmDisks(deps: OrchestrationDeps, vmId: string): Promise<VmDisks> {
  const vm = await loadVm(deps.db, vmId);
  const volumes = (await vmVolumes(deps.db, vmId)).filter((v) => v.deviceName);
  const drivers = new Map<string, StorageDriver>();
  for (const v of volumes) drivers.set(v.id, await deps.drivers.forPool(v.poolId));
  return { vm, volumes, drivers };
}

const isFile = (d: StorageDriver): boolean =>
  d.capabilities.vmSnapshotHook === 'hypervisor' && d.capabilities.adaptors.includes('file');

export function diskFacts(disks: VmDisks): DiskFacts[] {
  return disks.volumes.map((v) => {
    const d = disks.drivers.get(v.id)!;
    return {
      volumeId: v.id,
      device: v.deviceName!,
      driverType: d.type,
      driverName: d.name,
      vmSnapshotHook: d.capabilities.vmSnapshotHook === 'storage',
      hypervisorManaged: isFile(d),
    };
  });
}

/** The journaled form of one disk of a cut: no driver objects, only ids and paths. */
export interface PlannedDisk {
  readonly volumeId: string;
  readonly target: string;
  readonly poolId: string;
  /** For qcow2 files: the file under the new overlay (this snapshot's point in time). */
  readonly frozenPath: string | null;
  readonly overlayPath: string | null;
  /** For network disks under a hypervisor-mode cut: the transient host-local overlay. */
  readonly transientPath: string | null;
}

export function planDisks(deps: OrchestrationDeps, disks: VmDisks, snapshotId: string): PlannedDisk[] {
  return disks.volumes.map((v) => {
    const file = isFile(disks.drivers.get(v.id)!);
    const active = v.backendRef ?? '';
    return {
      volumeId: v.id,
      target: v.deviceName!,
      poolId: v.poolId,
      frozenPath: file ? active : null,
      overlayPath: file ? `${dirname(active)}/${v.id}.${snapshotId}.qcow2` : null,
      transientPath: file
        ? null
        : snapshotFile(deps.stateDir, disks.vm.id, snapshotId, `${v.deviceName}.qcow2`),
    };
  });
}

/** Rebuilds the cut's disks (with their drivers) from the journaled plan. */
export async function hydrate(deps: OrchestrationDeps, planned: readonly PlannedDisk[]): Promise<CutDisk[]> {
  const out: CutDisk[] = [];
  for (const p of planned) {
    out.push({
      volumeId: p.volumeId,
      target: p.target,
      driver: await deps.drivers.forPool(p.poolId),
      ...(p.overlayPath && { overlayPath: p.overlayPath }),
    });
  }
  return out;
}
