import { test } from 'node:test';
import assert from 'node:assert/strict';
import { savedAddress, savedDisk } from './copy.js';

const DOMAIN = `<domain><devices>
  <disk type='file' device='disk'><source file='/p/a.qcow2'/><target dev='vda' bus='virtio'/>
    <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/></disk>
  <disk type="network" device="disk"><source protocol="iscsi" name="iqn/1"/><target dev="vdb" bus="virtio"/>
    <address type="pci" domain="0x0000" bus="0x00" slot="0x07" function="0x0"/></disk>
  <disk type='file' device='disk'><source file='/p/c.qcow2'/><target dev='vdc' bus='virtio'/></disk>
</devices></domain>`;

void test("the saved disk's device address is found by its target, in either quoting", () => {
  assert.equal(
    savedAddress(DOMAIN, 'vda'),
    "<address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>",
  );
  assert.match(savedAddress(DOMAIN, 'vdb') ?? '', /slot="0x07"/);
  assert.equal(savedAddress(DOMAIN, 'vdc'), undefined, 'a disk with no address yet');
  assert.equal(savedAddress(DOMAIN, 'vdz'), undefined, 'no such disk');
});

void test('the whole saved disk element is found by its target (to put it back after a failed copy)', () => {
  assert.match(savedDisk(DOMAIN, 'vdb') ?? '', /^<disk type="network"[\s\S]*iqn\/1[\s\S]*<\/disk>$/);
  assert.equal(savedDisk(DOMAIN, 'vdz'), undefined);
});
