import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEvent } from '../services/audit.js';
import type { TemplateSummary } from '../services/catalog.js';
import type { ResourceKind, ResourceLimit } from '../services/resource-limits.js';
import type { KeyValue, Tag, TagResourceType } from '../services/tags.js';
import type { ScheduleChange, ScheduleInput, ScheduleKind, SnapshotSchedule } from '../schedules/service.js';
import type {
  Account,
  Cluster,
  DiskOffering,
  Host,
  JobState,
  PoolScope,
  Qos,
  Role,
  ServiceOffering,
  StoragePool,
  Vm,
  VmSnapshot,
  Volume,
  VolumeSnapshot,
  Zone,
} from '@strata/core';

/**
 * What the CloudStack API needs from the rest of the server. It is a port: the handlers only
 * translate CloudStack parameters and answers, every rule lives in the one service layer that the
 * REST API uses too. `adapter.ts` builds this from the server's services.
 */
export interface Caller {
  readonly accountId: string;
  readonly userId: string | null;
  readonly role: Role;
}

/** Verifies a CloudStack-signed request (signature v1 or v3); throws the AUTH_* StrataErrors. */
/**
 * Checks a request's signature. `stateChanging` commands (anything but list*, query*) need
 * `expires` unless the server relaxes it, and a signature is refused the second time.
 */
export type Authenticate = (
  params: Readonly<Record<string, string>>,
  how: { readonly stateChanging: boolean; readonly remoteAddress?: string },
) => Promise<Caller>;

export interface ListQuery {
  /** 1-based page, CloudStack's `page`. */
  readonly page: number;
  readonly pageSize: number;
  readonly filter: Readonly<Record<string, string | undefined>>;
  /** CloudStack's `tags[i].key/value`: only resources carrying every one. */
  readonly tags?: readonly KeyValue[];
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly total: number;
}

/** A job a service started: the CloudStack answer carries its id as `jobid`. */
export interface Started {
  /** Null when the service finished the work at once (the answer then carries the resource). */
  readonly jobId: string | null;
  /** The resource the job creates or works on (CloudStack's `id` beside `jobid`). */
  readonly resourceId: string;
}

export type JobInstanceType =
  'VirtualMachine' | 'Volume' | 'Snapshot' | 'VmSnapshot' | 'StoragePool' | 'Host' | 'None';

export interface JobView {
  readonly id: string;
  readonly accountId: string;
  readonly userId: string | null;
  /** The service operation, e.g. `vm.deploy`, `volume.attach`. */
  readonly kind: string;
  readonly state: JobState;
  readonly progress: number;
  readonly resourceType: JobInstanceType;
  readonly resourceId: string | null;
  readonly error: { readonly code: string; readonly message: string; readonly status: number } | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

export interface VolumeCreate {
  readonly name: string;
  readonly zoneId?: string;
  readonly poolId?: string;
  readonly offeringId?: string;
  readonly sizeBytes?: number;
  readonly qos?: Partial<Qos>;
  readonly snapshotId?: string;
  readonly vmId?: string;
}

export interface PoolCreate {
  readonly name: string;
  readonly zoneId: string;
  readonly clusterId?: string;
  readonly provider: string;
  readonly scope: PoolScope;
  readonly managed: boolean;
  readonly capacityBytes?: number;
  readonly capacityIops?: number;
  readonly url: string;
  readonly details: Readonly<Record<string, string>>;
  readonly storageTags?: readonly string[];
}

export interface OfferingCreate {
  readonly name: string;
  readonly displayText?: string;
  readonly sizeBytes?: number;
  readonly customSize: boolean;
  readonly qos?: Partial<Qos>;
  readonly customIops: boolean;
  readonly hypervisorSnapshotReserve: number;
  readonly storageTags?: readonly string[];
}

export interface VmDeploy {
  readonly name: string;
  readonly templateId: string;
  readonly zoneId?: string;
  readonly hostId?: string;
  readonly poolId?: string;
  readonly cpus?: number;
  readonly memoryBytes?: number;
  readonly serviceOfferingId?: string;
  /** Kept as the display name when it differs from the name. */
  readonly displayName?: string;
  readonly start: boolean;
}

/** A pool with what its live volumes use (bytes and minimum IOPS), as admission counts them. */
export type UsedPool = StoragePool & { readonly usedBytes: number; readonly usedMinIops: number };

/** A VM with the service offering it was deployed with, when it has one. */
/** A resource with its tags (createTags). */
export type Tagged<T> = T & { readonly tags?: readonly KeyValue[] };

export type CsVm = Vm & { readonly serviceOffering?: ServiceOffering; readonly tags?: readonly KeyValue[] };

/** A volume with why placement chose its pool (when the caller named none), and when it was attached. */
export type CsVolume = Volume & {
  readonly placement?: string;
  readonly attachedAt?: string;
  readonly tags?: readonly KeyValue[];
};

/** Renaming or new display text, the only changes CloudStack's update*Offering make here. */
export interface OfferingUpdate {
  readonly name?: string;
  readonly displayText?: string;
  /** Disk offerings only. */
  readonly storageTags?: readonly string[];
}

export interface VmSnapshotCreate {
  readonly name?: string;
  readonly description?: string;
  readonly memory: boolean;
  readonly quiesce: boolean;
}

/** A user with its account's name, as listUsers answers it. */
export interface CsUser {
  readonly id: string;
  readonly accountId: string;
  readonly accountName: string;
  readonly username: string;
  readonly role: Role;
  /** Disabled (CloudStack state `disabled`); absent or null: enabled. */
  readonly disabledAt?: string | null;
  readonly profile: CsUserProfile;
  /** Its newest API key that is not revoked (never a secret), as CloudStack's listUsers shows it. */
  readonly apiKey?: string;
  readonly createdAt: string;
}

export interface CsUserProfile {
  readonly firstName: string | null;
  readonly lastName: string | null;
  readonly email: string | null;
  readonly timezone: string | null;
}

/** An account's limits (one kind, or every kind), with the account's name (CloudStack's `account`). */
export interface CsLimits {
  readonly accountId: string;
  readonly accountName: string;
  readonly limits: readonly ResourceLimit[];
}

export interface CloudStackServices {
  /** `account` is a name; the caller's own account when absent. */
  readonly resourceLimits: {
    list(c: Caller, account: string | undefined, kind?: ResourceKind): Promise<CsLimits>;
    set(c: Caller, account: string | undefined, kind: ResourceKind, max: number): Promise<CsLimits>;
  };
  readonly accounts: {
    list(c: Caller, q: ListQuery): Promise<Page<Account>>;
    listUsers(c: Caller, q: ListQuery): Promise<Page<CsUser>>;
    /** CloudStack names the account, not its id; the user gets the account's role. */
    createUser(
      c: Caller,
      input: { accountName: string; username: string; password: string; profile: Partial<CsUserProfile> },
    ): Promise<CsUser>;
    /** createAccount: the account (with a role) and its first user, in that order (operator only). */
    createAccount(
      c: Caller,
      input: {
        name: string;
        role: Role;
        username: string;
        password: string;
        profile: Partial<CsUserProfile>;
      },
    ): Promise<{ account: Account; user: CsUser }>;
    updateUser(c: Caller, id: string, profile: Partial<CsUserProfile>): Promise<CsUser>;
    /** disableUser / enableUser: the user's logins, sessions and keys refused, or allowed again. */
    setUserDisabled(c: Caller, id: string, disabled: boolean): Promise<CsUser>;
    /** deleteUser: the user, its sessions and keys (its account's resources stay). */
    deleteUser(c: Caller, id: string): Promise<void>;
    /** A new API key for the user: the secret is in this answer only. */
    registerKeys(c: Caller, userId: string): Promise<{ apiKey: string; secretKey: string }>;
    /** updateAccount: the account by id or name; with a role, the account and all its users take it. */
    setRole(c: Caller, input: { id?: string; accountName?: string; role?: Role }): Promise<Account>;
    /** The audit trail (operator only). */
    auditEvents(c: Caller, q: ListQuery): Promise<Page<AuditEvent>>;
  };
  readonly zones: {
    list(c: Caller, q: ListQuery): Promise<Page<Zone>>;
    get(c: Caller, id: string): Promise<Zone>;
  };
  readonly clusters: {
    list(c: Caller, q: ListQuery): Promise<Page<Cluster>>;
    create(c: Caller, input: { zoneId: string; name: string }): Promise<Cluster>;
    remove(c: Caller, id: string): Promise<void>;
  };
  readonly tags: {
    create(
      c: Caller,
      input: { resourceType: TagResourceType; resourceIds: string[]; tags: KeyValue[] },
    ): Promise<void>;
    remove(
      c: Caller,
      input: {
        resourceType: TagResourceType;
        resourceIds: string[];
        tags: Array<{ key: string; value?: string }>;
      },
    ): Promise<void>;
    list(
      c: Caller,
      f: { resourceType?: TagResourceType; resourceId?: string; key?: string; value?: string },
    ): Promise<Tag[]>;
  };
  readonly hosts: {
    list(c: Caller, q: ListQuery): Promise<Page<Host>>;
    get(c: Caller, id: string): Promise<Host>;
    /** The maintenance job: the host's running VMs move to other hosts, then it enters Maintenance. */
    prepareMaintenance(c: Caller, id: string): Promise<Started>;
    /** Back Up at once, from Maintenance or while it prepares. */
    cancelMaintenance(c: Caller, id: string): Promise<Started>;
  };
  readonly pools: {
    list(c: Caller, q: ListQuery): Promise<Page<UsedPool>>;
    get(c: Caller, id: string): Promise<UsedPool>;
    create(c: Caller, input: PoolCreate): Promise<StoragePool>;
    /** updateStoragePool: the pool's storage tags. */
    setTags(c: Caller, id: string, storageTags: readonly string[]): Promise<UsedPool>;
  };
  readonly offerings: {
    list(c: Caller, q: ListQuery): Promise<Page<DiskOffering>>;
    create(c: Caller, input: OfferingCreate): Promise<DiskOffering>;
    update(c: Caller, id: string, input: OfferingUpdate): Promise<DiskOffering>;
  };
  readonly serviceOfferings: {
    list(c: Caller, q: ListQuery): Promise<Page<ServiceOffering>>;
    create(
      c: Caller,
      input: { name: string; displayText?: string; cpus: number; memoryBytes: number },
    ): Promise<ServiceOffering>;
    update(c: Caller, id: string, input: OfferingUpdate): Promise<ServiceOffering>;
  };
  readonly templates: {
    list(c: Caller, q: ListQuery): Promise<Page<TemplateSummary>>;
    /** Registers a file the operator allows (STRATA_TEMPLATE_DIRS); the size is read from it. */
    register(
      c: Caller,
      input: { name: string; path: string; format: 'qcow2' | 'raw' },
    ): Promise<TemplateSummary>;
    remove(c: Caller, id: string): Promise<void>;
  };
  /** Snapshot policies: the snapshot schedules of volumes. */
  readonly snapshotPolicies: {
    create(c: Caller, input: ScheduleInput): Promise<SnapshotSchedule>;
    list(c: Caller, f: { id?: string; kind?: ScheduleKind; targetId?: string }): Promise<SnapshotSchedule[]>;
    update(c: Caller, id: string, change: ScheduleChange): Promise<SnapshotSchedule>;
    delete(c: Caller, ids: readonly string[]): Promise<void>;
  };
  readonly vms: {
    list(c: Caller, q: ListQuery): Promise<Page<CsVm>>;
    get(c: Caller, id: string): Promise<CsVm>;
    deploy(c: Caller, input: VmDeploy): Promise<Started>;
    start(c: Caller, id: string, hostId?: string): Promise<Started>;
    migrate(c: Caller, id: string, hostId?: string): Promise<Started>;
    /** Every other host, with whether a live migration of the VM could go there (and why not). */
    migrationHosts(
      c: Caller,
      id: string,
    ): Promise<Array<{ host: Host; suitable: boolean; reason: string | null }>>;
    stop(c: Caller, id: string, forced: boolean): Promise<Started>;
    destroy(c: Caller, id: string, expunge: boolean): Promise<Started>;
    /** Synchronous, as in CloudStack. */
    recover(c: Caller, id: string): Promise<CsVm>;
    expunge(c: Caller, id: string): Promise<Started>;
    /** updateVirtualMachine: the display name ('' clears it). */
    update(c: Caller, id: string, input: { displayName?: string }): Promise<CsVm>;
  };
  readonly volumes: {
    list(c: Caller, q: ListQuery): Promise<Page<CsVolume>>;
    get(c: Caller, id: string): Promise<CsVolume>;
    create(c: Caller, input: VolumeCreate): Promise<Started>;
    attach(c: Caller, id: string, vmId: string): Promise<Started>;
    detach(c: Caller, id: string): Promise<Started>;
    resize(
      c: Caller,
      id: string,
      input: { sizeBytes?: number; offeringId?: string; qos?: Partial<Qos> },
    ): Promise<Started>;
    delete(c: Caller, id: string): Promise<Started>;
    /** `live`: the caller allows moving the disk of a running VM. */
    migrate(c: Caller, id: string, poolId: string, live: boolean): Promise<Started>;
    /** updateVolume: the display name ('' clears it). */
    update(c: Caller, id: string, input: { displayName?: string }): Promise<CsVolume>;
  };
  readonly snapshots: {
    list(c: Caller, q: ListQuery): Promise<Page<Tagged<VolumeSnapshot>>>;
    get(c: Caller, id: string): Promise<VolumeSnapshot>;
    create(c: Caller, volumeId: string, input: { name?: string; quiesce: boolean }): Promise<Started>;
    delete(c: Caller, id: string): Promise<Started>;
    revert(c: Caller, id: string): Promise<Started>;
    fromVmSnapshot(c: Caller, vmSnapshotId: string, volumeId: string): Promise<Started>;
  };
  readonly vmSnapshots: {
    list(c: Caller, q: ListQuery): Promise<Page<Tagged<VmSnapshot>>>;
    get(c: Caller, id: string): Promise<VmSnapshot>;
    create(c: Caller, vmId: string, input: VmSnapshotCreate): Promise<Started>;
    revert(c: Caller, id: string): Promise<Started>;
    delete(c: Caller, id: string): Promise<Started>;
  };
  readonly jobs: {
    get(c: Caller, id: string): Promise<JobView>;
    list(c: Caller, q: ListQuery): Promise<Page<JobView>>;
    /** Resolves when the job has finished (either way), or at `timeoutMs`. */
    wait(c: Caller, id: string, timeoutMs: number): Promise<JobView>;
  };
}

/** Any group of services may be missing while the server grows: its commands answer 530 until then. */
export type PartialServices = { readonly [K in keyof CloudStackServices]?: CloudStackServices[K] };

/** Runs the credential check under the server's request limits (RequestLimits.authenticate). */
export type LimitedCheck = (
  req: FastifyRequest,
  reply: FastifyReply,
  check: () => Promise<Caller>,
) => Promise<Caller>;

export interface CloudStackDeps {
  readonly authenticate: Authenticate;
  /** Rate limits per API key and per address; none when absent. */
  readonly limit?: LimitedCheck;
  readonly services: PartialServices;
  /** Product version reported by listCapabilities. */
  readonly version?: string;
}
