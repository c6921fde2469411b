import { cantHandle, type Verdict, type VmSnapshotRequest } from '@strata/core';
import { withMemory } from './memory-reason.js';
import { byParts } from './by-parts.js';
import type { SnapshotStrategy } from './types.js';

/**
 * hypervisor (the default): libvirt disk-only external snapshots of every disk at once. It needs
 * every disk to be a file the hypervisor can overlay and merge (qcow2); a network disk would be
 * left with a local qcow2 layer that offline tools cannot open (DESIGN.md section 6).
 */
export const hypervisorStrategy: SnapshotStrategy = {
  ...byParts,
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
