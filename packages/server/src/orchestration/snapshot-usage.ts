import { StrataError } from '@strata/core';
import type { Database } from '../db/index.js';
import type { Actor } from '../services/actor.js';
import type { Services } from '../services/index.js';
import type { VolumeSnapshotView } from '../services/volume-snapshots.js';
import { loadVolume } from './deps.js';
import type { PoolDrivers } from './pool-drivers.js';

/** A snapshot's size as its backend tells it; `size` null with the reason in `sizeNote` when it cannot. */
export interface SnapshotSize {
  readonly size: number | null;
  readonly sizeNote: string;
}

export interface PartSize extends SnapshotSize {
  readonly volumeSnapshotId: string;
  readonly volumeId: string;
}

export interface UsageDeps {
  readonly db: Database;
  readonly services: Services;
  readonly drivers: PoolDrivers;
}

/** A driver's snapshot ids (spec rule 1): a backend ref that is not one is an overlay path or a group snapshot. */
const DRIVER_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** A VM-snapshot hook's per-volume part (tgt's `vm-<vmSnapshotId>--<volumeId>`): two ids in one. */
const PART_ID = /^vm-[a-z0-9][a-z0-9-]{0,63}--[a-z0-9][a-z0-9-]{0,63}$/;
const CALL_MS = 60_000;

/** The id the pool's driver knows a snapshot record by, or why there is none. */
export function driverSnapshotId(s: VolumeSnapshotView): { id: string } | { note: string } {
  if (s.vmSnapshotId === null) return { id: s.id };
  if (s.backendRef && (DRIVER_ID.test(s.backendRef) || PART_ID.test(s.backendRef)))
    return { id: s.backendRef };
  // a path is an overlay file QEMU wrote; anything else names a group snapshot (rbd's pool/group@snap)
  if (!s.backendRef || s.backendRef.startsWith('/'))
    return {
      note: 'taken by the hypervisor (an overlay or internal snapshot), not by the storage driver, which cannot size it',
    };
  return { note: "a group snapshot of the VM's volumes, which the backend cannot size per volume" };
}

async function sizeOf(deps: UsageDeps, s: VolumeSnapshotView): Promise<SnapshotSize> {
  if (s.state !== 'Ready') return { size: null, sizeNote: `the snapshot is ${s.state}` };
  const known = driverSnapshotId(s);
  if ('note' in known) return { size: null, sizeNote: known.note };
  const volume = await loadVolume(deps.db, s.volumeId);
  try {
    const driver = await deps.drivers.forPool(volume.poolId);
    const u = await driver.snapshotUsage(
      { signal: AbortSignal.timeout(CALL_MS) },
      { volumeId: volume.id, snapshotId: known.id },
    );
    return { size: u.usedBytes, sizeNote: u.note };
  } catch (e) {
    // a report, not a decision: what the backend could not answer is said, not raised
    if (!(e instanceof StrataError)) throw e;
    return { size: null, sizeNote: `${e.code}: ${e.message}` };
  }
}

export async function volumeSnapshotSize(
  deps: UsageDeps,
  actor: Actor,
  id: string,
): Promise<SnapshotSize & { id: string }> {
  const s = await deps.services.volumeSnapshots.get(actor, id);
  return { id, ...(await sizeOf(deps, s)) };
}

/** A VM snapshot's size: the sum of its parts' when every part's backend can tell, else null. */
export async function vmSnapshotSize(
  deps: UsageDeps,
  actor: Actor,
  id: string,
): Promise<SnapshotSize & { id: string; parts: PartSize[] }> {
  await deps.services.vmSnapshots.get(actor, id);
  const parts = (await deps.services.volumeSnapshots.list(actor, { vmSnapshotId: id, limit: 500 })).items;
  const sized: PartSize[] = [];
  for (const p of parts)
    sized.push({ volumeSnapshotId: p.id, volumeId: p.volumeId, ...(await sizeOf(deps, p)) });
  const unknown = sized.filter((p) => p.size === null);
  if (sized.length === 0) return { id, size: null, sizeNote: 'no disk parts', parts: sized };
  if (unknown.length)
    return {
      id,
      size: null,
      sizeNote: `${unknown.length} of ${sized.length} parts cannot be sized (see parts)`,
      parts: sized,
    };
  return {
    id,
    size: sized.reduce((n, p) => n + (p.size ?? 0), 0),
    sizeNote: 'the sum of its disk parts as their backends tell it (memory state not counted)',
    parts: sized,
  };
}
