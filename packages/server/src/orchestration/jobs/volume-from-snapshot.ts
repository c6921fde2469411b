import { createHash } from 'node:crypto';
import {
  StrataError,
  type CreateVolumeRequest,
  type CreateVolumeResult,
  type StorageContext,
  type StorageDriver,
} from '@strata/core';
import type { OrchestrationDeps } from '../deps.js';

/**
 * A reference a driver answered that names one snapshot of its own (a caller's id, or a longer
 * id the driver derived, such as tgt's `vm-<vm snapshot>--<volume>`), not a path or a group.
 */
const DRIVER_SNAPSHOT_ID = /^[a-z0-9][a-z0-9-]{0,199}$/;

/**
 * Builds a volume from a volume snapshot record. An ordinary snapshot is known to its driver by
 * the record's id. A VM snapshot's part is not: a storage-taken part is cloned by the reference
 * its driver answered, and a hypervisor-taken part (a qcow2 layer frozen by the VM snapshot) is
 * copied, with its backing chain, like a template.
 */
export async function createFromSnapshot(
  deps: OrchestrationDeps,
  driver: StorageDriver,
  ctx: StorageContext,
  req: CreateVolumeRequest,
  snapshotId: string,
): Promise<CreateVolumeResult> {
  const row = (
    await deps.db.query('SELECT vm_snapshot_id, backend_ref, taken_by FROM volume_snapshots WHERE id = $1', [
      snapshotId,
    ])
  )[0];
  if (!row) throw new StrataError('NOT_FOUND', { kind: 'volume snapshot', id: snapshotId });
  if (!row['vm_snapshot_id']) return driver.createVolumeFromSnapshot(ctx, { ...req, snapshotId });
  const ref = (row['backend_ref'] as string | null) ?? '';
  if (row['taken_by'] === 'hypervisor') {
    const id = `part-${createHash('sha256').update(snapshotId).digest('hex').slice(0, 24)}`;
    return driver.createVolumeFromTemplate(ctx, { ...req, template: { id, path: ref, format: 'qcow2' } });
  }
  if (DRIVER_SNAPSHOT_ID.test(ref)) return driver.createVolumeFromSnapshot(ctx, { ...req, snapshotId: ref });
  throw new StrataError('STORAGE_UNSUPPORTED', {
    driver: driver.type,
    operation: `a volume from this VM snapshot's part (${ref} is a group snapshot the backend cannot clone one image from)`,
  });
}
