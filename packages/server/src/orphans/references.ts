import type { Queryable } from '../db/index.js';

/** Job states in which a job may still act on what it names. */
export const LIVE = `('Queued','Running','Compensating')`;

export type PoolRow = { readonly id: string; readonly provider: string; readonly url: string };
export type VolumeRow = {
  readonly id: string;
  readonly poolId: string;
  readonly vmId: string | null;
  readonly backendRef: string | null;
  readonly state: string;
};

/** Everything the database references, read once per scan. */
export type References = {
  readonly pools: readonly PoolRow[];
  /** Every volume row except Destroyed ones. */
  readonly volumes: readonly VolumeRow[];
  readonly vmHost: ReadonlyMap<string, string | null>;
  /** Backend refs and ids of volume snapshots that are not Deleted. */
  readonly snapshotRefs: ReadonlySet<string>;
  /** Per volume: backend refs of its non-Deleted snapshot parts (files of qcow2 disks). */
  readonly snapshotFiles: ReadonlySet<string>;
  /** Memory state files of VM snapshots that are not Removed. */
  readonly memoryFiles: ReadonlySet<string>;
  /** VMs and volumes some live job may still be working on: left alone. */
  readonly busyVms: ReadonlySet<string>;
  readonly busyVolumes: ReadonlySet<string>;
  /** `<volume>@<pool>`: a moved volume's former copy kept for its snapshots (never an orphan). */
  readonly formerCopies: ReadonlySet<string>;
  readonly knownVms: ReadonlySet<string>;
  /** VM snapshots in a transitional state, with whether a live job names them. */
  readonly transitional: ReadonlyArray<{
    readonly id: string;
    readonly vmId: string;
    readonly state: string;
  }>;
};

const str = (v: unknown): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v);

export async function loadReferences(q: Queryable, exceptJob?: string): Promise<References> {
  // A removed pool is no longer Strata's: what it holds may belong to anyone.
  const pools = (
    await q.query(`SELECT id, provider, url FROM storage_pools WHERE state <> 'Removed' ORDER BY id`)
  ).map((r) => ({
    id: String(r['id']),
    provider: String(r['provider']),
    url: String(r['url']),
  }));
  const volumes = (
    await q.query(`SELECT id, pool_id, vm_id, backend_ref, state FROM volumes WHERE state <> 'Destroyed'`)
  ).map((r) => ({
    id: String(r['id']),
    poolId: String(r['pool_id']),
    vmId: str(r['vm_id']),
    backendRef: str(r['backend_ref']),
    state: String(r['state']),
  }));
  const vms = await q.query('SELECT id, host_id FROM vms');
  const kept = await q.query('SELECT volume_id, pool_id FROM volume_moved_sources');
  const snaps = await q.query(`SELECT id, backend_ref FROM volume_snapshots WHERE state <> 'Deleted'`);
  const memory = await q.query(
    `SELECT memory_path FROM vm_snapshots WHERE state <> 'Removed' AND memory_path IS NOT NULL`,
  );
  const jobs = await q.query(
    `SELECT resource_type, resource_id, lock_key, input FROM jobs WHERE state IN ${LIVE} AND id <> $1`,
    [exceptJob ?? ''],
  );
  const busyVms = new Set<string>();
  const busyVolumes = new Set<string>();
  const busySnapshots = new Set<string>();
  for (const j of jobs) {
    const key = str(j['lock_key']) ?? '';
    if (key.startsWith('vm:')) busyVms.add(key.slice(3));
    if (key.startsWith('volume:')) busyVolumes.add(key.slice(7));
    const resource = str(j['resource_id']);
    if (j['resource_type'] === 'vm' && resource) busyVms.add(resource);
    if (j['resource_type'] === 'volume' && resource) busyVolumes.add(resource);
    const input = (typeof j['input'] === 'string' ? JSON.parse(j['input']) : j['input']) as Record<
      string,
      unknown
    > | null;
    if (typeof input?.['vmSnapshotId'] === 'string') busySnapshots.add(input['vmSnapshotId']);
    if (typeof input?.['volumeId'] === 'string') busyVolumes.add(input['volumeId']);
    if (typeof input?.['vmId'] === 'string') busyVms.add(input['vmId']);
  }
  const transitional = (
    await q.query(
      `SELECT id, vm_id, state FROM vm_snapshots WHERE state IN ('Allocated','Creating','Reverting','Expunging')`,
    )
  ).map((r) => ({ id: String(r['id']), vmId: String(r['vm_id']), state: String(r['state']) }));
  for (const t of transitional) if (busySnapshots.has(t.id)) busyVms.add(t.vmId);
  for (const v of volumes) if (v.vmId && busyVms.has(v.vmId)) busyVolumes.add(v.id);
  const snapshotRefs = new Set<string>();
  for (const s of snaps) {
    snapshotRefs.add(String(s['id']));
    const ref = str(s['backend_ref']);
    if (ref) snapshotRefs.add(ref);
  }
  return {
    pools,
    volumes,
    vmHost: new Map(vms.map((r) => [String(r['id']), str(r['host_id'])])),
    snapshotRefs,
    snapshotFiles: snapshotRefs,
    memoryFiles: new Set(memory.map((r) => String(r['memory_path']))),
    busyVms,
    busyVolumes,
    formerCopies: new Set(kept.map((r) => `${String(r['volume_id'])}@${String(r['pool_id'])}`)),
    knownVms: new Set(vms.map((r) => String(r['id']))),
    transitional: transitional.filter((t) => !busySnapshots.has(t.id)),
  };
}
