import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseHost, refusal, type HostLoad } from './choose-host.js';

const GiB = 1024 ** 3;
const host = (id: string, over: Partial<HostLoad> = {}): HostLoad => ({
  id,
  name: `host ${id}`,
  state: 'Up',
  kvm: true,
  cpus: 2,
  memoryBytes: 4 * GiB,
  adaptors: ['file', 'iscsi-qemu', 'rbd'],
  usedCpus: 0,
  usedMemoryBytes: 0,
  ...over,
});
const policy = { cpuOvercommit: 4 };
const small = { cpus: 1, memoryBytes: GiB / 8, adaptors: ['file'] };

test('the host with the most memory left, ties by id', () => {
  const hosts = [host('b'), host('a', { usedMemoryBytes: GiB }), host('c', { usedMemoryBytes: 0 })];
  assert.equal(chooseHost(hosts, small, policy).host?.id, 'b');
});

test('the previous host when it fits, else another', () => {
  const hosts = [host('a'), host('b', { usedMemoryBytes: GiB })];
  assert.equal(chooseHost(hosts, small, policy, { previous: 'b' }).host?.id, 'b');
  const full = [host('a'), host('b', { usedMemoryBytes: 4 * GiB })];
  assert.equal(chooseHost(full, small, policy, { previous: 'b' }).host?.id, 'a');
});

test('hosts that are not Up, storage nodes, and hosts without the adaptors are refused with a reason', () => {
  const needs = { cpus: 1, memoryBytes: GiB / 8, adaptors: ['file', 'iscsi', 'rbd'] };
  const r = chooseHost(
    [
      host('a', { state: 'Disconnected' }),
      host('b', { kvm: false }),
      host('c', { adaptors: ['file', 'iscsi-host'] }),
    ],
    needs,
    policy,
  );
  assert.equal(r.host, null);
  assert.ok(!r.host);
  assert.deepEqual(
    r.refusals.map((x) => x.reason),
    ['it is Disconnected', 'it runs no VMs (a storage node)', 'it cannot attach rbd disks'],
  );
  // any iSCSI adaptor will do for an iSCSI disk
  assert.equal(refusal(host('d', { adaptors: ['file', 'iscsi-host', 'rbd'] }), needs, policy), null);
});

test('memory is never overcommitted; vCPUs up to the overcommit factor', () => {
  assert.match(
    refusal(host('a', { usedMemoryBytes: 4 * GiB - GiB / 16 }), small, policy) ?? '',
    /64 MiB of memory left, 128 MiB needed/,
  );
  assert.equal(refusal(host('a', { usedCpus: 7 }), small, policy), null);
  assert.match(refusal(host('a', { usedCpus: 8 }), small, policy) ?? '', /0 vCPUs left, 1 needed/);
  assert.match(
    refusal(host('a'), { ...small, cpus: 3 }, { cpuOvercommit: 1 }) ?? '',
    /2 vCPUs left, 3 needed/,
  );
});

test('a pinned host is the only candidate: chosen when it fits, refused with its reason when not', () => {
  const hosts = [host('a'), host('b', { usedMemoryBytes: GiB })];
  assert.equal(chooseHost(hosts, small, policy, { pinned: 'b' }).host?.id, 'b');
  const r = chooseHost([host('a'), host('b', { state: 'Maintenance' })], small, policy, { pinned: 'b' });
  assert.ok(!r.host);
  assert.deepEqual(r.refusals, [{ host: 'host b', reason: 'it is Maintenance' }]);
});
