import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isStrataError } from '@strata/core';
import { openDatabase, type Database } from '../../db/index.js';
import { TEST_DATABASES } from '../../db/test-databases.js';
import { SYSTEM_ACTOR, type Actor } from '../actor.js';
import { createServices, type Services } from '../index.js';
import { planEvacuation } from './evacuate.js';
import { migrationCandidates, placeVm } from './place-vm.js';
import { tempSecretBox } from '../../secrets/testing/temp-box.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

// Placement against the real database (PGlite, and PostgreSQL where it runs): the room each host
// has left is read from the VMs placed on it, and concurrent starts never share the same room.
for (const database of TEST_DATABASES) {
  void describe(`placement on ${database.name}`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    let s: Services;
    let clusterId: string;
    let tgtPool: string;
    let admin: Actor;

    before(async () => {
      const opened = await database.open();
      drop = opened.drop;
      db = await openDatabase(opened.url);
      s = createServices(db, null, { secrets: await tempSecretBox() });
      const account = await s.accounts.create(SYSTEM_ACTOR, { name: 'ops' });
      admin = { accountId: account.id, userId: null, role: 'admin', via: 'system' };
      const zone = await s.zones.create(SYSTEM_ACTOR, { name: 'z' });
      clusterId = (await s.clusters.create(SYSTEM_ACTOR, { zoneId: zone.id, name: 'c' })).id;
      tgtPool = (
        await s.pools.create(SYSTEM_ACTOR, {
          name: 'san',
          zoneId: zone.id,
          provider: 'tgt',
          scope: 'zone',
          managed: true,
          capacityBytes: 100 * GiB,
          capacityIops: 10_000,
          url: 'iscsi://127.0.0.1:3260/srv/san',
        })
      ).id;
    });

    after(async () => {
      await db?.close();
      await drop?.();
    });

    const addHost = async (
      name: string,
      memoryBytes: number,
      adaptors: string[],
      roles = ['kvm'],
      migration?: { uri: string },
    ) => {
      const id = `host-${name}-${Math.random().toString(36).slice(2, 8)}`;
      await db.query(
        `INSERT INTO hosts (id, cluster_id, name, state, cpus, memory_bytes, adaptors, facts)
         VALUES ($1, $2, $3, 'Up', 2, $4, $5, $6)`,
        [id, clusterId, id, memoryBytes, JSON.stringify(adaptors), JSON.stringify({ roles, migration })],
      );
      return id;
    };
    const newVm = (name: string, memoryBytes: number) =>
      s.vms.create(admin, { name: `${name}-${Math.random().toString(36).slice(2, 8)}`, memoryBytes });
    /** What the start step does: Starting and placed in one transaction. */
    const start = (
      vm: { id: string; cpus: number; memoryBytes: number; hostId: string | null },
      pinned?: string,
    ) =>
      db.transaction(async (tx) => {
        await tx.query(`UPDATE vms SET state = 'Starting' WHERE id = $1`, [vm.id]);
        return placeVm(tx, vm, pinned ? { pinned } : {});
      });

    void test('concurrent starts fill each host exactly; the one too many is refused with every reason', async () => {
      await db.query(`UPDATE hosts SET state = 'Maintenance'`);
      const a = await addHost('a', GiB, ['file', 'iscsi-qemu']);
      const b = await addHost('b', GiB, ['file', 'iscsi-qemu']);
      await addHost('storage', 8 * GiB, ['file'], ['storage']);
      const vms = await Promise.all(Array.from({ length: 5 }, (_, i) => newVm(`c${i}`, 512 * MiB)));
      const results = await Promise.allSettled(vms.map((vm) => start(vm)));
      const placed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.id] : []));
      assert.deepEqual(placed.sort(), [a, a, b, b].sort(), 'two on each 1 GiB host');
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.ok(refused && isStrataError(refused.reason, 'NO_HOST_AVAILABLE'), String(refused?.reason));
      assert.match(refused.reason.message, /0 MiB of memory left, 512 MiB needed/);
      assert.match(refused.reason.message, /runs no VMs/);
      const rows = await db.query(
        `SELECT host_id, count(*) AS n FROM vms WHERE state = 'Starting' GROUP BY host_id`,
      );
      assert.deepEqual(rows.map((r) => Number(r['n'])).sort(), [2, 2], 'each placement recorded on its VM');
      await db.query(`UPDATE vms SET state = 'Stopped'`);
      await db.query(`UPDATE hosts SET state = 'Maintenance'`);
    });

    void test('an iSCSI disk needs a host with an iSCSI adaptor; an admin-pinned host is used or refused', async () => {
      const fileOnly = await addHost('fileonly', 4 * GiB, ['file']);
      const san = await addHost('san', 2 * GiB, ['file', 'iscsi-host']);
      const vm = await newVm('iscsi', 256 * MiB);
      await s.volumes.create(admin, { name: 'd', poolId: tgtPool, sizeBytes: GiB, vmId: vm.id });
      assert.equal((await start(vm)).id, san, 'the host that can attach the LUN, though it has less memory');
      await db.query(`UPDATE vms SET state = 'Stopped'`);
      await assert.rejects(start(vm, fileOnly), (e: unknown) => {
        assert.ok(isStrataError(e, 'NO_HOST_AVAILABLE'));
        assert.match(e.message, /cannot attach iscsi disks/);
        return true;
      });
      await db.query(`UPDATE vms SET state = 'Stopped'`);
      await assert.rejects(start(vm, 'host-nope'), (e: unknown) => isStrataError(e, 'NOT_FOUND'));
    });

    void test('only an admin names the host of a VM', async () => {
      const host = await addHost('named', GiB, ['file']);
      const user: Actor = { ...admin, role: 'user' };
      await assert.rejects(s.vms.create(user, { name: 'mine', hostId: host }), (e: unknown) =>
        isStrataError(e, 'AUTH_FORBIDDEN'),
      );
      assert.equal((await s.vms.create(admin, { name: 'ours', hostId: host })).hostId, host);
    });

    void test('a migration may go to another host that fits and takes migrations; the others say why not', async () => {
      await db.query(`UPDATE hosts SET state = 'Maintenance'`);
      const uri = { uri: 'qemu+tls://b.example/system' };
      const source = await addHost('src', 4 * GiB, ['file'], ['kvm'], uri);
      const fits = await addHost('fits', 4 * GiB, ['file'], ['kvm'], uri);
      const noUri = await addHost('nouri', 4 * GiB, ['file']);
      const full = await addHost('full', 128 * MiB, ['file'], ['kvm'], uri);
      const vm = await newVm('moving', 512 * MiB);
      await db.query(`UPDATE vms SET host_id = $2, state = 'Running' WHERE id = $1`, [vm.id, source]);
      const found = await migrationCandidates(db, { ...vm, hostId: source });
      const by = new Map(found.map((x) => [x.hostId, x]));
      assert.ok(!by.has(source), 'not the host it runs on');
      assert.deepEqual(by.get(fits), { hostId: fits, suitable: true, reason: null });
      assert.match(by.get(noUri)?.reason ?? '', /takes no live migrations/);
      assert.match(by.get(full)?.reason ?? '', /memory left/);
      await db.query(`UPDATE vms SET state = 'Stopped'`);
    });

    void test('emptying a host plans every VM at once: two never share the room of one; a VM mid-start refuses', async () => {
      await db.query(`UPDATE hosts SET state = 'Maintenance'`);
      const uri = { uri: 'qemu+tls://x.example/system' };
      const leaving = await addHost('leaving', 4 * GiB, ['file'], ['kvm'], uri);
      const small = await addHost('small', 600 * MiB, ['file'], ['kvm'], uri);
      const vms = [await newVm('e1', 512 * MiB), await newVm('e2', 512 * MiB)];
      for (const vm of vms)
        await db.query(`UPDATE vms SET host_id = $2, state = 'Running' WHERE id = $1`, [vm.id, leaving]);
      await assert.rejects(planEvacuation(db, leaving), (e: unknown) => {
        assert.ok(isStrataError(e, 'HOST_MAINTENANCE_FAILED'));
        assert.match(e.message, /no room for every VM elsewhere/);
        assert.match(
          e.message,
          /88 MiB of memory left, 512 MiB needed/,
          'the second VM sees the first one placed',
        );
        return true;
      });
      const big = await addHost('big', 900 * MiB, ['file'], ['kvm'], uri);
      const moves = await planEvacuation(db, leaving);
      assert.deepEqual(
        moves.map((m) => m.dest),
        [big, small],
        'the host with the most memory left first, then the next that still fits',
      );
      assert.deepEqual(moves.map((m) => m.vmId).sort(), vms.map((v) => v.id).sort());
      await db.query(`UPDATE vms SET state = 'Starting' WHERE id = $1`, [vms[0]!.id]);
      await assert.rejects(planEvacuation(db, leaving), (e: unknown) => {
        assert.ok(isStrataError(e, 'HOST_MAINTENANCE_FAILED'));
        assert.match(e.message, /is Starting; ask again once it settles/);
        return true;
      });
      await db.query(`UPDATE vms SET state = 'Stopped'`);
    });
  });
}
