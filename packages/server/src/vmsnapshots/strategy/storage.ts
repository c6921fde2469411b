import { cantHandle, type Verdict, type VmSnapshotRequest } from '@strata/core';
import { withMemory } from './memory-reason.js';
import { byParts } from './by-parts.js';
import type { SnapshotStrategy } from './types.js';

/**
 * storage: the seeds' fine-grained design. The VM's volumes are grouped by driver; each driver's
 * VM-snapshot hook takes its group, qcow2 files are taken by the hypervisor, all in one cut. It
 * claims any VM with at least one disk on storage that has the hook, whatever else it has.
 */
export const storageOffloadStrategy: SnapshotStrategy = {
  ...byParts,
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
