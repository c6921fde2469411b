import { StrataError, vmMachine, type Vm } from '@strata/core';
import type { Queryable } from '../db/index.js';
import type { StepContext } from '../jobs/index.js';
import type { OrchestrationDeps } from '../orchestration/deps.js';
import { applyTransition } from '../services/transition.js';
import type { StoredPlan } from './create-job.js';

export interface SnapshotRecord {
  readonly id: string;
  readonly vmId: string;
  readonly name: string;
  readonly state: string;
  readonly type: 'Disk' | 'DiskAndMemory';
  readonly parentId: string | null;
  readonly strategy: string | null;
  readonly plan: StoredPlan | null;
  /** Per covered volume: the reference of its part and who took it. */
  readonly parts: ReadonlyArray<{
    readonly volumeId: string;
    readonly ref: string;
    readonly by: 'storage' | 'hypervisor';
    /** Set when the volume moved off the pool that holds this part's data (that pool's id). */
    readonly formerPoolId?: string;
  }>;
}

export async function loadSnapshot(q: Queryable, id: string): Promise<SnapshotRecord> {
  const row = (await q.query('SELECT * FROM vm_snapshots WHERE id = $1', [id]))[0];
  if (!row) throw new StrataError('NOT_FOUND', { kind: 'vm snapshot', id });
  const parts = await q.query(
    `SELECT volume_id, backend_ref, taken_by, pool_id FROM volume_snapshots
      WHERE vm_snapshot_id = $1 AND state = 'Ready' ORDER BY volume_id`,
    [id],
  );
  const rawPlan = row['plan'];
  return {
    id,
    vmId: String(row['vm_id']),
    name: String(row['name']),
    state: String(row['state']),
    type: row['type'] === 'DiskAndMemory' ? 'DiskAndMemory' : 'Disk',
    parentId: (row['parent_id'] as string | null) ?? null,
    strategy: (row['strategy'] as string | null) ?? null,
    plan: (typeof rawPlan === 'string' ? JSON.parse(rawPlan) : rawPlan) as StoredPlan | null,
    parts: parts.map((p) => ({
      volumeId: String(p['volume_id']),
      ref: String(p['backend_ref']),
      by: p['taken_by'] === 'hypervisor' ? 'hypervisor' : 'storage',
      ...(typeof p['pool_id'] === 'string' && { formerPoolId: p['pool_id'] }),
    })),
  };
}

export function vmTransition(
  deps: OrchestrationDeps,
  tx: Queryable,
  ctx: StepContext,
  vm: Pick<Vm, 'id'>,
  event: Parameters<typeof vmMachine.next>[1],
  set?: Record<string, unknown>,
) {
  return applyTransition(tx, deps.events, {
    table: 'vms',
    kind: 'vm',
    machine: vmMachine,
    id: vm.id,
    event,
    jobId: ctx.jobId,
    ...(set && { set }),
  });
}

/** Groups a snapshot's storage-taken parts by pool, for one hook call per driver. */
export function storageGroups(s: SnapshotRecord, poolOf: ReadonlyMap<string, string>): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const p of s.parts) {
    if (p.by !== 'storage') continue;
    // a part the volume moved away from stays on its former pool, deleted there
    const pool = p.formerPoolId ?? poolOf.get(p.volumeId);
    if (!pool) continue;
    groups.set(pool, [...(groups.get(pool) ?? []), p.volumeId]);
  }
  return groups;
}

export async function poolsOf(q: Queryable, volumeIds: readonly string[]): Promise<Map<string, string>> {
  if (volumeIds.length === 0) return new Map();
  const rows = await q.query('SELECT id, pool_id FROM volumes WHERE id = ANY($1)', [volumeIds]);
  return new Map(rows.map((r) => [String(r['id']), String(r['pool_id'])]));
}
