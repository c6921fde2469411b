import { StrataError } from '@strata/core';
import type { Queryable } from '../../db/index.js';
import { chooseHost, type HostLoad } from './choose-host.js';
import { hostLoads, neededAdaptors, placementPolicy } from './place-vm.js';

export interface Move {
  readonly vmId: string;
  readonly accountId: string;
  readonly dest: string;
}

/**
 * Where each VM running on a host goes when the host is emptied (maintenance): placement's rules
 * for a live migration, applied to all of them together, so two VMs never count the same room.
 * Refused with each VM's reason when one finds no host, or when one is starting or stopping
 * there (it would land on the host after the plan). Call inside the transaction that locks the
 * host rows.
 */
export async function planEvacuation(q: Queryable, hostId: string): Promise<Move[]> {
  const vms = await q.query(
    `SELECT id, account_id, state, cpus, memory_bytes FROM vms
      WHERE host_id = $1 AND state IN ('Starting', 'Running', 'Stopping', 'Migrating') ORDER BY id`,
    [hostId],
  );
  const busy = vms.filter((v) => v['state'] !== 'Running');
  if (busy.length > 0)
    throw new StrataError('HOST_MAINTENANCE_FAILED', {
      host: hostId,
      reason: `${busy.map((v) => `VM ${String(v['id'])} is ${String(v['state'])}`).join(', ')}; ask again once it settles`,
    });
  const policy = placementPolicy();
  // every VM counted where it is now (no VM id excluded); each move then adds to its destination
  const loads = new Map<string, HostLoad>(
    (await hostLoads(q, '')).filter((h) => h.id !== hostId).map((h) => [h.id, h]),
  );
  const moves: Move[] = [];
  const refused: string[] = [];
  for (const v of vms) {
    const vm = { id: String(v['id']), cpus: Number(v['cpus']), memoryBytes: Number(v['memory_bytes']) };
    const needs = { ...vm, adaptors: await neededAdaptors(q, vm.id), migration: true };
    const placed = chooseHost([...loads.values()], needs, policy);
    if (!placed.host) {
      const why = placed.refusals.map((r) => `${r.host}: ${r.reason}`).join('; ') || 'there is no other host';
      refused.push(`VM ${vm.id}: ${why}`);
      continue;
    }
    const h = placed.host;
    loads.set(h.id, {
      ...h,
      usedCpus: h.usedCpus + vm.cpus,
      usedMemoryBytes: h.usedMemoryBytes + vm.memoryBytes,
    });
    moves.push({ vmId: vm.id, accountId: String(v['account_id']), dest: h.id });
  }
  if (refused.length > 0)
    throw new StrataError('HOST_MAINTENANCE_FAILED', {
      host: hostId,
      reason: `no room for every VM elsewhere (${refused.join(' | ')})`,
    });
  return moves;
}
