import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { uniqueName } from '@strata/testing';
import { startGuestVm } from '../test-support/guest-vm.js';

const run = promisify(execFile);

// The agent keeps each domain's disk targets between snapshots (disk-targets.ts). A disk it does
// not know of would be left out of the snapshot XML, and libvirt would give it an overlay of its
// own: these cuts must leave every disk they do not name on the file it ran on.

void test('disks attached after a snapshot are never cut by the next one', { timeout: 300_000 }, async () => {
  const vm = await startGuestVm({ name: uniqueName('agent-targets') });
  try {
    const sources = async () =>
      new Map((await vm.agent.liveDisks(vm.name)).map((d) => [d.target, d.source] as const));
    const attach = async (name: string, target: string) => {
      const path = await vm.makeImage(`${name}.qcow2`, 'qcow2');
      await vm.agent.attachDisk(vm.name, {
        volumeId: `vol-${name}`,
        target,
        source: { kind: 'file', path, format: 'qcow2' },
      });
      return path;
    };
    await attach('first', 'vdb');
    await vm.agent.diskOnlySnapshot(vm.name, [
      { target: 'vdb', overlayPath: join(vm.dir, 'first.s1.qcow2') },
    ]);

    // Attached behind the agent's back (an operator's virsh): only libvirt's event tells.
    const outside = await vm.makeImage('outside.qcow2', 'qcow2');
    await run('virsh', [
      '-c',
      'qemu:///system',
      'attach-disk',
      vm.name,
      outside,
      'vdc',
      '--driver',
      'qemu',
      '--subdriver',
      'qcow2',
      '--live',
    ]);
    await new Promise((r) => setTimeout(r, 1_000)); // the device-added event's way through virsh
    await vm.agent.diskOnlySnapshot(vm.name, [
      { target: 'vdb', overlayPath: join(vm.dir, 'first.s2.qcow2') },
    ]);
    assert.equal((await sources()).get('vdc'), outside, 'a disk attached outside Strata is left alone');

    // Attached through the agent, then cut at once: the agent's own change drops what it knew.
    const own = await attach('own', 'vdd');
    await vm.agent.diskOnlySnapshot(vm.name, [
      { target: 'vdb', overlayPath: join(vm.dir, 'first.s3.qcow2') },
    ]);
    const after = await sources();
    assert.equal(after.get('vdd'), own, 'a disk the agent attached is left alone');
    assert.equal(after.get('vdc'), outside);
    assert.equal(after.get('vdb'), join(vm.dir, 'first.s3.qcow2'));
  } finally {
    await vm.dispose();
  }
});
