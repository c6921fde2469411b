import { abandonCut, finishByCut, takeByCut } from './disk-cut.js';
import { deleteByParts } from './disk-delete.js';
import { revertByParts } from './disk-revert.js';
import type { SnapshotStrategy } from './types.js';

/**
 * The work both built-in strategies share: one cut over every disk (its transient overlays
 * committed back after the record), each part reverted and deleted
 * by whoever took it (a driver's hook, or the hypervisor's qcow2 files). They differ in what they
 * claim (canHandle).
 */
export const byParts: Omit<SnapshotStrategy, 'name' | 'canHandle'> = {
  take: takeByCut,
  abandon: abandonCut,
  finishTake: finishByCut,
  revert: revertByParts,
  delete: deleteByParts,
};
