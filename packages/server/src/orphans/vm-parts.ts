import type { StorageContext, StorageDriver, VmSnapshotPart } from '@strata/core';
import type { Queryable } from '../db/index.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import { LIVE, type References } from './references.js';
import { orphan, type Orphan } from './types.js';

/*
 * VM-snapshot parts that only the driver's optional `listVmSnapshotParts` shows (rbd group
 * snapshots; tgt parts are ordinary snapshots, judged as `backend-snapshot`).
 */

/**
 * States in which a VM snapshot keeps its parts. Allocated/Creating/Reverting/Expunging with no
 * live job are the `vm-snapshot-state` kind: collection settles them first (Creating → Error),
 * and the scan after it judges their parts. Error (a failed create) and Removed hold none.
 */
const HOLDS_PARTS = new Set(['Allocated', 'Creating', 'Ready', 'Hidden', 'Reverting', 'Expunging']);

/** What parts are judged by, read once per scan next to References. */
export type VmSnapshotRows = {
  /** Every VM snapshot row's state, by id (Removed ones too: their parts should be gone). */
  readonly states: ReadonlyMap<string, string>;
  /** VM snapshots a live job names (its input's vmSnapshotId): their parts are left alone. */
  readonly busy: ReadonlySet<string>;
};

export async function loadVmSnapshotRows(q: Queryable, exceptJob?: string): Promise<VmSnapshotRows> {
  const rows = await q.query('SELECT id, state FROM vm_snapshots');
  const jobs = await q.query(`SELECT input FROM jobs WHERE state IN ${LIVE} AND id <> $1`, [exceptJob ?? '']);
  const busy = new Set<string>();
  for (const j of jobs) {
    const input = (typeof j['input'] === 'string' ? JSON.parse(j['input']) : j['input']) as Record<
      string,
      unknown
    > | null;
    if (typeof input?.['vmSnapshotId'] === 'string') busy.add(input['vmSnapshotId']);
  }
  return { states: new Map(rows.map((r) => [String(r['id']), String(r['state'])])), busy };
}

/** Why the part is an orphan, or null to keep it. */
function verdict(refs: References, rows: VmSnapshotRows, p: VmSnapshotPart, id: string): string | null {
  if (rows.busy.has(id) || (p.vmId !== null && refs.busyVms.has(p.vmId))) return null;
  if (p.volumeIds.some((v) => refs.busyVolumes.has(v))) return null;
  const state = rows.states.get(id);
  if (state === undefined) return 'a VM-snapshot part whose VM snapshot has no row';
  return HOLDS_PARTS.has(state) ? null : `a VM-snapshot part of a VM snapshot in state ${state}`;
}

export async function vmSnapshotPartOrphans(
  refs: References,
  rows: VmSnapshotRows,
  driver: StorageDriver,
  poolId: string,
  ctx: StorageContext,
  warnings: string[],
): Promise<Orphan[]> {
  if (!driver.listVmSnapshotParts) return [];
  let parts: readonly VmSnapshotPart[];
  try {
    parts = await driver.listVmSnapshotParts(ctx);
  } catch (e) {
    warnings.push(`pool ${poolId}: cannot list VM-snapshot parts (${String(e)})`);
    return [];
  }
  const out: Orphan[] = [];
  for (const p of parts) {
    // A volume-snapshot row naming it is a reference whatever its VM snapshot's state says.
    if (refs.snapshotRefs.has(p.ref)) continue;
    if (p.vmSnapshotId === null) {
      // Unattributed (taken before the driver recorded ids): removal needs them, so only say so.
      warnings.push(`pool ${poolId}: VM-snapshot part ${p.ref} names no VM snapshot; not judged`);
      continue;
    }
    const reason = verdict(refs, rows, p, p.vmSnapshotId);
    if (reason !== null)
      out.push(orphan('backend-vm-snapshot-part', p.ref, reason, { poolId, vmSnapshotId: p.vmSnapshotId }));
  }
  return out;
}

/** Removes the part through `deleteVmSnapshot`, with the ids a fresh listing gives for its ref. */
export async function removeVmSnapshotPart(
  deps: OrchestrationDeps,
  ctx: StorageContext,
  o: Orphan,
): Promise<void> {
  const driver = await deps.drivers.forPool(o.poolId!);
  const part = (await driver.listVmSnapshotParts?.(ctx))?.find((p) => p.ref === o.ref);
  if (!part) return; // gone since the scan: nothing to do
  if (part.vmSnapshotId === null || part.vmId === null)
    throw new Error(`VM-snapshot part ${o.ref} names no VM snapshot`);
  // Drivers key parts on the VM snapshot's id and VM; name and type are not read on delete.
  await driver.deleteVmSnapshot(ctx, {
    vmSnapshot: { id: part.vmSnapshotId, vmId: part.vmId, name: part.vmSnapshotId, type: 'Disk' },
    volumeIds: part.volumeIds,
    callerConsistency: 'crash',
  });
}
