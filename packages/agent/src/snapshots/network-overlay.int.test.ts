import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readWriterLog, recordsForSerial, uniqueName, type WriterRecord } from '@strata/testing';
import { makeIscsiLun, makeRbdImage } from '../test-support/backends.js';
import { startGuestVm } from '../test-support/guest-vm.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const maxSeq = (records: readonly WriterRecord[]): number => records.reduce((m, r) => Math.max(m, r.seq), 0);
const digest = async (path: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

void test(
  'a local qcow2 overlay over an iSCSI and an RBD disk at once keeps both still, then commits back with auth kept',
  { timeout: 300_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-netov') });
    const lun = await makeIscsiLun(vm.agent, vm.dir, { chap: true });
    const rbd = await makeRbdImage(vm.agent);
    try {
      await vm.agent.attachDisk(vm.name, { volumeId: 'vol-iscsi', target: 'vdb', source: lun.source });
      await vm.agent.attachDisk(vm.name, { volumeId: 'vol-rbd', target: 'vdc', source: rbd.source });
      await sleep(2000);
      const lunOverlay = join(vm.dir, 'iscsi.overlay.qcow2');
      // a host state directory not made yet: the agent makes it before the cut
      const rbdOverlay = join(vm.dir, 'state "not made" yet', 'rbd.overlay.qcow2');
      const snap = await vm.agent.diskOnlySnapshot(vm.name, [
        { target: 'vdb', overlayPath: lunOverlay },
        { target: 'vdc', overlayPath: rbdOverlay },
      ]);
      assert.equal(snap.overlays.length, 2);
      // the LUN and the image stay byte-for-byte still while the overlays take the writes
      const lunBefore = await digest(lun.backingFile);
      const rbdA = join(vm.dir, 'rbd-a.raw');
      const rbdB = join(vm.dir, 'rbd-b.raw');
      await rbd.exportTo(rbdA);
      await sleep(1500);
      await rbd.exportTo(rbdB);
      assert.equal(await digest(lun.backingFile), lunBefore);
      assert.equal(await digest(rbdB), await digest(rbdA));
      const stillLun = maxSeq(recordsForSerial(await readWriterLog(lun.backingFile), 'vol-iscsi'));

      // commit both back in parallel: the disks run on the network sources again
      const [c1, c2] = await Promise.all([
        vm.agent.blockCommit(vm.name, 'vdb'),
        vm.agent.blockCommit(vm.name, 'vdc'),
      ]);
      assert.ok(c1.tookMs > 0 && c2.tookMs > 0);
      const disks = await vm.agent.liveDisks(vm.name);
      assert.equal(disks.find((d) => d.target === 'vdb')?.source, `${lun.source.iqn}/1`);
      assert.equal(disks.find((d) => d.target === 'vdc')?.source, `${rbd.source.pool}/${rbd.source.image}`);
      await sleep(1500);
      // initiator and CHAP were kept by libvirt: the guest's new writes reach the LUN itself
      assert.ok(maxSeq(recordsForSerial(await readWriterLog(lun.backingFile), 'vol-iscsi')) > stillLun);
      const dumped = await vm.agent.virsh.run(['dumpxml', '--domain', vm.name]);
      assert.match(dumped, /<initiator>\s*<iqn name='iqn\./);
      assert.match(dumped, /<secret type='iscsi' uuid=/);
      assert.match(dumped, /<secret type='ceph' uuid=/);
    } finally {
      await vm.dispose();
      await lun.cleanup();
      await rbd.cleanup();
    }
  },
);
