import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestDisks, readWriterLog, recordsForSerial, uniqueName } from '@strata/testing';
import { NASTY, startGuestVm, waitForConsole } from './test-support/guest-vm.js';

void test(
  `a VM and volumes named with XML and shell metacharacters (${NASTY}) work end to end`,
  { timeout: 300_000 },
  async () => {
    const name = uniqueName(`vm ${NASTY}`);
    const vm = await startGuestVm({ name });
    let secret: string | undefined;
    try {
      assert.equal((await vm.agent.vmState(name)).name, name);
      const volume = await vm.makeImage(`vol ${NASTY}.qcow2`, 'qcow2');
      await vm.agent.attachDisk(name, {
        volumeId: 'vol-1',
        target: 'vdb',
        source: { kind: 'file', path: volume, format: 'qcow2' },
      });
      await waitForConsole(vm, /disk-added vdb serial=vol-1/);
      assert.equal((await guestDisks(name)).get('vdb'), 'vol-1');
      assert.equal((await vm.agent.liveDisks(name)).find((d) => d.target === 'vdb')?.source, volume);

      const frozen = await vm.agent.freeze(name, 10_000);
      assert.equal(frozen.filesystems, 1);
      assert.equal((await vm.agent.thaw(name)).reason, 'requested');

      const overlay = join(vm.dir, `snap ${NASTY}.qcow2`);
      await vm.agent.diskOnlySnapshot(name, [{ target: 'vdb', overlayPath: overlay }], { quiesce: true });
      assert.equal((await vm.agent.liveDisks(name)).find((d) => d.target === 'vdb')?.source, overlay);
      await vm.agent.blockCommit(name, 'vdb');
      assert.equal((await vm.agent.liveDisks(name)).find((d) => d.target === 'vdb')?.source, volume);

      const tune = { totalIopsSec: 500, totalIopsSecMax: 1000, totalIopsSecMaxLength: 5 };
      assert.deepEqual((await vm.agent.setIoTune(name, 'vdb', tune)).iotune, tune);

      secret = await vm.agent.defineSecret('iscsi', `chap ${NASTY} ${name}`, Buffer.from(`pw ${NASTY}`));
      assert.match(secret, /^[0-9a-f-]{36}$/);
      // defining the same usage again reuses the secret (idempotent on the usage name)
      assert.equal(
        await vm.agent.defineSecret('iscsi', `chap ${NASTY} ${name}`, Buffer.from('other')),
        secret,
      );

      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(recordsForSerial(await readWriterLog(volume, { format: 'qcow2' }), 'vol-1').length > 3);
      await vm.agent.detachDisk(name, 'vdb');
      await waitForConsole(vm, /disk-removed vdb/);
      assert.deepEqual((await vm.agent.stopVm(name, 30_000)).state, 'shut off');
      assert.deepEqual(await vm.agent.destroyVm(name), { existed: true });
    } finally {
      if (secret !== undefined) await vm.agent.undefineSecret(secret);
      await vm.dispose();
    }
  },
);
