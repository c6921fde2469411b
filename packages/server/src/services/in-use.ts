import { StrataError } from '@strata/core';
import type { Queryable } from '../db/index.js';

// Refusals to delete what something still stands on: each names its holders (docs/api.md).

/**
 * A volume's snapshots live with it on its backend: deleting it would take them (and the VM
 * snapshots they are parts of) along, so it is refused while any is left, naming them.
 */
export async function refuseIfSnapshotsDepend(db: Queryable, volumeId: string): Promise<void> {
  const rows = await db.query(
    `SELECT s.id, s.vm_snapshot_id FROM volume_snapshots s LEFT JOIN vm_snapshots m ON m.id = s.vm_snapshot_id
      WHERE s.volume_id = $1 AND s.state <> 'Deleted' AND (m.id IS NULL OR m.state <> 'Removed')
      ORDER BY s.id LIMIT 50`,
    [volumeId],
  );
  if (rows.length === 0) return;
  const snapshotIds = rows.map((r) => String(r['id']));
  const vmSnapshotIds = [
    ...new Set(
      rows
        .map((r) => r['vm_snapshot_id'])
        .filter((x) => x !== null)
        .map(String),
    ),
  ];
  throw new StrataError('VOLUME_HAS_DEPENDENT_SNAPSHOTS', {
    volume: volumeId,
    snapshots: [
      ...snapshotIds.map((i) => `volume snapshot ${i}`),
      ...vmSnapshotIds.map((i) => `vm snapshot ${i}`),
    ].join(', '),
    volumeSnapshotIds: snapshotIds.join(','),
    vmSnapshotIds: vmSnapshotIds.join(','),
  });
}

/** An in-use refusal naming up to 50 holders (and how many there are at least). */
export function inUse(
  code: 'TEMPLATE_IN_USE' | 'POOL_IN_USE',
  params: Record<string, string>,
  holders: readonly Record<string, unknown>[],
): StrataError {
  const ids = holders.slice(0, 50).map((r) => String(r['id']));
  const more = holders.length > 50 ? ', ...' : '';
  const count = holders.length > 50 ? 'more than 50' : holders.length;
  return new StrataError(code, { ...params, count, volumes: `${ids.join(', ')}${more}` });
}
