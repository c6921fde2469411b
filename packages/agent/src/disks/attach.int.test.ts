import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkOrder,
  guestDisks,
  mergeBySeq,
  readWriterLog,
  recordsForSerial,
  uniqueName,
} from '@strata/testing';
import { makeIscsiLun, makeRbdImage } from '../test-support/backends.js';
import { startGuestVm, waitForConsole } from '../test-support/guest-vm.js';
import { hostInitiatorAvailable } from './host-iscsi.js';

void test(
  'hot-attach of a qcow2, an iSCSI (CHAP, per-host initiator) and an RBD disk to one running guest that writes to all three, then detach',
  { timeout: 300_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-attach') });
    const lun = await makeIscsiLun(vm.agent, vm.dir, { chap: true });
    const rbd = await makeRbdImage(vm.agent);
    try {
      const qcow2 = await vm.makeImage('data.qcow2', 'qcow2');
      const a = await vm.agent.attachDisk(vm.name, {
        volumeId: 'vol-qcow2',
        target: 'vdb',
        source: { kind: 'file', path: qcow2, format: 'qcow2' },
      });
      const b = await vm.agent.attachDisk(vm.name, {
        volumeId: 'vol-iscsi',
        target: 'vdc',
        source: lun.source,
      });
      const c = await vm.agent.attachDisk(vm.name, {
        volumeId: 'vol-rbd',
        target: 'vdd',
        source: rbd.source,
      });
      assert.deepEqual([a.target, b.target, c.target], ['vdb', 'vdc', 'vdd']);
      await waitForConsole(vm, /disk-added vdd serial=vol-rbd/);
      const seen = await guestDisks(vm.name);
      assert.equal(seen.get('vdb'), 'vol-qcow2');
      assert.equal(seen.get('vdc'), 'vol-iscsi');
      assert.equal(seen.get('vdd'), 'vol-rbd');
      const report = await vm.agent.vmState(vm.name);
      assert.deepEqual(
        report.disks.map((d) => d.serial),
        ['root', 'vol-qcow2', 'vol-iscsi', 'vol-rbd'],
      );
      await new Promise((r) => setTimeout(r, 2500));

      const onQcow2 = recordsForSerial(await readWriterLog(qcow2, { format: 'qcow2' }), 'vol-qcow2');
      const onIscsi = recordsForSerial(await readWriterLog(lun.backingFile), 'vol-iscsi');
      const exported = join(vm.dir, 'rbd-export.raw');
      await rbd.exportTo(exported);
      const onRbd = recordsForSerial(await readWriterLog(exported), 'vol-rbd');
      for (const [what, list] of [
        ['qcow2', onQcow2],
        ['iscsi', onIscsi],
        ['rbd', onRbd],
      ] as const) {
        assert.ok(list.length >= 5, `${what}: ${list.length} records`);
      }
      const order = checkOrder(mergeBySeq(onQcow2, onIscsi, onRbd));
      assert.ok(order.ok, JSON.stringify(order).slice(0, 500));

      for (const target of ['vdb', 'vdc', 'vdd']) await vm.agent.detachDisk(vm.name, target);
      await waitForConsole(vm, /disk-removed vdd/);
      const after = await guestDisks(vm.name);
      assert.deepEqual([...after.keys()], ['vda']);
      assert.deepEqual(
        (await vm.agent.liveDisks(vm.name)).map((d) => d.target),
        ['vda'],
      );
    } finally {
      await vm.dispose();
      await lun.cleanup();
      await rbd.cleanup();
    }
  },
);

void test('an iSCSI target bound to another initiator refuses this host', { timeout: 180_000 }, async () => {
  const vm = await startGuestVm({ name: uniqueName('agent-acl') });
  const lun = await makeIscsiLun(vm.agent, vm.dir);
  try {
    const wrong = { ...lun.source, initiatorIqn: 'iqn.2026-01.io.strata:not-this-host' };
    await assert.rejects(
      vm.agent.attachDisk(vm.name, { volumeId: 'vol-x', target: 'vdb', source: wrong }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'LIBVIRT_FAILED');
        return true;
      },
    );
    assert.deepEqual(
      (await vm.agent.liveDisks(vm.name)).map((d) => d.target),
      ['vda'],
    );
  } finally {
    await vm.dispose();
    await lun.cleanup();
  }
});

void test('host-initiator iSCSI adaptor (iscsiadm, /dev/disk/by-path)', async (t) => {
  const available = await hostInitiatorAvailable();
  if (!available.ok) {
    t.skip(`no kernel iSCSI initiator on this machine: ${available.reason}`);
    return;
  }
  assert.fail('a kernel initiator exists here: write the attach test against it');
});
