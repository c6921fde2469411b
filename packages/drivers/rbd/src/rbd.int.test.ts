import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { MiB, type RbdConnection, type StorageContext } from '@strata/core';
import { ensureCeph, ensurePool, type CephCluster } from '@strata/testing';
import { RbdDriver } from './driver.js';
import { imageName, spec } from './names.js';
import { rbdHolds, rbdOpenError, rbdWrite } from './qemu-rbd.js';
import { readRbdQos } from './qos.js';

/** A pool of its own: other tests share the cluster's default pool. */
const POOL = 'strata-rbd-driver';
const ctx: StorageContext = { signal: new AbortController().signal };
const tag = randomBytes(3).toString('hex');
const size = 16 * MiB;
let ceph!: CephCluster;
let d!: RbdDriver;
let n = 0;
const made: string[] = [];
const id = (what: string): string => `rb-${tag}-${what}-${++n}`;
const hostA = { id: `host A "<&>" ${tag}` }; // host ids may hold any character
const hostB = { id: `host-b-${tag}` };

async function volume(): Promise<string> {
  const volumeId = id('v');
  made.push(volumeId);
  await d.createVolume(ctx, { volumeId, sizeBytes: size });
  return volumeId;
}

async function conn(volumeId: string, host = hostA): Promise<RbdConnection> {
  const c = (await d.connectionInfo(ctx, { volumeId, host })).connection;
  if (c.adaptor !== 'rbd') throw new Error(`expected an rbd connection, got ${c.adaptor}`);
  return c;
}

void describe('rbd driver on a real Ceph', () => {
  before(async () => {
    ceph = await ensureCeph();
    await ensurePool(ceph, POOL);
    d = new RbdDriver(`rb-${tag}`, {
      pool: POOL,
      confPath: ceph.confPath,
      keyringPath: ceph.adminKeyringPath,
      monitors: ceph.monitors,
    });
  });
  after(async () => {
    // Clones first: a parent with clones refuses deletion.
    for (const v of made.reverse()) await d.deleteVolume(ctx, { volumeId: v }).catch(() => undefined);
    await d.revokeAccess(ctx, { volumeId: 'none', host: hostA }).catch(() => undefined);
  });

  void test('a host opens exactly the volumes granted to it, with its own cephx user, and nothing after revoke', async () => {
    const x = await volume();
    const y = await volume();
    await d.grantAccess(ctx, { volumeId: x, host: hostA });
    const cx = await conn(x);
    assert.deepEqual(cx.monitors, ['127.0.0.1:3300']);
    assert.notEqual(cx.user, 'admin');
    assert.equal(await rbdOpenError(cx), null, 'granted volume opens');
    const cy = await conn(y);
    assert.match(
      (await rbdOpenError(cy)) ?? '',
      /not permitted|denied/i,
      'ungranted volume of the same pool is refused',
    );
    const bx = await conn(x, hostB);
    assert.notEqual(bx.user, cx.user, 'hosts never share a key');
    assert.match((await rbdOpenError(bx)) ?? '', /not permitted|denied/i, 'another host is refused');
    await d.revokeAccess(ctx, { volumeId: x, host: hostA });
    assert.notEqual(await rbdOpenError(cx), null, 'the revoked key opens nothing');
  });

  void test("VM-snapshot hooks cut all of a VM's volumes in one rbd group snapshot and revert them together", async () => {
    const a = await volume();
    const b = await volume();
    for (const v of [a, b]) await d.grantAccess(ctx, { volumeId: v, host: hostA });
    await rbdWrite(await conn(a), 0x31);
    await rbdWrite(await conn(b), 0x32);
    const req = {
      vmSnapshot: { id: id('vms'), vmId: `vm "${tag}"`, name: 'n', type: 'Disk' as const },
      volumeIds: [a, b],
      callerConsistency: 'crash' as const,
    };
    const taken = await d.takeVmSnapshot(ctx, req);
    assert.equal(taken.holdVm, false, 'rbd fixes the point in time itself');
    assert.equal(taken.timings.cutSpreadMs, 0, 'one cut for all volumes');
    const refs = new Set(taken.volumes.map((v) => v.snapshotRef));
    assert.equal(refs.size, 1, 'both parts are one group snapshot');
    // The backend shows one group snapshot whose parts sit on both images.
    for (const v of [a, b]) {
      const snaps = JSON.parse(
        await d.cli.rbd(ctx, ['snap', 'ls', '--all', '--format', 'json', spec(POOL, imageName(v))]),
      ) as Array<{ namespace?: { type: string } }>;
      assert.equal(snaps.filter((s) => s.namespace?.type === 'group').length, 1);
    }
    await rbdWrite(await conn(a), 0x41);
    await rbdWrite(await conn(b), 0x42);
    await d.revertVmSnapshot(ctx, req);
    assert.equal(await rbdHolds(await conn(a), 0x31), true);
    assert.equal(await rbdHolds(await conn(b), 0x32), true);
    await assert.rejects(d.deleteVolume(ctx, { volumeId: a }), { code: 'STORAGE_IN_USE' });
    assert.deepEqual((await d.deleteVmSnapshot(ctx, req)).deleted, [a, b]);
  });

  void test('clone (format 2) then flatten: the clone keeps its data and frees its source', async () => {
    const src = await volume();
    await d.grantAccess(ctx, { volumeId: src, host: hostA });
    await rbdWrite(await conn(src), 0x51);
    const s = id('s');
    await d.createSnapshot(ctx, { volumeId: src, snapshotId: s });
    const c = id('v');
    made.push(c);
    await d.createVolumeFromSnapshot(ctx, { volumeId: c, sizeBytes: size * 2, snapshotId: s });
    assert.equal(
      (await d.getVolume(ctx, { volumeId: c })).sizeBytes,
      size * 2,
      'a clone may be larger than its snapshot',
    );
    await assert.rejects(d.deleteVolume(ctx, { volumeId: src }), { code: 'STORAGE_IN_USE' });
    assert.deepEqual(await d.flattenVolume(ctx, { volumeId: c }), { flattened: true });
    assert.deepEqual(await d.flattenVolume(ctx, { volumeId: c }), { flattened: false });
    assert.equal(
      (await d.deleteVolume(ctx, { volumeId: src })).deleted,
      true,
      'the source goes once the clone is flat',
    );
    await d.grantAccess(ctx, { volumeId: c, host: hostA });
    assert.equal(await rbdHolds(await conn(c), 0x51), true);
  });

  void test('QoS is set in librbd and read back; clearing it restores no limit', async () => {
    const v = await volume();
    await d.setQos(ctx, {
      volumeId: v,
      qos: { minIops: 100, maxIops: 200, burstIops: 400, burstSeconds: 6 },
    });
    const got = await readRbdQos(ctx, d, imageName(v));
    assert.equal(got['rbd_qos_iops_limit'], '200');
    assert.equal(got['rbd_qos_iops_burst'], '400');
    assert.equal(got['rbd_qos_iops_burst_seconds'], '3', 'bucket of 400 × 3 drains in 6 s at 200 net');
    // A restarted driver reads the figures (min too) back from the cluster.
    const again = new RbdDriver('other', {
      pool: POOL,
      confPath: ceph.confPath,
      keyringPath: ceph.adminKeyringPath,
      monitors: ceph.monitors,
    });
    assert.deepEqual((await again.getVolume(ctx, { volumeId: v })).qos, {
      minIops: 100,
      maxIops: 200,
      burstIops: 400,
      burstSeconds: 6,
    });
    await d.setQos(ctx, { volumeId: v, qos: null });
    assert.equal((await readRbdQos(ctx, d, imageName(v)))['rbd_qos_iops_limit'], '0');
  });

  void test('a cancelled call answers STORAGE_CANCELLED and a replay finishes it', async () => {
    const ac = new AbortController();
    ac.abort();
    const volumeId = id('v');
    made.push(volumeId);
    await assert.rejects(d.createVolume({ signal: ac.signal }, { volumeId, sizeBytes: size }), {
      code: 'STORAGE_CANCELLED',
    });
    assert.equal((await d.createVolume(ctx, { volumeId, sizeBytes: size })).created, true);
  });
});
