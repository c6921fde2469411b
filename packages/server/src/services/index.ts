import type { Database } from '../db/index.js';
import type { JobEngine } from '../jobs/index.js';
import { SecretsService, type SecretBox } from '../secrets/index.js';
import { AccountService } from './accounts.js';
import { DiskOfferingService, TemplateService } from './catalog.js';
import { EventService } from './events.js';
import { ClusterService, HostService, ZoneService } from './infrastructure.js';
import { JobService } from './jobs.js';
import { Operations } from './operations.js';
import { StoragePoolService } from './storage-pools.js';
import { VmSnapshotService } from './vm-snapshots.js';
import { VmService } from './vms.js';
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
  readonly zones: ZoneService;
  readonly clusters: ClusterService;
  readonly hosts: HostService;
  readonly pools: StoragePoolService;
  readonly offerings: DiskOfferingService;
  readonly templates: TemplateService;
  readonly vms: VmService;
  readonly volumes: VolumeService;
  readonly volumeSnapshots: VolumeSnapshotService;
  readonly vmSnapshots: VmSnapshotService;
  readonly jobs: JobService;
  readonly operations: Operations;
  readonly secrets: SecretsService;
}

export interface ServiceOptions {
  /** Directories template files may be in (docs/security.md). */
  readonly templateDirs?: readonly string[];
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
  const jobs = new JobService(engine);
  return {
    db,
    events,
    accounts: new AccountService(db, events, options.secrets),
    zones: new ZoneService(db),
    clusters: new ClusterService(db),
    hosts: new HostService(db, events),
    pools: new StoragePoolService(db, events, options.secrets),
    offerings: new DiskOfferingService(db),
    templates: new TemplateService(db, options.templateDirs ?? []),
    vms,
    volumes,
    volumeSnapshots,
    vmSnapshots,
    jobs,
    operations: new Operations(jobs, volumes, vms, volumeSnapshots, vmSnapshots, db),
    secrets: new SecretsService(db, options.secrets, events),
  };
}

export * from './actor.js';
export * from './sql.js';
export * from './job-types.js';
export type { Accepted, DeployVmInput } from './operations.js';
export type { StrataEvent, EventFilter } from './events.js';
export type { User, ApiKey, ApiKeyWithSecret, Principal } from './accounts.js';
export type { StoragePoolView, PoolSummary, CreatePoolInput } from './storage-pools.js';
export type { CreateOfferingInput, CreateTemplateInput, QosInput, TemplateSummary } from './catalog.js';
export type { CreateVmInput, VmFilter } from './vms.js';
export type { CreateVolumeInput, VolumeFilter } from './volumes.js';
export type { VolumeSnapshotView, VolumeSnapshotFilter } from './volume-snapshots.js';
export type { CreateVmSnapshotInput, VmSnapshotFilter, VmSnapshotNode } from './vm-snapshots.js';
