import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildTestGuest,
  ensureCeph,
  ensureLibvirt,
  ensureReflinkPool,
  ensureTgtd,
  type CephCluster,
  type TestGuestImages,
} from '@strata/testing';
import { releaseOrphanedTgtPools, tgtPoolDir } from './tgt-pool-dir.js';

/** The local storage and hypervisor the demo runs on: all real, all on this machine. */
export interface Backends {
  readonly qcow2Dir: string;
  /**
   * The snapshot store (memory states of VM snapshots): one directory every host of the
   * environment sees at the same path, as an NFS share would be mounted (STRATA_AGENT_SNAPSHOT_STORE).
   */
  readonly snapshotStore: string;
  readonly tgtDir: string;
  readonly tgtPortal: string;
  /** Null when Ceph could not start here; the reason is in cephSkipped. */
  readonly ceph: CephCluster | null;
  readonly cephSkipped: string | null;
  readonly guest: TestGuestImages;
}

/**
 * Brings up libvirtd + virtlogd, tgtd with an XFS reflink pool, a single-node Ceph, and builds
 * the tiny guest. Each step is idempotent: a second run finds them up and reuses them.
 */
export async function prepareBackends(
  root: string,
  log: (line: string) => void,
  cephPool?: string,
): Promise<Backends> {
  log('starting libvirtd and virtlogd');
  await ensureLibvirt();
  log('starting tgtd on an XFS reflink pool');
  const tgtd = await ensureTgtd();
  const reflink = await ensureReflinkPool({ name: 'demo' });
  // QEMU runs as its own user: it must be able to walk down to the pool's files. The root owns the
  // tgt pool directory below, so it exists first.
  await mkdir(root, { recursive: true });
  await chmod(root, 0o755);
  const tgtParent = join(reflink.mountPoint, 'strata-demo-tgt');
  await releaseOrphanedTgtPools(tgtParent);
  const tgtDir = await tgtPoolDir(tgtParent, root);
  const qcow2Dir = join(root, 'pools', 'qcow2');
  // Host-local state of VM snapshots (scripts/install.sh makes it too).
  await mkdir('/var/lib/strata/state', { recursive: true, mode: 0o755 });
  await mkdir(qcow2Dir, { recursive: true, mode: 0o755 });
  const snapshotStore = join(root, 'snapshot-store');
  await mkdir(snapshotStore, { recursive: true, mode: 0o755 });
  let ceph: CephCluster | null = null;
  let cephSkipped: string | null = null;
  if (process.env['STRATA_DEMO_CEPH'] === '0') {
    cephSkipped = 'STRATA_DEMO_CEPH=0';
  } else {
    log('starting a single-node Ceph');
    try {
      ceph = await ensureCeph(cephPool ? { pool: cephPool } : {});
    } catch (e) {
      cephSkipped = (e as Error).message.split('\n')[0] ?? 'Ceph did not start';
      log(`Ceph is not available (${cephSkipped}); the demo goes on with qcow2 and iSCSI`);
    }
  }
  log('building the tiny test guest (cached after the first run)');
  const guest = await buildTestGuest();
  return { qcow2Dir, snapshotStore, tgtDir, tgtPortal: tgtd.portal, ceph, cephSkipped, guest };
}
