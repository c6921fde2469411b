import type { StorageContext, VmSnapshotPart } from '@strata/core';
import { unlessMissing } from './cli.js';
import type { Pool } from './meta.js';
import { isVmGroupName, isVmGroupSnapName, spec, vmGroupName, vmGroupSnapName, volumeIdOf } from './names.js';
import { parseVmSnapshotKey, type PoolIndex } from './pool-index.js';
import { snapsOfGroup } from './vm-hooks.js';

interface GroupImage {
  readonly image: string;
  readonly pool: string;
}

/** `<group>@<snap>` → the VM snapshot recorded for it (names are hashes: only the index knows). */
async function recorded(
  ctx: StorageContext,
  index: PoolIndex,
): Promise<Map<string, { vmId: string; vmSnapshotId: string }>> {
  const out = new Map<string, { vmId: string; vmSnapshotId: string }>();
  for (const [key, vmId] of Object.entries(await index.entries(ctx))) {
    const vmSnapshotId = parseVmSnapshotKey(key);
    if (vmSnapshotId !== null)
      out.set(`${vmGroupName(vmId)}@${vmGroupSnapName(vmSnapshotId)}`, { vmId, vmSnapshotId });
  }
  return out;
}

/**
 * Every VM-snapshot part in the pool: each snapshot, whatever its state (an incomplete one is a
 * crash's leftover), of each group named by Strata's scheme. Other groups are not Strata's.
 */
export async function listVmSnapshotParts(
  ctx: StorageContext,
  p: Pool & { readonly index: PoolIndex },
): Promise<VmSnapshotPart[]> {
  const known = await recorded(ctx, p.index);
  const groups = await unlessMissing(
    async () => (await p.cli.rbdJson<string[] | null>(ctx, ['group', 'list', p.pool])) ?? [],
    [],
  );
  const parts: VmSnapshotPart[] = [];
  for (const group of groups.filter(isVmGroupName)) {
    const snaps = (await snapsOfGroup(ctx, p, group)).filter((s) => isVmGroupSnapName(s.snapshot));
    if (snaps.length === 0) continue;
    const members = await unlessMissing(
      async () =>
        (await p.cli.rbdJson<GroupImage[] | null>(ctx, ['group', 'image', 'list', spec(p.pool, group)])) ??
        [],
      [],
    );
    const volumeIds = members
      .filter((m) => m.pool === p.pool)
      .map((m) => volumeIdOf(m.image))
      .filter((v): v is string => v !== null);
    for (const s of snaps) {
      const ids = known.get(`${group}@${s.snapshot}`);
      parts.push({
        ref: spec(p.pool, group, s.snapshot),
        vmId: ids?.vmId ?? null,
        vmSnapshotId: ids?.vmSnapshotId ?? null,
        volumeIds,
      });
    }
  }
  return parts;
}
