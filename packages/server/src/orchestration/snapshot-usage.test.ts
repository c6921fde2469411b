import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VolumeSnapshotView } from '../services/volume-snapshots.js';
import { driverSnapshotId } from './snapshot-usage.js';

const snap = (over: Partial<VolumeSnapshotView>): VolumeSnapshotView => ({
  id: 'snap-1',
  accountId: 'acct-1',
  volumeId: 'vol-1',
  name: 'n',
  state: 'Ready',
  backendRef: null,
  vmSnapshotId: null,
  sizeBytes: 0,
  createdAt: '2026-12-07T00:00:00.000Z',
  ...over,
});

void test('a volume snapshot is known to its driver by its own id', () => {
  assert.deepEqual(driverSnapshotId(snap({ backendRef: '/pool/snapshots/snap-1.raw' })), { id: 'snap-1' });
});

void test("a VM snapshot's part is known by the driver's snapshotRef, when the driver made it", () => {
  assert.deepEqual(driverSnapshotId(snap({ vmSnapshotId: 'vms-1', backendRef: 'vms-1-vol-1' })), {
    id: 'vms-1-vol-1',
  });
});

void test("a hook's per-volume part, longer than one id (tgt's vm-<snapshot>--<volume>), is the driver's too", () => {
  const backendRef = `vm-vmsnap-${'a'.repeat(40)}--vol-${'b'.repeat(40)}`;
  assert.deepEqual(driverSnapshotId(snap({ vmSnapshotId: 'vms-1', backendRef })), { id: backendRef });
});

void test('a part the hypervisor made (an overlay path) or without a reference cannot be sized', () => {
  for (const backendRef of ['/var/lib/strata/pool/vol-1.vms-1.qcow2', null]) {
    const r = driverSnapshotId(snap({ vmSnapshotId: 'vms-1', backendRef }));
    assert.ok('note' in r && /hypervisor/.test(r.note), JSON.stringify(r));
  }
});

void test("a part in a group snapshot (rbd's pool/group@snap) is said to be one", () => {
  const r = driverSnapshotId(snap({ vmSnapshotId: 'vms-1', backendRef: 'strata/vm-ab12@vms-cd34' }));
  assert.ok('note' in r && /group snapshot/.test(r.note), JSON.stringify(r));
});
