import { copyFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  StrataError,
  admitIops,
  notFound,
  provisionedBytes,
  throwIfAborted,
  validateOptionalQos,
  validateReserve,
  validateSize,
  validateStorageId,
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
  type DriverCapabilities,
  type GroupSnapshotRequest,
  type GroupSnapshotResult,
  type Qos,
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
import { run } from '../tgt/run.js';

interface Vol {
  sizeBytes: number;
  qos: Qos | null;
  reserve: number;
  source: string;
  grants: Set<string>;
}
interface Snap {
  volumeId: string;
  sizeBytes: number;
  createdAt: string;
}

export interface FakeCall {
  readonly method: string;
  readonly request: unknown;
}

export const fakeCapabilities: DriverCapabilities = {
  volumeSnapshot: true,
  groupSnapshot: { supported: true, atomic: true },
  revert: true,
  clone: { supported: true, constantTime: false },
  backendQos: { min: false, max: false, burst: false },
  iopsAdmission: true,
  thinProvisioning: true,
  resize: { supported: true, online: true },
  vmSnapshotHook: 'storage',
  access: { perHost: false, chap: false },
  adaptors: ['file'],
};

/**
 * A fake storage driver for unit tests of callers (volume service, VM-snapshot strategies): it
 * keeps its metadata in memory and each volume's bytes in a raw file under a temporary directory,
 * so QEMU can open what it hands out, and it passes the same conformance suite as the real drivers.
 * It records every call in `calls`, and `failNext(method, error)` makes the next call of that
 * method fail with the given error, before it does anything.
 */
export class FakeStorageDriver implements StorageDriver {
  readonly type = 'fake';
  readonly calls: FakeCall[] = [];
  readonly #vols = new Map<string, Vol>();
  readonly #snaps = new Map<string, Snap>();
  readonly #failures = new Map<string, StrataError>();
  #dir: string | null = null;

  constructor(
    readonly name: string,
    readonly options: {
      capacityIops?: number;
      capacityBytes?: number;
      capabilities?: Partial<DriverCapabilities>;
    } = {},
  ) {
    this.capabilities = { ...fakeCapabilities, ...options.capabilities };
  }
  readonly capabilities: DriverCapabilities;

  failNext(method: keyof StorageDriver, error: StrataError): void {
    this.#failures.set(method, error);
  }

  async close(): Promise<void> {
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }

  async #enter(ctx: StorageContext, method: string, request: unknown): Promise<string> {
    this.calls.push({ method, request });
    const failure = this.#failures.get(method);
    if (failure) {
      this.#failures.delete(method);
      throw failure;
    }
    throwIfAborted(ctx.signal, method);
    this.#dir ??= await mkdtemp(join(tmpdir(), 'strata-fake-'));
    return this.#dir;
  }

  #file(id: string): string {
    return join(this.#dir ?? '', `${id}.raw`);
  }
  #vol(id: string): Vol {
    validateStorageId('volumeId', id);
    const v = this.#vols.get(id);
    if (!v) throw notFound('volume', id);
    return v;
  }
  #info(id: string, v: Vol): VolumeInfo {
    return {
      volumeId: id,
      sizeBytes: v.sizeBytes,
      provisionedBytes: provisionedBytes(v.sizeBytes, v.reserve),
      allocatedBytes: 0,
      qos: v.qos,
      hypervisorSnapshotReserve: v.reserve,
      backendRef: this.#file(id),
    };
  }
  #snapInfo(id: string, s: Snap): SnapshotInfo {
    return {
      snapshotId: id,
      volumeId: s.volumeId,
      sizeBytes: s.sizeBytes,
      createdAt: s.createdAt,
      backendRef: this.#file(id),
    };
  }
  #usedIops(except?: string): number {
    return [...this.#vols].filter(([id]) => id !== except).reduce((s, [, v]) => s + (v.qos?.minIops ?? 0), 0);
  }

  async #create(
    ctx: StorageContext,
    method: string,
    req: CreateVolumeRequest,
    source: string,
    fill: (path: string) => Promise<void>,
  ): Promise<CreateVolumeResult> {
    await this.#enter(ctx, method, req);
    validateStorageId('volumeId', req.volumeId);
    const sizeBytes = validateSize('sizeBytes', req.sizeBytes);
    const qos = validateOptionalQos(req.qos);
    const reserve = validateReserve(req.hypervisorSnapshotReserve);
    const existing = this.#vols.get(req.volumeId);
    if (existing) {
      if (existing.sizeBytes !== sizeBytes || existing.source !== source) {
        throw new StrataError('STORAGE_ID_CONFLICT', {
          kind: 'volume',
          id: req.volumeId,
          reason: 'size or source differs',
        });
      }
      return { volume: this.#info(req.volumeId, existing), created: false };
    }
    admitIops(this.name, this.options.capacityIops ?? 0, this.#usedIops(), qos?.minIops ?? 0);
    const path = this.#file(req.volumeId);
    await fill(path);
    await truncate(path, sizeBytes);
    const v: Vol = { sizeBytes, qos, reserve, source, grants: new Set() };
    this.#vols.set(req.volumeId, v);
    return { volume: this.#info(req.volumeId, v), created: true };
  }

  createVolume(ctx: StorageContext, req: CreateVolumeRequest): Promise<CreateVolumeResult> {
    return this.#create(ctx, 'createVolume', req, 'empty', (p) => writeFile(p, ''));
  }
  createVolumeFromSnapshot(
    ctx: StorageContext,
    req: CreateVolumeFromSnapshotRequest,
  ): Promise<CreateVolumeResult> {
    return this.#create(ctx, 'createVolumeFromSnapshot', req, `snapshot:${req.snapshotId}`, async (p) => {
      if (!this.#snaps.has(req.snapshotId)) throw notFound('snapshot', req.snapshotId);
      await copyFile(this.#file(req.snapshotId), p);
    });
  }
  createVolumeFromTemplate(
    ctx: StorageContext,
    req: CreateVolumeFromTemplateRequest,
  ): Promise<CreateVolumeResult> {
    return this.#create(ctx, 'createVolumeFromTemplate', req, `template:${req.template.id}`, async (p) => {
      await run('qemu-img', ['convert', '-f', req.template.format, '-O', 'raw', req.template.path, p]);
    });
  }

  async deleteVolume(ctx: StorageContext, req: VolumeIdRequest): Promise<DeleteResult> {
    await this.#enter(ctx, 'deleteVolume', req);
    validateStorageId('volumeId', req.volumeId);
    const had = this.#vols.delete(req.volumeId);
    for (const [id, s] of this.#snaps) if (s.volumeId === req.volumeId) this.#snaps.delete(id);
    await rm(this.#file(req.volumeId), { force: true });
    return { deleted: had };
  }

  async resizeVolume(ctx: StorageContext, req: ResizeVolumeRequest): Promise<ResizeVolumeResult> {
    await this.#enter(ctx, 'resizeVolume', req);
    const v = this.#vol(req.volumeId);
    const sizeBytes = validateSize('sizeBytes', req.sizeBytes);
    if (sizeBytes < v.sizeBytes)
      throw new StrataError('STORAGE_SHRINK_REFUSED', { id: req.volumeId, from: v.sizeBytes, to: sizeBytes });
    const resized = sizeBytes > v.sizeBytes;
    if (resized) await truncate(this.#file(req.volumeId), sizeBytes);
    v.sizeBytes = sizeBytes;
    return { volume: this.#info(req.volumeId, v), resized };
  }

  async getVolume(ctx: StorageContext, req: VolumeIdRequest): Promise<VolumeInfo> {
    await this.#enter(ctx, 'getVolume', req);
    return this.#info(req.volumeId, this.#vol(req.volumeId));
  }
  async listVolumes(ctx: StorageContext): Promise<readonly VolumeInfo[]> {
    await this.#enter(ctx, 'listVolumes', {});
    return [...this.#vols].map(([id, v]) => this.#info(id, v));
  }

  async grantAccess(ctx: StorageContext, req: AccessRequest): Promise<AccessResult> {
    await this.#enter(ctx, 'grantAccess', req);
    const v = this.#vol(req.volumeId);
    const changed = !v.grants.has(req.host.id);
    v.grants.add(req.host.id);
    return { changed, enforced: false };
  }
  async revokeAccess(ctx: StorageContext, req: AccessRequest): Promise<AccessResult> {
    await this.#enter(ctx, 'revokeAccess', req);
    return { changed: this.#vols.get(req.volumeId)?.grants.delete(req.host.id) ?? false, enforced: false };
  }
  /** Drops the host's grants and reports them; enforces nothing (every host sees a fake pool). */
  async fenceHost(ctx: StorageContext, req: FenceHostRequest): Promise<FenceHostResult> {
    await this.#enter(ctx, 'fenceHost', req);
    const volumes = [...this.#vols].filter(([, v]) => v.grants.delete(req.host.id)).map(([id]) => id);
    return { enforced: false, volumes: volumes.sort(), sessionsClosed: 0, clientsBlocklisted: [] };
  }
  async connectionInfo(ctx: StorageContext, req: AccessRequest): Promise<ConnectionInfo> {
    await this.#enter(ctx, 'connectionInfo', req);
    const v = this.#vol(req.volumeId);
    return {
      volumeId: req.volumeId,
      sizeBytes: v.sizeBytes,
      frontendQos: v.qos,
      connection: { adaptor: 'file', path: this.#file(req.volumeId), format: 'raw' },
    };
  }

  async #snap(volumeId: string, snapshotId: string): Promise<{ s: Snap; created: boolean }> {
    const v = this.#vol(volumeId);
    const old = this.#snaps.get(snapshotId);
    if (old) {
      if (old.volumeId !== volumeId)
        throw new StrataError('STORAGE_ID_CONFLICT', {
          kind: 'snapshot',
          id: snapshotId,
          reason: `belongs to volume ${old.volumeId}`,
        });
      return { s: old, created: false };
    }
    await copyFile(this.#file(volumeId), this.#file(snapshotId));
    const s = { volumeId, sizeBytes: v.sizeBytes, createdAt: new Date().toISOString() };
    this.#snaps.set(snapshotId, s);
    return { s, created: true };
  }
  async #revert(volumeId: string, snapshotId: string): Promise<void> {
    const v = this.#vol(volumeId);
    const s = this.#snaps.get(snapshotId);
    if (!s || s.volumeId !== volumeId) throw notFound('snapshot', snapshotId);
    await copyFile(this.#file(snapshotId), this.#file(volumeId));
    await truncate(this.#file(volumeId), v.sizeBytes);
  }

  async createSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<CreateSnapshotResult> {
    await this.#enter(ctx, 'createSnapshot', req);
    validateStorageId('snapshotId', req.snapshotId);
    const { s, created } = await this.#snap(req.volumeId, req.snapshotId);
    return { snapshot: this.#snapInfo(req.snapshotId, s), created, elapsedMs: 0 };
  }
  async deleteSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<DeleteResult> {
    await this.#enter(ctx, 'deleteSnapshot', req);
    validateStorageId('snapshotId', req.snapshotId);
    const had = this.#snaps.delete(req.snapshotId);
    await rm(this.#file(req.snapshotId), { force: true });
    return { deleted: had };
  }
  async revertSnapshot(ctx: StorageContext, req: SnapshotRequest): Promise<RevertSnapshotResult> {
    await this.#enter(ctx, 'revertSnapshot', req);
    await this.#revert(req.volumeId, req.snapshotId);
    return { volume: this.#info(req.volumeId, this.#vol(req.volumeId)), elapsedMs: 0 };
  }
  async listSnapshots(ctx: StorageContext, req: VolumeIdRequest): Promise<readonly SnapshotInfo[]> {
    await this.#enter(ctx, 'listSnapshots', req);
    this.#vol(req.volumeId);
    return [...this.#snaps]
      .filter(([, s]) => s.volumeId === req.volumeId)
      .map(([id, s]) => this.#snapInfo(id, s));
  }
  async snapshotUsage(ctx: StorageContext, req: SnapshotRequest): Promise<SnapshotUsage> {
    await this.#enter(ctx, 'snapshotUsage', req);
    validateStorageId('snapshotId', req.snapshotId);
    const s = this.#snaps.get(req.snapshotId);
    if (!s || s.volumeId !== req.volumeId) throw notFound('snapshot', req.snapshotId);
    // the copy is not sparse (copyFile): count the 4 KiB blocks that hold data
    const bytes = await readFile(this.#file(req.snapshotId));
    let used = 0;
    for (let o = 0; o < bytes.length; o += 4096)
      if (bytes.subarray(o, o + 4096).some((b) => b !== 0)) used += Math.min(4096, bytes.length - o);
    return {
      snapshotId: req.snapshotId,
      usedBytes: used,
      note: 'bytes in the 4 KiB blocks of the snapshot copy that hold data',
    };
  }
  async groupSnapshot(ctx: StorageContext, req: GroupSnapshotRequest): Promise<GroupSnapshotResult> {
    await this.#enter(ctx, 'groupSnapshot', req);
    for (const m of req.members) this.#vol(m.volumeId);
    const snaps: SnapshotInfo[] = [];
    for (const m of req.members)
      snaps.push(this.#snapInfo(m.snapshotId, (await this.#snap(m.volumeId, m.snapshotId)).s));
    return { groupId: req.groupId, snapshots: snaps, atomic: true, cutSpreadMs: 0, elapsedMs: 0 };
  }

  async capacity(ctx: StorageContext): Promise<CapacityResult> {
    await this.#enter(ctx, 'capacity', {});
    const vols = [...this.#vols.values()];
    return {
      totalBytes: this.options.capacityBytes ?? 2 ** 40,
      usedBytes: 0,
      provisionedBytes: vols.reduce((s, v) => s + provisionedBytes(v.sizeBytes, v.reserve), 0),
      totalIops: this.options.capacityIops ?? 0,
      usedIops: this.#usedIops(),
      volumeCount: vols.length,
    };
  }
  async setQos(ctx: StorageContext, req: SetQosRequest): Promise<SetQosResult> {
    await this.#enter(ctx, 'setQos', req);
    const v = this.#vol(req.volumeId);
    const qos = validateOptionalQos(req.qos);
    admitIops(this.name, this.options.capacityIops ?? 0, this.#usedIops(req.volumeId), qos?.minIops ?? 0);
    v.qos = qos;
    return { volume: this.#info(req.volumeId, v), enforcedBy: 'frontend', frontendQos: qos };
  }

  #part(req: VmSnapshotHookRequest, volumeId: string): string {
    return `vm-${req.vmSnapshot.id}--${volumeId}`;
  }
  async takeVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<TakeVmSnapshotResult> {
    await this.#enter(ctx, 'takeVmSnapshot', req);
    for (const v of req.volumeIds) this.#vol(v);
    const volumes = [];
    for (const v of req.volumeIds)
      volumes.push({
        volumeId: v,
        snapshotRef: (await this.#snap(v, this.#part(req, v)), this.#part(req, v)),
      });
    const timings = { startedAt: new Date().toISOString(), cutSpreadMs: 0, totalMs: 0 };
    return { volumes, consistency: req.callerConsistency, holdVm: false, timings };
  }
  async revertVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<RevertVmSnapshotResult> {
    await this.#enter(ctx, 'revertVmSnapshot', req);
    for (const v of req.volumeIds)
      if (!this.#snaps.has(this.#part(req, v))) throw notFound('vm snapshot', req.vmSnapshot.id);
    for (const v of req.volumeIds) await this.#revert(v, this.#part(req, v));
    const volumes = req.volumeIds.map((v) => ({ volumeId: v, snapshotRef: this.#part(req, v) }));
    return { volumes, timings: { startedAt: new Date().toISOString(), cutSpreadMs: 0, totalMs: 0 } };
  }
  async deleteVmSnapshot(ctx: StorageContext, req: VmSnapshotHookRequest): Promise<DeleteVmSnapshotResult> {
    await this.#enter(ctx, 'deleteVmSnapshot', req);
    const deleted = [];
    for (const v of req.volumeIds) {
      if (this.#snaps.delete(this.#part(req, v))) deleted.push(v);
      await rm(this.#file(this.#part(req, v)), { force: true });
    }
    return { deleted, timings: { startedAt: new Date().toISOString(), cutSpreadMs: 0, totalMs: 0 } };
  }
}
