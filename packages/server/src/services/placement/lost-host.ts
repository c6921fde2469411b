import { StrataError, startFencing, type HostState } from '@strata/core';
import type { Queryable } from '../../db/index.js';
import { toVm } from '../vms.js';

/** When this server started: a host's silence from before then is not evidence it heard. */
export const SERVER_STARTED_MS = Date.now() - Math.round(process.uptime() * 1000);

/** A timestamp column as ms since the epoch (drivers answer Date or text), or null. */
export function timeMs(v: unknown): number | null {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') return Date.parse(v);
  return null;
}

/**
 * The host that must be fenced before the VM starts anywhere (core's startFencing), or null. A
 * start that may not go on at all (the VM runs on a host that is Up) is ILLEGAL_TRANSITION, as
 * the VM lifecycle answers it. `graceMs` only sets how long the fence will wait, not whether.
 */
export async function lostHostOf(q: Queryable, vmId: string, graceMs: number): Promise<string | null> {
  const row = (await q.query('SELECT * FROM vms WHERE id = $1', [vmId]))[0];
  if (!row) throw new StrataError('NOT_FOUND', { kind: 'vm', id: vmId });
  const vm = toVm(row);
  const host = vm.hostId
    ? (await q.query('SELECT id, state, last_seen_at FROM hosts WHERE id = $1', [vm.hostId]))[0]
    : undefined;
  const d = startFencing({
    vmState: vm.state,
    host: host
      ? {
          id: String(host['id']),
          state: host['state'] as HostState,
          lastSeenMs: timeMs(host['last_seen_at']),
        }
      : null,
    nowMs: Date.now(),
    serverStartedMs: SERVER_STARTED_MS,
    graceMs,
  });
  if (d.action === 'refuse')
    throw new StrataError('ILLEGAL_TRANSITION', { machine: 'vm', event: 'Start', state: vm.state });
  return d.action === 'fence' ? d.hostId : null;
}
