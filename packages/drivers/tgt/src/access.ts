import {
  StrataError,
  validateStorageId,
  type AccessRequest,
  type AccessResult,
  type ConnectionInfo,
  type FenceHostRequest,
  type FenceHostResult,
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

  /**
   * Fencing: every grant of the host goes, each ACL on its initiator name that no other grant
   * needs is unbound, and only then are its open connections closed (closed first, the initiator
   * would log straight back in). A QEMU still running on the lost host then finds the target
   * refusing it ("Target not found") at its next login. Replayed, it finds nothing left.
   */
  fenceHost(ctx: StorageContext, req: FenceHostRequest): Promise<FenceHostResult> {
    return this.d.mutate(ctx, async () => {
      const metas = await this.d.store.listVolumes();
      const initiators = new Set<string>();
      if (req.host.iscsiInitiator) initiators.add(req.host.iscsiInitiator);
      const volumes: string[] = [];
      const kept = new Set<string>();
      for (const meta of metas) {
        const initiator = meta.grants[req.host.id];
        if (initiator === undefined) continue;
        initiators.add(initiator);
        volumes.push(meta.volumeId);
        const grants = Object.fromEntries(Object.entries(meta.grants).filter(([h]) => h !== req.host.id));
        await this.d.store.putVolume({ ...meta, grants });
      }
      for (const meta of await this.d.store.listVolumes())
        for (const i of Object.values(meta.grants)) kept.add(i);
      const ours = new Set(metas.map((m) => this.d.targets.iqn(m.volumeId)));
      let sessionsClosed = 0;
      for (const target of await this.d.targets.adm.targets(ctx)) {
        if (!ours.has(target.iqn)) continue;
        for (const i of initiators)
          if (target.acls.includes(i) && !kept.has(i))
            await this.d.targets.adm.unbindInitiator(ctx, target.tid, i);
        for (const nexus of target.nexuses) {
          if (!initiators.has(nexus.initiator)) continue;
          for (const cid of nexus.connections) {
            await this.d.targets.adm.deleteConnection(ctx, target.tid, nexus.sid, cid);
            sessionsClosed++;
          }
        }
      }
      return { enforced: true, volumes: volumes.sort(), sessionsClosed, clientsBlocklisted: [] };
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
