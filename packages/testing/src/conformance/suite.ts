import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB, type HostRef, type Qos, type StorageContext, type StorageDriver } from '@strata/core';
import { run } from '../tgt/run.js';
import { hasPattern, writePattern } from './qemu-io.js';

export interface ConformanceOptions {
  /** Size of the volumes the suite makes. Default 16 MiB. */
  readonly sizeBytes?: number;
  /** The host the suite grants access to; default a fresh initiator name. */
  readonly host?: HostRef;
}

const qos = (minIops: number, maxIops = Math.max(minIops, 500), burstIops = maxIops * 2): Qos => ({
  minIops,
  maxIops,
  burstIops,
  burstSeconds: 10,
});

/**
 * The one suite every storage driver runs against its real backend (docs/spec/storage-driver.md).
 * Capability-gated tests are skipped by name with the reason. Data checks go through QEMU's own
 * client with the driver's connection details, so they also prove the volume opens for a host.
 */
export function runDriverConformance(
  name: string,
  makeDriver: () => Promise<StorageDriver>,
  options: ConformanceOptions = {},
): void {
  const size = options.sizeBytes ?? 16 * MiB;
  const tag = randomBytes(3).toString('hex');
  const host: HostRef = options.host ?? {
    id: `cf-host-${tag}`,
    iscsiInitiator: `iqn.2026-11.io.strata.test:cf-${tag}`,
  };
  const ctx: StorageContext = { signal: new AbortController().signal };
  const made = new Set<string>();
  let n = 0;
  let d!: StorageDriver;
  const id = (what: string): string => `cf-${tag}-${what}-${++n}`;

  const newVolume = async (extra: { qos?: Qos; reserve?: number } = {}): Promise<string> => {
    const volumeId = id('v');
    made.add(volumeId);
    await d.createVolume(ctx, {
      volumeId,
      sizeBytes: size,
      qos: extra.qos ?? null,
      hypervisorSnapshotReserve: extra.reserve ?? 0,
    });
    return volumeId;
  };
  const conn = async (volumeId: string) => {
    await d.grantAccess(ctx, { volumeId, host });
    return (await d.connectionInfo(ctx, { volumeId, host })).connection;
  };
  const write = async (v: string, p: number) => writePattern(await conn(v), p, 0, 64 * 1024);
  const holds = async (v: string, p: number) => hasPattern(await conn(v), p, 0, 64 * 1024);

  void describe(`storage driver conformance: ${name}`, () => {
    before(async () => {
      d = await makeDriver();
    });
    after(async () => {
      for (const v of made) await d.deleteVolume(ctx, { volumeId: v }).catch(() => undefined);
      await d.close?.();
    });

    void test('identity: type and name are non-empty; capabilities are typed', () => {
      assert.ok(d.type.length > 0 && d.name.length > 0);
      assert.equal(typeof d.capabilities.volumeSnapshot, 'boolean');
      assert.ok(['storage', 'hypervisor'].includes(d.capabilities.vmSnapshotHook));
    });

    void test('createVolume is idempotent on its id; other parameters conflict', async () => {
      const volumeId = id('v');
      made.add(volumeId);
      const a = await d.createVolume(ctx, { volumeId, sizeBytes: size });
      const b = await d.createVolume(ctx, { volumeId, sizeBytes: size });
      assert.equal(a.created, true);
      assert.equal(b.created, false);
      assert.equal(b.volume.sizeBytes, size);
      await assert.rejects(d.createVolume(ctx, { volumeId, sizeBytes: size * 2 }), {
        code: 'STORAGE_ID_CONFLICT',
      });
    });

    void test('deleteVolume is idempotent; the volume is gone after', async () => {
      const v = await newVolume();
      assert.deepEqual(await d.deleteVolume(ctx, { volumeId: v }), { deleted: true });
      assert.deepEqual(await d.deleteVolume(ctx, { volumeId: v }), { deleted: false });
      await assert.rejects(d.getVolume(ctx, { volumeId: v }), { code: 'NOT_FOUND' });
    });

    void test('bad input: zero, negative, absurd size; bad ids; min>max; max>burst', async () => {
      for (const sizeBytes of [0, -size, 2 ** 62, 1000]) {
        await assert.rejects(
          d.createVolume(ctx, { volumeId: id('bad'), sizeBytes }),
          { code: 'INVALID_ARGUMENT' },
          String(sizeBytes),
        );
      }
      for (const volumeId of ['', 'Has Upper', "x';rm -rf /", '../etc']) {
        await assert.rejects(
          d.createVolume(ctx, { volumeId, sizeBytes: size }),
          { code: 'INVALID_ARGUMENT' },
          volumeId,
        );
      }
      await assert.rejects(
        d.createVolume(ctx, { volumeId: id('bad'), sizeBytes: size, qos: qos(600, 500, 1000) }),
        { code: 'INVALID_ARGUMENT' },
      );
      await assert.rejects(
        d.createVolume(ctx, { volumeId: id('bad'), sizeBytes: size, qos: qos(100, 500, 400) }),
        { code: 'INVALID_ARGUMENT' },
      );
      await assert.rejects(
        d.createVolume(ctx, { volumeId: id('bad'), sizeBytes: size, hypervisorSnapshotReserve: -5 }),
        { code: 'INVALID_ARGUMENT' },
      );
    });

    void test('a cancelled context is refused with STORAGE_CANCELLED and leaves nothing behind', async () => {
      const aborted = new AbortController();
      aborted.abort();
      const volumeId = id('v');
      made.add(volumeId);
      await assert.rejects(d.createVolume({ signal: aborted.signal }, { volumeId, sizeBytes: size }), {
        code: 'STORAGE_CANCELLED',
      });
      await assert.rejects(d.getVolume(ctx, { volumeId }), { code: 'NOT_FOUND' });
    });

    void test('unknown ids answer NOT_FOUND (deletes succeed with deleted: false)', async () => {
      const ghost = id('ghost');
      await assert.rejects(d.getVolume(ctx, { volumeId: ghost }), { code: 'NOT_FOUND' });
      await assert.rejects(d.resizeVolume(ctx, { volumeId: ghost, sizeBytes: size }), { code: 'NOT_FOUND' });
      await assert.rejects(d.setQos(ctx, { volumeId: ghost, qos: qos(0) }), { code: 'NOT_FOUND' });
      await assert.rejects(d.connectionInfo(ctx, { volumeId: ghost, host }), { code: 'NOT_FOUND' });
      await assert.rejects(d.grantAccess(ctx, { volumeId: ghost, host }), { code: 'NOT_FOUND' });
      assert.equal((await d.revokeAccess(ctx, { volumeId: ghost, host })).changed, false);
      if (d.capabilities.volumeSnapshot) {
        await assert.rejects(d.createSnapshot(ctx, { volumeId: ghost, snapshotId: id('s') }), {
          code: 'NOT_FOUND',
        });
        await assert.rejects(
          d.createVolumeFromSnapshot(ctx, { volumeId: id('v'), sizeBytes: size, snapshotId: id('nos') }),
          { code: 'NOT_FOUND' },
        );
        const v = await newVolume();
        await assert.rejects(d.revertSnapshot(ctx, { volumeId: v, snapshotId: id('nos') }), {
          code: 'NOT_FOUND',
        });
        assert.equal((await d.deleteSnapshot(ctx, { volumeId: v, snapshotId: id('nos') })).deleted, false);
      }
    });

    void test('resize grows, refuses to shrink with STORAGE_SHRINK_REFUSED, and a same-size resize is a no-op', async () => {
      const v = await newVolume();
      const grown = await d.resizeVolume(ctx, { volumeId: v, sizeBytes: size * 2 });
      assert.equal(grown.resized, true);
      assert.equal(grown.volume.sizeBytes, size * 2);
      assert.equal((await d.getVolume(ctx, { volumeId: v })).sizeBytes, size * 2);
      assert.equal((await d.resizeVolume(ctx, { volumeId: v, sizeBytes: size * 2 })).resized, false);
      await assert.rejects(d.resizeVolume(ctx, { volumeId: v, sizeBytes: size }), {
        code: 'STORAGE_SHRINK_REFUSED',
      });
      const info = await d.connectionInfo(ctx, { volumeId: v, host });
      assert.equal(info.sizeBytes, size * 2);
    });

    void test('access: grant and revoke are idempotent', async () => {
      const v = await newVolume();
      assert.equal((await d.grantAccess(ctx, { volumeId: v, host })).changed, true);
      assert.equal((await d.grantAccess(ctx, { volumeId: v, host })).changed, false);
      assert.equal((await d.revokeAccess(ctx, { volumeId: v, host })).changed, true);
      assert.equal((await d.revokeAccess(ctx, { volumeId: v, host })).changed, false);
    });

    void test('fenceHost removes every grant of the host and no other, is idempotent, and enforces as capabilities say', async () => {
      const lost: HostRef = {
        id: `${host.id}-lost`,
        iscsiInitiator: `${host.iscsiInitiator ?? 'iqn.x:y'}-lost`,
      };
      const [v1, v2] = [await newVolume(), await newVolume()];
      for (const volumeId of [v1, v2]) await d.grantAccess(ctx, { volumeId, host: lost });
      await d.grantAccess(ctx, { volumeId: v1, host });
      const fenced = await d.fenceHost(ctx, { host: lost });
      assert.equal(
        fenced.enforced,
        d.capabilities.access.perHost,
        'enforced exactly when access is per host',
      );
      assert.deepEqual(
        fenced.volumes.filter((v) => v === v1 || v === v2),
        [v1, v2].sort(),
        'both grants of the lost host went',
      );
      assert.equal((await d.revokeAccess(ctx, { volumeId: v1, host: lost })).changed, false);
      assert.equal(
        (await d.revokeAccess(ctx, { volumeId: v1, host })).changed,
        true,
        'the other host kept its grant',
      );
      const again = await d.fenceHost(ctx, { host: lost });
      assert.deepEqual([again.volumes, again.sessionsClosed, again.clientsBlocklisted], [[], 0, []]);
    });

    const snapSkip = (): string | false =>
      d.capabilities.volumeSnapshot && d.capabilities.revert
        ? false
        : 'driver has no volume snapshot + revert';

    void test('snapshot, overwrite, revert: the data comes back; newer snapshots are kept', async (t) => {
      if (snapSkip()) return t.skip(String(snapSkip()));
      const v = await newVolume();
      await write(v, 0xa1);
      const s1 = id('s');
      const first = await d.createSnapshot(ctx, { volumeId: v, snapshotId: s1 });
      assert.equal(first.created, true);
      assert.equal((await d.createSnapshot(ctx, { volumeId: v, snapshotId: s1 })).created, false);
      await write(v, 0xb2);
      const s2 = id('s');
      await d.createSnapshot(ctx, { volumeId: v, snapshotId: s2 });
      assert.equal(await holds(v, 0xb2), true);
      await d.revertSnapshot(ctx, { volumeId: v, snapshotId: s1 });
      assert.equal(await holds(v, 0xa1), true);
      await d.revertSnapshot(ctx, { volumeId: v, snapshotId: s2 });
      assert.equal(await holds(v, 0xb2), true, 'the newer snapshot survived the older revert');
      const listed = (await d.listSnapshots(ctx, { volumeId: v })).map((s) => s.snapshotId).sort();
      assert.deepEqual(listed, [s1, s2].sort());
      assert.equal((await d.deleteSnapshot(ctx, { volumeId: v, snapshotId: s1 })).deleted, true);
      assert.equal((await d.deleteSnapshot(ctx, { volumeId: v, snapshotId: s1 })).deleted, false);
    });

    void test('snapshotUsage: a snapshot of written data takes more than one of an empty volume, or says why it cannot tell', async (t) => {
      if (snapSkip()) return t.skip(String(snapSkip()));
      const v = await newVolume();
      const empty = id('s');
      await d.createSnapshot(ctx, { volumeId: v, snapshotId: empty });
      await writePattern(await conn(v), 0xc3, 0, 4 * MiB);
      const full = id('s');
      await d.createSnapshot(ctx, { volumeId: v, snapshotId: full });
      const u0 = await d.snapshotUsage(ctx, { volumeId: v, snapshotId: empty });
      const u1 = await d.snapshotUsage(ctx, { volumeId: v, snapshotId: full });
      assert.equal(u1.snapshotId, full);
      for (const u of [u0, u1]) assert.ok(u.note.length > 0, 'every answer says what its figure is');
      if (u0.usedBytes === null || u1.usedBytes === null) {
        assert.equal(u1.usedBytes, null, `${name}: a driver that cannot tell says so for every snapshot`);
      } else {
        assert.ok(u1.usedBytes >= 4 * MiB, `${name}: 4 MiB written, ${u1.usedBytes} reported`);
        assert.ok(u0.usedBytes < u1.usedBytes, `${name}: empty ${u0.usedBytes} < written ${u1.usedBytes}`);
      }
      await assert.rejects(d.snapshotUsage(ctx, { volumeId: v, snapshotId: id('nos') }), {
        code: 'NOT_FOUND',
      });
      await assert.rejects(d.snapshotUsage(ctx, { volumeId: v, snapshotId: 'Bad Id' }), {
        code: 'INVALID_ARGUMENT',
      });
    });

    void test('volume from snapshot holds the snapshot data and is independent of its source', async (t) => {
      if (!d.capabilities.volumeSnapshot || !d.capabilities.clone.supported)
        return t.skip('driver has no snapshot clone');
      const v = await newVolume();
      await write(v, 0xc3);
      const s = id('s');
      await d.createSnapshot(ctx, { volumeId: v, snapshotId: s });
      const c = id('v');
      made.add(c);
      const r = await d.createVolumeFromSnapshot(ctx, { volumeId: c, sizeBytes: size, snapshotId: s });
      assert.equal(r.created, true);
      assert.equal(
        (await d.createVolumeFromSnapshot(ctx, { volumeId: c, sizeBytes: size, snapshotId: s })).created,
        false,
      );
      assert.equal(await holds(c, 0xc3), true);
      await write(c, 0xd4);
      await write(v, 0xe5);
      assert.equal(await holds(c, 0xd4), true);
      assert.equal(await holds(v, 0xe5), true);
    });

    void test('volume from template holds the template data', async (t) => {
      if (!d.capabilities.clone.supported) return t.skip('driver has no clone');
      const dir = await mkdtemp(join(tmpdir(), 'strata-tpl-'));
      try {
        const path = join(dir, 'template.qcow2');
        await run('qemu-img', ['create', '-f', 'qcow2', path, String(size)]);
        await writePattern({ adaptor: 'file', path, format: 'qcow2' }, 0x5a, 0, 64 * 1024);
        const c = id('v');
        made.add(c);
        await d.createVolumeFromTemplate(ctx, {
          volumeId: c,
          sizeBytes: size,
          template: { id: id('t'), path, format: 'qcow2' },
        });
        assert.equal(await holds(c, 0x5a), true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    void test('group snapshot cuts every member; each reverts to its own data', async (t) => {
      if (!d.capabilities.groupSnapshot.supported || snapSkip())
        return t.skip('driver has no group snapshot + revert');
      const a = await newVolume();
      const b = await newVolume();
      await write(a, 0x11);
      await write(b, 0x22);
      const sa = id('s');
      const sb = id('s');
      const g = await d.groupSnapshot(ctx, {
        groupId: id('g'),
        members: [
          { volumeId: a, snapshotId: sa },
          { volumeId: b, snapshotId: sb },
        ],
      });
      assert.equal(g.snapshots.length, 2);
      assert.equal(g.atomic, d.capabilities.groupSnapshot.atomic);
      await write(a, 0x33);
      await write(b, 0x44);
      await d.revertSnapshot(ctx, { volumeId: a, snapshotId: sa });
      await d.revertSnapshot(ctx, { volumeId: b, snapshotId: sb });
      assert.equal(await holds(a, 0x11), true);
      assert.equal(await holds(b, 0x22), true);
    });

    void test('capacity counts bytes with the hypervisor snapshot reserve and the sum of min IOPS', async () => {
      const before = await d.capacity(ctx);
      await newVolume({ qos: qos(100), reserve: 50 });
      const after = await d.capacity(ctx);
      assert.equal(after.volumeCount, before.volumeCount + 1);
      assert.equal(after.provisionedBytes - before.provisionedBytes, size + size / 2);
      assert.equal(after.usedIops - before.usedIops, 100);
      assert.ok(after.totalBytes > 0);
    });

    void test('setQos stores min/max/burst, answers what the caller must enforce, and validates', async () => {
      const v = await newVolume();
      const want = qos(50, 300, 600);
      const r = await d.setQos(ctx, { volumeId: v, qos: want });
      assert.deepEqual(r.volume.qos, want);
      assert.deepEqual((await d.getVolume(ctx, { volumeId: v })).qos, want);
      const bq = d.capabilities.backendQos;
      if (!bq.max || !bq.burst) assert.deepEqual(r.frontendQos, want);
      assert.equal(
        (await d.connectionInfo(ctx, { volumeId: v, host })).frontendQos !== null,
        !bq.max || !bq.burst,
      );
      await assert.rejects(d.setQos(ctx, { volumeId: v, qos: qos(400, 300, 600) }), {
        code: 'INVALID_ARGUMENT',
      });
      await assert.rejects(d.setQos(ctx, { volumeId: v, qos: qos(50, 700, 600) }), {
        code: 'INVALID_ARGUMENT',
      });
    });

    void test('admission refuses min IOPS beyond the pool with STORAGE_IOPS_EXHAUSTED', async (t) => {
      if (!d.capabilities.iopsAdmission) return t.skip('driver does no IOPS admission');
      const cap = await d.capacity(ctx);
      if (cap.totalIops === 0) return t.skip('pool has no IOPS capacity set');
      const free = cap.totalIops - cap.usedIops;
      const volumeId = id('v');
      made.add(volumeId);
      const over = Math.min(free + 1, 200_000);
      await assert.rejects(d.createVolume(ctx, { volumeId, sizeBytes: size, qos: qos(over, over, over) }), {
        code: 'STORAGE_IOPS_EXHAUSTED',
      });
      const v = await newVolume({ qos: qos(1) });
      await assert.rejects(d.setQos(ctx, { volumeId: v, qos: qos(over, over, over) }), {
        code: 'STORAGE_IOPS_EXHAUSTED',
      });
    });

    void test('VM-snapshot hooks: take, overwrite, revert, delete (or STORAGE_UNSUPPORTED)', async () => {
      const a = await newVolume();
      const b = await newVolume();
      const req = {
        vmSnapshot: { id: id('vms'), vmId: 'vm-1', name: 'cf', type: 'Disk' as const },
        volumeIds: [a, b],
        callerConsistency: 'filesystem' as const,
      };
      if (d.capabilities.vmSnapshotHook === 'hypervisor') {
        await assert.rejects(d.takeVmSnapshot(ctx, req), { code: 'STORAGE_UNSUPPORTED' });
        await assert.rejects(d.revertVmSnapshot(ctx, req), { code: 'STORAGE_UNSUPPORTED' });
        await assert.rejects(d.deleteVmSnapshot(ctx, req), { code: 'STORAGE_UNSUPPORTED' });
        return;
      }
      await write(a, 0x61);
      await write(b, 0x62);
      const taken = await d.takeVmSnapshot(ctx, req);
      assert.deepEqual(
        taken.volumes.map((x) => x.volumeId),
        [a, b],
      );
      assert.equal(taken.consistency, 'filesystem');
      assert.equal(typeof taken.holdVm, 'boolean');
      assert.ok(taken.timings.totalMs >= 0);
      assert.deepEqual(
        await d.takeVmSnapshot(ctx, req).then((r) => r.volumes),
        taken.volumes,
        'replay answers the same parts',
      );
      await write(a, 0x71);
      await write(b, 0x72);
      await d.revertVmSnapshot(ctx, req);
      assert.equal(await holds(a, 0x61), true);
      assert.equal(await holds(b, 0x62), true);
      assert.deepEqual((await d.deleteVmSnapshot(ctx, req)).deleted.length, 2);
      assert.deepEqual((await d.deleteVmSnapshot(ctx, req)).deleted, []);
      await assert.rejects(d.revertVmSnapshot(ctx, req), { code: 'NOT_FOUND' });
    });
  });
}
