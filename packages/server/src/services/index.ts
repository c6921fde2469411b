import type { Database } from '../db/index.js';
import type { JobEngine } from '../jobs/index.js';
import { SecretsService, type SecretBox } from '../secrets/index.js';
import { SnapshotScheduleService } from '../schedules/service.js';
import { AccountService } from './accounts.js';
import { ApiKeyService } from './api-keys.js';
import { AccountRoleService } from './account-roles.js';
import { AuditLog } from './audit.js';
import { DiskOfferingService, TemplateService } from './catalog.js';
import { EventService } from './events.js';
import { ClusterService, HostService, ZoneService } from './infrastructure.js';
import { JobService } from './jobs.js';
import type { WaitGate } from '../limits/wait-gate.js';
import { Operations } from './operations.js';
import { ResourceLimitService } from './resource-limits.js';
import { ServiceOfferingService } from './service-offerings.js';
import { StoragePoolService } from './storage-pools.js';
import { TagService } from './tags.js';
import { UserRoleService } from './user-roles.js';
import { VmSnapshotService } from './vm-snapshots.js';
import { VmService } from './vms.js';
import { VmLifecycle } from './vm-lifecycle.js';
import { VolumeSnapshotService } from './volume-snapshots.js';
import { VolumeService } from './volumes.js';

/**
 * The one service layer: the REST API, the CloudStack API, the CLI (through REST) and the jobs
 * all go through these. No rule is written in an HTTP handler.
 */
export interface Services {
  readonly db: Database;
  readonly events: EventService;
  readonly accounts: AccountService;
  readonly apiKeys: ApiKeyService;
  /** Security events (failed authentication, role changes, API keys); operator-only reads. */
  readonly audit: AuditLog;
  readonly roles: UserRoleService;
  /** An account's role as a whole (CloudStack's updateAccount). */
  readonly accountRoles: AccountRoleService;
  readonly zones: ZoneService;
  readonly clusters: ClusterService;
  readonly hosts: HostService;
  readonly pools: StoragePoolService;
  readonly offerings: DiskOfferingService;
  readonly serviceOfferings: ServiceOfferingService;
  /** Key/value tags on VMs, volumes and their snapshots. */
  readonly tags: TagService;
  readonly templates: TemplateService;
  readonly vms: VmService;
  readonly volumes: VolumeService;
  readonly volumeSnapshots: VolumeSnapshotService;
  readonly vmSnapshots: VmSnapshotService;
  readonly jobs: JobService;
  readonly operations: Operations;
  /** Destroy (a job), recover, expunge. */
  readonly vmLifecycle: VmLifecycle;
  readonly secrets: SecretsService;
  /** Recurring volume and VM snapshots (the scheduler runs them). */
  readonly snapshotSchedules: SnapshotScheduleService;
  /** Per-account quotas, checked where each resource is admitted. */
  readonly resourceLimits: ResourceLimitService;
}

export interface ServiceOptions {
  /** Directories template files may be in (docs/security.md). */
  readonly templateDirs?: readonly string[];
  /** Caps long-poll job waits (docs/api.md, "Limits"); none when absent. */
  readonly jobWaits?: WaitGate;
  /** Seals and opens stored secrets (pool secrets, API secret keys). */
  readonly secrets: SecretBox;
}

export function createServices(
  db: Database,
  engine: JobEngine | null = null,
  options: ServiceOptions,
): Services {
  const events = new EventService(db);
  const vms = new VmService(db, events);
  const volumes = new VolumeService(db, events);
  const volumeSnapshots = new VolumeSnapshotService(db, events);
  const vmSnapshots = new VmSnapshotService(db, events);
  const jobs = new JobService(engine, options.jobWaits);
  const audit = new AuditLog(db);
  return {
    db,
    events,
    accounts: new AccountService(db, events, audit),
    apiKeys: new ApiKeyService(db, audit, options.secrets),
    audit,
    roles: new UserRoleService(db, audit),
    accountRoles: new AccountRoleService(db, audit),
    zones: new ZoneService(db),
    clusters: new ClusterService(db),
    hosts: new HostService(db, events, jobs),
    pools: new StoragePoolService(db, events, options.secrets),
    offerings: new DiskOfferingService(db),
    serviceOfferings: new ServiceOfferingService(db),
    tags: new TagService(db),
    templates: new TemplateService(db, options.templateDirs ?? []),
    vms,
    volumes,
    volumeSnapshots,
    vmSnapshots,
    jobs,
    operations: new Operations(jobs, volumes, vms, volumeSnapshots, vmSnapshots, db, events),
    vmLifecycle: new VmLifecycle(jobs, vms, db),
    secrets: new SecretsService(db, options.secrets, events),
    snapshotSchedules: new SnapshotScheduleService(db),
    resourceLimits: new ResourceLimitService(db),
  };
}

export * from './actor.js';
export type { CreateServiceOfferingInput } from './service-offerings.js';
export { TAG_RESOURCE_TYPES, type KeyValue, type Tag, type TagResourceType } from './tags.js';
export * from './sql.js';
export * from './job-types.js';
export type { Accepted, DeployVmInput } from './operations.js';
export type { StrataEvent, EventFilter } from './events.js';
export { AUDIT_KINDS, type AuditEvent, type AuditFilter, type AuditInput, type AuditKind } from './audit.js';
export type { User, Principal, UserProfile } from './accounts.js';
export type { ApiKey, ApiKeyWithSecret } from './api-keys.js';
export type { StoragePoolView, PoolSummary, CreatePoolInput } from './storage-pools.js';
export type { CreateOfferingInput, CreateTemplateInput, QosInput, TemplateSummary } from './catalog.js';
export type { CreateVmInput, VmFilter } from './vms.js';
export type { CreateVolumeInput, VolumeFilter } from './volumes.js';
export type { VolumeSnapshotView, VolumeSnapshotFilter } from './volume-snapshots.js';
export { RESOURCE_KINDS, type ResourceKind, type ResourceLimit } from './resource-limits.js';
export type { CreateVmSnapshotInput, VmSnapshotFilter, VmSnapshotNode } from './vm-snapshots.js';
