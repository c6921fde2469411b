import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isStrataError } from '@strata/core';
import { ApiClient } from '../api/test-client.js';
import { SYSTEM_ACTOR, type Actor } from '../services/index.js';
import { cloudstack, type CsRun } from './cs-client.js';
import { startHarness, type Harness } from './test-harness.js';
import { joinStorageNode } from '../orchestration/testing/storage-node.js';

// Quotas on the real server (PGlite, job engine, a qcow2 pool in a temporary directory driven by
// a storage-only agent): set through REST and CloudStack's updateResourceLimit, enforced where
// VMs, volumes, volume snapshots and VM snapshots are admitted, also under concurrent creates.

const GiB = 1024 ** 3;
const suffix = Math.random().toString(36).slice(2, 8);
let h: Harness & { dataDir: string };
let poolId = '';
let user: Actor;
let accountName = '';
let rest: ApiClient;
let node: { stop(): Promise<void> } | undefined;

function ok(run: CsRun): Record<string, unknown> {
  assert.equal(run.code, 0, `cloudstack failed: ${run.stdout} ${run.stderr}`);
  assert.ok(run.json, `no JSON: ${run.stdout}`);
  return run.json;
}

const exceeded = (type: string, limit: number, used: number, requested: number) => (e: unknown) =>
  isStrataError(e, 'RESOURCE_LIMIT_EXCEEDED') &&
  e.params['type'] === type &&
  e.params['limit'] === limit &&
  e.params['used'] === used &&
  e.params['requested'] === requested;

async function setLimit(kind: string, max: number): Promise<void> {
  const r = await rest.put(`/v1/accounts/${user.accountId}/limits/${kind}`, { max });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

async function liveVolumes(): Promise<number> {
  return (await h.server.services.volumes.list(user, { live: true })).items.length;
}

before(async () => {
  h = await startHarness();
  const s = h.server.services;
  user = h.user.actor;
  accountName = (await s.accounts.get(SYSTEM_ACTOR, user.accountId)).name;
  rest = new ApiClient({ url: h.server.url }, { apiKey: h.admin.key, secretKey: h.admin.secret });
  const zone = await s.zones.create(SYSTEM_ACTOR, { name: `zone-${suffix}` });
  const cluster = await s.clusters.create(SYSTEM_ACTOR, { zoneId: zone.id, name: `cluster-${suffix}` });
  node = await joinStorageNode(h.agents.hub(), {
    clusterId: cluster.id,
    dir: h.dataDir,
    poolDirs: [join(h.dataDir, 'pool')],
  });
  const pool = await s.pools.create(SYSTEM_ACTOR, {
    name: `files-${suffix}`,
    zoneId: zone.id,
    provider: 'qcow2',
    scope: 'zone',
    managed: false,
    capacityBytes: 50 * GiB,
    capacityIops: 10_000,
    url: `file://${join(h.dataDir, 'pool')}`,
  });
  poolId = pool.id;
});

after(async () => {
  await node?.stop();
  await h?.close();
});

void test('CloudStack listResourceLimits / updateResourceLimit round trip; REST shows the same limit and usage', async () => {
  const unset = ok(await cloudstack(h.user, 'listResourceLimits', {}));
  const rows = unset['resourcelimit'] as Array<Record<string, unknown>>;
  assert.deepEqual(
    rows.map((r) => [r['resourcetype'], r['resourcetypename'], r['max']]),
    [
      ['0', 'user_vm', -1],
      ['2', 'volume', -1],
      ['3', 'snapshot', -1],
      ['100', 'vm_snapshot', -1],
      ['10', 'primary_storage', -1],
      ['101', 'min_iops', -1],
    ],
  );
  const set = ok(
    await cloudstack(h.admin, 'updateResourceLimit', {
      account: accountName,
      domainid: 'ROOT',
      resourcetype: '10',
      max: '7',
    }),
  );
  const limit = set['resourcelimit'] as Record<string, unknown>;
  assert.equal(limit['max'], 7);
  assert.equal(limit['resourcetypename'], 'primary_storage');
  assert.equal(limit['account'], accountName);
  const one = ok(await cloudstack(h.user, 'listResourceLimits', { resourcetype: '10' }));
  assert.deepEqual(
    (one['resourcelimit'] as Array<Record<string, unknown>>).map((r) => r['max']),
    [7],
  );
  const r = await rest.get(`/v1/accounts/${user.accountId}/limits`, { kind: 'primary-storage-bytes' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items, [
    { accountId: user.accountId, kind: 'primary-storage-bytes', max: 7 * GiB, used: 0 },
  ]);
  // A user may read its limits but not set them; -1 lifts a limit again.
  const refused = await cloudstack(h.user, 'updateResourceLimit', { resourcetype: '10', max: '100' });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stdout + refused.stderr, /AUTH_FORBIDDEN/);
  ok(
    await cloudstack(h.admin, 'updateResourceLimit', { account: accountName, resourcetype: '10', max: '-1' }),
  );
  const lifted = await rest.get(`/v1/accounts/${user.accountId}/limits`, { kind: 'primary-storage-bytes' });
  assert.equal(lifted.body.items[0].max, -1);
  const bad = await rest.put(`/v1/accounts/${user.accountId}/limits/cpu`, { max: 1 });
  assert.equal(bad.status, 400);
});

void test('concurrent volume creates at the edge: exactly the limit is admitted, the rest refused with nothing recorded', async () => {
  await setLimit('volume', 3);
  const ops = h.server.services.operations;
  const results = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) =>
      ops.createVolume(user, { name: `race-${i}`, poolId, sizeBytes: GiB }),
    ),
  );
  const admitted = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter(
    (r) => r.status === 'rejected' && isStrataError(r.reason, 'RESOURCE_LIMIT_EXCEEDED'),
  );
  assert.equal(admitted.length, 3);
  assert.equal(refused.length, 3);
  assert.equal(await liveVolumes(), 3, 'a refused create leaves no record');
  for (const r of admitted) {
    const job = await h.server.services.jobs.wait(user, r.value.job.id, 120_000);
    assert.equal(job.state, 'Succeeded', JSON.stringify(job));
  }
  // Through CloudStack: ResourceAllocationException's codes, Strata's code, the numbers.
  const run = await cloudstack(h.user, 'createVolume', {
    name: 'one-too-many',
    storageid: poolId,
    size: '1',
  });
  assert.notEqual(run.code, 0);
  assert.match(run.stdout + run.stderr, /535/);
  assert.match(run.stdout + run.stderr, /RESOURCE_LIMIT_EXCEEDED/);
  assert.equal(await liveVolumes(), 3);
  const list = ok(await cloudstack(h.user, 'listResourceLimits', { resourcetypename: 'volume' }));
  assert.equal((list['resourcelimit'] as Array<Record<string, unknown>>)[0]?.['max'], 3);
  await setLimit('volume', -1);
});

void test('primary storage bytes and minimum IOPS sum over live volumes', async () => {
  const ops = h.server.services.operations;
  await setLimit('primary-storage-bytes', 4 * GiB);
  await assert.rejects(
    ops.createVolume(user, { name: 'too-big', poolId, sizeBytes: 2 * GiB }),
    exceeded('primary-storage-bytes', 4 * GiB, 3 * GiB, 2 * GiB),
  );
  await ops.createVolume(user, { name: 'fits', poolId, sizeBytes: GiB });
  await setLimit('primary-storage-bytes', -1);
  await setLimit('min-iops', 150);
  const qos = { minIops: 100, maxIops: 200 };
  await ops.createVolume(user, { name: 'qos-1', poolId, sizeBytes: GiB, qos });
  await assert.rejects(
    ops.createVolume(user, { name: 'qos-2', poolId, sizeBytes: GiB, qos }),
    exceeded('min-iops', 150, 100, 100),
  );
  const plain = (await h.server.services.volumes.list(user, { name: 'fits' })).items[0];
  assert.ok(plain);
  await assert.rejects(
    ops.setVolumeQos(user, plain.id, { minIops: 60, maxIops: 100 }),
    exceeded('min-iops', 150, 100, 60),
  );
  const usage = await rest.get(`/v1/accounts/${user.accountId}/limits`);
  const used = Object.fromEntries(
    (usage.body.items as Array<{ kind: string; used: number }>).map((l) => [l.kind, l.used]),
  );
  assert.equal(used['volume'], 5);
  assert.equal(used['primary-storage-bytes'], 5 * GiB);
  assert.equal(used['min-iops'], 100);
  await setLimit('min-iops', -1);
});

void test('volume snapshots, VMs and VM snapshots are refused past their limits', async () => {
  const s = h.server.services;
  const vol = (await s.volumes.list(user, { name: 'race-0' })).items[0];
  assert.ok(vol);
  await setLimit('volume-snapshot', 1);
  const first = await s.operations.createVolumeSnapshot(user, vol.id, { name: 'snap-1' });
  await assert.rejects(
    s.operations.createVolumeSnapshot(user, vol.id, { name: 'snap-2' }),
    exceeded('volume-snapshot', 1, 1, 1),
  );
  await assert.rejects(
    s.operations.createVolumeSnapshotGroup(user, { volumeIds: [vol.id], name: 'group' }),
    exceeded('volume-snapshot', 1, 1, 1),
  );
  assert.equal((await s.volumeSnapshots.list(user, { volumeId: vol.id })).items.length, 1);
  assert.equal((await s.jobs.wait(user, first.job.id, 120_000)).state, 'Succeeded');

  await setLimit('vm', 2);
  const vms = await Promise.allSettled(
    Array.from({ length: 4 }, (_, i) => s.vms.create(user, { name: `vm-${i}` })),
  );
  assert.equal(vms.filter((r) => r.status === 'fulfilled').length, 2);
  assert.ok(vms.every((r) => r.status === 'fulfilled' || isStrataError(r.reason, 'RESOURCE_LIMIT_EXCEEDED')));
  assert.equal((await s.vms.list(user, {})).items.length, 2);

  const vm = vms.find((r) => r.status === 'fulfilled')!.value;
  await setLimit('vm-snapshot', 0);
  await assert.rejects(
    s.operations.createVmSnapshot(user, { vmId: vm.id, name: 'vmsnap' }),
    exceeded('vm-snapshot', 0, 0, 1),
  );
  assert.equal((await s.vmSnapshots.list(user, { vmId: vm.id })).items.length, 0);
});

void test('a resize counts its growth against primary storage; a recovered VM counts against the VM limit again', async () => {
  const s = h.server.services;
  const made = await s.operations.createVolume(user, { name: `grows-${suffix}`, poolId, sizeBytes: GiB });
  assert.equal((await s.jobs.wait(user, made.job.id, 120_000)).state, 'Succeeded');
  const limits = await rest.get(`/v1/accounts/${user.accountId}/limits`);
  const usedBytes = (limits.body.items as Array<{ kind: string; used: number }>).find(
    (l) => l.kind === 'primary-storage-bytes',
  )!.used;
  await setLimit('primary-storage-bytes', usedBytes + GiB);
  await assert.rejects(
    s.operations.resizeVolume(user, made.resource.id, 3 * GiB),
    exceeded('primary-storage-bytes', usedBytes + GiB, usedBytes, 2 * GiB),
  );
  const grown = await s.operations.resizeVolume(user, made.resource.id, 2 * GiB);
  assert.equal((await s.jobs.wait(user, grown.job.id, 120_000)).state, 'Succeeded');
  assert.equal((await s.volumes.get(user, made.resource.id)).sizeBytes, 2 * GiB);
  await setLimit('primary-storage-bytes', -1);

  // The VM limit is 2 and two VMs exist: one destroyed frees its place, which a new VM takes.
  const [gone] = (await s.vms.list(user, {})).items;
  assert.ok(gone);
  const destroyed = await s.vmLifecycle.destroy(user, gone.id);
  assert.equal((await s.jobs.wait(user, destroyed.job.id, 120_000)).state, 'Succeeded');
  await s.vms.create(user, { name: `in-its-place-${suffix}` });
  await assert.rejects(s.vms.recover(user, gone.id), exceeded('vm', 2, 2, 1));
  assert.equal((await s.vms.get(user, gone.id)).state, 'Destroyed');
  await setLimit('vm', -1);
  assert.equal((await s.vms.recover(user, gone.id)).state, 'Stopped');
});
