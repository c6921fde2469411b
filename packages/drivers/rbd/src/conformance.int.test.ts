import { randomBytes } from 'node:crypto';
import { ensureCeph, ensurePool, runDriverConformance } from '@strata/testing';
import { RbdDriver } from './driver.js';

// Real single-node Ceph 16; the suite opens every image with QEMU's librbd client as the host's
// own cephx user, so the data checks also prove the per-host caps. A pool of its own: other
// tests share the cluster's default pool, and the suite counts volumes.
const POOL = 'strata-rbd-conformance';

void runDriverConformance('rbd', async () => {
  const ceph = await ensureCeph();
  await ensurePool(ceph, POOL);
  return new RbdDriver(`cf-rbd-${randomBytes(3).toString('hex')}`, {
    pool: POOL,
    confPath: ceph.confPath,
    keyringPath: ceph.adminKeyringPath,
    monitors: ceph.monitors,
    capacityIops: 100_000,
  });
});
