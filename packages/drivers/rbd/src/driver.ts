import {
  admitIops,
  provisionedBytes,
  StrataError,
  validateOptionalQos,
  validateReserve,
  validateSize,
  validateStorageId,
  type AccessRequest,
  type CapacityResult,
  type FenceHostRequest,
  type CreateVolumeFromSnapshotRequest,
  type CreateVolumeFromTemplateRequest,
  type CreateVolumeRequest,
  type CreateVolumeResult,
  type DeleteResult,
  type DriverCapabilities,
  type GroupSnapshotRequest,
  type ResizeVolumeRequest,
  type SetQosRequest,
  type SetQosResult,
  type SnapshotRequest,
  type SnapshotUsage,
  type StorageContext,
  type StorageDriver,
  type VmSnapshotHookRequest,
  type VolumeIdRequest,
  type Qos,
} from '@strata/core';
import * as access from './access.js';
import { fenceHost } from './fence.js';
import { CephCli, errnoOf, EEXIST, ENOENT, unlessMissing } from './cli.js';
import { cloneFromSnapshot, flatten, growTo, importTemplate } from './clone.js';
import { rbdCapabilities } from './capabilities.js';
import type { RbdDriverConfig } from './config.js';
import {
  META_CREATE,
  META_QOS,
  parseCreation,
  readMeta,
  removeMeta,
  sameSource,
  setMeta,
  type CreationRecord,
  type VolumeSource,
} from './meta.js';
import { KeyedLock } from './keyed-lock.js';
import { imageName, spec } from './names.js';
import { PoolIndex, snapshotKey, volumeKey, type VolumeSummary } from './pool-index.js';
import { applyRbdQos } from './qos.js';
import * as snaps from './snapshots.js';
import * as vm from './vm-hooks.js';
import { listVmSnapshotParts } from './vm-parts.js';
import { imageInfo, listAllVolumes, listSnaps, loadVolume, toVolumeInfo } from './volumes.js';

interface CephDf {
  readonly pools: ReadonlyArray<{
    readonly name: string;
    readonly stats: { readonly bytes_used: number; readonly max_avail: number };
  }>;
}

/** Ceph RBD: one image per volume in one pool, through the rbd/ceph CLIs (docs/spec/storage-driver.md). */
export class RbdDriver implements StorageDriver {
  readonly type = 'rbd';
  readonly capabilities: DriverCapabilities = rbdCapabilities;
  readonly cli: CephCli;
  readonly pool: string;
  readonly index: PoolIndex;
  readonly monitors: readonly string[];
  readonly #config: RbdDriverConfig;
  readonly #lock = new KeyedLock();
  readonly authCache = new Map<string, { key: string; caps: string; at: number }>();
  #df: { at: number; stats: CephDf['pools'][number]['stats'] } | null = null;

  constructor(
    readonly name: string,
    config: RbdDriverConfig,
  ) {
    this.#config = config;
    this.pool = config.pool;
    this.monitors = config.monitors;
    this.cli = new CephCli({
      confPath: config.confPath,
      keyringPath: config.keyringPath,
      clientId: config.clientId ?? 'admin',
      timeoutMs: config.timeoutMs,
    });
    this.index = new PoolIndex(this);
  }

  // ---- capacity and admission ----

  /** `ceph df` for this pool; admission may reuse a reading up to 10 s old (the mon call is slow). */
  async #poolStats(ctx: StorageContext, maxAgeMs: number) {
    if (this.#df && Date.now() - this.#df.at <= maxAgeMs) return this.#df.stats;
    const df = await this.cli.cephJson<CephDf>(ctx, ['df']);
    const stats = df.pools.find((p) => p.name === this.pool)?.stats;
    if (!stats) throw new StrataError('UNAVAILABLE', { what: `pool ${this.pool}`, reason: 'not in ceph df' });
    this.#df = { at: Date.now(), stats };
    return stats;
  }

  capacity(ctx: StorageContext): Promise<CapacityResult> {
    return this.#capacity(ctx, 0);
  }

  async #capacity(ctx: StorageContext, maxAgeMs: number): Promise<CapacityResult> {
    const stats = await this.#poolStats(ctx, maxAgeMs);
    const volumes = await listAllVolumes(ctx, this, this.index, false);
    return {
      totalBytes: stats.bytes_used + stats.max_avail,
      usedBytes: stats.bytes_used,
      provisionedBytes: volumes.reduce((s, v) => s + v.provisionedBytes, 0),
      totalIops: this.#config.capacityIops ?? 0,
      usedIops: volumes.reduce((s, v) => s + (v.qos?.minIops ?? 0), 0),
      volumeCount: volumes.length,
    };
  }

  /** Thin pool: bytes are admitted up to the cluster's size times the overprovisioning factor. */
  async #admit(ctx: StorageContext, addBytes: number, addMinIops: number): Promise<void> {
    const cap = await this.#capacity(ctx, 10_000);
    const limit = cap.totalBytes * (this.#config.overprovisionFactor ?? 4);
    if (cap.provisionedBytes + addBytes > limit) {
      throw new StrataError('STORAGE_CAPACITY_EXHAUSTED', {
        pool: this.pool,
        requested: addBytes,
        available: Math.max(0, limit - cap.provisionedBytes),
      });
    }
    admitIops(this.pool, cap.totalIops, cap.usedIops, addMinIops);
  }

  // ---- volumes ----

  async #create(
    ctx: StorageContext,
    req: CreateVolumeRequest,
    source: VolumeSource,
    make: () => Promise<void>,
  ): Promise<CreateVolumeResult> {
    validateStorageId('volumeId', req.volumeId);
    const sizeBytes = validateSize('sizeBytes', req.sizeBytes);
    const reserve = validateReserve(req.hypervisorSnapshotReserve);
    const qos = validateOptionalQos(req.qos);
    const record: CreationRecord = { sizeBytes, reserve, source };
    const existing = await imageInfo(ctx, this, imageName(req.volumeId));
    if (existing) {
      const prior = parseCreation(
        await unlessMissing(() => readMeta(ctx, this, imageName(req.volumeId)), {}),
      );
      if (
        prior &&
        (prior.sizeBytes !== sizeBytes || prior.reserve !== reserve || !sameSource(prior.source, source))
      ) {
        throw new StrataError('STORAGE_ID_CONFLICT', {
          kind: 'volume',
          id: req.volumeId,
          reason: 'size, reserve or source differ',
        });
      }
      if (!prior) await this.#finish(ctx, req.volumeId, record, qos, false); // a create cut short before its record
      return { volume: await this.getVolume(ctx, req), created: false };
    }
    // Admission and the index entry it counts run one create at a time.
    await this.#lock.run('admission', async () => {
      await this.#admit(ctx, provisionedBytes(sizeBytes, reserve), qos?.minIops ?? 0);
      await this.#summarize(ctx, req.volumeId, reserve, qos);
    });
    try {
      await make();
    } catch (err) {
      if (errnoOf(err) !== EEXIST) throw err;
      return this.#create(ctx, req, source, () => Promise.resolve()); // a concurrent twin made it
    }
    await this.#finish(ctx, req.volumeId, record, qos, true);
    if (source.kind === 'empty') {
      // Nothing to read back: a fresh empty image has the asked size and holds no data.
      const meta = {
        [META_CREATE]: JSON.stringify(record),
        ...(qos ? { [META_QOS]: JSON.stringify(qos) } : {}),
      };
      return { volume: toVolumeInfo(this, req.volumeId, sizeBytes, meta, 0), created: true };
    }
    return { volume: await this.getVolume(ctx, req), created: true };
  }

  /** Index entry first, image after: an entry without an image is ignored, never the reverse. */
  async #summarize(
    ctx: StorageContext,
    volumeId: string,
    reserve: number,
    qos: Qos | null | undefined,
  ): Promise<void> {
    const summary: VolumeSummary = { reserve, qos: qos ?? null };
    await this.index.set(ctx, volumeKey(volumeId), JSON.stringify(summary));
  }

  /** `fresh`: this call just made the image (index entry written, empty images already sized). */
  async #finish(
    ctx: StorageContext,
    volumeId: string,
    record: CreationRecord,
    qos: CreateVolumeRequest['qos'],
    fresh: boolean,
  ): Promise<void> {
    if (!fresh) await this.#summarize(ctx, volumeId, record.reserve, qos);
    if (!fresh || record.source.kind !== 'empty') await growTo(ctx, this, volumeId, record.sizeBytes);
    const image = imageName(volumeId);
    if (qos) {
      await setMeta(ctx, this, image, META_QOS, JSON.stringify(qos));
      await applyRbdQos(ctx, this, image, qos);
    }
    await setMeta(ctx, this, image, META_CREATE, JSON.stringify(record));
  }

  createVolume(ctx: StorageContext, req: CreateVolumeRequest): Promise<CreateVolumeResult> {
    return this.#create(ctx, req, { kind: 'empty' }, async () => {
      await this.cli.rbd(ctx, [
        'create',
        '--size',
        `${req.sizeBytes}B`,
        spec(this.pool, imageName(req.volumeId)),
      ]);
    });
  }

  createVolumeFromSnapshot(
    ctx: StorageContext,
    req: CreateVolumeFromSnapshotRequest,
  ): Promise<CreateVolumeResult> {
    validateStorageId('snapshotId', req.snapshotId);
    return this.#create(ctx, req, { kind: 'snapshot', id: req.snapshotId }, () =>
      cloneFromSnapshot(ctx, this, req.snapshotId, req.volumeId, req.sizeBytes),
    );
  }

  createVolumeFromTemplate(
    ctx: StorageContext,
    req: CreateVolumeFromTemplateRequest,
  ): Promise<CreateVolumeResult> {
    return this.#create(ctx, req, { kind: 'template', id: req.template.id }, () =>
      importTemplate(ctx, this, req.template, req.volumeId, req.sizeBytes),
    );
  }

  async getVolume(ctx: StorageContext, req: VolumeIdRequest) {
    validateStorageId('volumeId', req.volumeId);
    const loaded = await loadVolume(ctx, this, req.volumeId);
    if (!loaded) throw new StrataError('NOT_FOUND', { kind: 'volume', id: req.volumeId });
    return loaded.volume;
  }

  listVolumes(ctx: StorageContext) {
    return listAllVolumes(ctx, this, this.index);
  }

  async deleteVolume(ctx: StorageContext, req: VolumeIdRequest): Promise<DeleteResult> {
    validateStorageId('volumeId', req.volumeId);
    const image = imageName(req.volumeId);
    const info = await imageInfo(ctx, this, image);
    if (!info) {
      await access.revokeAll(ctx, this, req.volumeId);
      await this.index.remove(ctx, volumeKey(req.volumeId));
      return { deleted: false };
    }
    const children = await this.cli.rbdJson<Array<{ image: string }> | null>(ctx, [
      'children',
      '--all',
      spec(this.pool, image),
    ]);
    if (children && children.length > 0) {
      throw new StrataError('STORAGE_IN_USE', {
        kind: 'volume',
        id: req.volumeId,
        reason: `clones depend on it (${children.length})`,
      });
    }
    const all = await listSnaps(ctx, this, image);
    await vm.leaveGroup(
      ctx,
      this,
      req.volumeId,
      all.filter((s) => s.namespace?.type === 'group').length,
      info.group,
    );
    await access.revokeAll(ctx, this, req.volumeId);
    for (const s of await snaps.listSnapshots(ctx, this, req.volumeId)) {
      await snaps.deleteSnapshot(ctx, this, { volumeId: req.volumeId, snapshotId: s.snapshotId });
    }
    try {
      await this.cli.rbd(ctx, ['rm', '--no-progress', spec(this.pool, image)]);
    } catch (err) {
      if (errnoOf(err) === 16)
        throw new StrataError(
          'STORAGE_IN_USE',
          { kind: 'volume', id: req.volumeId, reason: 'a client still has it open' },
          { cause: err },
        );
      if (errnoOf(err) === ENOENT) return { deleted: false }; // a concurrent delete won
      throw err;
    }
    await this.index.remove(ctx, volumeKey(req.volumeId));
    return { deleted: true };
  }

  async resizeVolume(ctx: StorageContext, req: ResizeVolumeRequest) {
    validateStorageId('volumeId', req.volumeId);
    const sizeBytes = validateSize('sizeBytes', req.sizeBytes);
    const current = await this.getVolume(ctx, req);
    if (sizeBytes < current.sizeBytes)
      throw new StrataError('STORAGE_SHRINK_REFUSED', {
        id: req.volumeId,
        from: current.sizeBytes,
        to: sizeBytes,
      });
    if (sizeBytes === current.sizeBytes) return { volume: current, resized: false };
    await this.#admit(
      ctx,
      provisionedBytes(sizeBytes, current.hypervisorSnapshotReserve) - current.provisionedBytes,
      0,
    );
    // Grows under a running QEMU too; the guest sees it after the caller's block resize.
    await this.cli.rbd(ctx, [
      'resize',
      '--no-progress',
      '--size',
      `${sizeBytes}B`,
      spec(this.pool, imageName(req.volumeId)),
    ]);
    return { volume: await this.getVolume(ctx, req), resized: true };
  }

  /** rbd-specific: copies a clone's parent data into it so it no longer depends on the snapshot. */
  async flattenVolume(ctx: StorageContext, req: VolumeIdRequest): Promise<{ flattened: boolean }> {
    validateStorageId('volumeId', req.volumeId);
    return { flattened: await flatten(ctx, this, req.volumeId) };
  }

  async setQos(ctx: StorageContext, req: SetQosRequest): Promise<SetQosResult> {
    validateStorageId('volumeId', req.volumeId);
    const qos = validateOptionalQos(req.qos);
    const current = await this.getVolume(ctx, req);
    const delta = (qos?.minIops ?? 0) - (current.qos?.minIops ?? 0);
    const image = imageName(req.volumeId);
    await this.#lock.run('admission', async () => {
      if (delta > 0) await this.#admit(ctx, 0, delta);
      await this.#summarize(ctx, req.volumeId, current.hypervisorSnapshotReserve, qos);
    });
    if (qos) await setMeta(ctx, this, image, META_QOS, JSON.stringify(qos));
    else await removeMeta(ctx, this, image, META_QOS);
    await applyRbdQos(ctx, this, image, qos);
    return { volume: await this.getVolume(ctx, req), enforcedBy: 'backend', frontendQos: null };
  }

  // ---- access ----

  grantAccess(ctx: StorageContext, req: AccessRequest) {
    validateStorageId('volumeId', req.volumeId);
    return this.#lock.run(`host:${req.host.id}`, () => access.grantAccess(ctx, this, req));
  }

  revokeAccess(ctx: StorageContext, req: AccessRequest) {
    validateStorageId('volumeId', req.volumeId);
    return this.#lock.run(`host:${req.host.id}`, () => access.revokeAccess(ctx, this, req));
  }

  connectionInfo(ctx: StorageContext, req: AccessRequest) {
    validateStorageId('volumeId', req.volumeId);
    return this.#lock.run(`host:${req.host.id}`, () => access.connectionInfo(ctx, this, req));
  }

  fenceHost(ctx: StorageContext, req: FenceHostRequest) {
    return this.#lock.run(`host:${req.host.id}`, () => fenceHost(ctx, this, req));
  }

  // ---- snapshots ----

  #ids(req: SnapshotRequest): void {
    validateStorageId('volumeId', req.volumeId);
    validateStorageId('snapshotId', req.snapshotId);
  }

  createSnapshot(ctx: StorageContext, req: SnapshotRequest) {
    this.#ids(req);
    return snaps.createSnapshot(ctx, this, req);
  }

  deleteSnapshot(ctx: StorageContext, req: SnapshotRequest) {
    this.#ids(req);
    return snaps.deleteSnapshot(ctx, this, req);
  }

  revertSnapshot(ctx: StorageContext, req: SnapshotRequest) {
    this.#ids(req);
    return snaps.revertSnapshot(ctx, this, req);
  }

  listSnapshots(ctx: StorageContext, req: VolumeIdRequest) {
    validateStorageId('volumeId', req.volumeId);
    return snaps.listSnapshots(ctx, this, req.volumeId);
  }

  // async: a bad id is a rejected promise, as for every other call
  async snapshotUsage(ctx: StorageContext, req: SnapshotRequest): Promise<SnapshotUsage> {
    this.#ids(req);
    return snaps.snapshotUsage(ctx, this, req.volumeId, req.snapshotId);
  }

  groupSnapshot(ctx: StorageContext, req: GroupSnapshotRequest) {
    validateStorageId('groupId', req.groupId);
    req.members.forEach((m) => this.#ids(m));
    return snaps.groupSnapshot(ctx, this, req);
  }

  // ---- VM-snapshot hooks ----

  #vmIds(req: VmSnapshotHookRequest): void {
    // The id names a pool index key (which VM snapshot a group snapshot is): held to the id rule.
    validateStorageId('vmSnapshot.id', req.vmSnapshot.id);
    req.volumeIds.forEach((id) => validateStorageId('volumeIds', id));
    if (req.volumeIds.length === 0)
      throw new StrataError('INVALID_ARGUMENT', {
        field: 'volumeIds',
        reason: 'must name at least one volume',
      });
  }

  // One VM's group changes one call at a time (membership is synced before each cut).
  takeVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest) {
    this.#vmIds(req);
    return this.#lock.run(`vm:${req.vmSnapshot.vmId}`, () => vm.takeVmSnapshot(ctx, this, req));
  }

  revertVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest) {
    this.#vmIds(req);
    return this.#lock.run(`vm:${req.vmSnapshot.vmId}`, () => vm.revertVmSnapshot(ctx, this, req));
  }

  deleteVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest) {
    this.#vmIds(req);
    return this.#lock.run(`vm:${req.vmSnapshot.vmId}`, () => vm.deleteVmSnapshot(ctx, this, req));
  }

  /** The group snapshots in this pool (the orphan collector judges them; `listSnapshots` skips them). */
  listVmSnapshotParts(ctx: StorageContext) {
    return listVmSnapshotParts(ctx, this);
  }
}

export { snapshotKey };
