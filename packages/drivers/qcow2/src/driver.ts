import { rename, statfs } from 'node:fs/promises';
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
  type FenceHostRequest,
  type FenceHostResult,
  type AccessResult,
  type CapacityResult,
  type ConnectionInfo,
  type CreateSnapshotResult,
  type CreateVolumeFromSnapshotRequest,
  type CreateVolumeFromTemplateRequest,
  type CreateVolumeRequest,
  type CreateVolumeResult,
  type DeleteResult,
  type DeleteVmSnapshotResult,
  type GroupSnapshotRequest,
  type GroupSnapshotResult,
  type ResizeVolumeRequest,
  type ResizeVolumeResult,
  type RevertSnapshotResult,
  type RevertVmSnapshotResult,
  type SetQosRequest,
  type SetQosResult,
  type SnapshotInfo,
  type SnapshotRequest,
  type SnapshotUsage,
  type StorageContext,
  type StorageDriver,
  type TakeVmSnapshotResult,
  type VmSnapshotHookRequest,
  type VolumeIdRequest,
  type VolumeInfo,
} from '@strata/core';
import { qcow2Capabilities } from './capabilities.js';
import { Mutex } from './mutex.js';
import { Qcow2Snapshots } from './snapshots.js';
import { QemuImg } from './qemu-img.js';
import { Qcow2Store, type Qcow2VolumeMeta } from './store.js';

export interface Qcow2DriverConfig {
  /** Pool directory every host of the pool mounts at the same path (local, NFS, shared mount). */
  readonly root: string;
  /** Pool IOPS capacity for admission on min IOPS; 0 = unlimited. */
  readonly capacityIops: number;
  readonly capacityBytes?: number;
  /** Thin overcommit of provisioned bytes over capacity. Default 4. */
  readonly overcommit?: number;
  readonly qemuImg?: string;
}

/** Unmanaged qcow2 files in a pool directory; a running VM's snapshots are the hypervisor's job. */
export class Qcow2Driver implements StorageDriver {
  readonly type = 'qcow2';
  readonly capabilities = qcow2Capabilities;
  readonly store: Qcow2Store;
  readonly img: QemuImg;
  readonly #lock = new Mutex();

  constructor(
    readonly name: string,
    readonly config: Qcow2DriverConfig,
  ) {
    this.store = new Qcow2Store(config.root);
    this.img = new QemuImg(config.qemuImg);
  }

  /** Serialises mutations (admission sums must not interleave); refuses a cancelled caller first. */
  mutate<T>(ctx: StorageContext, fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(async () => {
      throwIfAborted(ctx.signal, 'storage call');
      await this.store.init();
      return fn();
    });
  }

  async info(m: Qcow2VolumeMeta): Promise<VolumeInfo> {
    const path = this.store.image(m.volumeId);
    return {
      volumeId: m.volumeId,
      sizeBytes: m.sizeBytes,
      qos: m.qos,
      hypervisorSnapshotReserve: m.hypervisorSnapshotReserve,
      provisionedBytes: provisionedBytes(m.sizeBytes, m.hypervisorSnapshotReserve),
      allocatedBytes: await this.store.allocated(path),
      backendRef: path,
    };
  }

  async meta(volumeId: string): Promise<Qcow2VolumeMeta> {
    validateStorageId('volumeId', volumeId);
    const m = await this.store.getVolume(volumeId);
    if (!m) throw notFound('volume', volumeId);
    return m;
  }

  async #totalBytes(): Promise<number> {
    if (this.config.capacityBytes !== undefined) return this.config.capacityBytes;
    const st = await statfs(this.config.root);
    return st.blocks * st.bsize;
  }

  async #admit(
    req: CreateVolumeRequest,
  ): Promise<Pick<Qcow2VolumeMeta, 'volumeId' | 'sizeBytes' | 'qos' | 'hypervisorSnapshotReserve'>> {
    validateStorageId('volumeId', req.volumeId);
    const sizeBytes = validateSize('sizeBytes', req.sizeBytes);
    const qos = validateOptionalQos(req.qos);
    const reserve = validateReserve(req.hypervisorSnapshotReserve);
    await this.store.init();
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
    admitIops(
      this.name,
      this.config.capacityIops,
      vols.reduce((s, v) => s + (v.qos?.minIops ?? 0), 0),
      qos?.minIops ?? 0,
    );
    return { volumeId: req.volumeId, sizeBytes, qos, hypervisorSnapshotReserve: reserve };
  }

  async #create(
    ctx: StorageContext,
    req: CreateVolumeRequest,
    source: Qcow2VolumeMeta['source'],
    fill: (tmp: string) => Promise<void>,
  ): Promise<CreateVolumeResult> {
    return this.mutate(ctx, async () => {
      const base = await this.#admit(req);
      const existing = await this.store.getVolume(req.volumeId);
      if (existing) {
        if (
          existing.sizeBytes !== base.sizeBytes ||
          JSON.stringify(existing.source) !== JSON.stringify(source)
        ) {
          throw new StrataError('STORAGE_ID_CONFLICT', {
            kind: 'volume',
            id: req.volumeId,
            reason: 'size or source differs',
          });
        }
        return { volume: await this.info(existing), created: false };
      }
      const path = this.store.image(req.volumeId);
      const tmp = `${path}.tmp`;
      await fill(tmp);
      const { virtualSize } = await this.img.info(ctx, tmp);
      if (virtualSize > base.sizeBytes)
        throw new StrataError('STORAGE_SHRINK_REFUSED', {
          id: req.volumeId,
          from: virtualSize,
          to: base.sizeBytes,
        });
      if (virtualSize < base.sizeBytes) await this.img.resize(ctx, tmp, base.sizeBytes);
      await rename(tmp, path);
      const meta: Qcow2VolumeMeta = { ...base, source, grants: [], createdAt: new Date().toISOString() };
      await this.store.putVolume(meta);
      return { volume: await this.info(meta), created: true };
    });
  }

  createVolume(ctx: StorageContext, req: CreateVolumeRequest): Promise<CreateVolumeResult> {
    return this.#create(ctx, req, { kind: 'empty' }, (tmp) =>
      this.img.create(ctx, tmp, req.sizeBytes).then(() => undefined),
    );
  }

  createVolumeFromSnapshot(
    ctx: StorageContext,
    req: CreateVolumeFromSnapshotRequest,
  ): Promise<CreateVolumeResult> {
    validateStorageId('snapshotId', req.snapshotId);
    return this.#create(ctx, req, { kind: 'snapshot', id: req.snapshotId }, async (tmp) => {
      const s = await this.store.getSnapshot(req.snapshotId);
      if (!s) throw notFound('snapshot', req.snapshotId);
      await this.img.convert(ctx, this.store.image(s.volumeId), 'qcow2', tmp, s.snapshotId);
    });
  }

  createVolumeFromTemplate(
    ctx: StorageContext,
    req: CreateVolumeFromTemplateRequest,
  ): Promise<CreateVolumeResult> {
    validateStorageId('template.id', req.template.id);
    validateHostPath('template.path', req.template.path);
    return this.#create(ctx, req, { kind: 'template', id: req.template.id }, async (tmp) => {
      await this.img.convert(ctx, req.template.path, req.template.format, tmp);
    });
  }

  deleteVolume(ctx: StorageContext, req: VolumeIdRequest): Promise<DeleteResult> {
    validateStorageId('volumeId', req.volumeId);
    return this.mutate(ctx, async () => {
      const m = await this.store.getVolume(req.volumeId);
      for (const s of await this.store.listSnapshots())
        if (s.volumeId === req.volumeId) await this.store.removeSnapshot(s.snapshotId);
      await this.store.removeVolume(req.volumeId);
      return { deleted: m !== null };
    });
  }

  resizeVolume(ctx: StorageContext, req: ResizeVolumeRequest): Promise<ResizeVolumeResult> {
    return this.mutate(ctx, async () => {
      const m = await this.meta(req.volumeId);
      const sizeBytes = validateSize('sizeBytes', req.sizeBytes);
      if (sizeBytes < m.sizeBytes)
        throw new StrataError('STORAGE_SHRINK_REFUSED', { id: m.volumeId, from: m.sizeBytes, to: sizeBytes });
      if (sizeBytes === m.sizeBytes) return { volume: await this.info(m), resized: false };
      await this.#admit({
        volumeId: m.volumeId,
        sizeBytes,
        qos: m.qos,
        hypervisorSnapshotReserve: m.hypervisorSnapshotReserve,
      });
      await this.img.resize(ctx, this.store.image(m.volumeId), sizeBytes);
      const next = { ...m, sizeBytes };
      await this.store.putVolume(next);
      return { volume: await this.info(next), resized: true };
    });
  }

  async getVolume(_ctx: StorageContext, req: VolumeIdRequest): Promise<VolumeInfo> {
    return this.info(await this.meta(req.volumeId));
  }

  async listVolumes(): Promise<readonly VolumeInfo[]> {
    await this.store.init();
    return Promise.all((await this.store.listVolumes()).map((m) => this.info(m)));
  }

  grantAccess(ctx: StorageContext, req: AccessRequest): Promise<AccessResult> {
    return this.mutate(ctx, async () => {
      const m = await this.meta(req.volumeId);
      if (m.grants.includes(req.host.id)) return { changed: false, enforced: false };
      await this.store.putVolume({ ...m, grants: [...m.grants, req.host.id] });
      return { changed: true, enforced: false };
    });
  }

  revokeAccess(ctx: StorageContext, req: AccessRequest): Promise<AccessResult> {
    validateStorageId('volumeId', req.volumeId);
    return this.mutate(ctx, async () => {
      const m = await this.store.getVolume(req.volumeId);
      if (!m || !m.grants.includes(req.host.id)) return { changed: false, enforced: false };
      await this.store.putVolume({ ...m, grants: m.grants.filter((h) => h !== req.host.id) });
      return { changed: true, enforced: false };
    });
  }

  /**
   * Every host sees the pool's directory: there is nothing to cut (enforced: false), only the
   * host's grant records go. A lost QEMU keeps its files open; QEMU's own image locks are what
   * refuse a second writer (docs/migration.md, "Fencing").
   */
  fenceHost(ctx: StorageContext, req: FenceHostRequest): Promise<FenceHostResult> {
    return this.mutate(ctx, async () => {
      const volumes: string[] = [];
      for (const m of await this.store.listVolumes()) {
        if (!m.grants.includes(req.host.id)) continue;
        await this.store.putVolume({ ...m, grants: m.grants.filter((h) => h !== req.host.id) });
        volumes.push(m.volumeId);
      }
      return { enforced: false, volumes: volumes.sort(), sessionsClosed: 0, clientsBlocklisted: [] };
    });
  }

  async connectionInfo(_ctx: StorageContext, req: AccessRequest): Promise<ConnectionInfo> {
    const m = await this.meta(req.volumeId);
    return {
      volumeId: m.volumeId,
      sizeBytes: m.sizeBytes,
      frontendQos: m.qos,
      connection: { adaptor: 'file', path: this.store.image(m.volumeId), format: 'qcow2' },
    };
  }

  readonly snapshots = new Qcow2Snapshots(this);

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

  async capacity(): Promise<CapacityResult> {
    await this.store.init();
    const vols = await this.store.listVolumes();
    let usedBytes = 0;
    for (const v of vols) usedBytes += await this.store.allocated(this.store.image(v.volumeId));
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
      const m = await this.meta(req.volumeId);
      const qos = validateOptionalQos(req.qos);
      const others = (await this.store.listVolumes()).filter((v) => v.volumeId !== m.volumeId);
      admitIops(
        this.name,
        this.config.capacityIops,
        others.reduce((s, v) => s + (v.qos?.minIops ?? 0), 0),
        qos?.minIops ?? 0,
      );
      const next = { ...m, qos };
      await this.store.putVolume(next);
      return { volume: await this.info(next), enforcedBy: 'frontend', frontendQos: qos };
    });
  }

  #hypervisorOnly(operation: string): Promise<never> {
    return Promise.reject(
      new StrataError('STORAGE_UNSUPPORTED', {
        driver: this.name,
        operation: `${operation} (qcow2 VM snapshots are taken by the hypervisor)`,
      }),
    );
  }
  takeVmSnapshot(_ctx: StorageContext, _req: VmSnapshotHookRequest): Promise<TakeVmSnapshotResult> {
    return this.#hypervisorOnly('takeVmSnapshot');
  }
  revertVmSnapshot(_ctx: StorageContext, _req: VmSnapshotHookRequest): Promise<RevertVmSnapshotResult> {
    return this.#hypervisorOnly('revertVmSnapshot');
  }
  deleteVmSnapshot(_ctx: StorageContext, _req: VmSnapshotHookRequest): Promise<DeleteVmSnapshotResult> {
    return this.#hypervisorOnly('deleteVmSnapshot');
  }
}
