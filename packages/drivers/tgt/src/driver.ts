import { constants as fsConstants } from 'node:fs';
import { access, copyFile, rename, stat, statfs, truncate } from 'node:fs/promises';
import {
  StrataError,
  admitIops,
  notFound,
  provisionedBytes,
  validateOptionalQos,
  validateReserve,
  validateSize,
  validateHostPath,
  validateStorageId,
  throwIfAborted,
  type AccessRequest,
  type AccessResult,
  type CapacityResult,
  type ConnectionInfo,
  type CreateSnapshotResult,
  type CreateVolumeFromSnapshotRequest,
  type CreateVolumeFromTemplateRequest,
  type CreateVolumeRequest,
  type CreateVolumeResult,
  type DeleteResult,
  type FenceHostRequest,
  type FenceHostResult,
  type GroupSnapshotRequest,
  type GroupSnapshotResult,
  type ResizeVolumeRequest,
  type ResizeVolumeResult,
  type RevertSnapshotResult,
  type SetQosRequest,
  type SetQosResult,
  type SnapshotInfo,
  type SnapshotRequest,
  type SnapshotUsage,
  type StorageContext,
  type StorageDriver,
  type VolumeIdRequest,
  type VolumeInfo,
  type VmSnapshotHookRequest,
  type TakeVmSnapshotResult,
  type RevertVmSnapshotResult,
  type DeleteVmSnapshotResult,
} from '@strata/core';
import { tgtCapabilities } from './capabilities.js';
import { iqnSlug, type TgtDriverConfig } from './config.js';
import { exec } from './exec.js';
import { Mutex } from './mutex.js';
import { PoolStore, type VolumeMeta } from './store.js';
import { Targets, VOLUME_LUN } from './targets.js';
import { isPartId, VmSnapshots } from './vm-snapshots.js';
import { VolumeSnapshots } from './snapshots.js';
import { HostAccess } from './access.js';
import { TargetWatch } from './watch.js';

/** Managed iSCSI on tgtd: one target + LUN per volume, raw backing files cloned by reflink. */
export class TgtDriver implements StorageDriver {
  readonly type = 'tgt';
  readonly capabilities = tgtCapabilities;
  readonly store: PoolStore;
  readonly targets: Targets;
  readonly #lock = new Mutex();
  #ready: Promise<void> | null = null;
  readonly #vm: VmSnapshots;
  /** Re-makes the targets a restarted tgtd lost (see TargetWatch). */
  readonly watch: TargetWatch;

  constructor(
    readonly name: string,
    readonly config: TgtDriverConfig,
  ) {
    this.store = new PoolStore(config.root);
    const base = `${config.iqnPrefix ?? 'iqn.2026-11.io.strata'}:${iqnSlug(name)}`;
    this.targets = new Targets(base, config.chapKey, config.tgtadm, config.controlPort);
    this.#vm = new VmSnapshots(this);
    this.watch = new TargetWatch(this, config.watchIntervalMs ?? 2000);
    this.watch.start();
  }

  /**
   * Re-makes, under the lock, each target tgtd lacks or holds only in part (no LUN, a granted
   * initiator's ACL or the CHAP account missing): what a tgtd restart loses. Ids of those re-made.
   */
  restoreTargets(ctx: StorageContext): Promise<readonly string[]> {
    return this.mutate(ctx, async () => {
      const listed = new Map((await this.targets.adm.targets(ctx)).map((t) => [t.iqn, t]));
      const restored: string[] = [];
      for (const meta of await this.store.listVolumes()) {
        const target = listed.get(this.targets.iqn(meta.volumeId)) ?? null;
        if (this.targets.complete(meta, target)) continue;
        await this.targets.ensure(ctx, meta, this.store.volumeRaw(meta.volumeId));
        restored.push(meta.volumeId);
      }
      if (restored.length > 0) ctx.log?.('re-made targets tgtd had lost', { volumes: restored });
      return restored;
    });
  }

  async close(): Promise<void> {
    this.watch.stop();
    await Promise.resolve();
  }

  /** Serialises mutations, after making tgtd match the pool directory once (recovery after restarts). */
  mutate<T>(ctx: StorageContext, fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(async () => {
      throwIfAborted(ctx.signal, 'storage call');
      await this.ready(ctx);
      return fn();
    });
  }

  ready(ctx: StorageContext): Promise<void> {
    this.#ready ??= (async () => {
      await this.store.init();
      const leftovers = await this.store.removeLeftovers();
      if (leftovers.length > 0) ctx.log?.('removed leftovers of interrupted copies', { leftovers });
      for (const meta of await this.store.listVolumes())
        await this.targets.ensure(ctx, meta, this.store.volumeRaw(meta.volumeId));
    })().catch((e: unknown) => {
      this.#ready = null;
      throw e;
    });
    return this.#ready;
  }

  async info(meta: VolumeMeta): Promise<VolumeInfo> {
    return {
      volumeId: meta.volumeId,
      sizeBytes: meta.sizeBytes,
      provisionedBytes: provisionedBytes(meta.sizeBytes, meta.hypervisorSnapshotReserve),
      allocatedBytes: await this.store.allocated(this.store.volumeRaw(meta.volumeId)),
      qos: meta.qos,
      hypervisorSnapshotReserve: meta.hypervisorSnapshotReserve,
      backendRef: `${this.targets.iqn(meta.volumeId)}/${VOLUME_LUN}`,
    };
  }

  async meta(volumeId: string): Promise<VolumeMeta> {
    validateStorageId('volumeId', volumeId);
    const meta = await this.store.getVolume(volumeId);
    if (!meta) throw notFound('volume', volumeId);
    return meta;
  }

  /**
   * FICLONE through libuv (no subprocess): the destination shares the source's extents, so the
   * cost follows the extent count, not the size. An existing destination keeps its inode, which
   * is what lets tgtd's open file see a revert.
   */
  async reflink(ctx: StorageContext, src: string, dst: string): Promise<void> {
    throwIfAborted(ctx.signal, 'reflink');
    try {
      await copyFile(src, dst, fsConstants.COPYFILE_FICLONE_FORCE);
    } catch (e) {
      throw new StrataError(
        'STORAGE_BACKEND_FAILED',
        { backend: 'reflink', operation: 'FICLONE', reason: (e as Error).message },
        { cause: e },
      );
    }
  }

  async #totalBytes(): Promise<number> {
    if (this.config.capacityBytes !== undefined) return this.config.capacityBytes;
    const st = await statfs(this.config.root);
    return st.blocks * st.bsize;
  }

  /** Validates a create request and checks bytes and min IOPS fit the pool. */
  async #admit(req: CreateVolumeRequest): Promise<Omit<VolumeMeta, 'source' | 'grants' | 'createdAt'>> {
    validateStorageId('volumeId', req.volumeId);
    const sizeBytes = validateSize('sizeBytes', req.sizeBytes);
    const qos = validateOptionalQos(req.qos);
    const reserve = validateReserve(req.hypervisorSnapshotReserve);
    const vols = (await this.store.listVolumes()).filter((v) => v.volumeId !== req.volumeId);
    const used = vols.reduce((s, v) => s + provisionedBytes(v.sizeBytes, v.hypervisorSnapshotReserve), 0);
    const limit = (await this.#totalBytes()) * (this.config.overcommit ?? 4);
    const wanted = provisionedBytes(sizeBytes, reserve);
    if (used + wanted > limit) {
      throw new StrataError('STORAGE_CAPACITY_EXHAUSTED', {
        pool: this.name,
        requested: wanted,
        available: Math.max(0, limit - used),
      });
    }
    const usedIops = vols.reduce((s, v) => s + (v.qos?.minIops ?? 0), 0);
    admitIops(this.name, this.config.capacityIops, usedIops, qos?.minIops ?? 0);
    return { volumeId: req.volumeId, sizeBytes, qos, hypervisorSnapshotReserve: reserve };
  }

  /** Common path of the three creates: replay check, content, meta (commit point), target. */
  async #create(
    ctx: StorageContext,
    req: CreateVolumeRequest,
    source: VolumeMeta['source'],
    fill: (tmp: string) => Promise<number>,
  ): Promise<CreateVolumeResult> {
    return this.mutate(ctx, async () => {
      const base = await this.#admit(req);
      const existing = await this.store.getVolume(req.volumeId);
      if (existing) {
        const same =
          existing.sizeBytes === base.sizeBytes && JSON.stringify(existing.source) === JSON.stringify(source);
        if (!same)
          throw new StrataError('STORAGE_ID_CONFLICT', {
            kind: 'volume',
            id: req.volumeId,
            reason: 'size or source differs',
          });
        await this.targets.ensure(ctx, existing, this.store.volumeRaw(req.volumeId));
        return { volume: await this.info(existing), created: false };
      }
      const raw = this.store.volumeRaw(req.volumeId);
      const tmp = `${raw}.tmp`;
      const contentBytes = await fill(tmp);
      if (contentBytes > base.sizeBytes) {
        throw new StrataError('STORAGE_SHRINK_REFUSED', {
          id: req.volumeId,
          from: contentBytes,
          to: base.sizeBytes,
        });
      }
      await truncate(tmp, base.sizeBytes);
      await rename(tmp, raw);
      const meta: VolumeMeta = { ...base, source, grants: {}, createdAt: new Date().toISOString() };
      await this.store.putVolume(meta);
      await this.targets.ensure(ctx, meta, raw);
      return { volume: await this.info(meta), created: true };
    });
  }

  createVolume(ctx: StorageContext, req: CreateVolumeRequest): Promise<CreateVolumeResult> {
    return this.#create(ctx, req, { kind: 'empty' }, async (tmp) => {
      await exec(ctx, 'truncate', ['-s', '0', tmp], 'create file');
      return 0;
    });
  }

  createVolumeFromSnapshot(
    ctx: StorageContext,
    req: CreateVolumeFromSnapshotRequest,
  ): Promise<CreateVolumeResult> {
    if (!isPartId(req.snapshotId)) validateStorageId('snapshotId', req.snapshotId);
    return this.#create(ctx, req, { kind: 'snapshot', id: req.snapshotId }, async (tmp) => {
      const snap = await this.store.getSnapshot(req.snapshotId);
      if (!snap) throw notFound('snapshot', req.snapshotId);
      await this.reflink(ctx, this.store.snapshotRaw(req.snapshotId), tmp);
      return snap.sizeBytes;
    });
  }

  createVolumeFromTemplate(
    ctx: StorageContext,
    req: CreateVolumeFromTemplateRequest,
  ): Promise<CreateVolumeResult> {
    validateStorageId('template.id', req.template.id);
    // qemu-img takes no `--`: an absolute path is what keeps the name from being read as an option
    validateHostPath('template.path', req.template.path);
    return this.#create(ctx, req, { kind: 'template', id: req.template.id }, async (tmp) => {
      // The first clone converts the template to raw on the pool; later clones are reflinks of it.
      const cached = this.store.templateRaw(req.template.id);
      if (!(await exists(cached))) {
        await exec(
          ctx,
          'qemu-img',
          ['convert', '-f', req.template.format, '-O', 'raw', req.template.path, `${cached}.tmp`],
          'template convert',
        );
        await rename(`${cached}.tmp`, cached);
      }
      await this.reflink(ctx, cached, tmp);
      return (await stat(tmp)).size;
    });
  }

  deleteVolume(ctx: StorageContext, req: VolumeIdRequest): Promise<DeleteResult> {
    validateStorageId('volumeId', req.volumeId);
    return this.mutate(ctx, async () => {
      await this.targets.remove(ctx, req.volumeId);
      const meta = await this.store.getVolume(req.volumeId);
      // Reflink snapshots share no state with their volume: removing them is a choice (spec §2.9).
      for (const s of await this.store.listSnapshots())
        if (s.volumeId === req.volumeId) await this.store.removeSnapshot(s.snapshotId);
      await this.store.removeVolume(req.volumeId);
      return { deleted: meta !== null };
    });
  }

  resizeVolume(ctx: StorageContext, req: ResizeVolumeRequest): Promise<ResizeVolumeResult> {
    return this.mutate(ctx, async () => {
      const meta = await this.meta(req.volumeId);
      const sizeBytes = validateSize('sizeBytes', req.sizeBytes);
      if (sizeBytes < meta.sizeBytes)
        throw new StrataError('STORAGE_SHRINK_REFUSED', {
          id: req.volumeId,
          from: meta.sizeBytes,
          to: sizeBytes,
        });
      if (sizeBytes === meta.sizeBytes) return { volume: await this.info(meta), resized: false };
      await this.#admit({
        volumeId: meta.volumeId,
        sizeBytes,
        qos: meta.qos,
        hypervisorSnapshotReserve: meta.hypervisorSnapshotReserve,
      });
      const target = await this.targets.find(ctx, meta.volumeId);
      if (target && target.sessions.length > 0) {
        throw new StrataError('STORAGE_IN_USE', {
          kind: 'volume',
          id: meta.volumeId,
          reason: 'grow needs every host logged out',
        });
      }
      const raw = this.store.volumeRaw(meta.volumeId);
      await truncate(raw, sizeBytes);
      const next = { ...meta, sizeBytes };
      await this.store.putVolume(next);
      await this.targets.reloadLun(ctx, meta.volumeId, raw);
      return { volume: await this.info(next), resized: true };
    });
  }

  async getVolume(ctx: StorageContext, req: VolumeIdRequest): Promise<VolumeInfo> {
    await this.ready(ctx);
    return this.info(await this.meta(req.volumeId));
  }

  async listVolumes(ctx: StorageContext): Promise<readonly VolumeInfo[]> {
    await this.ready(ctx);
    return Promise.all((await this.store.listVolumes()).map((m) => this.info(m)));
  }

  readonly access = new HostAccess(this);

  grantAccess(ctx: StorageContext, req: AccessRequest): Promise<AccessResult> {
    return this.access.grantAccess(ctx, req);
  }
  /** Ids of the hosts holding a grant on the volume (the orphan collector compares them with attachments). */
  async listAccess(ctx: StorageContext, req: VolumeIdRequest): Promise<readonly string[]> {
    await this.ready(ctx);
    return Object.keys((await this.meta(req.volumeId)).grants);
  }
  revokeAccess(ctx: StorageContext, req: AccessRequest): Promise<AccessResult> {
    return this.access.revokeAccess(ctx, req);
  }
  connectionInfo(ctx: StorageContext, req: AccessRequest): Promise<ConnectionInfo> {
    return this.access.connectionInfo(ctx, req);
  }
  fenceHost(ctx: StorageContext, req: FenceHostRequest): Promise<FenceHostResult> {
    return this.access.fenceHost(ctx, req);
  }

  readonly snapshots = new VolumeSnapshots(this);

  createSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<CreateSnapshotResult> {
    return this.snapshots.createSnapshot(ctx, req);
  }
  deleteSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<DeleteResult> {
    return this.snapshots.deleteSnapshot(ctx, req);
  }
  revertSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<RevertSnapshotResult> {
    return this.snapshots.revertSnapshot(ctx, req);
  }
  listSnapshots(ctx: StorageContext, req: VolumeIdRequest): Promise<readonly SnapshotInfo[]> {
    return this.snapshots.listSnapshots(ctx, req);
  }
  snapshotUsage(ctx: StorageContext, req: SnapshotRequest): Promise<SnapshotUsage> {
    return this.snapshots.snapshotUsage(ctx, req);
  }
  groupSnapshot(ctx: StorageContext, req: GroupSnapshotRequest): Promise<GroupSnapshotResult> {
    return this.snapshots.groupSnapshot(ctx, req);
  }

  async capacity(ctx: StorageContext): Promise<CapacityResult> {
    await this.ready(ctx);
    const vols = await this.store.listVolumes();
    let usedBytes = 0;
    for (const v of vols) usedBytes += await this.store.allocated(this.store.volumeRaw(v.volumeId));
    for (const s of await this.store.listSnapshots())
      usedBytes += await this.store.allocated(this.store.snapshotRaw(s.snapshotId));
    return {
      totalBytes: await this.#totalBytes(),
      usedBytes,
      provisionedBytes: vols.reduce(
        (s, v) => s + provisionedBytes(v.sizeBytes, v.hypervisorSnapshotReserve),
        0,
      ),
      totalIops: this.config.capacityIops,
      usedIops: vols.reduce((s, v) => s + (v.qos?.minIops ?? 0), 0),
      volumeCount: vols.length,
    };
  }

  setQos(ctx: StorageContext, req: SetQosRequest): Promise<SetQosResult> {
    return this.mutate(ctx, async () => {
      const meta = await this.meta(req.volumeId);
      const qos = validateOptionalQos(req.qos);
      const others = (await this.store.listVolumes()).filter((v) => v.volumeId !== meta.volumeId);
      admitIops(
        this.name,
        this.config.capacityIops,
        others.reduce((s, v) => s + (v.qos?.minIops ?? 0), 0),
        qos?.minIops ?? 0,
      );
      const next = { ...meta, qos };
      await this.store.putVolume(next);
      return { volume: await this.info(next), enforcedBy: 'frontend', frontendQos: qos };
    });
  }

  takeVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<TakeVmSnapshotResult> {
    return this.#vm.take(ctx, req);
  }
  revertVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<RevertVmSnapshotResult> {
    return this.#vm.revert(ctx, req);
  }
  deleteVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<DeleteVmSnapshotResult> {
    return this.#vm.remove(ctx, req);
  }
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
