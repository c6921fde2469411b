import { execFile } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { isStrataError } from '@strata/core';
import { ensureLibvirt, uniqueName } from '@strata/testing';
import type { LibvirtEvent } from '../events/parse-event.js';
import { HostAgent } from '../host-agent.js';
import { NASTY, startGuestVm } from '../test-support/guest-vm.js';

void test('host facts report CPU, memory, versions, initiator name and adaptors', async () => {
  await ensureLibvirt();
  const agent = new HostAgent({ initiatorFile: `/tmp/strata-iqn-${process.pid}` });
  await agent.start();
  try {
    const facts = await agent.hostFacts();
    assert.ok(facts.cpus >= 1);
    assert.ok(facts.memoryBytes > 1e9);
    assert.match(facts.libvirtVersion, /^\d+\.\d+/);
    assert.match(facts.qemuVersion, /^\d+\.\d+/);
    assert.match(facts.iscsiInitiator ?? '', /^iqn\./);
    assert.ok(facts.adaptors.includes('file'));
    assert.ok(facts.adaptors.includes('iscsi-qemu'));
    assert.ok(facts.adaptors.includes('rbd'));
    assert.equal(await agent.initiatorName(), facts.iscsiInitiator);
  } finally {
    await agent.close();
  }
});

void test(
  'a VM with a metacharacter name is defined from a template, started, stopped, destroyed; events stream',
  { timeout: 180_000 },
  async () => {
    const name = uniqueName(`vm ${NASTY}`);
    const seen: LibvirtEvent[] = [];
    const vm = await startGuestVm({ name });
    vm.agent.on('event', (e: LibvirtEvent) => seen.push(e));
    try {
      const report = await vm.agent.vmState(name);
      assert.equal(report.name, name);
      assert.equal(report.state, 'running');
      assert.deepEqual(
        report.disks.map((d) => [d.target, d.serial]),
        [['vda', 'root']],
      );
      const uuid = await promisify(execFile)('virsh', ['-c', 'qemu:///system', 'domuuid', '--domain', name]);
      assert.equal(report.uuid, uuid.stdout.trim(), "the UUID read from the domain XML is libvirt's");
      const all = await vm.agent.stateReport();
      assert.equal(
        all.domains.find((d) => d.name === name)?.uuid,
        report.uuid,
        'the host report has the domain',
      );
      await assert.rejects(vm.agent.defineVm({ name, cpus: 1, memoryBytes: 128 << 20, disks: [] }), (e) =>
        isStrataError(e, 'VM_EXISTS'),
      );
      const stopped = await vm.agent.stopVm(name, 30_000);
      assert.equal(stopped.state, 'shut off');
      assert.equal(stopped.forced, false, 'the guest agent shut the guest down');
      assert.ok(
        seen.some((e) => e.kind === 'lifecycle' && e.vm === name && e.event === 'Stopped'),
        'Stopped event seen',
      );
      assert.equal(await vm.agent.startVm(name), 'running');
      assert.ok(await vm.agent.waitForGuestAgent(name, 60_000));
      assert.ok(seen.some((e) => e.kind === 'lifecycle' && e.vm === name && e.event === 'Started'));
      assert.deepEqual(await vm.agent.destroyVm(name), { existed: true });
      assert.deepEqual(await vm.agent.destroyVm(name), { existed: false });
      await assert.rejects(vm.agent.vmState(name), (e) => isStrataError(e, 'VM_NOT_FOUND'));
    } finally {
      await vm.dispose();
    }
  },
);

void test('a stop the guest ignores is forced after the timeout', { timeout: 120_000 }, async () => {
  const vm = await startGuestVm({ name: uniqueName('agent-force') });
  try {
    // freeze makes the guest agent refuse the shutdown; ACPI is ignored by the test guest
    const frozen = await vm.agent.freeze(vm.name, 20_000);
    // qemu-ga leaves its frozen state at once when it froze nothing, and would then shut down
    assert.ok(frozen.filesystems >= 1, `the freeze held ${frozen.filesystems} filesystems`);
    const stopped = await vm.agent.stopVm(vm.name, 2_000);
    assert.equal(stopped.forced, true);
    assert.equal(stopped.state, 'shut off');
  } finally {
    await vm.dispose();
  }
});
