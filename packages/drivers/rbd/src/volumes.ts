import { provisionedBytes, type StorageContext, type VolumeInfo } from '@strata/core';
import { ENOENT, errnoOf, unlessMissing } from './cli.js';
import { META_CREATE, META_QOS, parseCreation, parseQos, readMeta, type Pool } from './meta.js';
import { volumeKey, type PoolIndex, type VolumeSummary } from './pool-index.js';
import { imageName, spec, volumeIdOf } from './names.js';

/** `rbd info --format json`, the fields the driver reads. */
export interface RbdImageInfo {
  readonly name: string;
  readonly id: string;
  readonly size: number;
  readonly snapshot_count: number;
  readonly parent?: {
    readonly pool: string;
    readonly image: string;
    readonly id?: string;
    readonly snapshot: string;
  };
  /** `pool/group` when the image belongs to an rbd group. */
  readonly group?: string;
}

export interface RbdSnap {
  readonly id: number;
  readonly name: string;
  readonly size: number;
  /** A string in Ceph 16's JSON ("true"/"false"). */
  readonly protected: string;
  readonly timestamp: string;
  readonly namespace?: { readonly type: string; readonly group?: string; readonly 'group snap'?: string };
}

export function imageInfo(ctx: StorageContext, p: Pool, image: string): Promise<RbdImageInfo | null> {
  return unlessMissing(() => p.cli.rbdJson<RbdImageInfo>(ctx, ['info', spec(p.pool, image)]), null);
}

export async function listSnaps(ctx: StorageContext, p: Pool, image: string): Promise<RbdSnap[]> {
  return (await p.cli.rbdJson<RbdSnap[] | null>(ctx, ['snap', 'ls', '--all', spec(p.pool, image)])) ?? [];
}

interface DuReport {
  readonly images: ReadonlyArray<{
    readonly name: string;
    readonly snapshot?: string;
    readonly used_size: number;
  }>;
}

/** Bytes the cluster holds for each image head (fast-diff), by image name. */
export async function usedBytes(ctx: StorageContext, p: Pool, image?: string): Promise<Map<string, number>> {
  const target = image === undefined ? ['--pool', p.pool] : [spec(p.pool, image)];
  // du is a report, not a decision: a failure (Ceph 16 aborts on zero-sized images) reads as 0.
  const du = await p.cli.rbdJson<DuReport>(ctx, ['du', ...target]).catch((): DuReport => ({ images: [] }));
  const out = new Map<string, number>();
  for (const row of du.images) if (row.snapshot === undefined) out.set(row.name, row.used_size);
  return out;
}

export function toVolumeInfo(
  p: Pool,
  volumeId: string,
  size: number,
  meta: Record<string, string>,
  allocated: number,
): VolumeInfo {
  const reserve = parseCreation(meta)?.reserve ?? 0;
  return {
    volumeId,
    sizeBytes: size,
    provisionedBytes: provisionedBytes(size, reserve),
    allocatedBytes: allocated,
    qos: parseQos(meta),
    hypervisorSnapshotReserve: reserve,
    backendRef: spec(p.pool, imageName(volumeId)),
  };
}

export interface LoadedVolume {
  readonly info: RbdImageInfo;
  readonly meta: Record<string, string>;
  readonly volume: VolumeInfo;
}

export async function loadVolume(
  ctx: StorageContext,
  p: Pool,
  volumeId: string,
): Promise<LoadedVolume | null> {
  const image = imageName(volumeId);
  const info = await imageInfo(ctx, p, image);
  if (!info) return null;
  const meta = await unlessMissing(() => readMeta(ctx, p, image), {});
  const used = (await usedBytes(ctx, p, image)).get(image) ?? 0;
  return { info, meta, volume: toVolumeInfo(p, volumeId, info.size, meta, used) };
}

interface LsEntry {
  readonly image: string;
  readonly size: number;
  readonly snapshot?: string;
}

/**
 * `rbd ls -l` opens each image and fails whole when one is deleted meanwhile (other clients work
 * in the pool too): retry, then fall back to names and one `rbd info` each.
 */
async function listLong(ctx: StorageContext, p: Pool): Promise<LsEntry[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return (await p.cli.rbdJson<LsEntry[] | null>(ctx, ['ls', '-l', p.pool])) ?? [];
    } catch (err) {
      if (errnoOf(err) !== ENOENT) throw err;
    }
  }
  const names = (await p.cli.rbdJson<string[] | null>(ctx, ['ls', p.pool])) ?? [];
  const out: LsEntry[] = [];
  for (const image of names.filter((n) => volumeIdOf(n) !== null)) {
    const info = await imageInfo(ctx, p, image);
    if (info) out.push({ image, size: info.size });
  }
  return out;
}

/**
 * Every volume of the pool in three calls whatever their number: `rbd ls -l` (which images exist,
 * their sizes), the index (reserve and QoS of each), and optionally `rbd du`. A volume missing
 * from the index (a create cut short) is read from its own metadata.
 */
export async function listAllVolumes(
  ctx: StorageContext,
  p: Pool,
  index: PoolIndex,
  withUsage = true,
): Promise<VolumeInfo[]> {
  const ls = await listLong(ctx, p);
  const heads = ls.filter((e) => e.snapshot === undefined && volumeIdOf(e.image) !== null);
  const entries = await index.entries(ctx);
  // `rbd du` opens every image: only worth it when the caller reads allocatedBytes.
  const used = withUsage ? await usedBytes(ctx, p) : new Map<string, number>();
  const out: VolumeInfo[] = [];
  for (const e of heads) {
    const volumeId = volumeIdOf(e.image)!;
    const raw = entries[volumeKey(volumeId)];
    let meta: Record<string, string> | null;
    if (raw !== undefined) {
      const s = JSON.parse(raw) as VolumeSummary;
      meta = {
        [META_CREATE]: JSON.stringify({ reserve: s.reserve }),
        ...(s.qos ? { [META_QOS]: JSON.stringify(s.qos) } : {}),
      };
    } else {
      meta = await unlessMissing(() => readMeta(ctx, p, e.image), null);
    }
    if (meta !== null) out.push(toVolumeInfo(p, volumeId, e.size, meta, used.get(e.image) ?? 0));
  }
  return out;
}
