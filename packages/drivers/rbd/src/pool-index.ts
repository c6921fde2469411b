import type { StorageContext } from '@strata/core';
import { EEXIST, errnoOf, unlessMissing } from './cli.js';
import { readMeta, removeMeta, setMeta, type Pool } from './meta.js';
import { INDEX_IMAGE, spec } from './names.js';

/**
 * Pool-wide facts that no single image can answer, kept in the cluster (the metadata of one small
 * index image) so a restarted driver recovers them: which volume holds a snapshot id, and which
 * hosts were granted which volumes.
 */
export class PoolIndex {
  #ready = false;

  constructor(private readonly p: Pool) {}

  async ensure(ctx: StorageContext): Promise<void> {
    if (this.#ready) return;
    try {
      // 4 KiB, not 0: `rbd du` aborts on a zero-sized image in Ceph 16.
      await this.p.cli.rbd(ctx, ['create', '--size', '4096B', spec(this.p.pool, INDEX_IMAGE)]);
    } catch (err) {
      if (errnoOf(err) !== EEXIST) throw err;
    }
    this.#ready = true;
  }

  async entries(ctx: StorageContext): Promise<Record<string, string>> {
    return unlessMissing(() => readMeta(ctx, this.p, INDEX_IMAGE), {});
  }

  async set(ctx: StorageContext, key: string, value: string): Promise<void> {
    await this.ensure(ctx);
    await setMeta(ctx, this.p, INDEX_IMAGE, key, value);
  }

  async remove(ctx: StorageContext, key: string): Promise<void> {
    await unlessMissing(() => removeMeta(ctx, this.p, INDEX_IMAGE, key), undefined);
  }

  async volumeOfSnapshot(ctx: StorageContext, snapshotId: string): Promise<string | null> {
    return (await this.entries(ctx))[snapshotKey(snapshotId)] ?? null;
  }
}

/** `vol.<volumeId>` → the figures admission sums (reserve, QoS), so it never opens every image. */
export function volumeKey(volumeId: string): string {
  return `vol.${volumeId}`;
}

export interface VolumeSummary {
  readonly reserve: number;
  readonly qos: import('@strata/core').Qos | null;
}

export function snapshotKey(snapshotId: string): string {
  return `snap.${snapshotId}`;
}

/**
 * `vmsnap.<vmSnapshotId>` → vm id: group and group-snapshot names are hashes, so this is how a
 * listing tells which VM snapshot a group snapshot belongs to.
 */
export function vmSnapshotKey(vmSnapshotId: string): string {
  return `vmsnap.${vmSnapshotId}`;
}

export function parseVmSnapshotKey(key: string): string | null {
  return /^vmsnap\.([a-z0-9][a-z0-9-]{0,63})$/.exec(key)?.[1] ?? null;
}

/** One grant: `grant.<volumeId>.<host hash>` → host id. */
export function grantIndexKey(volumeId: string, hostHash: string): string {
  return `grant.${volumeId}.${hostHash}`;
}

export function parseGrantKey(key: string): { volumeId: string; hostHash: string } | null {
  const m = /^grant\.([a-z0-9-]+)\.([0-9a-f]+)$/.exec(key);
  return m && m[1] !== undefined && m[2] !== undefined ? { volumeId: m[1], hostHash: m[2] } : null;
}
