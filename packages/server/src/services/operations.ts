import {
  StrataError,
  vmMachine,
  vmSnapshotMachine,
  volumeMachine,
  volumeSnapshotMachine,
  type Vm,
  type VmSnapshot,
  type Volume,
} from '@strata/core';
import type { Database } from '../db/index.js';
import type { EventService } from './events.js';
import type { Job, Json } from '../jobs/index.js';
import { requireAdmin, type Actor } from './actor.js';
import { refuseIfSnapshotsDepend } from './in-use.js';
import { admitWithinLimits } from './resource-limits.js';
import { lostHostOf } from './placement/lost-host.js';
import type { PoolChoice } from './placement/choose-pool.js';
import { migrationCandidates } from './placement/place-vm.js';
import { placeVolume, recordPlacement } from './placement/place-volume.js';
import { storageTagsFromRow } from './storage-tags.js';
import type { QosInput } from './catalog.js';
import { JOB_TYPES, vmLock, volumeLock } from './job-types.js';
import type { JobService } from './jobs.js';
import type { VmSnapshotService, CreateVmSnapshotInput } from './vm-snapshots.js';
import type { VmService } from './vms.js';
import type { VolumeSnapshotService, VolumeSnapshotView } from './volume-snapshots.js';
import { queueVolumeMigrate } from './volume-migrate.js';
import { refuseIfOnFormerPool, refuseIfVmSnapshotOnFormerPool } from './moved-sources.js';
import type { CreateVolumeInput, VolumeService } from './volumes.js';

/** The `vm.deploy` job (registered by orchestration): ROOT volume from the template, then start. */
export const VM_DEPLOY_JOB = JOB_TYPES.vmDeploy;

export interface DeployVmInput {
  readonly name: string;
  readonly templateId: string;
  /** Pool of the ROOT volume; default: the first qcow2 pool that is Up. */
  readonly poolId?: string;
  readonly hostId?: string;
  readonly cpus?: number;
  readonly memoryBytes?: number;
  /** The compute offering: its vCPUs and memory, unless cpus/memoryBytes are given too. */
  readonly serviceOfferingId?: string;
  /** Default: the template's size. */
  readonly rootSizeBytes?: number;
  /** Default true. */
  readonly start?: boolean;
}

/** An accepted asynchronous operation: the job doing it and the resource it works on. */
export interface Accepted<T> {
  readonly job: Job;
  readonly resource: T;
}

/**
 * The multi-step operations: each checks what can be checked at once (coded errors, nothing
 * queued), writes its record and queues its durable job in ONE transaction, and answers with
 * both. The REST API answers 202 with them; the CloudStack API answers `jobid`.
 */
export class Operations {
  constructor(
    private readonly jobs: JobService,
    private readonly volumes: VolumeService,
    private readonly vms: VmService,
    private readonly volumeSnapshots: VolumeSnapshotService,
    private readonly vmSnapshots: VmSnapshotService,
    private readonly db: Database,
    private readonly events: EventService,
  ) {}

  /** The storage tags a disk offering requires of its volumes' pools (none without one). */
  private async offeringTags(offeringId: string | null | undefined): Promise<string[]> {
    if (!offeringId) return [];
    const row = (
      await this.db.query('SELECT storage_tags FROM disk_offerings WHERE id = $1', [offeringId])
    )[0];
    return row ? storageTagsFromRow(row) : [];
  }

  /**
   * Creates a volume; with `snapshotId`, from that volume snapshot (or from one disk's part of a
   * VM snapshot, listed with its vmSnapshotId), made by the storage in the snapshot's own pool
   * (sized as its volume unless a size is given).
   */
  async createVolume(
    actor: Actor,
    input: Omit<CreateVolumeInput, 'poolId'> & {
      readonly poolId?: string;
      /** Where placement looks when no pool is named (every zone when absent). */
      readonly zoneId?: string;
      readonly snapshotId?: string | null;
    },
  ): Promise<Accepted<Volume>> {
    let shaped: CreateVolumeInput;
    let placed: PoolChoice | null = null;
    if (input.snapshotId) {
      const snap = await this.volumeSnapshots.get(actor, input.snapshotId);
      if (snap.state !== 'Ready')
        throw new StrataError('ILLEGAL_TRANSITION', {
          machine: 'volume-snapshot',
          state: snap.state,
          event: 'CreateVolume',
        });
      await refuseIfOnFormerPool(this.db, snap.id, 'made into a volume');
      const source = await this.volumes.get(actor, snap.volumeId);
      if (input.poolId && input.poolId !== source.poolId) {
        throw new StrataError('INVALID_ARGUMENT', {
          field: 'poolId',
          reason: `a volume from a snapshot is made in the snapshot's pool (${source.poolId})`,
        });
      }
      shaped = {
        ...input,
        poolId: source.poolId,
        ...(input.sizeBytes === undefined && !input.offeringId ? { sizeBytes: source.sizeBytes } : {}),
      };
    } else if (input.poolId) {
      shaped = { ...input, poolId: input.poolId };
    } else {
      // No pool named: placement chooses from the offering's size and minimum IOPS; the volume's
      // own admission (under the pool's lock) still decides, so a race is refused, not overbooked.
      const shape = await this.volumes.resolveShape(input);
      placed = await placeVolume(this.db, {
        ...(input.zoneId ? { zoneId: input.zoneId } : {}),
        sizeBytes: shape.sizeBytes,
        minIops: shape.qos?.minIops ?? 0,
        storageTags: await this.offeringTags(input.offeringId),
      });
      shaped = { ...input, poolId: placed.poolId };
    }
    let job: Job | undefined;
    const resource = await this.volumes.create(actor, shaped, async (tx, v) => {
      if (placed) await recordPlacement(tx, v.id, placed);
      job = await this.jobs.submit(
        actor,
        JOB_TYPES.volumeCreate,
        input.snapshotId ? { volumeId: v.id, snapshotId: input.snapshotId } : { volumeId: v.id },
        { tx, lockKey: volumeLock(v.id), resourceType: 'volume', resourceId: v.id },
      );
    });
    return { job: must(job), resource };
  }

  async deleteVolume(actor: Actor, id: string): Promise<Accepted<Volume>> {
    const v = await this.volumes.get(actor, id);
    if (v.vmId)
      throw new StrataError('CONFLICT', {
        reason: `volume ${id} is attached to vm ${v.vmId}; detach it first`,
      });
    volumeMachine.next(v.state, 'Destroy');
    await refuseIfSnapshotsDepend(this.db, id);
    return this.queued(actor, JOB_TYPES.volumeDelete, { volumeId: id }, volumeLock(id), 'volume', id, v);
  }

  async attachVolume(actor: Actor, id: string, vmId: string): Promise<Accepted<Volume>> {
    const v = await this.volumes.get(actor, id);
    const vm = await this.vms.get(actor, vmId);
    if (v.state !== 'Ready')
      throw new StrataError('ILLEGAL_TRANSITION', { machine: 'volume', state: v.state, event: 'Attach' });
    if (v.vmId)
      throw new StrataError('CONFLICT', { reason: `volume ${id} is already attached to vm ${v.vmId}` });
    if (vm.state === 'Destroyed' || vm.state === 'Error')
      throw new StrataError('ILLEGAL_TRANSITION', { machine: 'vm', state: vm.state, event: 'Attach' });
    return this.queued(actor, JOB_TYPES.volumeAttach, { volumeId: id, vmId }, vmLock(vmId), 'volume', id, v);
  }

  async detachVolume(actor: Actor, id: string): Promise<Accepted<Volume>> {
    const v = await this.volumes.get(actor, id);
    if (!v.vmId)
      throw new StrataError('ILLEGAL_TRANSITION', { machine: 'volume', state: 'Detached', event: 'Detach' });
    if (v.type === 'ROOT')
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'volumeId',
        reason: 'a ROOT volume cannot be detached',
      });
    return this.queued(actor, JOB_TYPES.volumeDetach, { volumeId: id }, vmLock(v.vmId), 'volume', id, v);
  }

  async resizeVolume(actor: Actor, id: string, sizeBytes: number): Promise<Accepted<Volume>> {
    const v = await this.volumes.get(actor, id);
    volumeMachine.next(v.state, 'Resize');
    if (sizeBytes < v.sizeBytes)
      throw new StrataError('STORAGE_SHRINK_REFUSED', { id, from: v.sizeBytes, to: sizeBytes });
    // The growth counts against the account's primary-storage limit (the size is recorded when done).
    await admitWithinLimits(this.db, v.accountId, { 'primary-storage-bytes': sizeBytes - v.sizeBytes });
    return this.queued(
      actor,
      JOB_TYPES.volumeResize,
      { volumeId: id, sizeBytes },
      v.vmId ? vmLock(v.vmId) : volumeLock(id),
      'volume',
      id,
      v,
    );
  }

  /** Moves a volume to another pool, its guest running or not (`volume.migrate`). */
  migrateVolume(actor: Actor, id: string, poolId: string): Promise<Accepted<Volume>> {
    return queueVolumeMigrate(
      { jobs: this.jobs, volumes: this.volumes, db: this.db, events: this.events },
      actor,
      id,
      poolId,
    );
  }

  /**
   * Admits and records the new QoS at once, then queues the job that applies and reads it back
   * (putting the previous QoS back when it cannot).
   */
  async setVolumeQos(actor: Actor, id: string, qos: QosInput): Promise<Accepted<Volume>> {
    const before = (await this.volumes.get(actor, id)).qos;
    const v = await this.volumes.setQos(actor, id, qos);
    // What the job puts back when the new QoS cannot be applied.
    const previous = before && {
      minIops: before.minIops,
      maxIops: before.maxIops,
      burstIops: before.burstIops,
      burstSeconds: before.burstSeconds,
    };
    return this.queued(
      actor,
      JOB_TYPES.volumeSetQos,
      { volumeId: id, previous },
      v.vmId ? vmLock(v.vmId) : volumeLock(id),
      'volume',
      id,
      v,
    );
  }

  /**
   * Deploys a VM from a template: the VM record and its ROOT volume (admitted in the pool, sized as
   * the template) are written now; one `vm.deploy` job clones the template and, when asked, starts it.
   */
  async deployVm(actor: Actor, input: DeployVmInput): Promise<Accepted<Vm>> {
    const template = (
      await this.db.query('SELECT size_bytes FROM templates WHERE id = $1', [input.templateId])
    )[0];
    if (!template) throw new StrataError('NOT_FOUND', { kind: 'template', id: input.templateId });
    if (input.hostId !== undefined) requireAdmin(actor, 'name the host a VM runs on');
    const offering = input.serviceOfferingId ? await this.serviceOffering(input.serviceOfferingId) : null;
    const cpus = input.cpus ?? offering?.cpus;
    const memoryBytes = input.memoryBytes ?? offering?.memoryBytes;
    const poolId = input.poolId ?? (await this.defaultRootPool());
    const vm = await this.vms.create(actor, {
      name: input.name,
      templateId: input.templateId,
      ...(input.hostId ? { hostId: input.hostId } : {}),
      ...(cpus ? { cpus } : {}),
      ...(memoryBytes ? { memoryBytes } : {}),
    });
    try {
      let job: Job | undefined;
      await this.volumes.create(
        actor,
        {
          name: `${input.name} ROOT`,
          poolId,
          sizeBytes: input.rootSizeBytes ?? Number(template['size_bytes']),
          type: 'ROOT',
          vmId: vm.id,
        },
        async (tx, v) => {
          if (offering)
            await tx.query('INSERT INTO vm_service_offerings (vm_id, offering_id) VALUES ($1,$2)', [
              vm.id,
              offering.id,
            ]);
          job = await this.jobs.submit(
            actor,
            VM_DEPLOY_JOB,
            {
              vmId: vm.id,
              volumeId: v.id,
              start: input.start ?? true,
              ...(input.hostId !== undefined && { hostId: input.hostId }),
            },
            { tx, lockKey: vmLock(vm.id), resourceType: 'vm', resourceId: vm.id },
          );
        },
      );
      return { job: must(job), resource: vm };
    } catch (e) {
      // Nothing was queued: the VM record alone would be an orphan.
      await this.vms.discard(actor, vm.id).catch(() => undefined);
      throw e;
    }
  }

  /** A deploy names an offering that must exist: an unknown one is refused, never ignored. */
  private async serviceOffering(id: string): Promise<{ id: string; cpus: number; memoryBytes: number }> {
    const row = (
      await this.db.query('SELECT cpus, memory_bytes FROM service_offerings WHERE id = $1', [id])
    )[0];
    if (!row) throw new StrataError('NOT_FOUND', { kind: 'service offering', id });
    return { id, cpus: Number(row['cpus']), memoryBytes: Number(row['memory_bytes']) };
  }

  private async defaultRootPool(): Promise<string> {
    const row = (
      await this.db.query(
        `SELECT id FROM storage_pools WHERE state = 'Up' AND provider = 'qcow2' ORDER BY created_at, id LIMIT 1`,
      )
    )[0];
    if (!row)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'poolId',
        reason: 'no qcow2 pool is Up to hold the ROOT volume; name a pool',
      });
    return String(row['id']);
  }

  /** Starts a VM on the host placement chooses, or on `hostId` (admins only). */
  async startVm(actor: Actor, id: string, hostId?: string): Promise<Accepted<Vm>> {
    if (hostId !== undefined) requireAdmin(actor, 'name the host a VM runs on');
    const vm = await this.vms.get(actor, id);
    // Stopped, or marked running on a host that is lost: the job fences that host first.
    await lostHostOf(this.db, id, 0);
    const input = { vmId: id, ...(hostId !== undefined && { hostId }) };
    return this.queued(actor, JOB_TYPES.vmStart, input, vmLock(id), 'vm', id, vm);
  }

  /** The hosts a live migration of the VM could go to, or why not (admins; CloudStack findHostsForMigration). */
  async migrationHosts(
    actor: Actor,
    id: string,
  ): Promise<Array<{ hostId: string; suitable: boolean; reason: string | null }>> {
    requireAdmin(actor, 'list hosts for migration');
    return migrationCandidates(this.db, await this.vms.get(actor, id));
  }

  /** Live-migrates a running VM (admins): to `hostId`, else to the host placement chooses. */
  async migrateVm(actor: Actor, id: string, hostId?: string): Promise<Accepted<Vm>> {
    requireAdmin(actor, 'migrate a VM');
    const vm = await this.vms.get(actor, id);
    if (vm.state !== 'Running')
      throw new StrataError('ILLEGAL_TRANSITION', { machine: 'vm', event: 'Migrate', state: vm.state });
    const input = { vmId: id, ...(hostId !== undefined && { hostId }) };
    return this.queued(actor, JOB_TYPES.vmMigrate, input, vmLock(id), 'vm', id, vm);
  }

  async stopVm(actor: Actor, id: string, forced = false): Promise<Accepted<Vm>> {
    const vm = await this.vms.get(actor, id);
    vmMachine.next(vm.state, 'Stop');
    return this.queued(actor, JOB_TYPES.vmStop, { vmId: id, forced }, vmLock(id), 'vm', id, vm);
  }

  async createVolumeSnapshot(
    actor: Actor,
    volumeId: string,
    input: { name: string; quiesce?: boolean },
  ): Promise<Accepted<VolumeSnapshotView>> {
    const v = await this.volumes.get(actor, volumeId);
    let job: Job | undefined;
    const resource = await this.volumeSnapshots.create(
      actor,
      { volumeId, name: input.name },
      async (tx, s) => {
        job = await this.jobs.submit(
          actor,
          JOB_TYPES.volumeSnapshotCreate,
          { snapshotId: s.id, quiesce: Boolean(input.quiesce) },
          {
            tx,
            lockKey: v.vmId ? vmLock(v.vmId) : volumeLock(volumeId),
            resourceType: 'volume-snapshot',
            resourceId: s.id,
          },
        );
      },
    );
    return { job: must(job), resource };
  }

  /**
   * One consistent snapshot of several volumes: one record per volume now, and one job that takes
   * one group snapshot per backend, all under one guest freeze when the volumes belong to a
   * running VM. Runs under the VM's lock (or, for detached volumes, the first volume's).
   */
  async createVolumeSnapshotGroup(
    actor: Actor,
    input: { volumeIds: readonly string[]; name: string },
  ): Promise<Accepted<{ id: string; vmId: string | null; snapshots: VolumeSnapshotView[] }>> {
    let job: Job | undefined;
    const group = await this.volumeSnapshots.createGroup(actor, input, async (tx, g) => {
      const first = g.snapshots[0]!;
      job = await this.jobs.submit(
        actor,
        JOB_TYPES.volumeSnapshotGroup,
        { snapshotIds: g.snapshots.map((s) => s.id), vmId: g.vmId },
        {
          tx,
          lockKey: g.vmId ? vmLock(g.vmId) : volumeLock(first.volumeId),
          resourceType: 'volume-snapshot',
          resourceId: first.id,
        },
      );
    });
    const j = must(job);
    return { job: j, resource: { id: j.id, vmId: group.vmId, snapshots: group.snapshots } };
  }

  async deleteVolumeSnapshot(actor: Actor, id: string): Promise<Accepted<VolumeSnapshotView>> {
    const s = await this.volumeSnapshots.get(actor, id);
    volumeSnapshotMachine.next(s.state, 'Delete');
    return this.queued(
      actor,
      JOB_TYPES.volumeSnapshotDelete,
      { snapshotId: id },
      volumeLock(s.volumeId),
      'volume-snapshot',
      id,
      s,
    );
  }

  async revertVolumeSnapshot(actor: Actor, id: string): Promise<Accepted<VolumeSnapshotView>> {
    const s = await this.volumeSnapshots.get(actor, id);
    if (s.state !== 'Ready')
      throw new StrataError('ILLEGAL_TRANSITION', {
        machine: 'volume-snapshot',
        state: s.state,
        event: 'Revert',
      });
    const v = await this.volumes.get(actor, s.volumeId);
    volumeMachine.next(v.state, 'Revert');
    await refuseIfOnFormerPool(this.db, id, 'reverted');
    return this.queued(
      actor,
      JOB_TYPES.volumeSnapshotRevert,
      { snapshotId: id },
      v.vmId ? vmLock(v.vmId) : volumeLock(v.id),
      'volume-snapshot',
      id,
      s,
    );
  }

  async createVmSnapshot(actor: Actor, input: CreateVmSnapshotInput): Promise<Accepted<VmSnapshot>> {
    let job: Job | undefined;
    const resource = await this.vmSnapshots.create(actor, input, async (tx, s) => {
      job = await this.jobs.submit(
        actor,
        JOB_TYPES.vmSnapshotCreate,
        { vmSnapshotId: s.id, quiesce: input.quiesce ?? 'auto', memory: Boolean(input.snapshotMemory) },
        { tx, lockKey: vmLock(input.vmId), resourceType: 'vm-snapshot', resourceId: s.id },
      );
    });
    return { job: must(job), resource };
  }

  /**
   * A storage-level revert of a running VM stops and restarts it only when asked (`restart`);
   * otherwise REVERT_NEEDS_STOP at once, before anything is queued.
   */
  async revertVmSnapshot(
    actor: Actor,
    id: string,
    opts: { restart?: boolean } = {},
  ): Promise<Accepted<VmSnapshot>> {
    const s = await this.vmSnapshots.get(actor, id);
    vmSnapshotMachine.next(s.state, 'RevertRequested');
    await refuseIfVmSnapshotOnFormerPool(this.db, id, 'reverted');
    const vm = await this.vms.get(actor, s.vmId);
    if (vm.state === 'Running' && !opts.restart) throw new StrataError('REVERT_NEEDS_STOP', { vm: vm.id });
    return this.queued(
      actor,
      JOB_TYPES.vmSnapshotRevert,
      { vmSnapshotId: id, restart: Boolean(opts.restart) },
      vmLock(s.vmId),
      'vm-snapshot',
      id,
      s,
    );
  }

  async deleteVmSnapshot(actor: Actor, id: string): Promise<Accepted<VmSnapshot>> {
    const s = await this.vmSnapshots.get(actor, id);
    vmSnapshotMachine.next(s.state, 'ExpungeRequested');
    return this.queued(
      actor,
      JOB_TYPES.vmSnapshotDelete,
      { vmSnapshotId: id },
      vmLock(s.vmId),
      'vm-snapshot',
      id,
      s,
    );
  }

  private async queued<T>(
    actor: Actor,
    type: string,
    input: Json,
    lockKey: string,
    resourceType: string,
    resourceId: string,
    resource: T,
  ): Promise<Accepted<T>> {
    const job = await this.jobs.submit(actor, type, input, { lockKey, resourceType, resourceId });
    return { job, resource };
  }
}

function must(job: Job | undefined): Job {
  if (!job) throw new StrataError('INTERNAL', { reason: 'job was not submitted' });
  return job;
}
