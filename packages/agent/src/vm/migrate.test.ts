import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDestinationSources } from './migrate.js';

// A running domain's disks as libvirt 9 formats them (dumpxml --migratable), shortened.
const DUMPED = `<domain type='qemu'><devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none' discard='unmap'/>
      <source file='/pool/root.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <serial>vol-root</serial>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source protocol='iscsi' name='iqn.2026-11.io.strata:t1/1' index='2'>
        <host name='127.0.0.1' port='3260'/>
        <initiator>
          <iqn name='iqn.2026-12.io.strata:host-a'/>
        </initiator>
      </source>
      <target dev='vdb' bus='virtio'/>
      <serial>vol-lun</serial>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw' cache='none' discard='unmap'/>
      <auth username='strata-host-a'>
        <secret type='ceph' uuid='11111111-1111-4111-a111-111111111111'/>
      </auth>
      <source protocol='rbd' name='pool/img'>
        <host name='127.0.0.1' port='3300'/>
      </source>
      <target dev='vdc' bus='virtio'/>
      <serial>vol-rbd</serial>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'/>
    </disk>
  </devices></domain>`;

test("each named network disk opens as the destination: its initiator, its cephx user; the rest is the guest's", () => {
  const out = withDestinationSources(DUMPED, [
    {
      volumeId: 'vol-lun',
      target: 'vdb',
      source: {
        kind: 'iscsi',
        portal: '127.0.0.1:3260',
        iqn: 'iqn.2026-11.io.strata:t1',
        lun: 1,
        initiatorIqn: 'iqn.2026-12.io.strata:host-b',
      },
    },
    {
      volumeId: 'vol-rbd',
      target: 'vdc',
      source: {
        kind: 'rbd',
        pool: 'pool',
        image: 'img',
        monitors: ['127.0.0.1:3300'],
        auth: { username: "strata-host-b'<x>", secretUuid: '22222222-2222-4222-a222-222222222222' },
      },
    },
  ]);
  assert.ok(!out.includes('host-a'), 'nothing of the source host is left');
  assert.match(out, /<iqn name='iqn\.2026-12\.io\.strata:host-b'\/>/);
  assert.match(out, /<auth username='strata-host-b&apos;&lt;x&gt;'><secret type='ceph' uuid='22222222/);
  assert.equal(out.match(/<auth /g)?.length, 1, 'one auth element for the RBD disk');
  for (const slot of ['0x04', '0x05', '0x06'])
    assert.ok(out.includes(`slot='${slot}'`), `address ${slot} kept`);
  assert.ok(out.includes("<source file='/pool/root.qcow2'/>"), 'a disk not named is untouched');
  assert.ok(out.includes('<serial>vol-lun</serial>') && out.includes("<target dev='vdc' bus='virtio'/>"));
});

test('a disk the domain does not have is refused', () => {
  assert.throws(
    () =>
      withDestinationSources(DUMPED, [
        { volumeId: 'v', target: 'vdq', source: { kind: 'file', path: '/x', format: 'qcow2' } },
      ]),
    { code: 'INVALID_ARGUMENT' },
  );
});
