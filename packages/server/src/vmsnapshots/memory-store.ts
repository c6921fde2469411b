import type { HostFacts } from '@strata/core';
import type { Queryable } from '../db/index.js';
import { snapshotFile } from '../orchestration/naming.js';

/**
 * Where a VM snapshot's memory state lives. With a snapshot store (a directory every host of the
 * zone mounts at the same path, STRATA_AGENT_SNAPSHOT_STORE) any host that mounts it reads or
 * removes the file; without one (older snapshots, hosts with no store) it is in the host state
 * directory of the host that took it, and only that host sees it. The server never opens it: an
 * agent does (docs/vm-snapshots.md, memory states).
 */
export interface MemoryLocation {
  readonly path: string;
  /** The snapshot store that holds it; null: the state directory of `hostId`. */
  readonly store: string | null;
  /** The host that saved it. */
  readonly hostId: string | null;
}

interface HostRow {
  readonly id: string;
  readonly zoneId: string;
  readonly store: string | null;
  readonly kvm: boolean;
}

const HOSTS = `SELECT h.id, h.facts, c.zone_id FROM hosts h JOIN clusters c ON c.id = h.cluster_id`;

function toRow(r: Record<string, unknown>): HostRow {
  const raw = r['facts'];
  const facts = (typeof raw === 'string' ? JSON.parse(raw) : raw) as HostFacts | null;
  return {
    id: String(r['id']),
    zoneId: String(r['zone_id']),
    store: facts?.snapshotStore ?? null,
    kvm: !facts?.roles || facts.roles.includes('kvm'),
  };
}

async function hostRow(db: Queryable, id: string): Promise<HostRow | null> {
  const r = (await db.query(`${HOSTS} WHERE h.id = $1`, [id]))[0];
  return r ? toRow(r) : null;
}

/** The path of a new memory state: in the snapshot store the VM's host mounts, else its state directory. */
export async function newMemoryLocation(
  db: Queryable,
  stateDir: string,
  hostId: string | null,
  vmId: string,
  snapshotId: string,
): Promise<MemoryLocation> {
  const store = hostId ? ((await hostRow(db, hostId))?.store ?? null) : null;
  return { path: snapshotFile(store ?? stateDir, vmId, snapshotId, 'memory'), store, hostId };
}

/** The location a snapshot's plan recorded; older plans (no `memoryStore`) are host-local. */
export function memoryLocationOf(
  plan: { memoryPath?: string | null; memoryStore?: string | null; hostId?: string | null } | null,
): MemoryLocation | null {
  if (!plan?.memoryPath) return null;
  return { path: plan.memoryPath, store: plan.memoryStore ?? null, hostId: plan.hostId ?? null };
}

/** Why host `hostId` cannot read the memory state; null when it can. */
export async function memoryUnreachableFrom(
  db: Queryable,
  loc: MemoryLocation,
  hostId: string,
): Promise<string | null> {
  if (!loc.store) {
    return loc.hostId === hostId
      ? null
      : `it was saved in the host state directory of host ${loc.hostId ?? '(unknown)'}, which only that host sees`;
  }
  const host = await hostRow(db, hostId);
  if (!host) return 'that host is unknown';
  if (host.store !== loc.store) {
    return host.store
      ? `it mounts the snapshot store ${host.store}, and the memory state is in ${loc.store}`
      : `it mounts no snapshot store (STRATA_AGENT_SNAPSHOT_STORE); the memory state is in ${loc.store}`;
  }
  const taker = loc.hostId ? await hostRow(db, loc.hostId) : null;
  if (taker && taker.zoneId !== host.zoneId)
    return `the memory state is in the snapshot store of zone ${taker.zoneId}; the host is in zone ${host.zoneId}`;
  return null;
}

/**
 * An Up host whose agent sees the memory state (to remove it, or to restore a VM that has no host
 * yet): `prefer` when it is one, else the oldest. The taker alone for a host-local state; in a
 * store, any host of the taker's zone that mounts it. Null when none is Up.
 */
export async function memoryAgentHost(
  db: Queryable,
  loc: MemoryLocation,
  opts: { readonly prefer?: string | null; readonly kvm?: boolean } = {},
): Promise<string | null> {
  const rows = (await db.query(`${HOSTS} WHERE h.state = 'Up' ORDER BY h.created_at, h.id`)).map(toRow);
  const zone = loc.hostId ? (await hostRow(db, loc.hostId))?.zoneId : undefined;
  const ids = rows
    .filter((h) => (loc.store ? h.store === loc.store && (!zone || h.zoneId === zone) : h.id === loc.hostId))
    .filter((h) => !opts.kvm || h.kvm)
    .map((h) => h.id);
  if (opts.prefer && ids.includes(opts.prefer)) return opts.prefer;
  return ids[0] ?? null;
}

/** The snapshot stores the Up hosts mount: one lister per store and zone (the orphan collector). */
export async function storeListers(db: Queryable): Promise<Array<{ store: string; hostId: string }>> {
  const rows = (await db.query(`${HOSTS} WHERE h.state = 'Up' ORDER BY h.created_at, h.id`)).map(toRow);
  const seen = new Set<string>();
  const out: Array<{ store: string; hostId: string }> = [];
  for (const h of rows) {
    if (!h.store || seen.has(`${h.zoneId}\0${h.store}`)) continue;
    seen.add(`${h.zoneId}\0${h.store}`);
    out.push({ store: h.store, hostId: h.id });
  }
  return out;
}
