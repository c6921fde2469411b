import {
  StrataError,
  type Host,
  type HostRef,
  type StorageContext,
  type Vm,
  type Volume,
} from '@strata/core';
import type { Database, Queryable } from '../db/index.js';
import type { StepContext } from '../jobs/index.js';
import type { EventService } from '../services/events.js';
import { toHost } from '../services/infrastructure.js';
import { toVm } from '../services/vms.js';
import { toVolume } from '../services/volumes.js';
import type { AgentPort } from './agent-port.js';
import type { PoolDrivers } from './pool-drivers.js';

/** What the orchestration jobs stand on. */
export interface OrchestrationDeps {
  readonly db: Database;
  readonly events: EventService;
  readonly agent: AgentPort;
  readonly drivers: PoolDrivers;
  /** Host-local directory for transient overlays and memory state (a file store, never a SAN volume). */
  readonly stateDir: string;
}

export function storageContext(ctx: StepContext): StorageContext {
  return {
    signal: ctx.signal,
    requestId: ctx.jobId,
    log: (message, fields) => ctx.log.info({ ...fields }, message),
  };
}

async function one(q: Queryable, sql: string, id: string, kind: string): Promise<Record<string, unknown>> {
  const row = (await q.query(sql, [id]))[0];
  if (!row) throw new StrataError('NOT_FOUND', { kind, id });
  return row;
}

export const loadVolume = async (q: Queryable, id: string): Promise<Volume> =>
  toVolume(await one(q, 'SELECT * FROM volumes WHERE id = $1', id, 'volume'));

export const loadVm = async (q: Queryable, id: string): Promise<Vm> =>
  toVm(await one(q, 'SELECT * FROM vms WHERE id = $1', id, 'vm'));

export const loadHost = async (q: Queryable, id: string): Promise<Host> =>
  toHost(await one(q, 'SELECT * FROM hosts WHERE id = $1', id, 'host'));

export async function vmVolumes(q: Queryable, vmId: string): Promise<Volume[]> {
  const rows = await q.query(
    `SELECT * FROM volumes WHERE vm_id = $1 AND state <> 'Destroyed' ORDER BY device_name`,
    [vmId],
  );
  return rows.map(toVolume);
}

export const hostRef = (h: Host): HostRef => ({
  id: h.id,
  iscsiInitiator: h.iscsiInitiator,
  address: h.address,
});

/** The host a VM runs on, or the first connected KVM host for a VM that has none yet. */
export async function pickHost(q: Queryable, vm: Vm): Promise<Host> {
  if (vm.hostId) return loadHost(q, vm.hostId);
  // A storage-only agent (roles without kvm, ADR 0003) runs no VMs; older agents announce no roles.
  const row = (
    await q.query(
      `SELECT * FROM hosts WHERE state = 'Up' AND (facts->'roles' IS NULL OR facts->'roles' ? 'kvm')
        ORDER BY created_at, id LIMIT 1`,
    )
  )[0];
  if (!row) throw new StrataError('UNAVAILABLE', { what: 'a host', reason: 'no host agent is connected' });
  return toHost(row);
}
