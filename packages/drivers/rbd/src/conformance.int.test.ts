import { randomBytes } from 'node:crypto';
import { ensureCeph, runDriverConformance } from '@strata/testing';
import { RbdDriver } from './driver.js';

// Real single-node Ceph 16; the suite opens every image with QEMU's librbd client as the host's
// own cephx user, so the data checks also prove the per-host caps.
void runDriverConformance('rbd', async () => {
  const ceph = await ensureCeph();
  return new RbdDriver(`cf-rbd-${randomBytes(3).toString('hex')}`, {
    pool: ceph.pool,
    confPath: ceph.confPath,
    keyringPath: ceph.adminKeyringPath,
    monitors: ceph.monitors,
    capacityIops: 100_000,
  });
});
