import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isStrataError } from '@strata/core';
import { openDatabase, type Database } from '../db/index.js';
import { TEST_DATABASES } from '../db/test-databases.js';
import { SYSTEM_ACTOR, type Actor } from './actor.js';
import { createServices, type Services } from './index.js';
import { tempSecretBox } from '../secrets/testing/temp-box.js';

const GiB = 1024 ** 3;

for (const database of TEST_DATABASES) {
  void describe(`services on ${database.name}`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let s: Services;
    let user: Actor;
    let poolId: string;

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      db = await openDatabase(opened.url);
      s = createServices(db, null, { secrets: await tempSecretBox() });
      const account = await s.accounts.create(SYSTEM_ACTOR, { name: 'tenant' });
      user = { accountId: account.id, userId: null, role: 'user', via: 'system' };
      const zone = await s.zones.create(SYSTEM_ACTOR, { name: 'z' });
      const pool = await s.pools.create(SYSTEM_ACTOR, {
        name: 'p',
        zoneId: zone.id,
        provider: 'qcow2',
        scope: 'zone',
        managed: false,
        capacityBytes: 1000 * GiB,
        capacityIops: 1000,
        url: 'file:///srv/p',
      });
      poolId = pool.id;
    });

    after(async () => {
      await db?.close();
      await drop?.();
    });

    void test('admission holds under concurrent creates: exactly the IOPS that fit are admitted', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          s.volumes.create(user, {
            name: `c${i}`,
            poolId,
            sizeBytes: GiB,
            qos: { minIops: 200, maxIops: 400 },
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      const refused = results.filter(
        (r) => r.status === 'rejected' && isStrataError(r.reason, 'STORAGE_IOPS_EXHAUSTED'),
      ).length;
      assert.equal(ok, 5, '5 x 200 IOPS fit a 1000-IOPS pool');
      assert.equal(refused, 5);
      const pool = await s.pools.getFull(SYSTEM_ACTOR, poolId);
      assert.equal(pool.usedMinIops, 1000);
      // raising one volume's minimum past capacity is refused too; lowering it frees room
      const first =
        (await s.volumes.list(user, { name: 'c0' })).items[0] ??
        (await s.volumes.list(user, { limit: 1 })).items[0];
      assert.ok(first);
      await assert.rejects(s.volumes.setQos(user, first.id, { minIops: 300, maxIops: 400 }), (e) =>
        isStrataError(e, 'STORAGE_IOPS_EXHAUSTED'),
      );
      const lowered = await s.volumes.setQos(user, first.id, { minIops: 100, maxIops: 400 });
      assert.equal(lowered.qos?.minIops, 100);
      assert.equal((await s.pools.getFull(SYSTEM_ACTOR, poolId)).usedMinIops, 900);
    });

    void test('an illegal transition throws ILLEGAL_TRANSITION and leaves the row and events untouched', async () => {
      const vol = await s.volumes.create(user, { name: 'lifecycle', poolId, sizeBytes: GiB });
      const before = (await s.events.list(user, { resourceId: vol.id })).items.length;
      await assert.rejects(s.volumes.apply(user, vol.id, 'Created'), (e) =>
        isStrataError(e, 'ILLEGAL_TRANSITION'),
      );
      assert.equal((await s.volumes.get(user, vol.id)).state, 'Allocated');
      assert.equal((await s.events.list(user, { resourceId: vol.id })).items.length, before);
      await s.volumes.apply(user, vol.id, 'Create');
      const ready = await s.volumes.apply(user, vol.id, 'Created', { backendRef: 'file:///x' });
      assert.equal(ready.state, 'Ready');
      assert.equal(ready.backendRef, 'file:///x');
      const types = (await s.events.list(user, { resourceId: vol.id })).items.map((e) => e.type);
      assert.deepEqual(types, ['volume.Allocated', 'volume.Create', 'volume.Created']);
      // pool removal is refused while the volume lives
      await assert.rejects(
        s.pools.remove(SYSTEM_ACTOR, poolId),
        (e) => isStrataError(e, 'POOL_IN_USE') && String(e.params['volumes']).includes(vol.id),
      );
      // the pool's usage counters (kept by a trigger) follow the volume's life
      const before2 = await s.pools.getFull(SYSTEM_ACTOR, poolId);
      await s.volumes.apply(user, vol.id, 'Destroy');
      await s.volumes.apply(user, vol.id, 'Destroyed');
      const after2 = await s.pools.getFull(SYSTEM_ACTOR, poolId);
      assert.equal(after2.volumeCount, before2.volumeCount - 1);
      assert.equal(after2.usedBytes, before2.usedBytes - GiB);
      const counted = await db.query<{ n: number | string }>(
        `SELECT count(*) AS n FROM volumes WHERE pool_id = $1 AND state <> 'Destroyed'`,
        [poolId],
      );
      assert.equal(after2.volumeCount, Number(counted[0]?.n));
    });

    void test('VM snapshots form a tree; success and revert move the current pointer; removal moves it to the parent', async () => {
      const vm = await s.vms.create(user, { name: 'tree-vm' });
      const take = async (name: string) => {
        const snap = await s.vmSnapshots.create(user, { vmId: vm.id, name });
        await s.vmSnapshots.apply(user, snap.id, 'CreateRequested');
        return s.vmSnapshots.apply(user, snap.id, 'OperationSucceeded', {
          result: { strategy: 'test', consistency: 'crash', freezeMs: 12.5 },
        });
      };
      const s1 = await take('s1');
      assert.equal(s1.current, true);
      assert.equal(s1.freezeMs, 12.5);
      const s2 = await take('s2');
      assert.equal(s2.parentId, s1.id);
      await assert.rejects(s.vmSnapshots.create(user, { vmId: vm.id, name: 's2' }), (e) =>
        isStrataError(e, 'VM_SNAPSHOT_NAME_TAKEN'),
      );
      await assert.rejects(
        s.vmSnapshots.create(user, { vmId: vm.id, name: 'mem', snapshotMemory: true }),
        (e) => isStrataError(e, 'MEMORY_SNAPSHOT_NEEDS_RUNNING_VM'),
      );
      // revert to s1, then a new snapshot branches from s1
      await s.vmSnapshots.apply(user, s1.id, 'RevertRequested');
      await s.vmSnapshots.apply(user, s1.id, 'OperationSucceeded');
      assert.equal((await s.vms.get(user, vm.id)).currentVmSnapshotId, s1.id);
      const s3 = await take('s3');
      assert.equal(s3.parentId, s1.id);
      let tree = await s.vmSnapshots.tree(user, vm.id);
      assert.equal(tree.currentId, s3.id);
      assert.deepEqual(
        tree.roots.map((n) => n.name),
        ['s1'],
      );
      assert.deepEqual(
        tree.roots[0]?.children.map((n) => n.name),
        ['s2', 's3'],
      );
      // delete s3 (current): the pointer goes back to s1
      await s.vmSnapshots.apply(user, s3.id, 'ExpungeRequested');
      await s.vmSnapshots.apply(user, s3.id, 'OperationSucceeded');
      tree = await s.vmSnapshots.tree(user, vm.id);
      assert.equal(tree.currentId, s1.id);
      assert.deepEqual(
        tree.roots[0]?.children.map((n) => n.name),
        ['s2'],
      );
      // a snapshot still Allocated cannot be reverted
      const pending = await s.vmSnapshots.create(user, { vmId: vm.id, name: 'pending' });
      await assert.rejects(s.vmSnapshots.apply(user, pending.id, 'RevertRequested'), (e) =>
        isStrataError(e, 'ILLEGAL_TRANSITION'),
      );
      await assert.rejects(s.vmSnapshots.create(user, { vmId: vm.id, name: 'second-in-flight' }), (e) =>
        isStrataError(e, 'CONFLICT'),
      );
    });

    void test("a user cannot see or touch another account's records; admin-only calls are forbidden", async () => {
      const other = await s.accounts.create(SYSTEM_ACTOR, { name: 'other' });
      const stranger: Actor = { accountId: other.id, userId: null, role: 'user', via: 'system' };
      const vm = await s.vms.create(user, { name: 'private' });
      await assert.rejects(s.vms.get(stranger, vm.id), (e) => isStrataError(e, 'NOT_FOUND'));
      await assert.rejects(s.vmSnapshots.create(stranger, { vmId: vm.id, name: 'x' }), (e) =>
        isStrataError(e, 'NOT_FOUND'),
      );
      assert.equal((await s.vms.list(stranger)).items.length, 0);
      await assert.rejects(s.zones.create(stranger, { name: 'nope' }), (e) =>
        isStrataError(e, 'AUTH_FORBIDDEN'),
      );
      assert.ok(
        (await s.vms.list(SYSTEM_ACTOR, { accountId: user.accountId })).items.some((v) => v.id === vm.id),
      );
    });
  });
}
