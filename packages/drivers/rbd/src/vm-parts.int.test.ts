import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { MiB, type StorageContext } from '@strata/core';
import { ensureCeph, ensurePool, type CephCluster } from '@strata/testing';
import { RbdDriver } from './driver.js';
import { imageName, spec } from './names.js';

/** A pool of its own: the listing covers the whole pool, other tests' groups must not show. */
const POOL = 'strata-rbd-parts';
const ctx: StorageContext = { signal: new AbortController().signal };
const tag = randomBytes(3).toString('hex');
let ceph!: CephCluster;
let d!: RbdDriver;
const made: string[] = [];

const driver = (name: string) =>
  new RbdDriver(name, {
    pool: POOL,
    confPath: ceph.confPath,
    keyringPath: ceph.adminKeyringPath,
    monitors: ceph.monitors,
  });

void describe('rbd driver: listVmSnapshotParts on a real Ceph', () => {
  before(async () => {
    ceph = await ensureCeph();
    await ensurePool(ceph, POOL);
    d = driver(`rp-${tag}`);
  });
  after(async () => {
    for (const v of made) await d.deleteVolume(ctx, { volumeId: v }).catch(() => undefined);
  });

  void test('lists the group snapshot takeVmSnapshot made, by its VM snapshot, until deleteVmSnapshot', async () => {
    const [a, b] = [`rp-${tag}-a`, `rp-${tag}-b`];
    for (const v of [a, b]) {
      made.push(v);
      await d.createVolume(ctx, { volumeId: v, sizeBytes: 16 * MiB });
    }
    const req = {
      vmSnapshot: { id: `rp-${tag}-vms`, vmId: `vm "${tag}"`, name: 'n', type: 'Disk' as const },
      volumeIds: [a, b],
      callerConsistency: 'crash' as const,
    };
    const ref = (await d.takeVmSnapshot(ctx, req)).volumes[0]!.snapshotRef;
    const ours = async (x: RbdDriver) => (await x.listVmSnapshotParts(ctx)).filter((p) => p.ref === ref);
    const want = { ref, vmId: req.vmSnapshot.vmId, vmSnapshotId: req.vmSnapshot.id };
    const [part] = await ours(d);
    assert.deepEqual(
      { ...part, volumeIds: [...(part?.volumeIds ?? [])].sort() },
      { ...want, volumeIds: [a, b] },
    );
    // Recoverable from the cluster: a new driver instance names it the same way.
    assert.deepEqual((await ours(driver('other'))).length, 1);

    // A group snapshot nobody recorded (made by hand) is listed without ids; a group outside
    // Strata's naming is not listed at all.
    const group = ref.split('@')[0]!;
    const handmade = `${group}@vms-${'0'.repeat(20)}`;
    await d.cli.rbd(ctx, ['group', 'snap', 'create', handmade]);
    const foreign = spec(POOL, `not-strata-${tag}`);
    await d.cli.rbd(ctx, ['group', 'create', foreign]);
    await d.cli.rbd(ctx, ['group', 'snap', 'create', `${foreign}@vms-${'1'.repeat(20)}`]);
    try {
      const all = await d.listVmSnapshotParts(ctx);
      const loose = all.find((p) => p.ref === handmade);
      assert.deepEqual(loose && { vmId: loose.vmId, vmSnapshotId: loose.vmSnapshotId }, {
        vmId: null,
        vmSnapshotId: null,
      });
      assert.ok(!all.some((p) => p.ref.startsWith(`${foreign}@`)), 'a foreign group is not listed');
    } finally {
      await d.cli.rbd(ctx, ['group', 'snap', 'rm', handmade]);
      await d.cli.rbd(ctx, ['group', 'rm', foreign]);
    }

    assert.deepEqual((await d.deleteVmSnapshot(ctx, req)).deleted, [a, b]);
    assert.deepEqual(await ours(d), [], 'gone once deleted');
    const index = await d.index.entries(ctx);
    assert.ok(!Object.keys(index).some((k) => k.includes(req.vmSnapshot.id)), 'its record goes with it');
    // Deleted, its volumes may go: no group snapshot holds them.
    for (const v of [a, b]) assert.equal((await d.deleteVolume(ctx, { volumeId: v })).deleted, true);
    assert.ok(!(await d.cli.rbd(ctx, ['ls', POOL])).includes(imageName(a)));
  });
});
