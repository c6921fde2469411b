import {
  StrataError,
  hostMachine,
  validateName,
  type Cluster,
  type Host,
  type HostState,
  type Zone,
} from '@strata/core';
import type { Database } from '../db/index.js';
import { requireAdmin, type Actor } from './actor.js';
import type { EventService } from './events.js';
import { newId } from './ids.js';
import {
  Where,
  iso,
  text,
  isoOrNull,
  listPage,
  num,
  uniqueAsExists,
  type ListQuery,
  type Page,
} from './sql.js';
import { applyTransition } from './transition.js';
import { hostLock, JOB_TYPES } from './job-types.js';
import type { JobService } from './jobs.js';
import type { Accepted } from './operations.js';

const toZone = (r: Record<string, unknown>): Zone => ({
  id: String(r['id']),
  name: String(r['name']),
  createdAt: iso(r['created_at']),
});
const toCluster = (r: Record<string, unknown>): Cluster => ({
  id: String(r['id']),
  zoneId: String(r['zone_id']),
  name: String(r['name']),
  createdAt: iso(r['created_at']),
});
export const toHost = (r: Record<string, unknown>): Host => ({
  id: String(r['id']),
  clusterId: String(r['cluster_id']),
  name: String(r['name']),
  state: r['state'] as HostState,
  address: text(r['address']),
  iscsiInitiator: (r['iscsi_initiator'] as string | null) ?? null,
  cpus: num(r['cpus']),
  memoryBytes: num(r['memory_bytes']),
  libvirtVersion: text(r['libvirt_version']),
  qemuVersion: text(r['qemu_version']),
  adaptors: (r['adaptors'] as string[] | null) ?? [],
  lastSeenAt: isoOrNull(r['last_seen_at']),
  createdAt: iso(r['created_at']),
});

async function one(
  db: Database,
  sql: string,
  params: unknown[],
  kind: string,
  id: string,
): Promise<Record<string, unknown>> {
  const row = (await db.query(sql, params))[0];
  if (!row) throw new StrataError('NOT_FOUND', { kind, id });
  return row;
}

/** Zones and clusters: created by an admin, seen by every account (they hold no tenant data). */
export class ZoneService {
  constructor(private readonly db: Database) {}

  async create(actor: Actor, input: { name: string }): Promise<Zone> {
    requireAdmin(actor, 'Creating a zone');
    const name = validateName('name', input.name);
    const rows = await this.db
      .query('INSERT INTO zones (id, name) VALUES ($1,$2) RETURNING *', [newId('zone'), name])
      .catch((e: unknown) => uniqueAsExists(e, 'zone', name));
    return toZone(rows[0] ?? {});
  }

  async get(_actor: Actor, id: string): Promise<Zone> {
    return toZone(await one(this.db, 'SELECT * FROM zones WHERE id = $1', [id], 'zone', id));
  }

  async list(_actor: Actor, f: ListQuery & { name?: string } = {}): Promise<Page<Zone>> {
    return listPage(
      this.db,
      { columns: 't.*', from: 'zones t', where: new Where().eq('t.name', f.name) },
      f,
      toZone,
    );
  }

  async remove(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor, 'Removing a zone');
    await this.get(actor, id);
    const used = await this.db.query(
      'SELECT 1 FROM clusters WHERE zone_id = $1 UNION ALL SELECT 1 FROM storage_pools WHERE zone_id = $1 LIMIT 1',
      [id],
    );
    if (used.length)
      throw new StrataError('CONFLICT', { reason: `zone ${id} still holds clusters or storage pools` });
    await this.db.query('DELETE FROM zones WHERE id = $1', [id]);
  }
}

export class ClusterService {
  constructor(private readonly db: Database) {}

  async create(actor: Actor, input: { zoneId: string; name: string }): Promise<Cluster> {
    requireAdmin(actor, 'Creating a cluster');
    const name = validateName('name', input.name);
    await one(this.db, 'SELECT id FROM zones WHERE id = $1', [input.zoneId], 'zone', input.zoneId);
    const rows = await this.db
      .query('INSERT INTO clusters (id, zone_id, name) VALUES ($1,$2,$3) RETURNING *', [
        newId('clus'),
        input.zoneId,
        name,
      ])
      .catch((e: unknown) => uniqueAsExists(e, 'cluster', name));
    return toCluster(rows[0] ?? {});
  }

  async get(_actor: Actor, id: string): Promise<Cluster> {
    return toCluster(await one(this.db, 'SELECT * FROM clusters WHERE id = $1', [id], 'cluster', id));
  }

  async list(_actor: Actor, f: ListQuery & { zoneId?: string; name?: string } = {}): Promise<Page<Cluster>> {
    const where = new Where().eq('t.zone_id', f.zoneId).eq('t.name', f.name);
    return listPage(this.db, { columns: 't.*', from: 'clusters t', where }, f, toCluster);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor, 'Removing a cluster');
    await this.get(actor, id);
    const used = await this.db.query(
      `SELECT 1 FROM hosts WHERE cluster_id = $1 AND state <> 'Removed' UNION ALL SELECT 1 FROM storage_pools WHERE cluster_id = $1 AND state <> 'Removed' LIMIT 1`,
      [id],
    );
    if (used.length)
      throw new StrataError('CONFLICT', { reason: `cluster ${id} still holds hosts or storage pools` });
    await this.db.query('DELETE FROM clusters WHERE id = $1', [id]);
  }
}

export type HostEvent = 'ExitMaintenance' | 'Remove';

/** Hosts are registered by the agent channel; here they are read and put in or out of maintenance. */
export class HostService {
  constructor(
    private readonly db: Database,
    private readonly events: EventService,
    private readonly jobs: JobService,
  ) {}

  /**
   * Queues the maintenance job (orchestration/jobs/host-maintenance.ts): the host's running VMs
   * move to other hosts, then it enters Maintenance. One such job per host at a time.
   */
  async prepareMaintenance(actor: Actor, id: string): Promise<Accepted<Host>> {
    requireAdmin(actor, 'Host maintenance');
    const host = await this.get(actor, id);
    hostMachine.next(host.state, 'PrepareMaintenance');
    const job = await this.jobs.submit(
      actor,
      JOB_TYPES.hostMaintenance,
      { hostId: id },
      { lockKey: hostLock(id), resourceType: 'host', resourceId: id },
    );
    return { job, resource: host };
  }

  /**
   * Queues the fence of a lost host (orchestration/jobs/host-fence.ts): once its agent has been
   * gone past the reconnect grace, it is cut off every pool with per-host access and its VMs are
   * Stopped, so they may start elsewhere. Only a host whose agent is gone may be fenced.
   */
  async fence(actor: Actor, id: string): Promise<Accepted<Host>> {
    requireAdmin(actor, 'Fencing a host');
    const host = await this.get(actor, id);
    if (!hostMachine.can(host.state, 'Fence'))
      throw new StrataError('HOST_FENCE_REFUSED', {
        host: id,
        reason: `it is ${host.state}; only a host whose agent is gone (Disconnected) is fenced`,
      });
    const job = await this.jobs.submit(
      actor,
      JOB_TYPES.hostFence,
      { hostId: id },
      { lockKey: hostLock(id), resourceType: 'host', resourceId: id },
    );
    return { job, resource: host };
  }

  /** Hosts are an operator view: their addresses and initiator names are infrastructure. */
  async get(actor: Actor, id: string): Promise<Host> {
    requireAdmin(actor, 'Reading a host');
    return toHost(await one(this.db, 'SELECT * FROM hosts WHERE id = $1', [id], 'host', id));
  }

  async list(
    actor: Actor,
    f: ListQuery & { clusterId?: string; state?: string; name?: string } = {},
  ): Promise<Page<Host>> {
    requireAdmin(actor, 'Listing hosts');
    const where = new Where().eq('t.cluster_id', f.clusterId).eq('t.state', f.state).eq('t.name', f.name);
    return listPage(this.db, { columns: 't.*', from: 'hosts t', where }, f, toHost);
  }

  async apply(actor: Actor, id: string, event: HostEvent): Promise<Host> {
    requireAdmin(actor, `Host ${event}`);
    const { row } = await this.db.transaction((tx) =>
      applyTransition(tx, this.events, { table: 'hosts', kind: 'host', machine: hostMachine, id, event }),
    );
    return toHost(row);
  }
}
