import {
  StrataError,
  type DeleteVmSnapshotResult,
  type RevertVmSnapshotResult,
  type StorageContext,
  type TakeVmSnapshotResult,
  type VmSnapshotHookRequest,
  type VmSnapshotVolumeRef,
} from '@strata/core';
import { EEXIST, ENOENT, errnoOf, unlessMissing } from './cli.js';
import type { Pool } from './meta.js';
import { imageName, spec, vmGroupName, vmGroupSnapName } from './names.js';
import { vmSnapshotKey, type PoolIndex } from './pool-index.js';
import { imageInfo } from './volumes.js';

/*
 * A VM's part of a VM snapshot is one rbd group snapshot: the VM's volumes sit in one rbd group
 * (an image can be in one group only, so the group is per VM), and `rbd group snap create` cuts
 * them all at one point in time by taking their exclusive locks (I/O waits for the cut), so the
 * VM need not stay held after it. Revert is `rbd group snap rollback`: the parts go back together.
 */

interface GroupImage {
  readonly image: string;
  readonly pool: string;
}

/** The hooks also record which VM snapshot each group snapshot is, in the pool index. */
type IndexedPool = Pool & { readonly index: PoolIndex };

export interface GroupSnap {
  readonly snapshot: string;
  readonly state: string;
}

function groupSpec(p: Pool, vmId: string, vmSnapshotId?: string): string {
  const g = spec(p.pool, vmGroupName(vmId));
  return vmSnapshotId === undefined ? g : `${g}@${vmGroupSnapName(vmSnapshotId)}`;
}

/** Snapshots of one group, by its name in the pool; none when the group does not exist. */
export async function snapsOfGroup(ctx: StorageContext, p: Pool, group: string): Promise<GroupSnap[]> {
  return unlessMissing(
    async () =>
      (await p.cli.rbdJson<GroupSnap[] | null>(ctx, ['group', 'snap', 'ls', spec(p.pool, group)])) ?? [],
    [],
  );
}

const groupSnaps = (ctx: StorageContext, p: Pool, vmId: string) => snapsOfGroup(ctx, p, vmGroupName(vmId));

function refs(p: Pool, req: VmSnapshotHookRequest): VmSnapshotVolumeRef[] {
  const ref = groupSpec(p, req.vmSnapshot.vmId, req.vmSnapshot.id);
  return req.volumeIds.map((volumeId) => ({ volumeId, snapshotRef: ref }));
}

/** Makes the VM's group hold exactly these volumes, moving a volume out of another VM's group. */
async function syncMembers(
  ctx: StorageContext,
  p: Pool,
  vmId: string,
  volumeIds: readonly string[],
): Promise<void> {
  const group = groupSpec(p, vmId);
  try {
    await p.cli.rbd(ctx, ['group', 'create', group]);
  } catch (err) {
    if (errnoOf(err) !== EEXIST) throw err;
  }
  const wanted = new Set(volumeIds.map(imageName));
  const members = (await p.cli.rbdJson<GroupImage[] | null>(ctx, ['group', 'image', 'list', group])) ?? [];
  for (const m of members) {
    if (m.pool === p.pool && !wanted.has(m.image))
      await p.cli.rbd(ctx, ['group', 'image', 'remove', group, spec(p.pool, m.image)]);
  }
  for (const volumeId of volumeIds) {
    const image = imageName(volumeId);
    const info = await imageInfo(ctx, p, image);
    if (!info) throw new StrataError('NOT_FOUND', { kind: 'volume', id: volumeId });
    if (info.group === `${p.pool}/${vmGroupName(vmId)}`) continue;
    if (info.group !== undefined)
      await p.cli.rbd(ctx, ['group', 'image', 'remove', info.group, spec(p.pool, image)]);
    await p.cli.rbd(ctx, ['group', 'image', 'add', group, spec(p.pool, image)]);
  }
}

function timings(startedAt: Date, started: number, cutSpreadMs: number) {
  return { startedAt: startedAt.toISOString(), cutSpreadMs, totalMs: performance.now() - started };
}

export async function takeVmSnapshot(
  ctx: StorageContext,
  p: IndexedPool,
  req: VmSnapshotHookRequest,
): Promise<TakeVmSnapshotResult> {
  const startedAt = new Date();
  const started = performance.now();
  const { vmId, id } = req.vmSnapshot;
  const done = (await groupSnaps(ctx, p, vmId)).find((s) => s.snapshot === vmGroupSnapName(id));
  // Recorded before the cut, so no listing ever sees a part it cannot name (a replay records too).
  await p.index.set(ctx, vmSnapshotKey(id), vmId);
  if (done?.state === 'ok') {
    return {
      volumes: refs(p, req),
      consistency: req.callerConsistency,
      holdVm: false,
      timings: timings(startedAt, started, 0),
    };
  }
  if (done) await p.cli.rbd(ctx, ['group', 'snap', 'rm', groupSpec(p, vmId, id)]); // an incomplete earlier try
  await syncMembers(ctx, p, vmId, req.volumeIds);
  try {
    await p.cli.rbd(ctx, ['group', 'snap', 'create', groupSpec(p, vmId, id)]);
  } catch (err) {
    // All or nothing: leave no partial group snapshot behind.
    await unlessMissing(() => p.cli.rbd(ctx, ['group', 'snap', 'rm', groupSpec(p, vmId, id)]), '').catch(
      () => undefined,
    );
    await p.index.remove(ctx, vmSnapshotKey(id)).catch(() => undefined);
    throw err;
  }
  // One cut for every volume: spread 0. The caller's cut (freeze, pause) sets the consistency.
  return {
    volumes: refs(p, req),
    consistency: req.callerConsistency,
    holdVm: false,
    timings: timings(startedAt, started, 0),
  };
}

export async function revertVmSnapshot(
  ctx: StorageContext,
  p: Pool,
  req: VmSnapshotHookRequest,
): Promise<RevertVmSnapshotResult> {
  const startedAt = new Date();
  const started = performance.now();
  const { vmId, id } = req.vmSnapshot;
  const snap = (await groupSnaps(ctx, p, vmId)).find((s) => s.snapshot === vmGroupSnapName(id));
  if (!snap || snap.state !== 'ok') throw new StrataError('NOT_FOUND', { kind: 'vm snapshot', id });
  await p.cli.rbd(ctx, ['group', 'snap', 'rollback', '--no-progress', groupSpec(p, vmId, id)]);
  return { volumes: refs(p, req), timings: timings(startedAt, started, 0) };
}

export async function deleteVmSnapshot(
  ctx: StorageContext,
  p: IndexedPool,
  req: VmSnapshotHookRequest,
): Promise<DeleteVmSnapshotResult> {
  const startedAt = new Date();
  const started = performance.now();
  const { vmId, id } = req.vmSnapshot;
  const snap = (await groupSnaps(ctx, p, vmId)).find((s) => s.snapshot === vmGroupSnapName(id));
  if (snap) {
    try {
      await p.cli.rbd(ctx, ['group', 'snap', 'rm', groupSpec(p, vmId, id)]);
    } catch (err) {
      if (errnoOf(err) !== ENOENT) throw err;
    }
  }
  // After the part, so a crash between leaves a record without a part (harmless), never the reverse.
  await p.index.remove(ctx, vmSnapshotKey(id));
  if (!snap) return { deleted: [], timings: timings(startedAt, started, 0) };
  return { deleted: [...req.volumeIds], timings: timings(startedAt, started, 0) };
}

/** Takes a volume out of its VM group before it is deleted; refuses while VM snapshots hold parts of it. */
export async function leaveGroup(
  ctx: StorageContext,
  p: Pool,
  volumeId: string,
  groupSnapParts: number,
  group?: string,
): Promise<void> {
  if (groupSnapParts > 0) {
    throw new StrataError('STORAGE_IN_USE', {
      kind: 'volume',
      id: volumeId,
      reason: `${groupSnapParts} VM snapshot(s) hold a part of it; delete them first`,
    });
  }
  if (group !== undefined) {
    await unlessMissing(
      () => p.cli.rbd(ctx, ['group', 'image', 'remove', group, spec(p.pool, imageName(volumeId))]),
      '',
    );
  }
}
