import { StrataError, type StorageContext } from '@strata/core';
import { chapCredentials } from './config.js';
import type { VolumeMeta } from './store.js';
import { Tgtadm, type TargetState } from './tgtadm.js';

/** The LUN number of a volume in its own target (LUN 0 is tgtd's controller). */
export const VOLUME_LUN = 1;

/**
 * One target per volume, found by its IQN in tgtd's own listing (tids are never kept in memory or
 * on disk: after a tgtd restart the targets are re-made from the volume files and their grants).
 */
export class Targets {
  readonly adm: Tgtadm;

  constructor(
    private readonly iqnBase: string,
    private readonly chapKey: string | undefined,
    bin?: string,
    controlPort?: number,
  ) {
    this.adm = new Tgtadm(bin, controlPort);
  }

  iqn(volumeId: string): string {
    return `${this.iqnBase}.${volumeId}`;
  }

  async find(ctx: StorageContext, volumeId: string): Promise<TargetState | null> {
    const iqn = this.iqn(volumeId);
    return (await this.adm.targets(ctx)).find((t) => t.iqn === iqn) ?? null;
  }

  /** Whether tgtd's target holds all the volume's meta asks for: LUN, ACLs, CHAP account. */
  complete(meta: VolumeMeta, target: TargetState | null): boolean {
    if (!target?.luns.has(VOLUME_LUN)) return false;
    if (this.chapKey && !target.accounts.includes(chapCredentials(this.chapKey, meta.volumeId).username))
      return false;
    return Object.values(meta.grants).every((i) => target.acls.includes(i));
  }

  /** Makes the target, LUN, CHAP account and ACLs match the volume's meta; idempotent. */
  async ensure(ctx: StorageContext, meta: VolumeMeta, rawPath: string): Promise<TargetState> {
    let target = await this.find(ctx, meta.volumeId);
    if (!target) target = await this.#create(ctx, meta.volumeId);
    if (!target.luns.has(VOLUME_LUN)) await this.adm.newLun(ctx, target.tid, VOLUME_LUN, rawPath);
    if (this.chapKey) {
      const { username, password } = chapCredentials(this.chapKey, meta.volumeId);
      if (!(await this.adm.accounts(ctx)).includes(username))
        await this.adm.newAccount(ctx, username, password);
      if (!target.accounts.includes(username)) await this.adm.bindAccount(ctx, target.tid, username);
    }
    for (const initiator of new Set(Object.values(meta.grants))) {
      if (!target.acls.includes(initiator)) await this.adm.bindInitiator(ctx, target.tid, initiator);
    }
    return (await this.find(ctx, meta.volumeId)) ?? target;
  }

  async #create(ctx: StorageContext, volumeId: string): Promise<TargetState> {
    // Several drivers share one tgtd: take the next free tid and retry if another took it first.
    for (let attempt = 0; attempt < 8; attempt++) {
      const tids = (await this.adm.targets(ctx)).map((t) => t.tid);
      const tid = Math.max(0, ...tids) + 1 + attempt;
      try {
        await this.adm.newTarget(ctx, tid, this.iqn(volumeId));
        const made = await this.find(ctx, volumeId);
        if (made) return made;
      } catch (e) {
        const existing = await this.find(ctx, volumeId);
        if (existing) return existing;
        if (attempt === 7) throw e;
      }
    }
    throw new StrataError('STORAGE_BACKEND_FAILED', {
      backend: 'tgtd',
      operation: 'new target',
      reason: 'no free tid',
    });
  }

  /** Removes the target and its account. A host still logged in makes this STORAGE_IN_USE. */
  async remove(ctx: StorageContext, volumeId: string): Promise<void> {
    const target = await this.find(ctx, volumeId);
    if (target) {
      if (target.sessions.length > 0) {
        throw new StrataError('STORAGE_IN_USE', {
          kind: 'volume',
          id: volumeId,
          reason: `initiators logged in: ${target.sessions.join(', ')}`,
        });
      }
      await this.adm.deleteTarget(ctx, target.tid);
    }
    if (this.chapKey) {
      const { username } = chapCredentials(this.chapKey, volumeId);
      if ((await this.adm.accounts(ctx)).includes(username)) await this.adm.deleteAccount(ctx, username);
    }
  }

  /** Re-adds the LUN so tgtd reads the backing file's new size. */
  async reloadLun(ctx: StorageContext, volumeId: string, rawPath: string): Promise<void> {
    const target = await this.find(ctx, volumeId);
    if (!target) return;
    if (target.sessions.length > 0) {
      throw new StrataError('STORAGE_IN_USE', {
        kind: 'volume',
        id: volumeId,
        reason: 'tgtd cannot grow a LUN while an initiator is logged in',
      });
    }
    if (target.luns.has(VOLUME_LUN)) await this.adm.deleteLun(ctx, target.tid, VOLUME_LUN);
    await this.adm.newLun(ctx, target.tid, VOLUME_LUN, rawPath);
  }
}
