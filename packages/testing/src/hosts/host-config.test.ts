import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkHostName,
  hostLibvirtdConf,
  hostQemuConf,
  initiatorFile,
  migrationPortMin,
  testInitiatorName,
} from './host-config.js';
import { hostDirName, ownerOf } from './stale-hosts.js';

test('a host name is a short lowercase label; anything else is refused before a directory is made', () => {
  assert.equal(checkHostName('kvm-b2'), 'kvm-b2');
  for (const bad of ['', 'Kvm', '2kvm', 'kvm_b', 'kvm.b', 'a/b', `k${'x'.repeat(31)}`, "k'; rm"]) {
    assert.throws(() => checkHostName(bad), /KVM host name/, bad);
  }
});

test('each host gets its own initiator name, in the file form the agent reads', () => {
  const a = testInitiatorName('kvm-a');
  assert.match(a, /^iqn\.2026-01\.io\.strata\.test:kvm-a-[0-9a-f]{8}$/);
  assert.notEqual(a, testInitiatorName('kvm-a'));
  assert.match(initiatorFile('kvm-a', a), new RegExp(`^InitiatorName=${a.replace(/\./g, '\\.')}$`, 'm'));
});

test("libvirtd.conf keeps the machine's settings and gets the host's own uuid and log, once", () => {
  const machine = [
    '# listen_tls = 0',
    'unix_sock_group = "libvirt"',
    'host_uuid = "00000000-0000-0000-0000-000000000001"',
    '  log_outputs="1:syslog:libvirtd"',
    '#host_uuid = "commented stays"',
    '',
  ].join('\n');
  const conf = hostLibvirtdConf(machine, '5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3');
  assert.match(conf, /^unix_sock_group = "libvirt"$/m);
  assert.match(conf, /^#host_uuid = "commented stays"$/m);
  assert.deepEqual(
    conf.split('\n').filter((l) => /^\s*(host_uuid|log_outputs)\s*=/.test(l)),
    [
      'host_uuid = "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"',
      'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
    ],
  );
  assert.equal(
    hostLibvirtdConf(conf, '5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3'),
    conf,
    'applying it twice changes nothing',
  );
});

test("a host directory names its owner's pid; other names are not hosts", () => {
  assert.equal(ownerOf(hostDirName('kvm-a', 4242)), 4242);
  assert.equal(ownerOf('.lock'), undefined);
  assert.equal(ownerOf('kvm-a'), undefined);
});

test("qemu.conf keeps the machine's settings and gets the host's own migration ports, once", () => {
  const machine = '#migration_port_min = 49152\nuser = "libvirt-qemu"\nmigration_port_min = 49152\n';
  const once = hostQemuConf(machine, 20_064);
  assert.equal(hostQemuConf(once, 20_064), once, 'writing it again changes nothing');
  assert.match(once, /^user = "libvirt-qemu"$/m);
  assert.match(once, /^#migration_port_min = 49152$/m, 'comments stay');
  assert.deepEqual(
    once.split('\n').filter((l) => /^migration_port/.test(l)),
    ['migration_port_min = 20064', 'migration_port_max = 20127'],
  );
  for (let i = 0; i < 50; i++) {
    const min = migrationPortMin();
    assert.ok(min >= 20_000 && min + 63 < 60_000 && (min - 20_000) % 64 === 0, String(min));
  }
});
