import type { Qos } from './qos.js';
import type {
  HostState,
  StoragePoolState,
  VmSnapshotState,
  VmState,
  VolumeSnapshotState,
  VolumeState,
} from '../state/machines.js';

/** Fields every stored resource has. `accountId` scopes what a non-admin sees. */
export interface Resource {
  readonly id: string;
  readonly createdAt: string;
}

export interface Zone extends Resource {
  readonly name: string;
}

export interface Cluster extends Resource {
  readonly zoneId: string;
  readonly name: string;
}

export interface Host extends Resource {
  readonly clusterId: string;
  readonly name: string;
  readonly state: HostState;
  readonly address: string;
  readonly iscsiInitiator: string | null;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly libvirtVersion: string;
  readonly qemuVersion: string;
  readonly adaptors: readonly string[];
  readonly lastSeenAt: string | null;
}

export type PoolScope = 'host' | 'cluster' | 'zone';

export interface StoragePool extends Resource {
  readonly zoneId: string;
  readonly clusterId: string | null;
  readonly name: string;
  /** Driver type: qcow2, tgt, rbd. */
  readonly provider: string;
  readonly scope: PoolScope;
  readonly managed: boolean;
  readonly state: StoragePoolState;
  readonly capacityBytes: number;
  readonly capacityIops: number;
  readonly url: string;
  readonly details: Readonly<Record<string, string>>;
  /** Storage tags a disk offering may require (CloudStack's pool tags); none when absent. */
  readonly storageTags?: readonly string[];
}

export interface DiskOffering extends Resource {
  readonly name: string;
  /** What catalogues show (CloudStack's displaytext); null shows the name. */
  readonly displayText: string | null;
  readonly sizeBytes: number | null;
  readonly customSize: boolean;
  readonly qos: Qos | null;
  readonly customIops: boolean;
  /** Percent of extra space reserved for hypervisor snapshots (CloudStack's hypervisorsnapshotreserve). */
  readonly hypervisorSnapshotReserve: number;
  /** Storage tags: its volumes go only to pools carrying every one (CloudStack's tags). */
  readonly storageTags: readonly string[];
}

/** A compute offering (CloudStack's service offering): what a VM deployed with it gets. */
export interface ServiceOffering extends Resource {
  readonly name: string;
  readonly displayText: string | null;
  readonly cpus: number;
  readonly memoryBytes: number;
}

/** Direct kernel boot, for tiny guests that carry no boot loader. */
export interface KernelBoot {
  readonly path: string;
  readonly initrd: string | null;
  readonly cmdline: string | null;
}

export interface Template extends Resource {
  readonly name: string;
  readonly path: string;
  readonly format: 'qcow2' | 'raw';
  readonly sizeBytes: number;
  readonly kernel: KernelBoot | null;
}

export interface Vm extends Resource {
  readonly accountId: string;
  readonly name: string;
  /** Free text shown beside the name (CloudStack's displayname); null shows the name. */
  readonly displayName: string | null;
  readonly state: VmState;
  readonly hostId: string | null;
  readonly templateId: string | null;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly currentVmSnapshotId: string | null;
  /** When it was destroyed (its retention counts from here); null while it is not. */
  readonly destroyedAt: string | null;
}

export type VolumeType = 'ROOT' | 'DATA';

export interface Volume extends Resource {
  readonly accountId: string;
  readonly name: string;
  /** Free text shown beside the name (CloudStack's displayname); null shows the name. */
  readonly displayName: string | null;
  readonly type: VolumeType;
  readonly state: VolumeState;
  readonly poolId: string;
  readonly vmId: string | null;
  /** Device slot on the VM (vda, vdb, ...), kept while attached. */
  readonly deviceName: string | null;
  readonly sizeBytes: number;
  readonly qos: Qos | null;
  readonly offeringId: string | null;
  /** The driver's own reference (path, LUN, image) for this volume. */
  readonly backendRef: string | null;
}

export interface VolumeSnapshot extends Resource {
  readonly accountId: string;
  readonly volumeId: string;
  readonly name: string;
  readonly state: VolumeSnapshotState;
  readonly backendRef: string | null;
  readonly vmSnapshotId: string | null;
}

export type VmSnapshotType = 'Disk' | 'DiskAndMemory';
export type Consistency = 'application' | 'filesystem' | 'crash';

export interface VmSnapshot extends Resource {
  readonly accountId: string;
  readonly vmId: string;
  readonly name: string;
  readonly description: string;
  readonly state: VmSnapshotState;
  readonly type: VmSnapshotType;
  readonly parentId: string | null;
  readonly current: boolean;
  readonly strategy: string | null;
  readonly consistency: Consistency | null;
  /** How long the guest's I/O was held for the cut, in ms. */
  readonly freezeMs: number | null;
  /** Time between the first and the last disk's cut, in ms. */
  readonly cutSpreadMs: number | null;
}

/** A user's role (domain/roles.ts): `admin` is the operator, `account-admin` manages its own account. */
export type Role = 'admin' | 'account-admin' | 'user';

/**
 * An account's role is the role its users hold unless a user was given its own (CloudStack's
 * account type: Admin, DomainAdmin, User).
 */
export type AccountRole = Role;

export interface Account extends Resource {
  readonly name: string;
  readonly role: AccountRole;
}
