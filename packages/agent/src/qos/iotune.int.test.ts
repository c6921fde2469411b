import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '@strata/core';
import { uniqueName } from '@strata/testing';
import { startGuestVm } from '../test-support/guest-vm.js';

void test(
  'iotune set live reads back equal (max, burst, burst length, bytes); a normalised value is a coded mismatch',
  { timeout: 180_000 },
  async () => {
    const vm = await startGuestVm({ name: uniqueName('agent-qos') });
    try {
      const data = await vm.makeImage('data.qcow2', 'qcow2');
      await vm.agent.attachDisk(vm.name, {
        volumeId: 'vol-q',
        target: 'vdb',
        source: { kind: 'file', path: data, format: 'qcow2' },
      });
      const wanted = {
        totalIopsSec: 200,
        totalIopsSecMax: 400,
        totalIopsSecMaxLength: 10,
        totalBytesSec: 8 * 1024 * 1024,
      };
      const set = await vm.agent.setIoTune(vm.name, 'vdb', wanted);
      assert.deepEqual(set.iotune, wanted);
      assert.ok(set.setMs > 0);
      assert.deepEqual(await vm.agent.getIoTune(vm.name, 'vdb'), wanted);
      // the persistent definition carries it too
      const xml = await vm.agent.virsh.run(['dumpxml', '--domain', vm.name, '--inactive']);
      assert.match(xml, /<total_iops_sec>200<\/total_iops_sec>/);
      // QEMU fills in a burst length of 1 s when none is given: what is in force differs from the request
      await assert.rejects(
        vm.agent.setIoTune(vm.name, 'vdb', { totalIopsSec: 300, totalIopsSecMax: 600 }),
        (e) => isStrataError(e, 'IOTUNE_MISMATCH'),
      );
      await assert.rejects(
        vm.agent.setIoTune(vm.name, 'vdb', { totalIopsSec: 300, totalIopsSecMax: 100 }),
        (e) => isStrataError(e, 'INVALID_ARGUMENT'),
      );
      // limits come off again
      assert.deepEqual((await vm.agent.setIoTune(vm.name, 'vdb', { totalIopsSec: 0 })).iotune, {
        totalIopsSec: 0,
      });
    } finally {
      await vm.dispose();
    }
  },
);
