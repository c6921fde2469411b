import { dirname } from 'node:path';
import { volumeFiles } from '../../orchestration/pool-agent.js';
import { poolsOf, storageGroups } from '../shared.js';
import type { Reverted, RevertInput, StrategyContext } from './types.js';

/**
 * The built-in strategies' revert, to any node of the tree without losing newer ones: storage
 * parts roll back through the drivers' hooks (backends keep later snapshots); qcow2 parts get a
 * new overlay over the snapshot's frozen file, so the files of newer snapshots stay as they are.
 * Safe to run again: a replay finds each overlay made and keeps it.
 */
export async function revertByParts(ctx: StrategyContext, input: RevertInput): Promise<Reverted> {
  const { deps } = ctx;
  const s = input.snapshot;
  const volumeIds = s.parts.map((p) => p.volumeId);
  const pools = await poolsOf(deps.db, volumeIds);
  const groups = [...storageGroups(s, pools)];
  // Read before the job records the new layers (a later step), so a replay reads the same.
  const active = new Map(
    (await deps.db.query('SELECT id, backend_ref FROM volumes WHERE id = ANY($1)', [volumeIds])).map((r) => [
      String(r['id']),
      (r['backend_ref'] as string | null) ?? null,
    ]),
  );
  const files = s.parts
    .filter((p) => p.by === 'hypervisor')
    .map((p) => ({
      volumeId: p.volumeId,
      frozenPath: p.ref,
      newActive: `${dirname(p.ref)}/${p.volumeId}.revert-${ctx.jobId}.qcow2`,
      oldActive: active.get(p.volumeId) ?? null,
    }));
  await Promise.all(
    groups.map(async ([poolId, ids]) =>
      (await deps.drivers.forPool(poolId)).revertVmSnapshot(ctx.storage, {
        vmSnapshot: { id: s.id, vmId: s.vmId, name: s.name, type: s.type },
        volumeIds: ids,
        callerConsistency: 'crash',
      }),
    ),
  );
  // Made in the pool by an agent that mounts it.
  for (const f of files) {
    const pool = await volumeFiles(deps, f.volumeId, input.hostId);
    await pool.createOverlay(f.newActive, f.frozenPath, ctx.storage.signal);
  }
  return { reverted: groups.reduce((n, [, ids]) => n + ids.length, 0) + files.length, files };
}
