import { cantHandle, type StrategyCandidate, type Verdict, type VmSnapshotRequest } from '@strata/core';

/** Both strategies take memory: it goes to a file with the one libvirt operation that cuts every disk. */
const withMemory = (req: VmSnapshotRequest): string =>
  req.type === 'DiskAndMemory' ? '; memory state to a file, restored on revert' : '';

/**
 * hypervisor (the default): libvirt disk-only external snapshots of every disk at once. It needs
 * every disk to be a file the hypervisor can overlay and merge (qcow2); a network disk would be
 * left with a local qcow2 layer that offline tools cannot open (DESIGN.md section 6).
 */
export const hypervisorStrategy: StrategyCandidate = {
  name: 'hypervisor',
  canHandle(req: VmSnapshotRequest): Verdict {
    if (req.disks.length === 0) return cantHandle('the VM has no disks');
    const network = req.disks.filter((d) => !d.hypervisorManaged);
    if (network.length > 0) {
      return cantHandle(
        `${network.map((d) => `${d.device} (${d.driverType})`).join(', ')} not a file the hypervisor can overlay`,
      );
    }
    return { priority: 'DEFAULT', reason: `all ${req.disks.length} disks are qcow2 files${withMemory(req)}` };
  },
};

/**
 * storage: the seeds' fine-grained design. The VM's volumes are grouped by driver; each driver's
 * VM-snapshot hook takes its group, qcow2 files are taken by the hypervisor, all in one cut. It
 * claims any VM with at least one disk on storage that has the hook, whatever else it has.
 */
export const storageOffloadStrategy: StrategyCandidate = {
  name: 'storage',
  canHandle(req: VmSnapshotRequest): Verdict {
    const hooked = req.disks.filter((d) => d.vmSnapshotHook);
    if (hooked.length === 0) return cantHandle('no disk is on storage with a VM-snapshot hook');
    const stranded = req.disks.filter((d) => !d.vmSnapshotHook && !d.hypervisorManaged);
    if (stranded.length > 0) {
      return cantHandle(
        `${stranded.map((d) => `${d.device} (${d.driverType})`).join(', ')} has neither a hook nor a file to overlay`,
      );
    }
    const drivers = [...new Set(hooked.map((d) => d.driverType))].join(', ');
    return {
      priority: 'PLUGIN',
      reason: `${hooked.length} of ${req.disks.length} disks on storage with VM-snapshot hooks (${drivers})${withMemory(req)}`,
    };
  },
};

export const builtInStrategies: readonly StrategyCandidate[] = [hypervisorStrategy, storageOffloadStrategy];
