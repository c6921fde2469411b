import type { StorageNodeFacts } from '../storage/remote.js';

/** What an agent tells the server about its host at registration and on every connection. */
export interface HostFacts {
  readonly hostname: string;
  /** Address the server may show or use to reach the host (the agent's own view). */
  readonly address: string;
  readonly arch: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly libvirtVersion: string;
  readonly qemuVersion: string;
  /** The host's iSCSI initiator name (IQN) when it has one. */
  readonly iscsiInitiator: string | null;
  /** Storage adaptors this host can attach: e.g. `file`, `iscsi-qemu`, `iscsi-host`, `rbd`. */
  readonly adaptors: readonly string[];
  /** Agent software version. */
  readonly agentVersion: string;
  /** The agent's roles: `kvm` (runs VMs), `storage` (serves drivers); absent: `kvm` only (older agents). */
  readonly roles?: readonly AgentRole[];
  /** What it serves in the storage role (absent without that role). */
  readonly storage?: StorageNodeFacts;
  /**
   * The pool directories this machine mounts or holds (STRATA_AGENT_POOL_DIRS), in any role: its
   * file commands serve their files. Absent from older agents (they are asked about any pool).
   */
  readonly poolDirs?: readonly string[];
  /**
   * The snapshot store this host mounts (STRATA_AGENT_SNAPSHOT_STORE): the directory where memory
   * states of VM snapshots live, at the same path on every host of its zone (an NFS share, like
   * CloudStack's secondary storage). Absent: memory states stay in the host state directory.
   */
  readonly snapshotStore?: string;
  /** How other hosts reach it for live migration (absent: it takes none). */
  readonly migration?: MigrationFacts;
}

export interface MigrationFacts {
  /** Its libvirt as another host's agent reaches it (e.g. `qemu+tls://host-b.example/system`). */
  readonly uri: string;
  /** The address QEMU on another host sends a guest's memory to (`tcp://…`); absent: libvirt's choice. */
  readonly dataUri?: string;
}

export type AgentRole = 'kvm' | 'storage';
export const agentRoles: readonly AgentRole[] = ['kvm', 'storage'];

/** libvirt's domain states as `virsh domstate` names them. */
export type DomainRunState =
  'running' | 'paused' | 'shut off' | 'shutdown' | 'crashed' | 'pmsuspended' | 'blocked' | 'idle' | 'unknown';

export interface DomainReport {
  readonly name: string;
  readonly uuid: string;
  readonly state: DomainRunState;
  /** Disk targets (vda, vdb…) with the volume id each carries as its serial. */
  readonly disks: ReadonlyArray<{
    readonly target: string;
    readonly serial: string | null;
    readonly source: string;
  }>;
}

export interface FrozenGuestReport {
  readonly vm: string;
  readonly frozenAt: string;
  /** When the agent thaws on its own if no thaw comes. */
  readonly deadlineAt: string;
}

export interface BlockJobReport {
  readonly vm: string;
  readonly disk: string;
  readonly type: 'commit' | 'active-commit' | 'pull' | 'copy' | 'backup' | 'unknown';
  readonly cur: number;
  readonly end: number;
}

/**
 * The agent's real state, sent on every (re)connection and on demand (`host.report`): the server
 * reconciles its database against it. Nothing here is the server's belief; all of it is read live.
 */
export interface AgentStateReport {
  readonly at: string;
  readonly domains: readonly DomainReport[];
  readonly frozenGuests: readonly FrozenGuestReport[];
  readonly blockJobs: readonly BlockJobReport[];
}

export function emptyStateReport(at = new Date().toISOString()): AgentStateReport {
  return { at, domains: [], frozenGuests: [], blockJobs: [] };
}
