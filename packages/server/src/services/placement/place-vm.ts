import { StrataError } from '@strata/core';
import type { Queryable } from '../../db/index.js';
import { chooseHost, refusal, type HostLoad, type PlacementPolicy } from './choose-host.js';

/** The adaptor a pool's disks need on a host, by driver type (`iscsi`: any iSCSI adaptor). */
const ADAPTOR_OF: Readonly<Record<string, string>> = { qcow2: 'file', tgt: 'iscsi', rbd: 'rbd' };

const DEFAULT_CPU_OVERCOMMIT = 4;

/** STRATA_CPU_OVERCOMMIT: vCPUs per host CPU placement allows (1..64, default 4). */
export function placementPolicy(env: NodeJS.ProcessEnv = process.env): PlacementPolicy {
  const raw = env['STRATA_CPU_OVERCOMMIT'];
  if (raw === undefined || raw === '') return { cpuOvercommit: DEFAULT_CPU_OVERCOMMIT };
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 1 || n > 64)
    throw new StrataError('INVALID_ARGUMENT', { field: 'STRATA_CPU_OVERCOMMIT', reason: 'must be 1 to 64' });
  return { cpuOvercommit: n };
}

/** Every host with the vCPUs and memory of the VMs placed on it, other than `vmId` itself. */
export async function hostLoads(q: Queryable, vmId: string): Promise<HostLoad[]> {
  const rows = await q.query(
    `SELECT h.id, h.name, h.state, h.cpus, h.memory_bytes, h.adaptors,
            (h.facts->'roles' IS NULL OR h.facts->'roles' ? 'kvm') AS kvm,
            h.facts->'migration'->>'uri' AS migration_uri,
            COALESCE(SUM(v.cpus), 0) AS used_cpus, COALESCE(SUM(v.memory_bytes), 0) AS used_memory
       FROM hosts h
       LEFT JOIN vms v ON v.host_id = h.id AND v.id <> $1 AND v.state IN ('Starting', 'Running', 'Stopping', 'Migrating')
      GROUP BY h.id ORDER BY h.id`,
    [vmId],
  );
  return rows.map((r) => ({
    id: String(r['id']),
    name: String(r['name']),
    state: String(r['state']),
    kvm: r['kvm'] === true,
    cpus: Number(r['cpus']),
    memoryBytes: Number(r['memory_bytes']),
    adaptors: (r['adaptors'] as string[] | null) ?? [],
    usedCpus: Number(r['used_cpus']),
    usedMemoryBytes: Number(r['used_memory']),
    migrationUri: (r['migration_uri'] as string | null) ?? null,
  }));
}

/** The adaptors the VM's volumes need, from their pools' driver types. */
export async function neededAdaptors(q: Queryable, vmId: string): Promise<string[]> {
  const rows = await q.query(
    `SELECT DISTINCT p.provider FROM volumes v JOIN storage_pools p ON p.id = v.pool_id
      WHERE v.vm_id = $1 AND v.state <> 'Destroyed'`,
    [vmId],
  );
  return [...new Set(rows.map((r) => ADAPTOR_OF[String(r['provider'])]).filter((a) => a !== undefined))];
}

/**
 * Chooses the host a VM starts on and records it on the VM (in the caller's transaction, so two
 * starts never count the same room twice: the host rows are locked first). `pinned` is an admin's
 * choice; the VM's previous host is preferred when it fits. NO_HOST_AVAILABLE says why each
 * host was refused.
 */
export async function placeVm(
  tx: Queryable,
  vm: {
    readonly id: string;
    readonly cpus: number;
    readonly memoryBytes: number;
    readonly hostId: string | null;
  },
  options: { readonly pinned?: string; readonly policy?: PlacementPolicy } = {},
): Promise<HostLoad> {
  await tx.query('SELECT id FROM hosts ORDER BY id FOR UPDATE');
  const loads = await hostLoads(tx, vm.id);
  if (options.pinned && !loads.some((h) => h.id === options.pinned))
    throw new StrataError('NOT_FOUND', { kind: 'host', id: options.pinned });
  const placed = chooseHost(
    loads,
    { cpus: vm.cpus, memoryBytes: vm.memoryBytes, adaptors: await neededAdaptors(tx, vm.id) },
    options.policy ?? placementPolicy(),
    { ...(options.pinned && { pinned: options.pinned }), previous: vm.hostId },
  );
  if (!placed.host) {
    const reasons = placed.refusals.map((r) => `${r.host}: ${r.reason}`).join('; ') || 'there is no host';
    throw new StrataError('NO_HOST_AVAILABLE', { vm: vm.id, reasons });
  }
  await tx.query('UPDATE vms SET host_id = $2 WHERE id = $1', [vm.id, placed.host.id]);
  return placed.host;
}

/**
 * Every host but the VM's own, each with whether a live migration of the VM could go there and,
 * if not, why (CloudStack's findHostsForMigration; the migrate job applies the same rules).
 */
export async function migrationCandidates(
  q: Queryable,
  vm: {
    readonly id: string;
    readonly cpus: number;
    readonly memoryBytes: number;
    readonly hostId: string | null;
  },
): Promise<Array<{ hostId: string; suitable: boolean; reason: string | null }>> {
  const needs = {
    cpus: vm.cpus,
    memoryBytes: vm.memoryBytes,
    adaptors: await neededAdaptors(q, vm.id),
    migration: true,
  };
  const policy = placementPolicy();
  return (await hostLoads(q, vm.id))
    .filter((h) => h.id !== vm.hostId)
    .map((h) => {
      const reason = refusal(h, needs, policy);
      return { hostId: h.id, suitable: reason === null, reason };
    });
}
