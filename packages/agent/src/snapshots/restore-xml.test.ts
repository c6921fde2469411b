import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '@strata/core';
import { pointFileDisks, pointFileSources } from './restore-xml.js';

// As libvirt saves it with a memory state: file disks name the frozen image and its chain.
const SAVED = `<domain type='qemu'>
  <name>vm-1</name>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none' discard='unmap'/>
      <source file='/pools/q/vol-a.s1.qcow2' index='3'/>
      <backingStore type='file' index='4'>
        <format type='qcow2'/>
        <source file='/pools/q/vol-a.qcow2'/>
        <backingStore type='file' index='5'>
          <format type='raw'/>
          <source file='/templates/base.raw'/>
          <backingStore/>
        </backingStore>
      </backingStore>
      <target dev='vda' bus='virtio'/>
      <serial>vol-a</serial>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source protocol='rbd' name='pool/vol-b'><host name='127.0.0.1' port='3300'/></source>
      <target dev='vdb' bus='virtio'/>
      <serial>vol-b</serial>
    </disk>
  </devices>
</domain>`;

test('the saved file disk is pointed at its new layer, its recorded chain dropped, network disks kept', () => {
  const xml = pointFileDisks(SAVED, [{ volumeId: 'vol-a', path: "/pools/q/it's <new> & odd.qcow2" }]);
  assert.match(xml, /<source file='\/pools\/q\/it&apos;s &lt;new&gt; &amp; odd\.qcow2' index='3'\/>/);
  assert.doesNotMatch(xml, /backingStore/);
  assert.doesNotMatch(xml, /vol-a\.s1\.qcow2/, 'the frozen image is no longer named');
  assert.match(xml, /<source protocol='rbd' name='pool\/vol-b'>/);
  assert.match(xml, /<target dev='vda' bus='virtio'\/>\s*<serial>vol-a<\/serial>/);
});

test('a volume that is not a file disk of the saved state is refused with a code', () => {
  for (const volumeId of ['vol-b', 'vol-missing']) {
    assert.throws(
      () => pointFileDisks(SAVED, [{ volumeId, path: '/x.qcow2' }]),
      (e: unknown) => isStrataError(e, 'INVALID_ARGUMENT'),
    );
  }
});

test('file disks found by the image they name are re-pointed; others are left as saved', () => {
  const xml = pointFileSources(SAVED, new Map([['/pools/q/vol-a.s1.qcow2', '/pools/q/vol-a.top.qcow2']]));
  assert.match(xml, /<source file='\/pools\/q\/vol-a\.top\.qcow2' index='3'\/>/);
  assert.doesNotMatch(xml, /backingStore/);
  assert.equal(pointFileSources(SAVED, new Map([['/elsewhere.qcow2', '/x.qcow2']])), SAVED);
});
