import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startHarness, type Harness } from '../cloudstack/test-harness.js';
import type { Job } from '../jobs/index.js';
import { SYSTEM_ACTOR } from '../services/index.js';
import { sweepDestroyedVms } from './expunge-sweep.js';
import { joinStorageNode } from './testing/storage-node.js';

// Jobs whose backend goes away, against a real server, job engine and the shipped agent serving a
// qcow2 pool in a temporary directory: the storage node is stopped (its pool unreachable), the job
// fails with a coded error leaving a state it can be asked again from, and the same operation
// completes once a storage node serves the pool again.

const run = promisify(execFile);
const MiB = 1024 ** 2;
const suffix = Math.random().toString(36).slice(2, 8);
let h: Harness & { dataDir: string };
let clusterId = '';
let poolId = '';
let templateId = '';
let node: { stop(): Promise<void> } | undefined;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function ended(job: Job): Promise<Job> {
  const j = await h.server.engine.wait(job.id, 300_000);
  assert.ok(j.state === 'Succeeded' || j.state === 'Failed', `job ${job.id} is ${j.state}`);
  return j;
}

async function succeeded(job: Job): Promise<Job> {
  const j = await ended(job);
  assert.equal(j.state, 'Succeeded', `${j.type}: ${JSON.stringify(j.error)}`);
  return j;
}

async function failedWith(job: Job, code: string): Promise<Job> {
  const j = await ended(job);
  assert.equal(j.state, 'Failed', `${j.type} should fail with the storage away`);
  assert.equal(j.error?.code, code, JSON.stringify(j.error));
  return j;
}

/** The storage node serving the pool; started again, it is the same host (its saved credentials). */
async function storageUp(): Promise<void> {
  node = await joinStorageNode(h.agents.hub(), {
    clusterId,
    dir: join(h.dataDir, 'node'),
    poolDirs: [join(h.dataDir, 'pool')],
  });
}

async function storageAway(): Promise<void> {
  await node?.stop();
  node = undefined;
}

before(async () => {
  // Commands wait this long for an agent that is away (90 s in production) before they fail.
  process.env['STRATA_AGENT_RECONNECT_GRACE_MS'] = '1000';
  h = await startHarness();
  const s = h.server.services;
  const zone = await s.zones.create(SYSTEM_ACTOR, { name: `zone-${suffix}` });
  clusterId = (await s.clusters.create(SYSTEM_ACTOR, { zoneId: zone.id, name: `cluster-${suffix}` })).id;
  await storageUp();
  const pool = await s.pools.create(SYSTEM_ACTOR, {
    name: `files ${suffix}`,
    zoneId: zone.id,
    provider: 'qcow2',
    scope: 'zone',
    managed: false,
    url: `file://${join(h.dataDir, 'pool')}`,
    capacityBytes: 4 * 1024 * MiB,
    capacityIops: 10_000,
  });
  poolId = pool.id;
  const templates = join(h.dataDir, 'templates');
  await mkdir(templates, { recursive: true });
  const image = join(templates, `tiny "${suffix}".qcow2`);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, `${16 * MiB}`]);
  templateId = (
    await s.templates.create(SYSTEM_ACTOR, {
      name: `tiny-${suffix}`,
      path: image,
      format: 'qcow2',
      sizeBytes: 16 * MiB,
    })
  ).id;
});

after(async () => {
  await storageAway();
  await h?.close();
  if (h) await rm(h.dataDir, { recursive: true, force: true });
});

void test('a volume delete with its storage away fails VOLUME_DELETE_FAILED, leaves the volume Error, and deletes it once the storage is back', async () => {
  const ops = h.server.services.operations;
  const made = await ops.createVolume(h.user.actor, { name: `gone ${suffix}`, poolId, sizeBytes: 16 * MiB });
  await succeeded(made.job);
  const volume = await h.server.services.volumes.get(h.user.actor, made.resource.id);
  assert.ok(volume.backendRef && (await exists(volume.backendRef)), 'the volume file is there');

  await storageAway();
  try {
    await failedWith((await ops.deleteVolume(h.user.actor, volume.id)).job, 'VOLUME_DELETE_FAILED');
    const after1 = await h.server.services.volumes.get(h.user.actor, volume.id);
    assert.equal(after1.state, 'Error', 'not left Destroying with no job on it');
    assert.ok(await exists(volume.backendRef), 'its file is still there');
  } finally {
    await storageUp();
  }
  await succeeded((await ops.deleteVolume(h.user.actor, volume.id)).job);
  assert.equal((await h.server.services.volumes.get(h.user.actor, volume.id)).state, 'Destroyed');
  assert.equal(await exists(volume.backendRef), false, 'its file is gone');
});

void test('a failed snapshot delete puts each snapshot back as it was: Ready stays Ready, Error stays Error', async () => {
  const ops = h.server.services.operations;
  const snaps = h.server.services.volumeSnapshots;
  const made = await ops.createVolume(h.user.actor, {
    name: `snapped ${suffix}`,
    poolId,
    sizeBytes: 16 * MiB,
  });
  await succeeded(made.job);
  const ready = await ops.createVolumeSnapshot(h.user.actor, made.resource.id, { name: `ready ${suffix}` });
  await succeeded(ready.job);
  // A snapshot that failed to be taken (its volume's file gone from under it) ends Error.
  const broken = await ops.createVolume(h.user.actor, {
    name: `broken ${suffix}`,
    poolId,
    sizeBytes: 16 * MiB,
  });
  await succeeded(broken.job);
  const brokenRef = (await h.server.services.volumes.get(h.user.actor, broken.resource.id)).backendRef!;
  await rm(brokenRef);
  const failedTake = await ops.createVolumeSnapshot(h.user.actor, broken.resource.id, {
    name: `error ${suffix}`,
  });
  await ended(failedTake.job);
  assert.equal((await snaps.get(h.user.actor, failedTake.resource.id)).state, 'Error');

  await storageAway();
  try {
    for (const [id, state] of [
      [ready.resource.id, 'Ready'],
      [failedTake.resource.id, 'Error'],
    ] as const) {
      const job = (await ops.deleteVolumeSnapshot(h.user.actor, id)).job;
      assert.equal((await ended(job)).state, 'Failed');
      assert.equal((await snaps.get(h.user.actor, id)).state, state, `a ${state} snapshot stays ${state}`);
    }
  } finally {
    await storageUp();
  }
  for (const id of [ready.resource.id, failedTake.resource.id]) {
    await succeeded((await ops.deleteVolumeSnapshot(h.user.actor, id)).job);
    assert.equal((await snaps.get(h.user.actor, id)).state, 'Deleted');
  }
});

void test('a QoS change that cannot be applied puts the previous QoS back in the record; applied once the storage is back', async () => {
  const ops = h.server.services.operations;
  const vols = h.server.services.volumes;
  const was = { minIops: 100, maxIops: 200, burstIops: 200, burstSeconds: 60 };
  const wanted = { minIops: 300, maxIops: 600, burstIops: 900, burstSeconds: 30 };
  const made = await ops.createVolume(h.user.actor, {
    name: `qos ${suffix}`,
    poolId,
    sizeBytes: 16 * MiB,
    qos: was,
  });
  await succeeded(made.job);
  assert.deepEqual((await vols.get(h.user.actor, made.resource.id)).qos, was);

  await storageAway();
  try {
    const job = (await ops.setVolumeQos(h.user.actor, made.resource.id, wanted)).job;
    assert.equal((await ended(job)).state, 'Failed');
    assert.deepEqual(
      (await vols.get(h.user.actor, made.resource.id)).qos,
      was,
      'the record holds what the backend was last given, not limits nothing enforces',
    );
  } finally {
    await storageUp();
  }
  await succeeded((await ops.setVolumeQos(h.user.actor, made.resource.id, wanted)).job);
  assert.deepEqual((await vols.get(h.user.actor, made.resource.id)).qos, wanted);
});

void test('an expunge with its storage away fails VM_EXPUNGE_INCOMPLETE, the VM stays Expunging, the sweep asks again and it completes once the storage is back', async () => {
  const s = h.server.services;
  const deployed = await s.operations.deployVm(h.user.actor, {
    name: `expunged ${suffix}`,
    templateId,
    poolId,
    start: false,
  });
  await succeeded(deployed.job);
  const vm = deployed.resource;
  const root = (await s.volumes.list(h.user.actor, { vmId: vm.id })).items[0]!;
  assert.ok(root.backendRef && (await exists(root.backendRef)));
  await succeeded((await s.vmLifecycle.destroy(h.user.actor, vm.id)).job);

  await storageAway();
  try {
    await failedWith((await s.vmLifecycle.expunge(h.user.actor, vm.id)).job, 'VM_EXPUNGE_INCOMPLETE');
    assert.equal((await s.vms.get(h.user.actor, vm.id)).state, 'Expunging');
    assert.notEqual((await s.volumes.get(h.user.actor, root.id)).state, 'Destroyed', 'never half-recorded');
    assert.ok(await exists(root.backendRef));
    // The sweep asks again at once (an Expunging VM has no delay); still away, it stays Expunging.
    assert.equal(await sweepDestroyedVms(h.server.db, h.server.engine, 3600), 1);
    const [retry] = (await h.server.engine.list({ type: 'vm.expunge', resourceId: vm.id, state: 'Queued' }))
      .items;
    if (retry) await failedWith(retry, 'VM_EXPUNGE_INCOMPLETE');
    assert.equal((await s.vms.get(h.user.actor, vm.id)).state, 'Expunging');
  } finally {
    await storageUp();
  }
  assert.equal(await sweepDestroyedVms(h.server.db, h.server.engine, 3600), 1);
  const jobs = (await h.server.engine.list({ type: 'vm.expunge', resourceId: vm.id })).items;
  await Promise.all(jobs.map(ended));
  assert.ok(
    (await h.server.engine.list({ type: 'vm.expunge', resourceId: vm.id })).items.some(
      (j) => j.state === 'Succeeded',
    ),
    'the expunge asked again succeeded',
  );
  assert.equal((await s.vms.get(h.user.actor, vm.id)).state, 'Expunged');
  assert.equal((await s.volumes.get(h.user.actor, root.id)).state, 'Destroyed');
  assert.equal(await exists(root.backendRef), false, 'the ROOT file is gone');

  // An expunged VM is gone from the lists unless asked for.
  const listed = (await s.vms.list(h.user.actor)).items.map((v) => v.id);
  assert.equal(listed.includes(vm.id), false);
  const asked = (await s.vms.list(h.user.actor, { state: 'Expunged' })).items.map((v) => v.id);
  assert.ok(asked.includes(vm.id));
});
