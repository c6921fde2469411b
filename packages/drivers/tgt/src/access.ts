import {
  StrataError,
  validateStorageId,
  type AccessRequest,
  type AccessResult,
  type ConnectionInfo,
  type StorageContext,
} from '@strata/core';
import { chapCredentials } from './config.js';
import type { TgtDriver } from './driver.js';
import { VOLUME_LUN } from './targets.js';

/** Per-host access: an ACL on the host's initiator name (never ALL), and CHAP when configured. */
export class HostAccess {
  constructor(private readonly d: TgtDriver) {}

  initiator(req: AccessRequest): string {
    const iqn = req.host.iscsiInitiator;
    if (!iqn)
      throw new StrataError('STORAGE_ACCESS_REQUIRED', {
        host: req.host.id,
        what: 'an iSCSI initiator name',
        pool: this.d.name,
      });
    return iqn;
  }

  grantAccess(ctx: StorageContext, req: AccessRequest): Promise<AccessResult> {
    return this.d.mutate(ctx, async () => {
      const meta = await this.d.meta(req.volumeId);
      const initiator = this.initiator(req);
      const changed = meta.grants[req.host.id] !== initiator;
      const next = { ...meta, grants: { ...meta.grants, [req.host.id]: initiator } };
      await this.d.store.putVolume(next);
      await this.d.targets.ensure(ctx, next, this.d.store.volumeRaw(meta.volumeId));
      return { changed, enforced: true };
    });
  }

  revokeAccess(ctx: StorageContext, req: AccessRequest): Promise<AccessResult> {
    validateStorageId('volumeId', req.volumeId);
    return this.d.mutate(ctx, async () => {
      const meta = await this.d.store.getVolume(req.volumeId);
      const initiator = meta?.grants[req.host.id];
      if (!meta || !initiator) return { changed: false, enforced: true };
      const grants = Object.fromEntries(Object.entries(meta.grants).filter(([h]) => h !== req.host.id));
      await this.d.store.putVolume({ ...meta, grants });
      // Another host may share the initiator name (it should not): keep the ACL while one remains.
      const target = await this.d.targets.find(ctx, meta.volumeId);
      if (target?.acls.includes(initiator) && !Object.values(grants).includes(initiator)) {
        await this.d.targets.adm.unbindInitiator(ctx, target.tid, initiator);
      }
      return { changed: true, enforced: true };
    });
  }

  async connectionInfo(ctx: StorageContext, req: AccessRequest): Promise<ConnectionInfo> {
    await this.d.ready(ctx);
    const meta = await this.d.meta(req.volumeId);
    const initiator = this.initiator(req);
    const chap = this.d.config.chapKey ? chapCredentials(this.d.config.chapKey, meta.volumeId) : null;
    return {
      volumeId: meta.volumeId,
      sizeBytes: meta.sizeBytes,
      connection: {
        adaptor: 'iscsi',
        portal: this.d.config.portal,
        iqn: this.d.targets.iqn(meta.volumeId),
        lun: VOLUME_LUN,
        initiator,
        ...(chap
          ? {
              chap: {
                username: chap.username,
                secret: { usage: `strata-chap-${meta.volumeId}`, value: chap.password },
              },
            }
          : {}),
      },
      frontendQos: meta.qos,
    };
  }
}
