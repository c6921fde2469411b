/** A host as placement sees it: what it offers and what its VMs already take. */
export interface HostLoad {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  /** Runs VMs (an agent with the kvm role; storage-only nodes do not). */
  readonly kvm: boolean;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly adaptors: readonly string[];
  /** vCPUs and memory of the VMs placed on it (starting, running or stopping). */
  readonly usedCpus: number;
  readonly usedMemoryBytes: number;
  /** How other hosts reach it for live migration (its agent's facts), or null: it takes none. */
  readonly migrationUri?: string | null;
}

export interface PlacementNeeds {
  readonly cpus: number;
  readonly memoryBytes: number;
  /** Adaptors the VM's disks need on the host: `file`, `iscsi` (any iSCSI adaptor), `rbd`. */
  readonly adaptors: readonly string[];
  /** A live migration's destination: the host must take migrations. */
  readonly migration?: boolean;
}

export interface PlacementPolicy {
  /** vCPUs a host may give per physical CPU (memory is never overcommitted). */
  readonly cpuOvercommit: number;
}

export type Placement =
  | { readonly host: HostLoad }
  | { readonly host: null; readonly refusals: ReadonlyArray<{ host: string; reason: string }> };

const GiB = 1024 ** 3;
const size = (bytes: number) =>
  bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;

/** Why a host cannot take the VM, or null when it can. */
export function refusal(h: HostLoad, needs: PlacementNeeds, policy: PlacementPolicy): string | null {
  if (h.state !== 'Up') return `it is ${h.state}`;
  if (!h.kvm) return 'it runs no VMs (a storage node)';
  if (needs.migration === true && !h.migrationUri)
    return 'it takes no live migrations (its agent names no STRATA_AGENT_MIGRATION_URI)';
  // `iscsi`: QEMU's own initiator or the host's, either will do
  const has = (a: string) =>
    a === 'iscsi' ? h.adaptors.some((x) => x.startsWith('iscsi-')) : h.adaptors.includes(a);
  const missing = needs.adaptors.filter((a) => !has(a));
  if (missing.length > 0) return `it cannot attach ${missing.join(', ')} disks`;
  const freeMemory = h.memoryBytes - h.usedMemoryBytes;
  if (needs.memoryBytes > freeMemory)
    return `${size(freeMemory)} of memory left, ${size(needs.memoryBytes)} needed`;
  const freeCpus = h.cpus * policy.cpuOvercommit - h.usedCpus;
  if (needs.cpus > freeCpus) return `${Math.max(0, freeCpus)} vCPUs left, ${needs.cpus} needed`;
  return null;
}

/**
 * The host for a VM: among those that can take it, the one it last ran on (its definition and
 * caches are there), else the one with the most memory left (spreading VMs), ties by id so the
 * same facts give the same answer. `pinned` (an admin's choice) is the only candidate when given.
 */
export function chooseHost(
  hosts: readonly HostLoad[],
  needs: PlacementNeeds,
  policy: PlacementPolicy,
  options: { readonly pinned?: string; readonly previous?: string | null } = {},
): Placement {
  const candidates = options.pinned ? hosts.filter((h) => h.id === options.pinned) : hosts;
  const refusals: Array<{ host: string; reason: string }> = [];
  const fit: HostLoad[] = [];
  for (const h of candidates) {
    const why = refusal(h, needs, policy);
    if (why) refusals.push({ host: h.name, reason: why });
    else fit.push(h);
  }
  const previous = fit.find((h) => h.id === options.previous);
  if (previous) return { host: previous };
  const best = [...fit].sort(
    (a, b) =>
      b.memoryBytes - b.usedMemoryBytes - (a.memoryBytes - a.usedMemoryBytes) || a.id.localeCompare(b.id),
  )[0];
  return best ? { host: best } : { host: null, refusals };
}
